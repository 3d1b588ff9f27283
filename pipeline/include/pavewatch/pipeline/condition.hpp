#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pavewatch::pipeline {

/// The seven condition classes of the ASTM D6433 Pavement Condition Index scale.
enum class ConditionClass { kGood, kSatisfactory, kFair, kPoor, kVeryPoor, kSerious, kFailed };

/// "good", "satisfactory", "fair", "poor", "very_poor", "serious", "failed".
const char* ToString(ConditionClass c);
std::optional<ConditionClass> ConditionClassFromString(std::string_view text);
/// Good 86–100, Satisfactory 71–85, Fair 56–70, Poor 41–55, Very Poor 26–40, Serious 11–25,
/// Failed 0–10 (index rounded to the nearest integer first).
ConditionClass ClassOfIndex(double index);

/// What the map and the feed need of a segment's condition: the summary of one record of
/// `pavewatch.conditions`. The record's full JSON is kept beside it for the detail API.
struct ConditionSummary {
    SegmentId segment;
    std::uint64_t version = 0;
    EpochMs updated_ms = 0;               ///< event time of the latest observation
    std::optional<double> index;          ///< 0..100; none before the first roughness estimate
    std::optional<ConditionClass> klass;  ///< class of `index`
    std::optional<double> iri_m_per_km;
    std::uint32_t hazards_open = 0;
};

/// The condition record for a segment, as JSON (the value written to `pavewatch.conditions`;
/// contract in docs/api/asyncapi.yaml).
std::string ConditionToJson(const SegmentState& state);

/// The summary of a condition record; refuses records that are not ours.
tl::expected<ConditionSummary, Error> ParseConditionSummary(std::string_view json);

/// Writes the summary's fields as members of an open JSON object (shared by the GeoJSON
/// properties and the feed's messages, so they cannot drift apart).
class JsonWriter;
void WriteSummaryFields(JsonWriter& w, const ConditionSummary& summary);

}  // namespace pavewatch::pipeline
