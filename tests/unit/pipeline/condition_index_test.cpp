#include "pavewatch/pipeline/condition_index.hpp"

#include "pavewatch/pipeline/json_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace pavewatch::pipeline {
namespace {

TEST(ConditionIndex, ClassesFollowThePciScale) {
    EXPECT_EQ(ClassifyPci(100.0), PciClass::kGood);
    EXPECT_EQ(ClassifyPci(86.0), PciClass::kGood);
    EXPECT_EQ(ClassifyPci(85.0), PciClass::kSatisfactory);
    EXPECT_EQ(ClassifyPci(71.0), PciClass::kSatisfactory);
    EXPECT_EQ(ClassifyPci(70.0), PciClass::kFair);
    EXPECT_EQ(ClassifyPci(56.0), PciClass::kFair);
    EXPECT_EQ(ClassifyPci(55.0), PciClass::kPoor);
    EXPECT_EQ(ClassifyPci(41.0), PciClass::kPoor);
    EXPECT_EQ(ClassifyPci(40.0), PciClass::kVeryPoor);
    EXPECT_EQ(ClassifyPci(26.0), PciClass::kVeryPoor);
    EXPECT_EQ(ClassifyPci(25.0), PciClass::kSerious);
    EXPECT_EQ(ClassifyPci(11.0), PciClass::kSerious);
    EXPECT_EQ(ClassifyPci(10.0), PciClass::kFailed);
    EXPECT_EQ(ClassifyPci(0.0), PciClass::kFailed);
    for (const char* name :
         {"good", "satisfactory", "fair", "poor", "very_poor", "serious", "failed"}) {
        const auto c = PciClassFromString(name);
        ASSERT_TRUE(c.has_value()) << name;
        EXPECT_STREQ(ToString(*c), name);
    }
}

// A record writes the index with one decimal and its class beside it; the gateway and the map
// class the written index again. Both must agree for every index, at the class boundaries too
// (85.46 is written 85.5: good, not satisfactory).
TEST(ConditionIndex, TheClassOfTheWrittenIndexIsTheClassOfTheIndex) {
    for (int hundredths = 0; hundredths <= 10000; ++hundredths) {
        const double index = hundredths / 100.0;
        for (const double v : {index, std::nextafter(index, 0.0), std::nextafter(index, 101.0)}) {
            std::string text;
            JsonWriter(text).Decimal(v, 1);
            EXPECT_EQ(ClassifyPci(std::stod(text)), ClassifyPci(v)) << v << " written " << text;
        }
    }
    EXPECT_EQ(ClassifyPci(85.46), PciClass::kGood);
    EXPECT_EQ(ClassifyPci(85.44), PciClass::kSatisfactory);
    EXPECT_EQ(ClassifyPci(10.45), PciClass::kSerious);
}

TEST(ConditionIndex, FhwaRoughnessClassesLandOnMatchingPciClasses) {
    const ConditionConfig c;
    auto index_at = [&](double iri) {
        ConditionInputs in;
        in.iri_m_per_km = iri;
        return ComputeCondition(in, c).index;
    };
    EXPECT_DOUBLE_EQ(index_at(0.8), 100.0);
    EXPECT_GE(index_at(1.49), 85.5);  // FHWA good -> PCI good
    EXPECT_GE(index_at(2.68), 70.5);  // FHWA fair -> at least satisfactory
    EXPECT_EQ(ClassifyPci(index_at(2.68)), PciClass::kSatisfactory);
    for (const double poor : {2.685, 2.69, 2.70, 2.72, 3.0}) {  // FHWA poor -> fair or worse
        EXPECT_LT(index_at(poor), 70.45) << poor;
        EXPECT_EQ(ClassifyPci(index_at(poor)), PciClass::kFair) << poor;
    }
    EXPECT_LT(index_at(8.0), 25.5);  // a damaged road (World Bank scale) -> serious or failed
    // Monotone in IRI.
    double previous = 101.0;
    for (double iri = 0.5; iri < 15.0; iri += 0.25) {
        const double v = index_at(iri);
        EXPECT_LE(v, previous);
        previous = v;
    }
}

TEST(ConditionIndex, DeductsCombineBelowTheirSum) {
    const ConditionConfig c;
    ConditionInputs in;
    in.iri_m_per_km = 3.0;
    in.hazards.high = 1;
    in.hazards.medium = 2;
    in.fatigue_damage = 1.0;
    const ConditionResult r = ComputeCondition(in, c);
    const double sum = r.roughness_deduct + c.hazard_high_deduct + 2 * c.hazard_medium_deduct +
                       r.structural_deduct;
    EXPECT_GT(r.index, 100.0 - sum);
    EXPECT_LT(
        r.index, 100.0 - std::max({r.roughness_deduct, r.hazard_deduct, r.structural_deduct})
    );
    EXPECT_GE(r.index, 0.0);
    EXPECT_NEAR(r.structural_deduct, 40.0, 1e-9);
    // Each open hazard lowers the index.
    ConditionInputs fewer = in;
    fewer.hazards.medium = 1;
    EXPECT_GT(ComputeCondition(fewer, c).index, r.index);
    // Nothing known: a perfect score.
    EXPECT_DOUBLE_EQ(ComputeCondition(ConditionInputs{}, c).index, 100.0);
}

TEST(DailyHistory, TrendIsSlopePerThirtyDays) {
    const ConditionConfig c;
    DailyHistory h;
    for (int d = 0; d < 20; ++d) {
        h.Record(19000 + d, 2.0, 90.0 - 0.5 * d, 100.0);
    }
    const auto trend = h.TrendPer30Days(c);
    ASSERT_TRUE(trend.has_value());
    EXPECT_NEAR(*trend, -15.0, 1e-9);
    DailyHistory short_history;
    short_history.Record(19000, std::nullopt, 80.0, 0.0);
    short_history.Record(19003, std::nullopt, 70.0, 0.0);
    EXPECT_FALSE(short_history.TrendPer30Days(c).has_value());  // 3 days < 7
}

TEST(DailyHistory, KeepsNinetyNewestDaysInOrderAndOverwritesADay) {
    DailyHistory h;
    for (int d = 200; d >= 0; --d) {
        h.Record(d * 2, std::nullopt, 50.0, 0.0);  // backwards: old days fall out or are refused
    }
    for (int d = 0; d < 200; ++d) {
        h.Record(1000 + d, 1.0 + d, 60.0, 1.0);
    }
    ASSERT_EQ(h.entries().size(), DailyHistory::kMaxDays);
    EXPECT_EQ(h.entries().front().day, 1110);
    EXPECT_EQ(h.entries().back().day, 1199);
    h.Record(1199, 9.0, 12.0, 3.0);
    EXPECT_EQ(h.entries().size(), DailyHistory::kMaxDays);
    EXPECT_DOUBLE_EQ(h.entries().back().index, 12.0);
    for (std::size_t i = 1; i < h.entries().size(); ++i) {
        ASSERT_LT(h.entries()[i - 1].day, h.entries()[i].day);
    }
}

TEST(DailyHistory, EncodeDecodeRoundTripsExactly) {
    DailyHistory h;
    for (int d = 0; d < 30; ++d) {
        h.Record(
            19500 + 3 * d,
            d % 4 == 0 ? std::nullopt : std::optional<double>(1.0 + 0.1 * d),
            99.0 - d * 0.7,
            12.5 * d
        );
    }
    std::string bytes;
    ByteWriter w(bytes);
    h.Encode(w);
    ByteReader r(bytes);
    const auto back = DailyHistory::Decode(r);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(*back, h);
    ByteReader cut(std::string_view(bytes).substr(0, bytes.size() - 2));
    EXPECT_FALSE(DailyHistory::Decode(cut).has_value());
}

TEST(DailyHistory, DayNumberFloorsTowardsThePast) {
    EXPECT_EQ(DayNumber(0), 0);
    EXPECT_EQ(DayNumber(86399999), 0);
    EXPECT_EQ(DayNumber(86400000), 1);
    EXPECT_EQ(DayNumber(-1), -1);
}

}  // namespace
}  // namespace pavewatch::pipeline
