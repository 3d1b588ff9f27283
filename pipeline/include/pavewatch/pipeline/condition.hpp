#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/condition_index.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/hazard_tracker.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::pipeline {

/// The seven condition classes of the ASTM D6433 Pavement Condition Index scale ("good",
/// "satisfactory", "fair", "poor", "very_poor", "serious", "failed"); see condition_index.hpp.
using ConditionClass = PciClass;
inline std::optional<ConditionClass> ConditionClassFromString(std::string_view text) {
    return PciClassFromString(text);
}
/// Good 86–100, Satisfactory 71–85, Fair 56–70, Poor 41–55, Very Poor 26–40, Serious 11–25,
/// Failed 0–10 (index rounded as written, to one decimal, then to the nearest integer).
inline ConditionClass ClassOfIndex(double index) {
    return ClassifyPci(index);
}

/// A hazard as the condition record carries it (and the gateway serves it).
struct HazardSummary {
    std::string id;  ///< "<segment id>-<number>", stable for the hazard's life
    HazardStatus status = HazardStatus::kCandidate;
    HazardSeverity severity = HazardSeverity::kLow;
    double offset_m = 0.0;
    std::uint32_t vehicles = 0;
    EpochMs first_seen_ms = 0;
    std::optional<EpochMs> confirmed_ms;
    std::optional<EpochMs> closed_ms;
    std::string last_actor;
};

/// What the map and the feed need of a segment's condition: the summary of one record of
/// `pavewatch.conditions`. The record's full JSON is kept beside it for the detail API.
struct ConditionSummary {
    SegmentId segment;
    std::uint64_t version = 0;
    EpochMs updated_ms = 0;               ///< event time of the latest observation
    std::optional<double> index;          ///< 0..100; none while nothing is known of the surface
    std::optional<ConditionClass> klass;  ///< class of `index`
    std::optional<double> iri_m_per_km;
    std::uint32_t hazards_open = 0;
    std::vector<HazardSummary> hazards;
};

/// The condition record of a segment, as JSON: the value written to `pavewatch.conditions`
/// (contract in docs/api/asyncapi.yaml, schema docs/schemas/condition.schema.json).
std::string ConditionToJson(const SegmentState& state, const ModelConfig& config);
/// The same record appended to `out`: a caller writing many reuses one buffer, so the record
/// costs no allocation once the buffer has grown to the largest.
void ConditionToJson(const SegmentState& state, const ModelConfig& config, std::string& out);

/// The history record of a segment, as JSON: the value written to
/// `pavewatch.condition-history` (schema docs/schemas/condition-history.schema.json), the closed
/// days of its daily history, oldest first. Written only when they change (a day closes), so
/// the condition record, written at every commit that touches the segment, carries today only.
std::string HistoryToJson(const SegmentState& state);
void HistoryToJson(const SegmentState& state, std::string& out);

/// What a reader checks of a history record before keeping it.
struct HistorySummary {
    SegmentId segment;
    std::uint64_t version = 0;  ///< the segment's state version when the record was written
};
/// Refuses records that are not ours (not an object, no segment id or version, no `days`
/// array of at most 90 entries).
tl::expected<HistorySummary, Error> ParseHistorySummary(std::string_view json);

/// The summary of a condition record; refuses records that are not ours.
tl::expected<ConditionSummary, Error> ParseConditionSummary(std::string_view json);

/// Hazard id text for a segment's hazard number.
std::string HazardIdText(SegmentId segment, std::uint32_t number);
/// Parses "<segment>-<number>"; nullopt when malformed.
std::optional<std::pair<SegmentId, std::uint32_t>> ParseHazardId(std::string_view text);
std::optional<HazardStatus> HazardStatusFromString(std::string_view text);

/// Writes the summary's fields as members of an open JSON object (shared by the GeoJSON
/// properties and the feed's messages, so they cannot drift apart).
class JsonWriter;
void WriteSummaryFields(JsonWriter& w, const ConditionSummary& summary);

}  // namespace pavewatch::pipeline
