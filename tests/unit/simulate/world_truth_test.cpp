// The simulated city's roughness truth: each segment's ISO 8608 class follows the configured
// shares, and the pieces of one road mostly share their class (streets are built and resurfaced
// as a whole), as docs/simulator.md describes.
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/simulate/world.hpp"
#include "pavewatch/test_support/paths.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>

namespace pavewatch::simulate {
namespace {

const pipeline::RoadNetwork& Almaty() {
    static const auto kNetwork = [] {
        auto n = pipeline::RoadNetwork::FromGeoJson(
            test_support::ReadFile(test_support::ProjectPath("data/almaty_roads.geojson"))
        );
        EXPECT_TRUE(n.has_value());
        return std::move(*n);
    }();
    return kNetwork;
}

struct TruthStats {
    std::array<double, 5> shares{};  ///< of segments per class A..E
    double same_as_next_piece = 0;   ///< share of neighbouring pieces of one road alike
};

TruthStats Measure(double road_class_share) {
    const auto& network = Almaty();
    const pipeline::MapMatcher matcher(network);
    WorldConfig config;
    config.seed = 7;
    config.road_class_share = road_class_share;
    World world(network, matcher, config, 0);
    const auto& segments = network.segments();
    TruthStats out;
    std::size_t pairs = 0;
    std::size_t alike = 0;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto klass = static_cast<std::size_t>(world.Truth(i).iso_class);
        out.shares.at(klass) += 1.0 / static_cast<double>(segments.size());
        if (i + 1 < segments.size() && segments[i + 1].source_id == segments[i].source_id &&
            segments[i + 1].piece == segments[i].piece + 1) {
            ++pairs;
            alike += world.Truth(i + 1).iso_class == world.Truth(i).iso_class ? 1 : 0;
        }
    }
    EXPECT_GT(pairs, 1000U);  // the network has long roads cut into pieces
    out.same_as_next_piece = static_cast<double>(alike) / static_cast<double>(pairs);
    return out;
}

TEST(WorldTruth, ClassesFollowTheirSharesAndARoadsPiecesMostlyShareTheirs) {
    const WorldConfig defaults;
    const auto independent = Measure(0.0);
    const auto by_road = Measure(defaults.road_class_share);
    for (std::size_t c = 0; c < 5; ++c) {
        // Per segment the class is drawn with the configured shares either way (3848 segments;
        // drawn per road they vary more, with about 900 roads).
        EXPECT_NEAR(independent.shares[c], defaults.class_shares[c], 0.03) << c;
        EXPECT_NEAR(by_road.shares[c], defaults.class_shares[c], 0.06) << c;
    }
    // Independent pieces agree as often as two random draws do (sum of squared shares, 0.28);
    // pieces that follow their road agree in most pairs.
    EXPECT_LT(independent.same_as_next_piece, 0.35);
    EXPECT_GT(by_road.same_as_next_piece, 0.65);
}

}  // namespace
}  // namespace pavewatch::simulate
