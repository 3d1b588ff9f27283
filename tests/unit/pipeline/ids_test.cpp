#include "pavewatch/pipeline/ids.hpp"

#include "pavewatch/pipeline/observation.hpp"

#include <gtest/gtest.h>

namespace pavewatch::pipeline {
namespace {

TEST(Fnv1a64, MatchesPublishedTestVectors) {
    // From the FNV reference (isthe.com/chongo/tech/comp/fnv): offset basis, "a", "foobar".
    EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
    EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(StrongId, ComparesByValue) {
    EXPECT_EQ(SegmentId{7}, SegmentId{7});
    EXPECT_LT(SegmentId{6}, SegmentId{7});
    EXPECT_NE(SensorId{"a"}, SensorId{"b"});
}

TEST(SegmentKey, RoundTripsAndRefusesGarbage) {
    EXPECT_EQ(SegmentKey(SegmentId{9007199254740991ULL}), "9007199254740991");
    EXPECT_EQ(ParseSegmentKey("9007199254740991"), SegmentId{9007199254740991ULL});
    EXPECT_FALSE(ParseSegmentKey(""));
    EXPECT_FALSE(ParseSegmentKey("12a"));
    EXPECT_FALSE(ParseSegmentKey("-1"));
    EXPECT_FALSE(ParseSegmentKey("99999999999999999999999"));
}

}  // namespace
}  // namespace pavewatch::pipeline
