// Fuzz target: a stored segment state as the wear processor reads it back (a RocksDB value, a
// changelog record during a restore). Properties: no crash and no undefined behaviour on any
// bytes; a refusal says what is wrong; a state that decodes is stored again unchanged (encoded,
// decoded and encoded once more, the bytes are the same).
//
// Only the layout is the decoder's to check: the values inside a state are trusted, because
// the wear processor alone writes states and it folds only observations that DecodeObservation
// accepted (docs/architecture.md, "What is checked where"). observation_fold asserts that every
// state so folded evaluates in range and writes records the readers accept.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pipeline = pavewatch::pipeline;
    namespace fuzz = pavewatch::fuzz;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto state = pipeline::DecodeState(bytes);
    if (!state) {
        fuzz::Check(!state.error().Describe().empty(), "a refusal describes itself");
        return 0;
    }
    const std::string stored = pipeline::EncodeState(*state);
    const auto again = pipeline::DecodeState(stored);
    fuzz::Check(again.has_value(), "a state decodes as it was encoded");
    fuzz::Check(pipeline::EncodeState(*again) == stored, "a state encodes the same after a decode");
    return 0;
}
