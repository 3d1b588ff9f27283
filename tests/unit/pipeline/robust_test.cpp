#include "pavewatch/pipeline/robust.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace pavewatch::pipeline {
namespace {

/// f(mu) = sum w clamp((x - mu) / scale, -k, k) divided by the total weight.
double HuberScore(const std::vector<WeightedValue>& v, double mu, double scale, double k) {
    double f = 0.0;
    double total = 0.0;
    for (const auto& e : v) {
        f += e.w * std::clamp((e.x - mu) / scale, -k, k);
        total += e.w;
    }
    return f / total;
}

std::vector<WeightedValue> SortedByX(std::vector<WeightedValue> v) {
    std::sort(v.begin(), v.end(), [](const WeightedValue& a, const WeightedValue& b) {
        return a.x < b.x;
    });
    return v;
}

/// Random samples, some with ties (values on a coarse grid) and some with outliers.
std::vector<WeightedValue> RandomValues(std::mt19937_64& rng) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const int n = 1 + static_cast<int>(unit(rng) * 40);
    const bool grid = unit(rng) < 0.3;
    std::vector<WeightedValue> v;
    for (int i = 0; i < n; ++i) {
        double x = 4.0 * unit(rng) - 2.0;
        if (grid) {
            x = std::round(x * 2.0) / 2.0;
        }
        if (unit(rng) < 0.1) {
            x *= 20.0;
        }
        v.push_back({x, 0.01 + 5.0 * unit(rng)});
    }
    return v;
}

TEST(Robust, WeightedMedianHalvesTheWeight) {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 3000; ++trial) {
        const auto v = SortedByX(RandomValues(rng));
        const double m = WeightedMedianOfSorted(v);
        double total = 0.0;
        double below = 0.0;
        double at_or_below = 0.0;
        for (const auto& e : v) {
            total += e.w;
            below += e.x < m ? e.w : 0.0;
            at_or_below += e.x <= m ? e.w : 0.0;
        }
        ASSERT_LT(below, 0.5 * total) << "trial " << trial;
        ASSERT_GE(at_or_below, 0.5 * total - 1e-9 * total) << "trial " << trial;
    }
}

TEST(Robust, MedianDeviationMatchesSortingTheDeviations) {
    std::mt19937_64 rng(12);
    std::vector<WeightedValue> scratch;
    for (int trial = 0; trial < 3000; ++trial) {
        const auto v = SortedByX(RandomValues(rng));
        const double m = WeightedMedianOfSorted(v);
        std::vector<WeightedValue> deviations;
        deviations.reserve(v.size());
        for (const auto& e : v) {
            deviations.push_back({std::abs(e.x - m), e.w});
        }
        const double expected = WeightedMedianOfSorted(SortedByX(deviations));
        ASSERT_EQ(WeightedMedianDeviation(v, m, scratch), expected) << "trial " << trial;
        ASSERT_EQ(scratch.size(), v.size());
    }
}

TEST(Robust, HuberLocationIsARootFromAnyStart) {
    // Starts at the median (the usual case) and far outside the values, where no value lies in
    // the band on the first step and the reweighted least squares finishes the work.
    std::mt19937_64 rng(13);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<WeightedValue> scratch;
    for (int trial = 0; trial < 3000; ++trial) {
        const auto v = SortedByX(RandomValues(rng));
        const double median = WeightedMedianOfSorted(v);
        const double scale = std::max(0.05, 1.4826 * WeightedMedianDeviation(v, median, scratch));
        const double k = 0.5 + 2.5 * unit(rng);
        const double far = (unit(rng) < 0.5 ? -1.0 : 1.0) * (100.0 + 1000.0 * unit(rng));
        for (const double start : {median, far}) {
            const double mu = HuberLocation(v, start, scale, k);
            ASSERT_TRUE(std::isfinite(mu));
            ASSERT_NEAR(HuberScore(v, mu, scale, k), 0.0, 1e-6)
                << "trial " << trial << ", start " << start << ", mu " << mu;
            // Within the values' range (up to rounding: one value gives it back +- 1 ulp).
            ASSERT_GE(mu, v.front().x - 1e-12 * (1.0 + std::abs(v.front().x)));
            ASSERT_LE(mu, v.back().x + 1e-12 * (1.0 + std::abs(v.back().x)));
        }
    }
}

TEST(Robust, HuberLocationWithEveryValueOutsideTheBand) {
    // Two values 1 apart, scale 0.05, k 1.345: f is zero on the whole gap between
    // 0 + k scale and 1 - k scale. From a start of 100 nothing is in the band.
    const std::vector<WeightedValue> v{{0.0, 1.0}, {1.0, 1.0}};
    const double k = 1.345;
    const double mu = HuberLocation(v, 100.0, 0.05, k);
    EXPECT_GE(mu, k * 0.05);
    EXPECT_LE(mu, 1.0 - k * 0.05);
    EXPECT_NEAR(HuberScore(v, mu, 0.05, k), 0.0, 1e-12);
    // Unequal weights: the root sits within the band of the heavier value.
    const std::vector<WeightedValue> heavy{{0.0, 3.0}, {1.0, 1.0}};
    const double mu_heavy = HuberLocation(heavy, 100.0, 0.05, k);
    EXPECT_NEAR(HuberScore(heavy, mu_heavy, 0.05, k), 0.0, 1e-9);
    EXPECT_LT(mu_heavy, k * 0.05);
}

TEST(Robust, HuberLocationIsTheMeanWhenEveryValueIsInTheBand) {
    const std::vector<WeightedValue> v{{1.0, 1.0}, {1.2, 2.0}, {0.9, 1.0}};
    const double mean = (1.0 + 2.4 + 0.9) / 4.0;
    EXPECT_DOUBLE_EQ(HuberLocation(v, 1.0, 1.0, 1.345), mean);
}

}  // namespace
}  // namespace pavewatch::pipeline
