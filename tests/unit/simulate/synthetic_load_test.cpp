// The synthetic load of the exactly-once tests and the wear benchmark: deterministic, and spread
// over the segments as documented (uniformly, or by a power law of their popularity).
#include "pavewatch/simulate/synthetic_load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace pavewatch::simulate {
namespace {

constexpr std::uint64_t kFirst = 5'000'000'000ULL;

/// Observations per segment index, most observed first.
std::vector<std::uint64_t>
CountsByPopularity(std::uint64_t n, std::uint64_t segments, double zipf) {
    std::vector<std::uint64_t> counts(segments, 0);
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto id = SyntheticObservation(i, segments, 1, 300, zipf).segment.value();
        EXPECT_GE(id, kFirst);
        EXPECT_LT(id, kFirst + segments);
        ++counts.at(id - kFirst);
    }
    std::sort(counts.begin(), counts.end(), std::greater<>());
    return counts;
}

double ShareOfTop(const std::vector<std::uint64_t>& counts, std::size_t top, std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::size_t k = 0; k < top; ++k) {
        sum += counts[k];
    }
    return static_cast<double>(sum) / static_cast<double>(n);
}

/// The share of the `top` most popular of `segments` under the power law x^-s on
/// [1, segments + 1): its integral from 1 to top + 1 over the whole.
double PowerLawShare(std::size_t top, std::uint64_t segments, double s) {
    const double a = 1.0 - s;
    return (std::pow(static_cast<double>(top) + 1.0, a) - 1.0) /
           (std::pow(static_cast<double>(segments) + 1.0, a) - 1.0);
}

TEST(SyntheticLoad, SameArgumentsSameObservation) {
    for (const double zipf : {0.0, 0.8}) {
        for (std::uint64_t i : {0ULL, 7ULL, 123456ULL}) {
            const auto a = SyntheticObservation(i, 1000, 3, 300, zipf);
            const auto b = SyntheticObservation(i, 1000, 3, 300, zipf);
            EXPECT_EQ(a.segment, b.segment);
            EXPECT_EQ(a.t_ms, b.t_ms);
            EXPECT_EQ(a.body.index(), b.body.index());
        }
    }
}

TEST(SyntheticLoad, UniformByDefault) {
    constexpr std::uint64_t kN = 400000;
    const auto counts = CountsByPopularity(kN, 10000, 0.0);
    // 40 per segment on average: the busiest 1 % hold little more than 1 %.
    EXPECT_LT(ShareOfTop(counts, 100, kN), 0.02);
    EXPECT_GT(counts.back(), 0U);  // every segment seen
}

TEST(SyntheticLoad, APowerLawConcentratesTrafficOnBusySegments) {
    constexpr std::uint64_t kN = 400000;
    constexpr std::uint64_t kSegments = 10000;
    const auto counts = CountsByPopularity(kN, kSegments, 0.8);
    for (const std::size_t top : {100U, 2000U}) {
        EXPECT_NEAR(ShareOfTop(counts, top, kN), PowerLawShare(top, kSegments, 0.8), 0.02) << top;
    }
    // The documented shape at a million segments: about a third to the busiest 1 %, about
    // 70 % to the busiest 20 %.
    EXPECT_NEAR(PowerLawShare(10000, 1000000, 0.8), 0.36, 0.01);
    EXPECT_NEAR(PowerLawShare(200000, 1000000, 0.8), 0.71, 0.01);
}

TEST(SyntheticLoad, TheBusiestSegmentsAreScatteredOverTheIds) {
    // The 20 busiest segment indices are not the 20 lowest (as ranks would be unscattered).
    constexpr std::uint64_t kSegments = 10000;
    std::vector<std::uint64_t> counts(kSegments, 0);
    for (std::uint64_t i = 0; i < 200000; ++i) {
        ++counts[SyntheticObservation(i, kSegments, 1, 300, 0.8).segment.value() - kFirst];
    }
    std::vector<std::uint64_t> order(kSegments);
    for (std::uint64_t k = 0; k < kSegments; ++k) {
        order[k] = k;
    }
    std::partial_sort(order.begin(), order.begin() + 20, order.end(), [&](auto a, auto b) {
        return counts[a] > counts[b];
    });
    const auto above_100 =
        std::count_if(order.begin(), order.begin() + 20, [](auto k) { return k >= 100; });
    EXPECT_GE(above_100, 15);
}

}  // namespace
}  // namespace pavewatch::simulate
