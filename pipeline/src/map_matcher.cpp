#include "pavewatch/pipeline/map_matcher.hpp"

#include <boost/function_output_iterator.hpp>
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace pavewatch::pipeline {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

using BgPoint = bg::model::point<double, 2, bg::cs::cartesian>;
using BgBox = bg::model::box<BgPoint>;

/// One straight piece of a segment's polyline, in the network's planar projection.
struct Piece {
    Xy a;
    Xy b;
    std::uint32_t segment_index = 0;
    float offset_start_m = 0.0F;  ///< along the segment, at a
    float bearing_deg = 0.0F;
};

}  // namespace

struct MapMatcher::Index {
    std::vector<Piece> pieces;
    /// Cumulative planar length at each vertex, per segment (for PointAt).
    std::vector<std::vector<double>> cumulative;
    std::vector<std::vector<Xy>> points;
    bgi::rtree<std::pair<BgBox, std::uint32_t>, bgi::rstar<16>> tree;
};

MapMatcher::MapMatcher(const RoadNetwork& network, MapMatchOptions options)
    : network_(&network), options_(options), index_(std::make_unique<Index>()) {
    const auto& projection = network.projection();
    std::vector<std::pair<BgBox, std::uint32_t>> entries;
    index_->cumulative.resize(network.segments().size());
    index_->points.resize(network.segments().size());
    for (std::size_t s = 0; s < network.segments().size(); ++s) {
        const auto& segment = network.segments()[s];
        auto& cumulative = index_->cumulative[s];
        auto& points = index_->points[s];
        double offset = 0.0;
        for (std::size_t i = 0; i < segment.points.size(); ++i) {
            points.push_back(projection.Forward(segment.points[i]));
            if (i > 0) {
                const Xy a = points[i - 1];
                const Xy b = points[i];
                const double length = std::hypot(b.x - a.x, b.y - a.y);
                Piece piece{
                    a,
                    b,
                    static_cast<std::uint32_t>(s),
                    static_cast<float>(offset),
                    static_cast<float>(BearingDeg(segment.points[i - 1], segment.points[i]))};
                entries.emplace_back(
                    BgBox(
                        BgPoint(std::min(a.x, b.x), std::min(a.y, b.y)),
                        BgPoint(std::max(a.x, b.x), std::max(a.y, b.y))
                    ),
                    static_cast<std::uint32_t>(index_->pieces.size())
                );
                index_->pieces.push_back(piece);
                offset += length;
            }
            cumulative.push_back(offset);
        }
    }
    // Bulk loading (the packing algorithm) gives a better tree than inserting one by one.
    index_->tree = decltype(index_->tree)(entries.begin(), entries.end());
}

MapMatcher::~MapMatcher() = default;
MapMatcher::MapMatcher(MapMatcher&&) noexcept = default;
MapMatcher& MapMatcher::operator=(MapMatcher&&) noexcept = default;

std::optional<MapMatch>
MapMatcher::Match(LonLat fix, double accuracy_m, double heading_deg, double speed_mps) const {
    const Xy p = network_->projection().Forward(fix);
    const double radius = std::min(
        options_.max_search_m,
        options_.max_distance_m + options_.accuracy_factor * std::max(0.0, accuracy_m)
    );
    const bool use_heading = heading_deg >= 0.0 && speed_mps >= options_.heading_min_speed_mps;

    double best_score = std::numeric_limits<double>::max();
    std::optional<MapMatch> best;
    const BgBox query(BgPoint(p.x - radius, p.y - radius), BgPoint(p.x + radius, p.y + radius));
    index_->tree.query(
        bgi::intersects(query),
        boost::make_function_output_iterator([&](const std::pair<BgBox, std::uint32_t>& entry) {
            const Piece& piece = index_->pieces[entry.second];
            const double dx = piece.b.x - piece.a.x;
            const double dy = piece.b.y - piece.a.y;
            const double len2 = dx * dx + dy * dy;
            const double t =
                len2 > 0
                    ? std::clamp(((p.x - piece.a.x) * dx + (p.y - piece.a.y) * dy) / len2, 0.0, 1.0)
                    : 0.0;
            const double cx = piece.a.x + t * dx;
            const double cy = piece.a.y + t * dy;
            const double distance = std::hypot(p.x - cx, p.y - cy);
            if (distance > radius) {
                return;
            }
            double score = distance;
            if (use_heading) {
                score += options_.heading_weight_m_per_deg *
                         BearingDiffDeg(heading_deg, piece.bearing_deg);
            }
            if (score < best_score) {
                best_score = score;
                best = MapMatch{
                    piece.segment_index,
                    network_->segments()[piece.segment_index].id,
                    piece.offset_start_m + t * std::sqrt(len2),
                    distance,
                    piece.bearing_deg};
            }
        })
    );
    return best;
}

LonLat MapMatcher::PointAt(std::size_t segment_index, double offset_m) const {
    const auto& cumulative = index_->cumulative[segment_index];
    const auto& points = index_->points[segment_index];
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), offset_m);
    std::size_t i =
        it == cumulative.begin() ? 0 : static_cast<std::size_t>(it - cumulative.begin()) - 1;
    i = std::min(i, points.size() - 2);
    const double span = cumulative[i + 1] - cumulative[i];
    const double f = span > 0 ? std::clamp((offset_m - cumulative[i]) / span, 0.0, 1.0) : 0.0;
    return network_->projection().Inverse(
        {points[i].x + f * (points[i + 1].x - points[i].x),
         points[i].y + f * (points[i + 1].y - points[i].y)}
    );
}

}  // namespace pavewatch::pipeline
