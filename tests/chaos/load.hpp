#pragma once

// The exactly-once tests' load (simulate::SyntheticObservation) on the broker, and the offline
// reference fold it is checked against.

#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pavewatch::chaos {

/// Produces observations [first, last) of the load to `topic` (keyed by segment), plus `poison`
/// records wear must refuse spread among them (keys of real segments): alternately undecodable
/// bytes and well-formed observations with an event time out of range. Returns their values.
std::vector<std::string> ProduceLoad(
    const std::string& topic,
    std::uint64_t first,
    std::uint64_t last,
    std::uint64_t segments,
    std::uint64_t seed,
    int poison = 0
);

/// The offline fold of observations [0, count): what every segment's state must be.
std::map<std::uint64_t, pipeline::SegmentState> ReferenceFold(
    std::uint64_t count,
    std::uint64_t segments,
    std::uint64_t seed,
    const pipeline::ModelConfig& config
);

/// The last state of every segment in the changelog topic (read_committed), and when
/// `positions` is given, the last input positions record of every partition.
std::map<std::uint64_t, pipeline::SegmentState> ChangelogStates(
    const std::string& topic,
    std::map<std::int32_t, pipeline::InputPositions>* positions = nullptr
);

struct Comparison {
    std::size_t segments = 0;
    std::size_t missing = 0;         ///< in the reference, not in the changelog
    std::size_t extra = 0;           ///< in the changelog, not in the reference
    std::size_t count_mismatch = 0;  ///< any count differs (lost or double-counted input)
    std::size_t sum_mismatch = 0;    ///< a sum differs beyond floating-point rounding
    std::size_t identical = 0;       ///< byte-identical encoded states
    std::string first_difference;
    std::string first_unidentical;  ///< both states as condition records, for the log
};
Comparison Compare(
    const std::map<std::uint64_t, pipeline::SegmentState>& reference,
    const std::map<std::uint64_t, pipeline::SegmentState>& actual
);

}  // namespace pavewatch::chaos
