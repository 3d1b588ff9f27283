// Fuzz target: a stored segment state as the wear processor reads it back (a RocksDB value, a
// changelog record during a restore), whoever wrote it. Properties: no crash and no undefined
// behaviour on any bytes; a refusal says what is wrong; a state that decodes is stored again
// unchanged (encoded, decoded and encoded once more, the bytes are the same), and it holds what
// a state folded from accepted observations holds (CheckFoldedState: it evaluates in range and
// writes condition and history records that the gateway's readers accept), as DecodeState
// refuses values no such fold produces (docs/architecture.md, "What is checked where").

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "state_checks.hpp"

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
    static const pipeline::ModelConfig kConfig;
    fuzz::CheckFoldedState(*state, kConfig);  // the round trip through EncodeState included
    return 0;
}
