#include "pavewatch/pipeline/road_network.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace pavewatch::pipeline {
namespace {

namespace json = boost::json;

constexpr std::uint64_t kJsSafeMask = (std::uint64_t{1} << 53) - 1;

Error NetworkError(ErrorCode code, std::string field, std::string message) {
    return Error{code, std::move(field), std::move(message)};
}

std::string FormatPoint(LonLat p) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.7f,%.7f", p.lon, p.lat);
    return text;
}

/// The source id of a feature: `properties.osmid` (string, number or array), else the
/// feature's own `id`, else empty.
std::string SourceIdOf(const json::object& feature) {
    const auto value_text = [](const json::value& v) -> std::string {
        if (v.is_string()) {
            return std::string(v.get_string());
        }
        if (v.is_int64()) {
            return std::to_string(v.get_int64());
        }
        if (v.is_uint64()) {
            return std::to_string(v.get_uint64());
        }
        if (v.is_array()) {
            std::string joined;
            for (const auto& item : v.get_array()) {
                if (!joined.empty()) {
                    joined += ", ";
                }
                joined += item.is_string() ? std::string(item.get_string()) : json::serialize(item);
            }
            return joined;
        }
        return {};
    };
    if (const auto* props = feature.if_contains("properties");
        props != nullptr && props->is_object()) {
        if (const auto* osmid = props->as_object().if_contains("osmid"); osmid != nullptr) {
            return value_text(*osmid);
        }
    }
    if (const auto* id = feature.if_contains("id"); id != nullptr) {
        return value_text(*id);
    }
    return {};
}

std::string StringProperty(const json::object& feature, const char* key) {
    const auto* props = feature.if_contains("properties");
    if (props == nullptr || !props->is_object()) {
        return {};
    }
    const auto* v = props->as_object().if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return {};
    }
    return std::string(v->get_string());
}

tl::expected<std::vector<LonLat>, Error>
ParseLine(const json::value& coords, const std::string& field) {
    if (!coords.is_array()) {
        return tl::unexpected(
            NetworkError(ErrorCode::kWrongType, field, "must be an array of positions")
        );
    }
    std::vector<LonLat> line;
    line.reserve(coords.get_array().size());
    for (std::size_t i = 0; i < coords.get_array().size(); ++i) {
        const auto& pos = coords.get_array()[i];
        const std::string pos_field = field + "[" + std::to_string(i) + "]";
        if (!pos.is_array() || pos.get_array().size() < 2 || !pos.get_array()[0].is_number() ||
            !pos.get_array()[1].is_number()) {
            return tl::unexpected(
                NetworkError(ErrorCode::kWrongType, pos_field, "must be [longitude, latitude]")
            );
        }
        const LonLat p{
            pos.get_array()[0].to_number<double>(), pos.get_array()[1].to_number<double>()};
        if (!(p.lon >= -180.0 && p.lon <= 180.0 && p.lat >= -90.0 && p.lat <= 90.0)) {
            return tl::unexpected(
                NetworkError(ErrorCode::kOutOfRange, pos_field, "outside WGS 84 longitude/latitude")
            );
        }
        if (line.empty() || !(line.back() == p)) {
            line.push_back(p);  // repeated vertices add nothing
        }
    }
    return line;
}

}  // namespace

double PolylineLengthM(const std::vector<LonLat>& line) {
    double total = 0.0;
    for (std::size_t i = 1; i < line.size(); ++i) {
        total += HaversineM(line[i - 1], line[i]);
    }
    return total;
}

