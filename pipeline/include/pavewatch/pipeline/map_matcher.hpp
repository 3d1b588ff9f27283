#pragma once

#include "pavewatch/pipeline/geo.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <cstddef>
#include <memory>
#include <optional>

namespace pavewatch::pipeline {

struct MapMatchOptions {
    /// A fix farther than this from every road is not matched. Metres. Default 25 m: wider
    /// than a six-lane road's half width plus a phone's typical urban GPS error.
    double max_distance_m = 25.0;
    /// Extra search radius per metre of the fix's reported accuracy (1-sigma), capped below.
    double accuracy_factor = 1.0;
    /// Never search farther than this, whatever the reported accuracy. Metres.
    double max_search_m = 60.0;
    /// Weight of heading disagreement in the match score, metres per degree, used when the
    /// fix has a heading and the vehicle moves faster than `heading_min_speed_mps`. Lets a fix
    /// choose the carriageway of its own direction where a road is drawn once per direction.
    double heading_weight_m_per_deg = 0.15;
    double heading_min_speed_mps = 2.0;
};

/// Where a GPS fix lies on the network.
struct MapMatch {
    std::size_t segment_index = 0;  ///< index into RoadNetwork::segments()
    SegmentId segment;
    double offset_m = 0.0;             ///< distance along the segment from its first point
    double distance_m = 0.0;           ///< from the fix to the segment
    double segment_bearing_deg = 0.0;  ///< bearing of the segment at the matched point
};

/// Nearest-segment map matching over an R-tree of the network's straight pieces
/// (Boost.Geometry), in the network's local planar projection.
///
/// Immutable after construction and safe to share between threads. Keeps a reference to the
/// network, which must outlive it.
class MapMatcher {
public:
    explicit MapMatcher(const RoadNetwork& network, MapMatchOptions options = {});
    ~MapMatcher();
    MapMatcher(MapMatcher&&) noexcept;
    MapMatcher& operator=(MapMatcher&&) noexcept;
    MapMatcher(const MapMatcher&) = delete;
    MapMatcher& operator=(const MapMatcher&) = delete;

    /// heading_deg < 0 or speed below the threshold means "no usable heading".
    std::optional<MapMatch> Match(
        LonLat fix,
        double accuracy_m = 0.0,
        double heading_deg = -1.0,
        double speed_mps = 0.0
    ) const;

    /// The point at `offset_m` along a segment.
    LonLat PointAt(std::size_t segment_index, double offset_m) const;

    const RoadNetwork& network() const { return *network_; }

private:
    struct Index;
    const RoadNetwork* network_;
    MapMatchOptions options_;
    std::unique_ptr<Index> index_;
};

}  // namespace pavewatch::pipeline
