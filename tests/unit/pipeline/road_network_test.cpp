#include "pavewatch/pipeline/road_network.hpp"

#include "pavewatch/test_support/paths.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace pavewatch::pipeline {
namespace {

const std::string& AlmatyText() {
    static const std::string kText =
        test_support::ReadFile(test_support::ProjectPath("data/almaty_roads.geojson"));
    return kText;
}

TEST(RoadNetwork, CutsAlmatyIntoSegmentsOfAtMost100Metres) {
    const auto network = RoadNetwork::FromGeoJson(AlmatyText());
    ASSERT_TRUE(network) << network.error().Describe();
    EXPECT_GE(network->segments().size(), 3000U);
    EXPECT_EQ(network->roads(), 915U - network->duplicates_skipped());
    for (const auto& s : network->segments()) {
        EXPECT_LE(s.length_m, 100.0 + 1e-6) << s.id.value();
        EXPECT_GE(s.points.size(), 2U);
        EXPECT_LT(s.id.value(), 1ULL << 53);
    }
    // The data's README gives 336.5 km of line (haversine over the same geometry); cutting
    // must neither lose nor add length.
    EXPECT_NEAR(network->total_length_m() / 1000.0, 336.5, 336.5 * 0.01);
    EXPECT_NEAR(network->min_corner().lon, 76.7781, 1e-3);
    EXPECT_NEAR(network->max_corner().lat, 43.3782, 1e-3);
}

TEST(RoadNetwork, IdsAreStableAcrossRunsAndFeatureOrder) {
    const auto first = RoadNetwork::FromGeoJson(AlmatyText());
    ASSERT_TRUE(first);
    // Reverse the order of the features: every id must stay the same.
    auto doc = boost::json::parse(AlmatyText());
    auto& features = doc.as_object()["features"].as_array();
    std::reverse(features.begin(), features.end());
    const auto reversed = RoadNetwork::FromGeoJson(boost::json::serialize(doc));
    ASSERT_TRUE(reversed);
    std::set<std::uint64_t> a;
    std::set<std::uint64_t> b;
    for (const auto& s : first->segments()) {
        a.insert(s.id.value());
    }
    for (const auto& s : reversed->segments()) {
        b.insert(s.id.value());
    }
    EXPECT_EQ(a.size(), first->segments().size()) << "ids must be unique";
    EXPECT_EQ(a, b);
}

TEST(RoadNetwork, SegmentLengthIsConfigurableAndChangesIds) {
    const auto fine = RoadNetwork::FromGeoJson(AlmatyText(), {.max_segment_length_m = 50.0});
    const auto coarse = RoadNetwork::FromGeoJson(AlmatyText(), {.max_segment_length_m = 100.0});
    ASSERT_TRUE(fine && coarse);
    EXPECT_GT(fine->segments().size(), coarse->segments().size() * 18 / 10);
    EXPECT_EQ(fine->Find(coarse->segments().front().id), nullptr);
}

TEST(RoadNetwork, RefusesWhatIsNotARoadNetwork) {
    EXPECT_EQ(RoadNetwork::FromGeoJson("{").error().code, ErrorCode::kMalformed);
    EXPECT_EQ(
        RoadNetwork::FromGeoJson("{\"type\":\"FeatureCollection\"}").error().code,
        ErrorCode::kMissingField
    );
    EXPECT_EQ(
        RoadNetwork::FromGeoJson(R"({"features":[]})").error().code, ErrorCode::kInconsistent
    );
    const auto bad = RoadNetwork::FromGeoJson(
        R"({"features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[200,1]]}}]})"
    );
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kOutOfRange);
    EXPECT_EQ(bad.error().field, "features[0].geometry.coordinates[1]");
    EXPECT_FALSE(RoadNetwork::FromGeoJson(AlmatyText(), {.max_segment_length_m = 0.0}));
}

TEST(RoadNetwork, RefusesANetworkAcrossTheAntimeridian) {
    // Two streets of one town, 2 km apart on either side of 180°: refused, not torn apart.
    const auto across = RoadNetwork::FromGeoJson(
        R"({"features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[179.99,-16.80],[179.99,-16.79]]}},)"
        R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[-179.99,-16.80],[-179.99,-16.79]]}}]})"
    );
    ASSERT_FALSE(across);
    EXPECT_EQ(across.error().code, ErrorCode::kOutOfRange);
    EXPECT_NE(across.error().Describe().find("antimeridian"), std::string::npos)
        << across.error().Describe();
    // Either side alone is fine.
    EXPECT_TRUE(RoadNetwork::FromGeoJson(
        R"({"features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[179.98,-16.80],[179.99,-16.79]]}}]})"
    ));
}

TEST(RoadNetwork, AcceptsMultiLineStringsAndSkipsExactDuplicates) {
    const std::string line =
        R"({"type":"Feature","properties":{"osmid":"1"},"geometry":{"type":"LineString","coordinates":[[76.90,43.20],[76.90,43.2017]]}})";
    const std::string multi =
        R"({"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[76.91,43.20],[76.91,43.20085]],[[76.92,43.20],[76.92,43.20085]]]}})";
    const auto network =
        RoadNetwork::FromGeoJson("{\"features\":[" + line + "," + line + "," + multi + "]}");
    ASSERT_TRUE(network) << network.error().Describe();
    EXPECT_EQ(network->duplicates_skipped(), 1U);
    // 189 m cut in 2, plus two 94.5 m lines.
    EXPECT_EQ(network->segments().size(), 4U);
}

TEST(CutPolyline, MakesEqualPiecesThatJoinUp) {
    const std::vector<LonLat> line{{76.90, 43.20}, {76.90, 43.21}, {76.91, 43.21}};
    const auto pieces = CutPolyline(line, 7);
    ASSERT_EQ(pieces.size(), 7U);
    const double total = PolylineLengthM(line);
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        EXPECT_NEAR(PolylineLengthM(pieces[k]), total / 7, 0.05);
        if (k > 0) {
            EXPECT_NEAR(HaversineM(pieces[k - 1].back(), pieces[k].front()), 0.0, 1e-6);
        }
    }
    EXPECT_EQ(pieces.front().front(), line.front());
    EXPECT_EQ(pieces.back().back(), line.back());
}

}  // namespace
}  // namespace pavewatch::pipeline