std::vector<std::vector<LonLat>> CutPolyline(const std::vector<LonLat>& line, int pieces) {
    std::vector<std::vector<LonLat>> out;
    if (line.size() < 2 || pieces < 1) {
        return out;
    }
    std::vector<double> cumulative(line.size(), 0.0);
    for (std::size_t i = 1; i < line.size(); ++i) {
        cumulative[i] = cumulative[i - 1] + HaversineM(line[i - 1], line[i]);
    }
    const double total = cumulative.back();
    const auto point_at = [&](double at, std::size_t& hint) {
        while (hint + 1 < line.size() - 1 && cumulative[hint + 1] < at) {
            ++hint;
        }
        const double span = cumulative[hint + 1] - cumulative[hint];
        const double f = span > 0 ? std::clamp((at - cumulative[hint]) / span, 0.0, 1.0) : 0.0;
        return LonLat{
            line[hint].lon + f * (line[hint + 1].lon - line[hint].lon),
            line[hint].lat + f * (line[hint + 1].lat - line[hint].lat)};
    };
    std::size_t hint = 0;
    for (int k = 0; k < pieces; ++k) {
        const double from = total * k / pieces;
        const double to = total * (k + 1) / pieces;
        std::vector<LonLat> piece;
        piece.push_back(k == 0 ? line.front() : point_at(from, hint));
        for (std::size_t i = 1; i + 1 < line.size(); ++i) {
            if (cumulative[i] > from && cumulative[i] < to) {
                piece.push_back(line[i]);
            }
        }
        piece.push_back(k == pieces - 1 ? line.back() : point_at(to, hint));
        out.push_back(std::move(piece));
    }
    return out;
}

