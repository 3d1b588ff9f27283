#include "pavewatch/pipeline/roughness_aggregate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace pavewatch::pipeline {
namespace {

TEST(RoughnessAggregate, OutlierVehicleBarelyMovesTheEstimate) {
    const RoughnessConfig config;
    RoughnessAggregate a;
    const double values[] = {2.0, 2.1, 1.9, 2.05, 1.95, 2.0, 2.1, 1.9};
    for (int i = 0; i < 8; ++i) {
        a.Add(100 + i, 1000, values[i], 0.8, 15.0, config);
    }
    const double before = a.Summary(1000, config)->iri_m_per_km;
    // A badly calibrated vehicle reports 4x, many times.
    for (int k = 0; k < 20; ++k) {
        a.Add(999, 2000 + k, 8.0, 0.9, 15.0, config);
    }
    const double after = a.Summary(3000, config)->iri_m_per_km;
    EXPECT_NEAR(before, 2.0, 0.05);
    // The plain mean over vehicles would move by ~ (8 - 2) / 9 = 0.67 m/km.
    EXPECT_LT(std::abs(after - before), 0.1);
}

/// The weighted median as Summary defines it: the smallest x with cumulative weight >= half.
double WeightedMedianOf(std::vector<std::pair<double, double>> v) {
    std::sort(v.begin(), v.end());
    double total = 0.0;
    for (const auto& [x, w] : v) {
        total += w;
    }
    double acc = 0.0;
    for (const auto& [x, w] : v) {
        acc += w;
        if (acc >= 0.5 * total) {
            return x;
        }
    }
    return v.back().first;
}

TEST(RoughnessAggregate, EstimateIsTheRootOfTheHuberEquation) {
    // Random fleets (a few outliers among them), each vehicle one traversal so that its entry
    // holds ln IRI exactly and its weight is its confidence: the estimate must solve
    // sum w psi((x - mu) / s) = 0 with s = max(0.05, 1.4826 weighted MAD), psi = clamp(., -k, k).
    const RoughnessConfig config;
    const double k = config.aggregate_huber_k;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int trial = 0; trial < 2000; ++trial) {
        RoughnessAggregate a;
        const int vehicles = 1 + static_cast<int>(unit(rng) * 32);
        const double centre = 1.0 + unit(rng) * 8.0;
        const double spread = 0.01 + unit(rng) * 0.5;
        std::vector<std::pair<double, double>> xw;
        for (int v = 0; v < vehicles; ++v) {
            double iri = centre * std::exp(spread * (unit(rng) - 0.5));
            if (unit(rng) < 0.15) {
                iri *= unit(rng) < 0.5 ? 4.0 : 0.25;  // a badly calibrated device
            }
            const double confidence = 0.05 + 0.95 * unit(rng);
            a.Add(static_cast<std::uint64_t>(v) + 1, 1000, iri, confidence, 12.0, config);
            xw.emplace_back(std::log(iri), std::max(1e-3, confidence));
        }
        const auto summary = a.Summary(1000, config);
        ASSERT_TRUE(summary);
        const double median = WeightedMedianOf(xw);
        std::vector<std::pair<double, double>> deviations;
        deviations.reserve(xw.size());
        for (const auto& [x, w] : xw) {
            deviations.emplace_back(std::abs(x - median), w);
        }
        const double scale = std::max(0.05, 1.4826 * WeightedMedianOf(deviations));
        const double mu = std::log(summary->iri_m_per_km);
        double f = 0.0;
        double total = 0.0;
        for (const auto& [x, w] : xw) {
            f += w * std::clamp((x - mu) / scale, -k, k);
            total += w;
        }
        ASSERT_NEAR(f / total, 0.0, 1e-9) << "trial " << trial << ", " << vehicles << " vehicles";
    }
}

