#pragma once

// One segment's state as the segment-output benchmarks use it: the synthetic load's
// observations, all on one segment, spread evenly over a number of days.

#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/simulate/synthetic_load.hpp"

namespace pavewatch::pipeline {

/// The state after 4,000 observations over `days` days (days - 1 closed ones, 90 at most).
inline SegmentState StateOver(int days, const ModelConfig& config) {
    constexpr std::uint64_t kObservations = 4000;
    constexpr std::int64_t kDayMs = 86'400'000;
    const std::int64_t step_ms = days * kDayMs / static_cast<std::int64_t>(kObservations);
    SegmentState s;
    for (std::uint64_t i = 0; i < kObservations; ++i) {
        Apply(s, simulate::SyntheticObservation(i, 1, 1, step_ms), config);
    }
    return s;
}

}  // namespace pavewatch::pipeline