tl::expected<RoadNetwork, Error>
RoadNetwork::FromGeoJson(std::string_view geojson, const NetworkOptions& options) {
    if (!(options.max_segment_length_m >= 1.0)) {
        return tl::unexpected(
            NetworkError(ErrorCode::kOutOfRange, "max_segment_length_m", "must be at least 1 metre")
        );
    }
    boost::system::error_code ec;
    const json::value doc = json::parse(json::string_view(geojson.data(), geojson.size()), ec);
    if (ec) {
        return tl::unexpected(NetworkError(ErrorCode::kMalformed, "", "not JSON: " + ec.message()));
    }
    if (!doc.is_object() || !doc.as_object().contains("features") ||
        !doc.as_object().at("features").is_array()) {
        return tl::unexpected(NetworkError(
            ErrorCode::kMissingField, "features", "expected a GeoJSON FeatureCollection"
        ));
    }

    RoadNetwork network;
    network.min_ = {std::numeric_limits<double>::max(), std::numeric_limits<double>::max()};
    network.max_ = {std::numeric_limits<double>::lowest(), std::numeric_limits<double>::lowest()};
    char length_text[32];
    std::snprintf(length_text, sizeof(length_text), "%.3f", options.max_segment_length_m);

    const auto& features = doc.as_object().at("features").get_array();
    for (std::size_t f = 0; f < features.size(); ++f) {
        const std::string field = "features[" + std::to_string(f) + "]";
        if (!features[f].is_object()) {
            return tl::unexpected(
                NetworkError(ErrorCode::kWrongType, field, "must be a Feature object")
            );
        }
        const auto& feature = features[f].get_object();
        const auto* geometry = feature.if_contains("geometry");
        if (geometry == nullptr || !geometry->is_object()) {
            continue;  // a Feature without geometry (allowed by RFC 7946) has nothing to cut
        }
        const auto* type = geometry->as_object().if_contains("type");
        const auto* coords = geometry->as_object().if_contains("coordinates");
        if (type == nullptr || !type->is_string() || coords == nullptr) {
            return tl::unexpected(NetworkError(
                ErrorCode::kMissingField, field + ".geometry", "needs type and coordinates"
            ));
        }
        std::vector<std::vector<LonLat>> lines;
        if (type->get_string() == "LineString") {
            auto line = ParseLine(*coords, field + ".geometry.coordinates");
            if (!line) {
                return tl::unexpected(line.error());
            }
            lines.push_back(std::move(*line));
        } else if (type->get_string() == "MultiLineString" && coords->is_array()) {
            for (std::size_t l = 0; l < coords->get_array().size(); ++l) {
                auto line = ParseLine(
                    coords->get_array()[l],
                    field + ".geometry.coordinates[" + std::to_string(l) + "]"
                );
                if (!line) {
                    return tl::unexpected(line.error());
                }
                lines.push_back(std::move(*line));
            }
        } else {
            continue;  // points and polygons are not roads
        }

        const std::string source_id = SourceIdOf(feature);
        const std::string name = StringProperty(feature, "name");
        const std::string highway = StringProperty(feature, "highway");
        for (std::size_t l = 0; l < lines.size(); ++l) {
            const auto& line = lines[l];
            const double length = PolylineLengthM(line);
            if (line.size() < 2 || length < 0.01) {
                continue;  // degenerate: a point
            }
            ++network.roads_;
            const int pieces = std::max(
                1, static_cast<int>(std::ceil(length / options.max_segment_length_m - 1e-9))
            );
            const std::string road_key = source_id + "|" + FormatPoint(line.front()) + "|" +
                                         FormatPoint(line.back()) + "|" + std::to_string(l) + "|" +
                                         length_text + "|" + std::to_string(pieces);
            const SegmentId first_id{Fnv1a64(road_key + "|0") & kJsSafeMask};
            if (const auto it = network.index_.find(first_id);
                it != network.index_.end() &&
                network.segments_[it->second].points.front() == line.front()) {
                ++network.duplicates_skipped_;
                continue;  // the same road twice in the file
            }
            auto cut = CutPolyline(line, pieces);
            for (int k = 0; k < pieces; ++k) {
                Segment segment;
                std::uint64_t hash = Fnv1a64(road_key + "|" + std::to_string(k)) & kJsSafeMask;
                for (int salt = 1; network.index_.contains(SegmentId{hash}); ++salt) {
                    // A 53-bit hash collision between different roads: rare (about n^2 / 2^54),
                    // resolved deterministically for a given file.
                    hash =
                        Fnv1a64(road_key + "|" + std::to_string(k) + "#" + std::to_string(salt)) &
                        kJsSafeMask;
                }
                segment.id = SegmentId{hash};
                segment.points = std::move(cut[static_cast<std::size_t>(k)]);
                segment.length_m = PolylineLengthM(segment.points);
                segment.name = name;
                segment.highway = highway;
                segment.source_id = source_id;
                segment.piece = k;
                segment.pieces = pieces;
                for (const auto& p : segment.points) {
                    network.min_ = {
                        std::min(network.min_.lon, p.lon), std::min(network.min_.lat, p.lat)};
                    network.max_ = {
                        std::max(network.max_.lon, p.lon), std::max(network.max_.lat, p.lat)};
                }
                network.total_length_m_ += segment.length_m;
                network.index_.emplace(segment.id, network.segments_.size());
                network.segments_.push_back(std::move(segment));
            }
        }
    }
    if (network.segments_.empty()) {
        return tl::unexpected(NetworkError(
            ErrorCode::kInconsistent,
            "features",
            "the network holds no LineString of non-zero length"
        ));
    }
    // Positions are projected around the network's centre with longitudes as they are, so a
    // network on both sides of the antimeridian (±180°) would be torn apart: refuse it clearly.
    // No city's network spans half the globe, so a span over 180° can only mean that.
    if (network.max_.lon - network.min_.lon > 180.0) {
        return tl::unexpected(NetworkError(
            ErrorCode::kOutOfRange,
            "features",
            "the network spans longitudes " + std::to_string(network.min_.lon) + " to " +
                std::to_string(network.max_.lon) +
                ": a network across the antimeridian (±180°) is not supported"
        ));
    }
    network.projection_ = LocalProjection(
        {(network.min_.lon + network.max_.lon) / 2, (network.min_.lat + network.max_.lat) / 2}
    );
    return network;
}

const Segment* RoadNetwork::Find(SegmentId id) const {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : &segments_[it->second];
}

std::optional<std::size_t> RoadNetwork::IndexOf(SegmentId id) const {
    const auto it = index_.find(id);
    if (it == index_.end()) {
        return std::nullopt;
    }
    return it->second;
}

}  // namespace pavewatch::pipeline
