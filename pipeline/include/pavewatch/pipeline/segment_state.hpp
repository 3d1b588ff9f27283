#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/condition_index.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/hazard_tracker.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/roughness_aggregate.hpp"
#include "pavewatch/pipeline/structural.hpp"

#include <tl/expected.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pavewatch::pipeline {

/// Everything the wear processor knows about one segment: the fold of all its observations.
///
/// `Apply` is deterministic: the same observations in the same order give bit-identical state
/// (no clock: "now" is the segment's latest event time), which is what lets the exactly-once
/// tests compare the live result with an offline fold. A plain value; not thread-safe.
struct SegmentState {
    SegmentId segment;
    std::uint64_t version = 0;  ///< observations applied so far (1 after the first)
    EpochMs first_event_ms = 0;
    EpochMs last_event_ms = 0;
    std::array<std::uint64_t, 7> count_by_kind{};  ///< indexed by ObservationKind - 1

    // Plain running sums, kept beside the models for reconciliation and diagnostics.
    std::uint64_t iri_estimates = 0;
    double iri_sum = 0.0;  ///< of per-traversal IRI estimates, m/km
    double iri_sum_squares = 0.0;
    std::uint64_t hazard_events = 0;
    double hazard_peak_sum_ms2 = 0.0;
    std::uint64_t actions_refused = 0;  ///< contractor actions on unknown or closed hazards

    RoughnessAggregate roughness;  ///< robust cross-vehicle IRI
    HazardTracker hazards;         ///< candidate, confirmed, repaired, ...
    StructuralState structural;    ///< ESAL, fatigue, climate
    DailyHistory history;          ///< one entry per closed day (UTC), newest 90
    std::int32_t open_day = 0;     ///< day of the latest observation (not yet in `history`)
    double open_day_esal_start = 0.0;

    std::uint64_t count(ObservationKind kind) const {
        return count_by_kind[static_cast<std::size_t>(kind) - 1];
    }
};

/// Folds one observation into the segment's state with the models' configuration. True when
/// the observation closed a day into `history` (the closed days changed: the history record of
/// the segment is due).
bool Apply(SegmentState& state, const Observation& observation, const ModelConfig& config);

/// The segment's condition as of its latest observation: roughness summary, open hazards,
/// structural damage and the 0-100 index combining them.
struct ConditionSnapshot {
    std::optional<RoughnessSummary> roughness;
    OpenHazardCounts open_hazards;
    std::optional<ConditionResult> condition;  ///< none while nothing is known of the surface
    std::optional<double> trend_per_30d;
    std::optional<double> remaining_life_days;
    double damage_rate_per_day = 0.0;
};
ConditionSnapshot Evaluate(const SegmentState& state, const ModelConfig& config);

/// Binary form of a segment state (RocksDB value and changelog record; layout in
/// docs/architecture.md). Decoding refuses anything but one whole, well-formed state.
void EncodeState(const SegmentState& state, std::string& out);
std::string EncodeState(const SegmentState& state);
tl::expected<SegmentState, Error> DecodeState(std::string_view bytes);

/// The input positions that a partition's states reflect: the next offsets to read of the
/// observations and hazard-action partitions (-1 where nothing was ever read). Besides the
/// states, the changelog holds one such record per partition (key kPositionsKey), written in
/// the same transaction as the states and the consumed offsets, so a restore knows exactly
/// where the input resumes for the state it rebuilt.
struct InputPositions {
    std::int64_t observations = -1;
    std::int64_t actions = -1;
    bool operator==(const InputPositions&) const = default;
};
/// Key of the positions record in the changelog; never a segment key (those are numbers).
inline constexpr std::string_view kPositionsKey = "positions";
/// Text form, e.g. `observations=1200,actions=-1`.
std::string EncodePositions(const InputPositions& positions);
/// Nullopt unless `bytes` is exactly what EncodePositions writes.
std::optional<InputPositions> DecodePositions(std::string_view bytes);

}  // namespace pavewatch::pipeline
