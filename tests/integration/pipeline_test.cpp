// The walking skeleton's path on the real broker: a raw vehicle message becomes a condition
// update; malformed input lands in the dead-letter topic with its reason and original bytes.

#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/test_support/drives.hpp"
#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/process.hpp"
#include "pavewatch/test_support/services.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

namespace pavewatch::test_support {
namespace {

using namespace std::chrono_literals;

/// A wear processor with its own state folder and a 50 ms commit interval.
std::unique_ptr<Process> StartWear(const TestTopics& topics, const std::string& dir) {
    return StartService(
        "wear",
        topics,
        dir,
        {"--state-dir",
         dir + "/wear",
         "--instance-id",
         "w-" + UniqueSuffix(),
         "--commit-interval-ms",
         "50"}
    );
}

class PipelineTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    }
};

TEST_F(PipelineTest, RawVehicleMessageBecomesConditionUpdate) {
    const auto topics = MakeTopics("raw-to-condition", 3);
    const std::string dir = TempDir("raw-to-condition");
    auto wear = StartWear(topics, dir);
    auto flags = NetworkFlags();
    auto ingest = StartService("ingest", topics, dir, flags);

    const auto& network = AlmatyNetwork();
    const std::size_t first = FirstOfLongRoad(network, 3);
    const auto drive = SyntheticDrive(network, AlmatyMatcher(), first, 12.0, 15.0, 100.0);
    std::set<std::string> driven;
    for (std::size_t i = first; i < first + 3; ++i) {
        driven.insert(pipeline::ToString(network.segments()[i].id));
    }
    ProduceAll(topics.topics.raw_vehicle, {{"car-1", pipeline::ToJson(drive)}});

    const auto conditions = ConsumeUntil(
        topics.topics.conditions,
        [&](const std::vector<ConsumedRecord>& records) {
            std::set<std::string> seen;
            for (const auto& r : records) {
                seen.insert(r.key);
            }
            return seen.size() >= 2;
        },
        90s
    );
    ASSERT_GE(conditions.size(), 2U) << "wear log:\n"
                                     << Tail(wear->log_path()) << "ingest log:\n"
                                     << Tail(ingest->log_path());
    for (const auto& r : conditions) {
        EXPECT_TRUE(driven.contains(r.key)) << "a condition for a segment not driven: " << r.key;
        const auto doc = boost::json::parse(r.value).as_object();
        EXPECT_EQ(boost::json::value_to<std::string>(doc.at("segment_id")), r.key);
        EXPECT_GE(doc.at("version").to_number<double>(), 1);
        EXPECT_FALSE(doc.at("condition_index").is_null()) << r.value;
        EXPECT_FALSE(doc.at("iri_m_per_km").is_null()) << r.value;
    }
    // Both stop cleanly on SIGTERM.
    EXPECT_EQ(ingest->Stop(), 0) << Tail(ingest->log_path());
    EXPECT_EQ(wear->Stop(), 0) << Tail(wear->log_path());
}

// The closed days of a segment's history go to the history topic once per closed day, not with
// every condition update.
TEST_F(PipelineTest, ClosedDaysGoToTheHistoryTopicOncePerDay) {
    const auto topics = MakeTopics("history", 1);
    const std::string dir = TempDir("history");
    auto wear = StartWear(topics, dir);
    const pipeline::SegmentId segment = AlmatyNetwork().segments()[10].id;
    const std::string key = pipeline::SegmentKey(segment);
    constexpr pipeline::EpochMs kDay0 = 1763856000000;  // 2025-11-23T00:00:00Z
    std::uint64_t version = 0;
    // Three waves, one day each, four traversals a day; each wave folded before the next.
    for (int day = 0; day < 3; ++day) {
        std::vector<std::pair<std::string, std::string>> records;
        for (int k = 0; k < 4; ++k) {
            pipeline::Observation o;
            o.segment = segment;
            o.t_ms = kDay0 + day * 86'400'000LL + k * 600'000LL;
            pipeline::Traversal t;
            t.vehicle_key = 1 + static_cast<std::uint64_t>(k);
            t.speed_mps = 12.0F;
            t.to_m = 50.0F;
            t.iri_m_per_km = 2.0F + 0.5F * static_cast<float>(day);
            t.confidence = 0.8F;
            o.body = t;
            std::string value;
            pipeline::EncodeObservation(o, value);
            records.emplace_back(key, value);
        }
        ProduceAll(topics.topics.observations, records);
        version += 4;
        const auto conditions = ConsumeUntil(
            topics.topics.conditions,
            [&](const std::vector<ConsumedRecord>& got) {
                return !got.empty() &&
                       boost::json::parse(got.back().value).at("version").to_number<double>() >=
                           static_cast<double>(version);
            },
            60s
        );
        ASSERT_FALSE(conditions.empty()) << Tail(wear->log_path());
        const auto last = boost::json::parse(conditions.back().value).as_object();
        EXPECT_EQ(last.at("version").to_number<double>(), static_cast<double>(version));
        EXPECT_FALSE(last.contains("history"));
        EXPECT_EQ(
            last.at("today").at("day"),
            day == 0 ? "2025-11-23" : (day == 1 ? "2025-11-24" : "2025-11-25")
        );
    }
    const auto history = ConsumeToEnd(topics.topics.condition_history);
    // Day 1 closed day 0; day 2 closed day 1: two records, not one per update.
    ASSERT_EQ(history.size(), 2U) << Tail(wear->log_path());
    for (std::size_t i = 0; i < history.size(); ++i) {
        EXPECT_EQ(history[i].key, key);
        const auto doc = boost::json::parse(history[i].value).as_object();
        EXPECT_EQ(doc.at("days").as_array().size(), i + 1) << history[i].value;
        // Written with the first of the next day's observations (their transaction may hold
        // more of that day).
        const double v = doc.at("version").to_number<double>();
        EXPECT_GT(v, static_cast<double>(4 * (i + 1)));
        EXPECT_LE(v, static_cast<double>(4 * (i + 2)));
    }
    EXPECT_EQ(wear->Stop(), 0) << Tail(wear->log_path());
}

