#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/observation.hpp"

#include <tl/expected.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pavewatch::pipeline {

/// Everything the wear processor knows about one segment: the fold of all its observations.
///
/// `Apply` is deterministic: the same observations in the same order give bit-identical state,
/// which is what lets the exactly-once tests compare the live result with an offline fold.
/// A plain value; not thread-safe.
struct SegmentState {
    SegmentId segment;
    std::uint64_t version = 0;  ///< observations applied so far (1 after the first)
    EpochMs first_event_ms = 0;
    EpochMs last_event_ms = 0;
    std::array<std::uint64_t, 7> count_by_kind{};  ///< indexed by ObservationKind - 1

    // Roughness: running sums of per-traversal IRI estimates (m/km).
    std::uint64_t iri_estimates = 0;
    double iri_sum = 0.0;
    double iri_sum_squares = 0.0;

    // Hazards: single-vehicle detections so far.
    std::uint64_t hazard_events = 0;
    double hazard_peak_sum_ms2 = 0.0;

    // Structure: equivalent single axle loads, fatigue damage (Miner sum), climate.
    double esal = 0.0;
    double fatigue_damage = 0.0;
    float temperature_c = 0.0F;
    float moisture_vwc_percent = 0.0F;

    std::uint64_t count(ObservationKind kind) const {
        return count_by_kind[static_cast<std::size_t>(kind) - 1];
    }
    /// Mean IRI (m/km), or a negative value when no estimate has arrived yet.
    double MeanIri() const {
        return iri_estimates > 0 ? iri_sum / static_cast<double>(iri_estimates) : -1.0;
    }
};

/// Folds one observation into the segment's state.
void Apply(SegmentState& state, const Observation& observation);

/// Binary form of a segment state (RocksDB value and changelog record; layout in
/// docs/architecture.md). Decoding refuses anything but one whole, well-formed state.
void EncodeState(const SegmentState& state, std::string& out);
std::string EncodeState(const SegmentState& state);
tl::expected<SegmentState, Error> DecodeState(std::string_view bytes);

}  // namespace pavewatch::pipeline
