// Fuzz target: what the wear processor does with the records of `pavewatch.observations`,
// which anyone with access to the topic can write: each record decoded (undecodable ones go to
// the dead-letter topic), the decoded ones folded into one segment's state. The input is a
// sequence of records, each a 2-byte little-endian length and that many bytes. Properties:
// no crash, no undefined behaviour, no hang; the folded state is stored and restored
// unchanged, its condition is in range and its records are JSON the readers accept.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "state_checks.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pipeline = pavewatch::pipeline;
    namespace fuzz = pavewatch::fuzz;
    static const pipeline::ModelConfig kConfig;
    pipeline::SegmentState state;
    std::size_t at = 0;
    while (at + 2 <= size) {
        const std::size_t length = data[at] | (static_cast<std::size_t>(data[at + 1]) << 8);
        at += 2;
        const std::size_t take = length < size - at ? length : size - at;
        const std::string_view record(reinterpret_cast<const char*>(data + at), take);
        at += take;
        const auto observation = pipeline::DecodeObservation(record);
        if (!observation) {
            fuzz::Check(!observation.error().Describe().empty(), "a refusal describes itself");
            continue;
        }
        pipeline::Apply(state, *observation, kConfig);
    }
    if (state.version > 0) {
        fuzz::CheckFoldedState(state, kConfig);
    }
    return 0;
}