TEST_F(PipelineTest, MalformedInputLandsInTheDeadLetterTopicAndIngestCarriesOn) {
    const auto topics = MakeTopics("dlq", 2);
    const std::string dir = TempDir("dlq");
    auto ingest = StartService("ingest", topics, dir, NetworkFlags());

    const std::string broken_json = R"({"kind":"vehicle","vehicle_id":"v1",)";
    auto drive = SyntheticDrive(
        AlmatyNetwork(), AlmatyMatcher(), FirstOfLongRoad(AlmatyNetwork(), 2), 12.0, 5.0, 50.0
    );
    auto bad_lat = drive;
    bad_lat.gps[2].lat = 91.5;  // out of range
    std::string bad_lat_json = pipeline::ToJson(bad_lat);
    const std::string binary("\x00\xff\x10garbage", 10);
    ProduceAll(
        topics.topics.raw_vehicle, {{"k1", broken_json}, {"k2", bad_lat_json}, {"k3", binary}}
    );
    ProduceAll(
        topics.topics.raw_embedded,
        {{"k4", R"({"kind":"temperature","sensor_id":"nowhere","t_ms":1763900000000,"celsius":3})"}}
    );
    // A good message after the bad ones must still go through.
    ProduceAll(topics.topics.raw_vehicle, {{"k5", pipeline::ToJson(drive)}});

    const auto dead = ConsumeUntil(
        topics.topics.dlq, [](const auto& r) { return r.size() >= 4; }, 60s
    );
    ASSERT_EQ(dead.size(), 4U) << Tail(ingest->log_path());
    std::map<std::string, ConsumedRecord> by_key;
    for (const auto& r : dead) {
        by_key[r.key] = r;
        EXPECT_EQ(r.headers.at("pavewatch.service"), "ingest");
        EXPECT_FALSE(r.headers.at("pavewatch.detail").empty());
    }
    EXPECT_EQ(by_key.at("k1").headers.at("pavewatch.reason"), "malformed");
    EXPECT_EQ(by_key.at("k1").value, broken_json) << "the original bytes must be kept";
    EXPECT_EQ(by_key.at("k1").headers.at("pavewatch.source.topic"), topics.topics.raw_vehicle);
    EXPECT_EQ(by_key.at("k2").headers.at("pavewatch.reason"), "out_of_range");
    EXPECT_NE(by_key.at("k2").headers.at("pavewatch.detail").find("gps[2].lat"), std::string::npos)
        << by_key.at("k2").headers.at("pavewatch.detail");
    EXPECT_EQ(by_key.at("k2").value, bad_lat_json);
    EXPECT_EQ(by_key.at("k3").value, binary);
    EXPECT_EQ(by_key.at("k4").headers.at("pavewatch.reason"), "unknown_sensor");

    const auto observations = ConsumeUntil(
        topics.topics.observations, [](const auto& r) { return !r.empty(); }, 60s
    );
    ASSERT_FALSE(observations.empty()) << "the good message after the bad ones was not processed";
    for (const auto& o : observations) {
        const auto decoded = pipeline::DecodeObservation(o.value);
        ASSERT_TRUE(decoded) << decoded.error().Describe();
        EXPECT_EQ(pipeline::SegmentKey(decoded->segment), o.key);
    }
    EXPECT_TRUE(ingest->Running()) << "ingest must keep running after bad input";
    EXPECT_EQ(ingest->Stop(), 0);
}

}  // namespace
}  // namespace pavewatch::test_support
