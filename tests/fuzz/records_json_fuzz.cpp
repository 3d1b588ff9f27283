// Fuzz target: the text records PaveWatch reads from Kafka: a contractor's hazard action
// (`pavewatch.hazard-actions`, which the wear processor folds), condition and history records
// (which the gateway serves), changelog positions records, record keys and hazard ids. Every
// reader gets the same bytes. Properties: a refusal says what is wrong; what a reader accepts
// reads the same after it is written again.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pipeline = pavewatch::pipeline;
    using pavewatch::fuzz::Check;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (const auto action = pipeline::ParseHazardActionJson(text)) {
        const std::string written = pipeline::HazardActionToJson(*action);
        const auto again = pipeline::ParseHazardActionJson(written);
        Check(again.has_value(), "a hazard action reads back as it was written");
        Check(
            pipeline::EncodeObservation(*again) == pipeline::EncodeObservation(*action),
            "a hazard action is the same after it is written and read"
        );
    } else {
        Check(!action.error().Describe().empty(), "a refusal describes itself");
    }

    if (const auto condition = pipeline::ParseConditionSummary(text)) {
        Check(
            !condition->index || (*condition->index >= 0 && *condition->index <= 100),
            "an accepted condition index is in [0, 100]"
        );
    } else {
        Check(!condition.error().Describe().empty(), "a refusal describes itself");
    }
    if (const auto history = pipeline::ParseHistorySummary(text); !history) {
        Check(!history.error().Describe().empty(), "a refusal describes itself");
    }

    if (const auto positions = pipeline::DecodePositions(text)) {
        Check(
            pipeline::EncodePositions(*positions) == text,
            "a positions record is accepted only as EncodePositions writes it"
        );
    }
    if (const auto key = pipeline::ParseSegmentKey(text)) {
        Check(
            pipeline::ParseSegmentKey(pipeline::SegmentKey(*key)) == key,
            "a segment key reads back as it was written"
        );
    }
    if (const auto id = pipeline::ParseHazardId(text)) {
        Check(
            pipeline::ParseHazardId(pipeline::HazardIdText(id->first, id->second)) == id,
            "a hazard id reads back as it was written"
        );
    }
    return 0;
}
