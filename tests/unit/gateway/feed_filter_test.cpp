// Property test: whatever the zone, the subscription and the update, a contractor is never
// offered a segment, hazard or alert outside its zone; and within it the filter does exactly
// what the subscription asks.

#include "pavewatch/gateway/feed_filter.hpp"

#include "pavewatch/test_support/drives.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>

namespace pavewatch::gateway {
namespace {

using test_support::AlmatyNetwork;

struct Case {
    std::shared_ptr<const Zone> zone;
    Subscription subscription;
};

Case RandomCase(std::mt19937_64& rng) {
    const auto& network = AlmatyNetwork();
    std::uniform_real_distribution<double> lon(76.78, 77.05);
    std::uniform_real_distribution<double> lat(43.11, 43.38);
    std::uniform_int_distribution<std::size_t> pick(0, network.segments().size() - 1);
    std::vector<std::vector<pipeline::LonLat>> polygons;
    std::vector<pipeline::SegmentId> listed;
    const int shape = static_cast<int>(rng() % 3);
    if (shape != 1) {
        const double w = lon(rng);
        const double s = lat(rng);
        const double size = 0.01 + 0.06 * (static_cast<double>(rng() % 1000) / 1000.0);
        polygons.push_back({{w, s}, {w + size, s}, {w + size * 0.7, s + size}, {w, s + size * 0.8}}
        );
    }
    if (shape != 0 || polygons.empty()) {
        for (int k = 0, n = 1 + static_cast<int>(rng() % 20); k < n; ++k) {
            listed.push_back(network.segments()[pick(rng)].id);
        }
    }
    Case c;
    c.zone = std::make_shared<const Zone>(network, listed, polygons);
    c.subscription.kinds = static_cast<std::uint8_t>(1 + rng() % 7);
    if (rng() % 2 == 0) {
        const double w = lon(rng);
        const double s = lat(rng);
        c.subscription.bbox = BBox{w, s, w + 0.08, s + 0.08};
    }
    if (rng() % 3 == 0) {
        c.subscription.segments.emplace();
        for (int k = 0; k < 300; ++k) {
            c.subscription.segments->insert(network.segments()[pick(rng)].id);
        }
    }
    if (rng() % 3 == 0) {
        c.subscription.min_class = static_cast<pipeline::ConditionClass>(rng() % 7);
    }
    return c;
}

TEST(FeedFilterProperty, AContractorNeverReceivesAnythingOutsideItsZone) {
    const auto& network = AlmatyNetwork();
    const SegmentBoxes boxes(network);
    std::mt19937_64 rng(20261123);
    std::uniform_int_distribution<std::size_t> pick(0, network.segments().size() - 1);
    std::size_t offered = 0;
    std::size_t outside_checked = 0;
    constexpr int kCases = 3000;
    for (int c = 0; c < kCases; ++c) {
        const auto test = RandomCase(rng);
        const Principal contractor{"c" + std::to_string(c), Role::kContractor, test.zone, 0};
        const FeedFilter filter(contractor, test.subscription, boxes);
        for (int u = 0; u < 60; ++u) {
            // Half the updates inside the zone (when it has any), half anywhere.
            std::size_t i = pick(rng);
            if (u % 2 == 0 && test.zone->size() > 0) {
                while (!test.zone->Contains(i)) {
                    i = pick(rng);
                }
            }
            const auto& seg = network.segments()[i];
            const std::optional<pipeline::ConditionClass> klass =
                rng() % 8 == 0 ? std::nullopt
                               : std::optional(static_cast<pipeline::ConditionClass>(rng() % 7));
            const bool sent_before = rng() % 4 == 0;
            const pipeline::LonLat at = seg.points[rng() % seg.points.size()];
            const bool wants_condition = filter.WantsCondition(i, klass, sent_before);
            const bool wants_hazard = filter.WantsHazard(i, at);
            const bool wants_alert = filter.WantsAlert(i, at);
            // The hub wakes a session only for segments that may concern it: a superset.
            if (wants_condition || wants_hazard || wants_alert) {
                ASSERT_TRUE(filter.MayConcern(i)) << "case " << c << ": segment " << i;
            }
            if (!test.zone->Contains(i)) {
                ++outside_checked;
                ASSERT_FALSE(wants_condition || wants_hazard || wants_alert)
                    << "case " << c << ": segment " << i << " is outside the zone";
                continue;
            }
            // Inside the zone: exactly what the subscription asks.
            const auto& s = test.subscription;
            const auto& b = boxes[i];
            const bool listed = !s.segments || s.segments->contains(seg.id);
            const bool box = !s.bbox || !(b[2] < (*s.bbox)[0] || b[0] > (*s.bbox)[2] ||
                                          b[3] < (*s.bbox)[1] || b[1] > (*s.bbox)[3]);
            const bool point = !s.bbox || (at.lon >= (*s.bbox)[0] && at.lon <= (*s.bbox)[2] &&
                                           at.lat >= (*s.bbox)[1] && at.lat <= (*s.bbox)[3]);
            const bool klass_ok = !s.min_class || sent_before || (klass && *klass >= *s.min_class);
            EXPECT_EQ(wants_condition, s.Has(EntryKind::kCondition) && listed && box && klass_ok)
                << "case " << c;
            EXPECT_EQ(wants_hazard, s.Has(EntryKind::kHazard) && listed && point) << "case " << c;
            EXPECT_EQ(wants_alert, s.Has(EntryKind::kAlert) && listed && point) << "case " << c;
            offered += (wants_condition || wants_hazard || wants_alert) ? 1 : 0;
        }
    }
    EXPECT_GT(outside_checked, static_cast<std::size_t>(kCases) * 20);
    EXPECT_GT(offered, static_cast<std::size_t>(kCases) * 5)
        << "the property must not hold vacuously";
}

TEST(FeedFilter, TheAgencySeesEverything) {
    const auto& network = AlmatyNetwork();
    const SegmentBoxes boxes(network);
    const FeedFilter filter(Principal{"agency", Role::kAgency, nullptr, 0}, Subscription{}, boxes);
    for (std::size_t i = 0; i < network.segments().size(); i += 97) {
        EXPECT_TRUE(filter.WantsCondition(i, std::nullopt, false));
        EXPECT_TRUE(filter.WantsHazard(i, network.segments()[i].points.front()));
    }
}

TEST(ParseSubscription, AcceptsTheDocumentedFieldsAndRefusesOthers) {
    const auto parse = [](const char* text) {
        return ParseSubscription(boost::json::parse(text).as_object());
    };
    const auto all = parse(R"({"type":"subscribe"})");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->kinds, 7);
    const auto some = parse(
        R"({"type":"subscribe","kinds":["hazards"],"bbox":[76.9,43.2,77.0,43.3],"segments":["12","34"],"min_class":"poor"})"
    );
    ASSERT_TRUE(some) << some.error();
    EXPECT_TRUE(some->Has(EntryKind::kHazard));
    EXPECT_FALSE(some->Has(EntryKind::kCondition));
    EXPECT_EQ(some->segments->size(), 2U);
    EXPECT_EQ(some->min_class, pipeline::ConditionClass::kPoor);
    EXPECT_FALSE(parse(R"({"kinds":["weather"]})"));
    EXPECT_FALSE(parse(R"({"kinds":[]})"));
    EXPECT_FALSE(parse(R"({"bbox":[77,43,76,44]})"));
    EXPECT_FALSE(parse(R"({"bbox":[1,2,3]})"));
    EXPECT_FALSE(parse(R"({"segments":[12]})"));
    EXPECT_FALSE(parse(R"({"min_class":"awful"})"));
}

}  // namespace
}  // namespace pavewatch::gateway
