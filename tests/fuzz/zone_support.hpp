#pragma once

// The contractor the gateway's fuzz targets share (feed_subscription, http_api): "acme", whose
// token is kFeedToken and whose zone is the south-west quarter of the network by a polygon plus
// two segments listed elsewhere (the middle and the last of the network).

#include "fuzz_support.hpp"
#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <string>

namespace pavewatch::fuzz {

/// The contractor's entry of a token file (docs/api/README.md, "Access").
inline std::string ContractorTokenEntry(const pipeline::RoadNetwork& network) {
    const double west = network.min_corner().lon;
    const double south = network.min_corner().lat;
    const double mid_lon = (west + network.max_corner().lon) / 2;
    const double mid_lat = (south + network.max_corner().lat) / 2;
    const auto corner = [](double lon, double lat) {
        return "[" + std::to_string(lon) + "," + std::to_string(lat) + "]";
    };
    const auto& segments = network.segments();
    return R"({"name":"acme","role":"contractor","sha256":")" + gateway::Sha256Hex(kFeedToken) +
           R"(","zone":{"segments":[")" + pipeline::SegmentKey(segments.back().id) + R"(",")" +
           pipeline::SegmentKey(segments[segments.size() / 2].id) + R"("],"polygons":[[)" +
           corner(west, south) + "," + corner(mid_lon, south) + "," + corner(mid_lon, mid_lat) +
           "," + corner(west, mid_lat) + "," + corner(west, south) + "]]}}";
}

}  // namespace pavewatch::fuzz
