#pragma once

// A deterministic synthetic load of observations, already matched to segments: every kind of
// observation the wear processor folds, spread uniformly over a range of made-up segments. The
// exactly-once tests (tests/chaos) and the wear benchmark (bench/wear) both use it, so that any
// run can be folded offline and the processor's final state checked byte for byte.

#include "pavewatch/pipeline/observation.hpp"

#include <cstdint>

namespace pavewatch::simulate {

/// Observation number `i` of a load over `segments` segments (ids from 5,000,000,000): 70 %
/// traversals, 10 % hazard events, 10 % axle loads, 4 % strain, 3 % temperature, 3 % moisture;
/// event times increase by `step_ms` (default 0.3 s) from 2025-11-23T00:00:00Z (so a few
/// million span days and roll the daily history). Segments are drawn uniformly, or with
/// `zipf` > 0 by a power law of that exponent over their popularity ranks, as traffic spreads
/// over a road network (0.8: the busiest 1 % of a million segments get about a third of the
/// observations, the busiest 20 % about 70 %); ranks are scattered over the ids, so the busy
/// segments are not neighbours in the store. Same arguments, same observation.
pipeline::Observation SyntheticObservation(
    std::uint64_t i,
    std::uint64_t segments,
    std::uint64_t seed,
    std::int64_t step_ms = 300,
    double zipf = 0.0
);

}  // namespace pavewatch::simulate
