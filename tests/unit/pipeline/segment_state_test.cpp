#include "pavewatch/pipeline/segment_state.hpp"

#include "pavewatch/pipeline/condition.hpp"

#include <gtest/gtest.h>

namespace pavewatch::pipeline {
namespace {

Observation Pass(EpochMs t, float iri) {
    return {
        SegmentId{10},
        t,
        Traversal{
            .vehicle_key = static_cast<std::uint64_t>(t), .speed_mps = 12.0F, .iri_m_per_km = iri}};
}

TEST(SegmentState, FoldsCountsAndSums) {
    SegmentState s;
    Apply(s, Pass(2000, 2.0F));
    Apply(s, Pass(1000, 4.0F));
    Apply(s, Pass(3000, -1.0F));  // no estimate: counted as a pass only
    AxleLoads a;
    a.axles = 2;
    a.load_kn = {80.0F, 160.0F};
    Apply(s, {SegmentId{10}, 4000, a});
    EXPECT_EQ(s.segment, SegmentId{10});
    EXPECT_EQ(s.version, 4U);
    EXPECT_EQ(s.count(ObservationKind::kTraversal), 3U);
    EXPECT_EQ(s.iri_estimates, 2U);
    EXPECT_DOUBLE_EQ(s.MeanIri(), 3.0);
    EXPECT_EQ(s.first_event_ms, 1000);
    EXPECT_EQ(s.last_event_ms, 4000);
    EXPECT_DOUBLE_EQ(s.esal, 1.0 + 16.0);  // (80/80)^4 + (160/80)^4
}

TEST(SegmentState, EncodesAndDecodesExactly) {
    SegmentState s;
    for (int i = 0; i < 50; ++i) {
        Apply(s, Pass(1000 + i, 1.0F + static_cast<float>(i) * 0.37F));
    }
    const std::string bytes = EncodeState(s);
    const auto back = DecodeState(bytes);
    ASSERT_TRUE(back) << back.error().Describe();
    EXPECT_EQ(EncodeState(*back), bytes);
    EXPECT_EQ(back->iri_sum, s.iri_sum);
    EXPECT_FALSE(DecodeState(std::string_view(bytes).substr(0, bytes.size() - 1)));
    EXPECT_FALSE(DecodeState(bytes + "?"));
    EXPECT_FALSE(DecodeState(""));
}

TEST(ConditionRecord, CarriesTheClassOfTheIndexAndParsesBack) {
    SegmentState s;
    Apply(s, Pass(1000, 2.0F));
    const std::string json = ConditionToJson(s);
    const auto summary = ParseConditionSummary(json);
    ASSERT_TRUE(summary) << summary.error().Describe() << json;
    EXPECT_EQ(summary->segment, SegmentId{10});
    EXPECT_EQ(summary->version, 1U);
    ASSERT_TRUE(summary->index);
    EXPECT_EQ(summary->klass, ClassOfIndex(*summary->index));
    ASSERT_TRUE(summary->iri_m_per_km);
    EXPECT_DOUBLE_EQ(*summary->iri_m_per_km, 2.0);
    SegmentState empty;
    Apply(empty, {SegmentId{11}, 5, SoilMoisture{20.0F}});
    const auto no_data = ParseConditionSummary(ConditionToJson(empty));
    ASSERT_TRUE(no_data);
    EXPECT_FALSE(no_data->index);
    EXPECT_FALSE(no_data->klass);
}

TEST(ConditionClass, FollowsThePciScaleBoundaries) {
    EXPECT_EQ(ClassOfIndex(100), ConditionClass::kGood);
    EXPECT_EQ(ClassOfIndex(86), ConditionClass::kGood);
    EXPECT_EQ(ClassOfIndex(85.4), ConditionClass::kSatisfactory);
    EXPECT_EQ(ClassOfIndex(71), ConditionClass::kSatisfactory);
    EXPECT_EQ(ClassOfIndex(70), ConditionClass::kFair);
    EXPECT_EQ(ClassOfIndex(56), ConditionClass::kFair);
    EXPECT_EQ(ClassOfIndex(55), ConditionClass::kPoor);
    EXPECT_EQ(ClassOfIndex(41), ConditionClass::kPoor);
    EXPECT_EQ(ClassOfIndex(40), ConditionClass::kVeryPoor);
    EXPECT_EQ(ClassOfIndex(26), ConditionClass::kVeryPoor);
    EXPECT_EQ(ClassOfIndex(25), ConditionClass::kSerious);
    EXPECT_EQ(ClassOfIndex(11), ConditionClass::kSerious);
    EXPECT_EQ(ClassOfIndex(10), ConditionClass::kFailed);
    EXPECT_EQ(ClassOfIndex(0), ConditionClass::kFailed);
    for (int i = 0; i <= 6; ++i) {
        const auto c = static_cast<ConditionClass>(i);
        EXPECT_EQ(ConditionClassFromString(ToString(c)), c);
    }
    EXPECT_FALSE(ConditionClassFromString("excellent"));
}

}  // namespace
}  // namespace pavewatch::pipeline
