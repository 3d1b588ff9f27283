#pragma once

#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/geo.hpp"
#include "pavewatch/pipeline/ids.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pavewatch::pipeline {

/// How a road network file is cut into segments.
struct NetworkOptions {
    /// Longest segment, metres. A road is cut into the fewest equal pieces no longer than this.
    /// Default: 100 m, the reporting length most agencies use for roughness (e.g. HPMS uses
    /// 0.1 mile sections).
    double max_segment_length_m = 100.0;
};

/// One piece of one road: the unit of every measurement, state and map colour.
struct Segment {
    SegmentId id;
    std::vector<LonLat> points;  ///< at least 2, in the road's direction
    double length_m = 0.0;       ///< along the polyline, metres
    std::string name;            ///< street name from the source, may be empty
    std::string highway;         ///< OSM highway class, e.g. "primary"
    std::string source_id;       ///< the source feature's id (OSM way ids), may be empty
    int piece = 0;               ///< index of this piece within its road, from 0
    int pieces = 1;              ///< how many pieces its road was cut into
};

/// The road network of one city, cut into segments with stable ids.
///
/// Built once at start-up from a GeoJSON FeatureCollection (RFC 7946) of LineStrings or
/// MultiLineStrings; immutable afterwards, so it is safe to share between threads.
/// A segment's id is a hash of its road's source id, the road's first and last vertex (7
/// decimals), the cut length and the piece index: it stays the same between runs and whatever
/// the order of features in the file. Features that repeat an earlier geometry exactly are
/// skipped (counted in `duplicates_skipped()`).
class RoadNetwork {
public:
    static tl::expected<RoadNetwork, Error>
    FromGeoJson(std::string_view geojson, const NetworkOptions& options = {});

    const std::vector<Segment>& segments() const { return segments_; }
    /// nullptr when the id is not in the network.
    const Segment* Find(SegmentId id) const;
    std::optional<std::size_t> IndexOf(SegmentId id) const;

    /// The projection every planar computation on this network uses (origin: bbox centre).
    const LocalProjection& projection() const { return projection_; }
    LonLat min_corner() const { return min_; }
    LonLat max_corner() const { return max_; }
    double total_length_m() const { return total_length_m_; }
    std::size_t roads() const { return roads_; }
    std::size_t duplicates_skipped() const { return duplicates_skipped_; }

private:
    std::vector<Segment> segments_;
    std::unordered_map<SegmentId, std::size_t> index_;
    LocalProjection projection_;
    LonLat min_{};
    LonLat max_{};
    double total_length_m_ = 0.0;
    std::size_t roads_ = 0;
    std::size_t duplicates_skipped_ = 0;
};

/// Cuts a polyline (metres along it measured by haversine) into `pieces` parts of equal length.
/// Exposed for tests.
std::vector<std::vector<LonLat>> CutPolyline(const std::vector<LonLat>& line, int pieces);

/// Length of a polyline in metres (haversine).
double PolylineLengthM(const std::vector<LonLat>& line);

}  // namespace pavewatch::pipeline
