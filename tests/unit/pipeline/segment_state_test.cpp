#include "pavewatch/pipeline/segment_state.hpp"

#include "pavewatch/pipeline/condition.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <limits>
#include <regex>
#include <set>

namespace pavewatch::pipeline {
namespace {

constexpr EpochMs kDay0 = 1763856000000;  // 2025-11-23T00:00:00Z

Observation
Pass(EpochMs t, float iri, std::uint64_t vehicle = 1, float from = 0.0F, float to = 100.0F) {
    return {
        SegmentId{10},
        t,
        Traversal{
            .vehicle_key = vehicle,
            .speed_mps = 12.0F,
            .from_m = from,
            .to_m = to,
            .iri_m_per_km = iri,
            .samples = 500,
            .sample_rate_hz = 100.0F,
            .confidence = 0.8F}};
}

Observation Bump(EpochMs t, std::uint64_t vehicle, float offset = 40.0F, float peak = 12.0F) {
    return {
        SegmentId{10},
        t,
        HazardEvent{
            .vehicle_key = vehicle,
            .offset_m = offset,
            .uncertainty_m = 3.0F,
            .peak_ms2 = peak,
            .speed_mps = 12.0F}};
}

TEST(SegmentState, FoldsCountsSumsAndLoads) {
    const ModelConfig config;
    SegmentState s;
    Apply(s, Pass(kDay0 + 2000, 2.0F), config);
    Apply(s, Pass(kDay0 + 1000, 4.0F), config);
    Apply(s, Pass(kDay0 + 3000, -1.0F), config);  // no estimate: counted as a pass only
    AxleLoads a;
    a.axles = 2;
    a.load_kn = {80.0F, 160.0F};
    a.spacing_m = {0.0F, 5.0F};  // 5 m apart: two single axles
    Apply(s, {SegmentId{10}, kDay0 + 4000, a}, config);
    EXPECT_EQ(s.segment, SegmentId{10});
    EXPECT_EQ(s.version, 4U);
    EXPECT_EQ(s.count(ObservationKind::kTraversal), 3U);
    EXPECT_EQ(s.iri_estimates, 2U);
    EXPECT_DOUBLE_EQ(s.iri_sum, 6.0);
    EXPECT_EQ(s.first_event_ms, kDay0 + 1000);
    EXPECT_EQ(s.last_event_ms, kDay0 + 4000);
    EXPECT_NEAR(s.structural.esal_total, 1.0 + 16.0, 1e-9);  // (80/80)^4 + (160/80)^4
}

TEST(SegmentState, RoughnessOfManyVehiclesResistsAnOutlier) {
    const ModelConfig config;
    SegmentState s;
    for (std::uint64_t v = 1; v <= 8; ++v) {
        Apply(
            s,
            Pass(
                kDay0 + static_cast<EpochMs>(v) * 1000, 2.0F + 0.05F * static_cast<float>(v % 3), v
            ),
            config
        );
    }
    Apply(s, Pass(kDay0 + 9000, 25.0F, 99), config);  // one broken device
    const auto snapshot = Evaluate(s, config);
    ASSERT_TRUE(snapshot.roughness);
    EXPECT_NEAR(snapshot.roughness->iri_m_per_km, 2.05, 0.15);
    EXPECT_EQ(snapshot.roughness->vehicles, 9U);
    ASSERT_TRUE(snapshot.condition);
    EXPECT_EQ(snapshot.condition->pci_class, ClassOfIndex(snapshot.condition->index));
}

TEST(SegmentState, HazardsAreConfirmedActedOnAndLowerTheIndex) {
    const ModelConfig config;
    SegmentState s;
    for (std::uint64_t v = 1; v <= 5; ++v) {
        Apply(s, Pass(kDay0 + static_cast<EpochMs>(v) * 1000, 2.0F, v), config);
    }
    const double before = Evaluate(s, config).condition->index;
    for (std::uint64_t v = 1; v <= 3; ++v) {
        Apply(s, Bump(kDay0 + 10000 + static_cast<EpochMs>(v) * 1000, v), config);
    }
    ASSERT_EQ(s.hazards.hazards().size(), 1U);
    EXPECT_EQ(s.hazards.hazards()[0].status, HazardStatus::kConfirmed);
    const auto after = Evaluate(s, config);
    EXPECT_EQ(after.open_hazards.low + after.open_hazards.medium + after.open_hazards.high, 1);
    EXPECT_LT(after.condition->index, before);

    Apply(
        s,
        {SegmentId{10}, kDay0 + 20000, HazardAction{1, HazardActionKind::kAcknowledge, "acme"}},
        config
    );
    EXPECT_EQ(s.hazards.hazards()[0].status, HazardStatus::kAcknowledged);
    Apply(
        s,
        {SegmentId{10}, kDay0 + 21000, HazardAction{7, HazardActionKind::kAcknowledge, "acme"}},
        config
    );
    EXPECT_EQ(s.actions_refused, 1U);

    const auto summary = ParseConditionSummary(ConditionToJson(s, config));
    ASSERT_TRUE(summary) << summary.error().Describe();
    EXPECT_EQ(summary->hazards_open, 1U);
    ASSERT_EQ(summary->hazards.size(), 1U);
    EXPECT_EQ(summary->hazards[0].id, "10-1");
    EXPECT_EQ(summary->hazards[0].status, HazardStatus::kAcknowledged);
    EXPECT_EQ(summary->hazards[0].last_actor, "acme");
    EXPECT_NEAR(summary->hazards[0].offset_m, 40.0, 0.1);
}

TEST(SegmentState, ClosesEachDayIntoTheHistory) {
    const ModelConfig config;
    SegmentState s;
    int closing = 0;  // observations that closed a day, as Apply reports them
    for (int day = 0; day < 12; ++day) {
        for (std::uint64_t v = 1; v <= 3; ++v) {
            // Roughness grows by 0.1 m/km a day: the index falls, the trend is negative.
            closing += Apply(
                s,
                Pass(
                    kDay0 + day * 86400000LL + static_cast<EpochMs>(v) * 1000,
                    2.0F + 0.1F * static_cast<float>(day),
                    v
                ),
                config
            );
        }
    }
    EXPECT_EQ(s.history.entries().size(), 11U);  // the 12th day is still open
    EXPECT_EQ(closing, 11);                      // the first of each later day
    EXPECT_EQ(s.history.entries().front().day, DayNumber(kDay0));
    const auto snapshot = Evaluate(s, config);
    ASSERT_TRUE(snapshot.trend_per_30d);
    EXPECT_LT(*snapshot.trend_per_30d, 0.0);
    // The condition record carries today only; the closed days are the history record's.
    const auto record = boost::json::parse(ConditionToJson(s, config)).as_object();
    EXPECT_FALSE(record.contains("history"));
    EXPECT_EQ(record.at("today").at("day"), "2025-12-04");
    const auto history = boost::json::parse(HistoryToJson(s)).as_object();
    EXPECT_EQ(history.at("segment_id"), "10");
    EXPECT_EQ(history.at("version").as_int64(), 36);
    const auto& days = history.at("days").as_array();
    ASSERT_EQ(days.size(), 11U);
    EXPECT_EQ(days[0].at("day"), "2025-11-23");
    EXPECT_EQ(days[10].at("day"), "2025-12-03");
    EXPECT_NEAR(days[0].at("iri_m_per_km").to_number<double>(), 2.0, 1e-3);
    EXPECT_GT(  // rougher day by day
        days[10].at("iri_m_per_km").to_number<double>(),
        days[0].at("iri_m_per_km").to_number<double>() + 0.3
    );
    const auto parsed = ParseHistorySummary(HistoryToJson(s));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->segment, SegmentId{10});
    EXPECT_EQ(parsed->version, 36U);
    EXPECT_FALSE(ParseHistorySummary(R"({"segment_id":"10","version":1})"));
    EXPECT_FALSE(ParseHistorySummary(R"({"segment_id":"10","version":1,"days":{}})"));
    EXPECT_FALSE(ParseHistorySummary(R"({"version":1,"days":[]})"));
    EXPECT_FALSE(ParseHistorySummary("[]"));
}

TEST(SegmentState, EncodesAndDecodesExactly) {
    const ModelConfig config;
    SegmentState s;
    for (int i = 0; i < 50; ++i) {
        Apply(
            s,
            Pass(
                kDay0 + i * 3600000LL,
                1.0F + static_cast<float>(i) * 0.37F,
                static_cast<std::uint64_t>(i % 7)
            ),
            config
        );
    }
    for (std::uint64_t v = 1; v <= 4; ++v) {
        Apply(s, Bump(kDay0 + 200000000 + static_cast<EpochMs>(v), v), config);
    }
    Apply(s, {SegmentId{10}, kDay0 + 300000000, PavementTemperature{-4.0F, 50.0F}}, config);
    StrainPasses strain;
    strain.passes = 2;
    strain.microstrain = {150.0F, 90.0F};
    Apply(s, {SegmentId{10}, kDay0 + 300000001, strain}, config);
    const std::string bytes = EncodeState(s);
    const auto back = DecodeState(bytes);
    ASSERT_TRUE(back) << back.error().Describe();
    EXPECT_EQ(EncodeState(*back), bytes);
    EXPECT_EQ(back->hazards, s.hazards);
    EXPECT_EQ(back->roughness, s.roughness);
    EXPECT_EQ(back->structural, s.structural);
    EXPECT_EQ(back->history, s.history);
    EXPECT_FALSE(DecodeState(std::string_view(bytes).substr(0, bytes.size() - 1)));
    EXPECT_FALSE(DecodeState(bytes + "?"));
    EXPECT_FALSE(DecodeState(""));
}

// A stored state holds only what folding accepted observations can produce: a state read back
// from RocksDB or the changelog with values no such fold gives (whoever wrote it) is refused,
// as it would make the models' arithmetic overflow or the records built from it unreadable.
TEST(SegmentState, RefusesStoredValuesNoAcceptedObservationProduces) {
    const ModelConfig config;
    const auto refused = [](const SegmentState& s, std::string_view why) {
        const auto back = DecodeState(EncodeState(s));
        ASSERT_FALSE(back) << why;
        EXPECT_TRUE(
            back.error().code == ErrorCode::kOutOfRange ||
            back.error().code == ErrorCode::kInconsistent
        ) << why
          << ": " << back.error().Describe();
    };
    SegmentState valid;
    Apply(valid, Pass(kDay0, 2.0F), config);
    for (std::uint64_t v = 1; v <= 4; ++v) {
        Apply(valid, Bump(kDay0 + 1000 + static_cast<EpochMs>(v), v), config);
    }
    ASSERT_TRUE(DecodeState(EncodeState(valid)));

    SegmentState s = valid;
    s.version = (std::uint64_t{1} << 53U) + 1;  // more observations than a double counts exactly
    refused(s, "version");
    s = valid;
    s.first_event_ms = 1;  // 1970, before any accepted event time
    refused(s, "first event time");
    s = valid;
    s.structural.esal_total = std::numeric_limits<double>::infinity();
    refused(s, "ESAL");
    s = valid;
    s.structural.temperature_ms = -86400000LL * 365 * 300;
    refused(s, "temperature time");

    // An IRI above the observations' limit, folded directly (ingest and DecodeObservation
    // refuse it before it gets here).
    s = valid;
    Apply(s, Pass(kDay0 + 2000, 5000.0F, 2), config);
    refused(s, "roughness");

    // An action by an actor that is not an id (the decoders of actions refuse it).
    s = valid;
    ASSERT_FALSE(s.hazards.hazards().empty());
    Apply(
        s,
        {SegmentId{10},
         kDay0 + 3000,
         HazardAction{
             .hazard_id = s.hazards.hazards().front().id,
             .action = HazardActionKind::kAcknowledge,
             .actor = "\xff"}},
        config
    );
    ASSERT_EQ(s.hazards.hazards().front().last_actor, "\xff");
    refused(s, "hazard actor");
}

// Rounded fields are written as the short decimal they were rounded to (39.9), never as the
// nearest binary neighbour of a product (39.900000000000006).
TEST(ConditionRecord, WritesRoundedFieldsAsShortDecimals) {
    const ModelConfig config;
    SegmentState s;
    for (std::uint64_t v = 1; v <= 6; ++v) {
        const auto t = kDay0 + static_cast<EpochMs>(v) * 60'000;
        Apply(s, Pass(t, 2.2F + 0.1F * static_cast<float>(v), v), config);
        Apply(s, Bump(t + 1000, v, 39.9F), config);
    }
    const std::string json = ConditionToJson(s, config);
    ASSERT_NE(json.find("\"offset_m\":"), std::string::npos) << json;
    // Written at full precision on purpose: tiny fractions.
    const std::set<std::string> unrounded{"fatigue_damage", "damage_rate_per_day"};
    const std::regex number(R"re("(\w+)":(-?[0-9]+\.([0-9]+)))re");
    int checked = 0;
    for (auto it = std::sregex_iterator(json.begin(), json.end(), number);
         it != std::sregex_iterator();
         ++it) {
        if (unrounded.contains((*it)[1].str())) {
            continue;
        }
        ++checked;
        EXPECT_LE((*it)[3].length(), 3) << (*it)[1] << " = " << (*it)[2] << " in " << json;
    }
    EXPECT_GE(checked, 5) << json;
}

TEST(ConditionRecord, CarriesTheClassOfTheIndexAndParsesBack) {
    const ModelConfig config;
    SegmentState s;
    Apply(s, Pass(kDay0, 2.0F), config);
    const std::string json = ConditionToJson(s, config);
    const auto summary = ParseConditionSummary(json);
    ASSERT_TRUE(summary) << summary.error().Describe() << json;
    EXPECT_EQ(summary->segment, SegmentId{10});
    EXPECT_EQ(summary->version, 1U);
    ASSERT_TRUE(summary->index);
    EXPECT_EQ(summary->klass, ClassOfIndex(*summary->index));
    ASSERT_TRUE(summary->iri_m_per_km);
    EXPECT_NEAR(*summary->iri_m_per_km, 2.0, 1e-3);
    SegmentState empty;
    Apply(empty, {SegmentId{11}, kDay0, SoilMoisture{20.0F}}, config);
    const auto no_data = ParseConditionSummary(ConditionToJson(empty, config));
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

TEST(HazardId, RoundTrips) {
    EXPECT_EQ(HazardIdText(SegmentId{123}, 4), "123-4");
    const auto parsed = ParseHazardId("123-4");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->first, SegmentId{123});
    EXPECT_EQ(parsed->second, 4U);
    EXPECT_FALSE(ParseHazardId("123"));
    EXPECT_FALSE(ParseHazardId("x-1"));
    EXPECT_FALSE(ParseHazardId("1-"));
}

}  // namespace
TEST(InputPositions, RoundTripAndRefuseAnythingElse) {
    for (const InputPositions p :
         {InputPositions{}, InputPositions{0, -1}, InputPositions{1234567890123, 42}}) {
        const auto back = DecodePositions(EncodePositions(p));
        ASSERT_TRUE(back) << EncodePositions(p);
        EXPECT_EQ(*back, p);
    }
    EXPECT_EQ(EncodePositions({1200, -1}), "observations=1200,actions=-1");
    for (const std::string_view bad :
         {"",
          "observations=1",
          "observations=1,actions=",
          "observations=1,actions=2,",
          "observations=-2,actions=0",
          "actions=1,observations=2",
          "observations=x,actions=1",
          "observations=1;actions=2",
          "observations=1,actions=2 ",
          // Found by tests/fuzz (records_json): numbers EncodePositions never writes.
          "observations=1200,actions=-0",
          "observations=01200,actions=-1",
          "observations=+1,actions=-1"}) {
        EXPECT_FALSE(DecodePositions(bad)) << bad;
    }
    // The key can never be taken for a segment's.
    EXPECT_FALSE(ParseSegmentKey(kPositionsKey));
}

}  // namespace pavewatch::pipeline
