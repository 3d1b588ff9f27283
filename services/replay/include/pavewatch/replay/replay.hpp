#pragma once

#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ingest_processor.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/observation.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pavewatch::replay {

/// The topic a framed raw line was meant for.
enum class Topic { kVehicle, kEmbedded, kHazardAction };

/// One line of a raw file: `{"topic":"vehicle"|"embedded"|"hazard_action","key":"...",
/// "message":{...}}`. `message` is the raw JSON object as a device sent it, or a string holding
/// the raw bytes verbatim (a message that is not valid JSON). docs/simulator.md, "Files".
struct Frame {
    Topic topic = Topic::kVehicle;
    std::string key;
    /// The message text: a view into the line (canonical framing) or into `owned`.
    std::string_view message;
    std::string owned;
};

/// Splits a framed line. The canonical form (keys in the order above, as `pavewatch simulate
/// --offline` writes it) is read without a JSON parse; anything else goes through a full parse.
/// `canonical` tells which path was taken (a canonical frame whose message then fails to parse
/// is re-read the slow way by the caller, since "canonical" only looked at the framing).
/// Refusals: kMalformed (not a JSON object), kMissingField / kWrongType (topic, message),
/// kUnknownKind (topic).
tl::expected<Frame, pipeline::Error>
ParseFrame(std::string_view line, bool allow_canonical = true, bool* canonical = nullptr);

/// One observation as a JSON object: kind, segment_id, t_ms and the body's fields with units in
/// their names (vehicle keys as decimal strings: they exceed JSON's safe integers).
std::string ObservationToJson(const pipeline::Observation& observation);

/// `pavewatch replay` settings.
struct ReplayOptions {
    std::string input;    ///< raw JSONL file; "-" reads standard input
    std::string out_dir;  ///< created if missing
    /// Worker threads for parsing and ingest (the fold stays in input order on one thread).
    /// 0: one per core.
    int threads = 0;
    /// Lines read and ingested per round; bounds memory to about this many raw lines.
    std::size_t batch_lines = 512;
    /// A longer line is refused ("too_long") without being held in memory, bytes.
    std::size_t max_line_bytes = 8U << 20U;
    /// When set (it must be the ingest's), hazards.jsonl also gives each hazard's lat/lon.
    const pipeline::MapMatcher* matcher = nullptr;
};

/// Counts of a replay.
struct ReplaySummary {
    std::uint64_t lines = 0;  ///< non-blank input lines
    std::uint64_t vehicle_messages = 0;
    std::uint64_t embedded_messages = 0;
    std::uint64_t hazard_actions = 0;
    std::uint64_t refused = 0;  ///< lines written to dlq.jsonl
    std::uint64_t observations = 0;
    std::uint64_t segments = 0;  ///< segments with state
    std::uint64_t hazards = 0;   ///< lines written to hazards.jsonl
    double wall_s = 0.0;
};

/// Replays a raw file through the same code as the live services: IngestProcessor on each line
/// (in parallel, order kept), then every observation through its binary wire form and
/// `pipeline::Apply` on its segment's state in input order, as the wear processor folds a
/// partition. Writes to `options.out_dir`:
///   observations.jsonl  one object per observation (ObservationToJson), in input order
///   conditions.jsonl    ConditionToJson of every segment's final state, ascending segment id
///   history.jsonl       HistoryToJson of the same states (their closed days), same order
///   hazards.jsonl       every hazard: those dropped from a tracker (expired or evicted
///                       candidates, evicted closed hazards) when they go, then the final ones,
///                       each with its status transitions
///   dlq.jsonl           refused lines: {"line", "topic", "key", "code", "field", "reason"}
/// Streams the input; memory is one batch of lines plus the per-segment state. Errors (as
/// values) are I/O failures naming the file; refused input is not an error.
tl::expected<ReplaySummary, std::string> RunReplay(
    const pipeline::IngestProcessor& ingest,
    const pipeline::ModelConfig& config,
    const ReplayOptions& options
);

/// `pavewatch replay`: options (--input, --out, --sensors, --model-config, --calibration,
/// --network, --threads), then RunReplay. Returns the exit code (0 ok, 1 I/O failure, 2 usage).
int Main(int argc, char** argv);

}  // namespace pavewatch::replay
