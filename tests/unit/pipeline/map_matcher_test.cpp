#include "pavewatch/pipeline/map_matcher.hpp"

#include "pavewatch/test_support/paths.hpp"

#include <gtest/gtest.h>

#include <random>

namespace pavewatch::pipeline {
namespace {

const RoadNetwork& Almaty() {
    static const RoadNetwork kNetwork = *RoadNetwork::FromGeoJson(
        test_support::ReadFile(test_support::ProjectPath("data/almaty_roads.geojson"))
    );
    return kNetwork;
}

/// A point `metres` to the right of `p` for a road of bearing `bearing_deg`.
LonLat OffsetRight(const LocalProjection& proj, LonLat p, double bearing_deg, double metres) {
    const double right = DegToRad(bearing_deg + 90.0);
    Xy xy = proj.Forward(p);
    xy.x += metres * std::sin(right);
    xy.y += metres * std::cos(right);
    return proj.Inverse(xy);
}

TEST(MapMatcher, FindsTheSegmentUnderAPointAndItsOffset) {
    const MapMatcher matcher(Almaty());
    int matched_self = 0;
    int total = 0;
    for (std::size_t i = 0; i < Almaty().segments().size(); i += 17) {
        const auto& s = Almaty().segments()[i];
        const LonLat mid = matcher.PointAt(i, s.length_m / 2);
        const auto any = matcher.Match(mid);
        ASSERT_TRUE(any);
        EXPECT_LT(any->distance_m, 0.5);
        // With the vehicle's heading, the segment of its own direction wins even where the two
        // directions of a road are drawn on top of each other.
        const auto m = matcher.Match(mid, 3.0, BearingDeg(s.points.front(), s.points.back()), 10.0);
        ASSERT_TRUE(m);
        ++total;
        if (m->segment == s.id) {
            ++matched_self;
            EXPECT_NEAR(m->offset_m, s.length_m / 2, 1.0);
        }
    }
    EXPECT_GE(matched_self, total * 95 / 100);
}

TEST(MapMatcher, UsesHeadingToChooseTheCarriageway) {
    // Two parallel one-way carriageways 12 m apart, opposite directions.
    const std::string geojson = R"({"features":[
      {"type":"Feature","properties":{"osmid":"north"},"geometry":{"type":"LineString","coordinates":[[76.9000,43.2000],[76.9000,43.2009]]}},
      {"type":"Feature","properties":{"osmid":"south"},"geometry":{"type":"LineString","coordinates":[[76.90015,43.2009],[76.90015,43.2000]]}}]})";
    const auto network = RoadNetwork::FromGeoJson(geojson);
    ASSERT_TRUE(network);
    const MapMatcher matcher(*network);
    const LonLat between_nearer_north{76.90006, 43.20045};
    const auto northbound = matcher.Match(between_nearer_north, 5.0, 0.0, 10.0);
    const auto southbound = matcher.Match(between_nearer_north, 5.0, 180.0, 10.0);
    ASSERT_TRUE(northbound && southbound);
    EXPECT_EQ(network->segments()[northbound->segment_index].source_id, "north");
    EXPECT_EQ(network->segments()[southbound->segment_index].source_id, "south");
}

TEST(MapMatcher, RefusesFixesFarFromEveryRoad) {
    const MapMatcher matcher(Almaty());
    EXPECT_FALSE(matcher.Match({76.5, 43.0}));  // outside the city
    const auto& s = Almaty().segments()[100];
    const double bearing = BearingDeg(s.points.front(), s.points.back());
    const LonLat near =
        OffsetRight(Almaty().projection(), matcher.PointAt(100, s.length_m / 2), bearing, 12.0);
    const auto m = matcher.Match(near, 5.0);
    ASSERT_TRUE(m);
    EXPECT_LE(m->distance_m, 12.5);
}

TEST(MapMatcher, NoisyFixesStayOnTheirRoad) {
    // 1-sigma 5 m GPS noise around points of single-carriageway roads: the large majority of
    // fixes match their own road (a nearby crossing road may legitimately win near junctions).
    const MapMatcher matcher(Almaty());
    std::mt19937_64 rng(42);
    std::normal_distribution<double> noise(0.0, 5.0);
    int ok = 0;
    int n = 0;
    for (std::size_t i = 0; i < Almaty().segments().size(); i += 11) {
        const auto& s = Almaty().segments()[i];
        if (s.length_m < 40) {
            continue;
        }
        const double bearing = BearingDeg(s.points.front(), s.points.back());
        Xy xy = Almaty().projection().Forward(matcher.PointAt(i, s.length_m / 2));
        xy.x += noise(rng);
        xy.y += noise(rng);
        const auto m = matcher.Match(Almaty().projection().Inverse(xy), 5.0, bearing, 12.0);
        ++n;
        if (m && Almaty().segments()[m->segment_index].source_id == s.source_id) {
            ++ok;
        }
    }
    EXPECT_GE(ok, n * 9 / 10) << ok << " of " << n;
}

}  // namespace
}  // namespace pavewatch::pipeline
