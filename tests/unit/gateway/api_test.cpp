#include "pavewatch/gateway/api.hpp"

#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/test_support/drives.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

namespace pavewatch::gateway {
namespace {

using test_support::AlmatyMatcher;
using test_support::AlmatyNetwork;
namespace json = boost::json;

constexpr pipeline::EpochMs kDay = 1763856000000;

/// A condition record of segment `i` with roughness `iri` and one confirmed hazard.
std::string Record(std::size_t i, float iri) {
    const pipeline::ModelConfig config;
    pipeline::SegmentState s;
    const auto id = AlmatyNetwork().segments()[i].id;
    for (std::uint64_t v = 1; v <= 4; ++v) {
        pipeline::Traversal t{
            .vehicle_key = v,
            .speed_mps = 12,
            .from_m = 0,
            .to_m = 90,
            .iri_m_per_km = iri,
            .confidence = 0.9F};
        pipeline::Apply(s, {id, kDay + static_cast<pipeline::EpochMs>(v), t}, config);
        pipeline::HazardEvent e{
            .vehicle_key = v, .offset_m = 30, .uncertainty_m = 3, .peak_ms2 = 12, .speed_mps = 12};
        pipeline::Apply(s, {id, kDay + 100 + static_cast<pipeline::EpochMs>(v), e}, config);
    }
    return pipeline::ConditionToJson(s, config);
}

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const std::size_t i : {0, 1, 2, 500, 1500}) {
            ASSERT_TRUE(view_.Apply(Record(i, 1.0F + static_cast<float>(i % 7))));
        }
        const auto& s = AlmatyNetwork().segments();
        auto tokens = TokenStore::FromJson(
            R"({"tokens":[
            {"name":"agency","role":"agency","sha256":")" +
                Sha256Hex("agency-token-0123456789") + R"("},
            {"name":"acme","role":"contractor","sha256":")" +
                Sha256Hex("acme-token-0123456789ab") + R"(","zone":{"segments":[")" +
                pipeline::ToString(s[0].id) + R"(",")" + pipeline::ToString(s[1].id) + R"("]}}]})",
            AlmatyNetwork()
        );
        ASSERT_TRUE(tokens) << tokens.error().Describe();
        tokens_ = std::move(*tokens);
    }

    http::Response Get(const std::string& target, const std::string& token = "") {
        http::Request r;
        r.method = "GET";
        r.target = target;
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) {
            std::string rest = target.substr(q + 1);
            std::size_t start = 0;
            while (start < rest.size()) {
                auto amp = rest.find('&', start);
                const std::string pair =
                    rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
                const auto eq = pair.find('=');
                r.query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
                if (amp == std::string::npos) {
                    break;
                }
                start = amp + 1;
            }
        }
        if (!token.empty()) {
            r.headers["authorization"] = "Bearer " + token;
        }
        Api api(view_, AlmatyMatcher(), tokens_, R"({"tile_url":null})");
        auto response = api.Handle(r);
        EXPECT_TRUE(response);
        return response.value_or(http::Response{});
    }

    static std::string Body(const http::Response& r) {
        return r.shared_body ? *r.shared_body : r.body;
    }

    ConditionView view_{AlmatyNetwork()};
    TokenStore tokens_;
};

TEST_F(ApiTest, RefusesRequestsWithoutAValidTokenAsProblemDocuments) {
    for (const std::string token : {"", "wrong-token-0000000000"}) {
        const auto r = Get("/api/v1/segments", token);
        EXPECT_EQ(r.status, 401U);
        EXPECT_EQ(r.content_type, "application/problem+json");
        const auto problem = json::parse(Body(r)).as_object();
        EXPECT_EQ(problem.at("status").as_int64(), 401);
        EXPECT_FALSE(problem.at("title").as_string().empty());
    }
}