TEST(RoughnessAggregate, BoundedAndEvictsLeastRecentlyUpdated) {
    RoughnessConfig config;
    config.aggregate_max_vehicles = 4;
    RoughnessAggregate a;
    for (std::int64_t i = 0; i < 10; ++i) {
        a.Add(static_cast<std::uint64_t>(i), 1000 * i, 2.0, 0.5, 10.0, config);
        ASSERT_LE(a.entries().size(), 4U);
    }
    std::vector<std::uint64_t> keys;
    for (const auto& e : a.entries()) {
        keys.push_back(e.vehicle_key);
    }
    EXPECT_EQ(keys, (std::vector<std::uint64_t>{6, 7, 8, 9}));
}

TEST(RoughnessAggregate, EncodeDecodeRoundTripsExactly) {
    const RoughnessConfig config;
    RoughnessAggregate a;
    for (int i = 0; i < 12; ++i) {
        a.Add(
            0x123456789ULL * (i % 5 + 1),
            1700000000000LL + i,
            1.0 + 0.37 * i,
            0.1 * (i % 10),
            7.0 + i,
            config
        );
    }
    std::string bytes;
    ByteWriter w(bytes);
    a.Encode(w);
    ByteReader r(bytes);
    const auto b = RoughnessAggregate::Decode(r);
    ASSERT_TRUE(b.has_value());
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(*b, a);
    std::string again;
    ByteWriter w2(again);
    b->Encode(w2);
    EXPECT_EQ(again, bytes);
    // Truncated and wrong-version input are errors, not crashes.
    ByteReader cut(std::string_view(bytes).substr(0, bytes.size() - 3));
    EXPECT_FALSE(RoughnessAggregate::Decode(cut).has_value());
    std::string bad = bytes;
    bad[0] = 9;
    ByteReader wrong(bad);
    const auto v = RoughnessAggregate::Decode(wrong);
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code, ErrorCode::kUnsupportedVersion);
}

TEST(RoughnessAggregate, ConfidenceGrowsWithVehiclesAndSpeedSpread) {
    const RoughnessConfig config;
    RoughnessAggregate one;
    one.Add(1, 0, 2.0, 0.8, 15.0, config);
    RoughnessAggregate many;
    RoughnessAggregate many_spread;
    for (int i = 0; i < 8; ++i) {
        many.Add(i, 0, 2.0, 0.8, 15.0, config);
        many_spread.Add(i, 0, 2.0, 0.8, 10.0 + 2.0 * i, config);
    }
    const double c1 = one.Summary(0, config)->confidence;
    const double c8 = many.Summary(0, config)->confidence;
    const double c8s = many_spread.Summary(0, config)->confidence;
    EXPECT_LT(c1, c8);
    EXPECT_LT(c8, c8s);
    EXPECT_LE(c8s, 1.0);
}

TEST(RoughnessAggregate, OldEntriesStopCounting) {
    const RoughnessConfig config;  // 180 days
    RoughnessAggregate a;
    a.Add(1, 0, 5.0, 0.8, 15.0, config);
    const EpochMs later = 200LL * 86400000LL;
    a.Add(2, later, 1.0, 0.8, 15.0, config);
    EXPECT_NEAR(a.Summary(later, config)->iri_m_per_km, 1.0, 1e-9);
    EXPECT_FALSE(a.Summary(later + 181LL * 86400000LL, config).has_value());
}

TEST(RoughnessAggregate, ClassesFollowFhwaThresholds) {
    const RoughnessConfig config;
    EXPECT_EQ(ClassifyIri(1.49, config), RoughnessClass::kGood);
    EXPECT_EQ(ClassifyIri(1.50, config), RoughnessClass::kFair);
    EXPECT_EQ(ClassifyIri(2.68, config), RoughnessClass::kFair);
    EXPECT_EQ(ClassifyIri(2.69, config), RoughnessClass::kPoor);
    EXPECT_STREQ(ToString(RoughnessClass::kPoor), "poor");
}

}  // namespace
}  // namespace pavewatch::pipeline