TEST_F(ApiTest, TheAgencyGetsEverySegmentAndAContractorOnlyItsZone) {
    const auto all =
        json::parse(Body(Get("/api/v1/segments", "agency-token-0123456789"))).as_object();
    EXPECT_EQ(all.at("features").as_array().size(), AlmatyNetwork().segments().size());
    const auto zone =
        json::parse(Body(Get("/api/v1/segments", "acme-token-0123456789ab"))).as_object();
    const auto& features = zone.at("features").as_array();
    ASSERT_EQ(features.size(), 2U);
    std::set<std::string> ids;
    for (const auto& f : features) {
        ids.insert(json::value_to<std::string>(f.at("id")));
    }
    EXPECT_EQ(
        ids,
        (std::set<std::string>{
            pipeline::ToString(AlmatyNetwork().segments()[0].id),
            pipeline::ToString(AlmatyNetwork().segments()[1].id)})
    );
    const auto hazards =
        json::parse(Body(Get("/api/v1/hazards", "acme-token-0123456789ab"))).as_object();
    for (const auto& h : hazards.at("features").as_array()) {
        EXPECT_TRUE(ids.contains(json::value_to<std::string>(h.at("properties").at("segment_id"))));
    }
    EXPECT_EQ(hazards.at("features").as_array().size(), 2U);
    const auto outside =
        Get("/api/v1/segments/" + pipeline::ToString(AlmatyNetwork().segments()[500].id),
            "acme-token-0123456789ab");
    EXPECT_EQ(outside.status, 403U);
}

TEST_F(ApiTest, FiltersByBboxClassAndTimeAndRefusesBadFilters) {
    const auto& s = AlmatyNetwork().segments()[500];
    const auto p = s.points.front();
    const std::string bbox = std::to_string(p.lon - 0.0005) + "," + std::to_string(p.lat - 0.0005) +
                             "," + std::to_string(p.lon + 0.0005) + "," +
                             std::to_string(p.lat + 0.0005);
    const auto near =
        json::parse(Body(Get("/api/v1/segments?bbox=" + bbox, "agency-token-0123456789")))
            .as_object();
    ASSERT_GE(near.at("features").as_array().size(), 1U);
    EXPECT_LT(near.at("features").as_array().size(), 20U);
    const auto with_data =
        json::parse(Body(Get("/api/v1/segments?updated_since=1", "agency-token-0123456789")))
            .as_object();
    EXPECT_EQ(with_data.at("features").as_array().size(), 5U);
    const auto later =
        json::parse(Body(
                        Get("/api/v1/segments?updated_since=" + std::to_string(kDay + 1000000),
                            "agency-token-0123456789")
                    ))
            .as_object();
    EXPECT_EQ(later.at("features").as_array().size(), 0U);
    const auto bad =
        json::parse(Body(Get("/api/v1/segments?class=poor,very_poor", "agency-token-0123456789")));
    for (const auto& f : bad.at("features").as_array()) {
        const auto klass = json::value_to<std::string>(f.at("properties").at("condition_class"));
        EXPECT_TRUE(klass == "poor" || klass == "very_poor") << klass;
    }
    EXPECT_EQ(Get("/api/v1/segments?bbox=1,2", "agency-token-0123456789").status, 400U);
    EXPECT_EQ(Get("/api/v1/segments?class=excellent", "agency-token-0123456789").status, 400U);
    EXPECT_EQ(Get("/api/v1/hazards?status=open", "agency-token-0123456789").status, 400U);
    EXPECT_EQ(
        Get("/api/v1/segments?updated_since=yesterday", "agency-token-0123456789").status, 400U
    );
    EXPECT_EQ(Get("/api/v1/nothing", "agency-token-0123456789").status, 404U);
    EXPECT_EQ(Get("/api/v1/segments/not-a-number", "agency-token-0123456789").status, 404U);
}

TEST_F(ApiTest, ServesOneSegmentsWholeStateWithItsHistoryAndHazardPositions) {
    const auto& s = AlmatyNetwork().segments()[500];
    const auto r = Get("/api/v1/segments/" + pipeline::ToString(s.id), "agency-token-0123456789");
    ASSERT_EQ(r.status, 200U);
    const auto doc = json::parse(Body(r)).as_object();
    for (const char* key :
         {"roughness",
          "hazards",
          "structural",
          "condition_index",
          "condition_class",
          "trend_per_30d",
          "freshness_s",
          "history",
          "name",
          "length_m"}) {
        EXPECT_TRUE(doc.contains(key)) << key;
    }
    const auto& hazard = doc.at("hazards").as_array().at(0).as_object();
    EXPECT_EQ(hazard.at("status"), "confirmed");
    const double lat = hazard.at("lat").to_number<double>();
    EXPECT_NEAR(lat, AlmatyMatcher().PointAt(500, 30).lat, 1e-6);
    EXPECT_EQ(doc.at("history").as_array().size(), 1U);
}

/// Segment `i` after one traversal a day for `days` days, IRI rising by 0.01 m/km a day.
pipeline::SegmentState Aged(std::size_t i, int days) {
    const pipeline::ModelConfig config;
    pipeline::SegmentState s;
    const auto id = AlmatyNetwork().segments()[i].id;
    for (int d = 0; d < days; ++d) {
        pipeline::Traversal t{
            .vehicle_key = 1U + static_cast<std::uint64_t>(d % 5),
            .speed_mps = 12,
            .from_m = 0,
            .to_m = 90,
            .iri_m_per_km = 1.5F + 0.01F * static_cast<float>(d),
            .confidence = 0.9F};
        pipeline::Apply(s, {id, kDay + d * 86'400'000LL + 3'600'000, t}, config);
    }
    return s;
}

TEST_F(ApiTest, ServesNinetyDaysFromTheHistoryRecordAndTodayFromTheConditionRecord) {
    const pipeline::ModelConfig config;
    const std::size_t i = 700;
    const auto id = pipeline::ToString(AlmatyNetwork().segments()[i].id);
    const auto get = [&] {
        const auto r = Get("/api/v1/segments/" + id, "agency-token-0123456789");
        EXPECT_EQ(r.status, 200U);
        return json::parse(Body(r)).as_object();
    };
    // Day 120 is open: 90 closed days are held (days 30..119), today is day 120.
    const auto s = Aged(i, 121);
    ASSERT_EQ(s.history.entries().size(), pipeline::DailyHistory::kMaxDays);
    ASSERT_TRUE(view_.Apply(pipeline::ConditionToJson(s, config)));
    // Without a history record: today only.
    EXPECT_EQ(get().at("history").as_array().size(), 1U);
    EXPECT_FALSE(get().contains("today"));

    ASSERT_TRUE(view_.ApplyHistory(pipeline::HistoryToJson(s)));
    const auto doc = get();
    const auto& days = doc.at("history").as_array();
    ASSERT_EQ(days.size(), 90U);                      // the newest 89 closed days, then today
    EXPECT_EQ(days.back().at("day"), "2026-03-23");   // day 120 after 2025-11-23
    EXPECT_EQ(days.front().at("day"), "2025-12-24");  // day 31
    EXPECT_EQ(days[88].at("day"), "2026-03-22");
    EXPECT_FALSE(doc.contains("today"));
    for (std::size_t k = 1; k < days.size(); ++k) {
        EXPECT_LT(
            json::value_to<std::string>(days[k - 1].at("day")),
            json::value_to<std::string>(days[k].at("day"))
        );
    }

    // An older history record (a replay) does not replace the newer one.
    EXPECT_FALSE(view_.ApplyHistory(pipeline::HistoryToJson(Aged(i, 60))));
    EXPECT_EQ(get().at("history").as_array().size(), 90U);
    // A history record ahead of the condition record held: its days from today on give way
    // to today's entry.
    const auto ahead = Aged(i, 125);
    ASSERT_TRUE(view_.ApplyHistory(pipeline::HistoryToJson(ahead)));
    const auto mixed = get().at("history").as_array();
    ASSERT_EQ(mixed.size(), 87U);  // its closed days 34..119, then today (day 120)
    EXPECT_EQ(mixed.back().at("day"), "2026-03-23");
    EXPECT_EQ(mixed[85].at("day"), "2026-03-22");
    EXPECT_EQ(mixed.front().at("day"), "2025-12-27");
    // Not ours: refused with a reason.
    std::string error;
    EXPECT_FALSE(view_.ApplyHistory(R"({"segment_id":")" + id + R"(","version":3})", &error));
    EXPECT_NE(error.find("days"), std::string::npos) << error;
}

}  // namespace
}  // namespace pavewatch::gateway
