#include "pavewatch/pipeline/condition.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {
namespace {

/// Walking-skeleton mapping of mean IRI to a 0..100 index: 100 at or below 1 m/km, 0 at or
/// above 11 m/km, linear between. The science core replaces it (docs/condition-model.md).
double IndexFromIri(double iri) {
    return std::clamp(100.0 - (iri - 1.0) * 10.0, 0.0, 100.0);
}

}  // namespace

const char* ToString(ConditionClass c) {
    switch (c) {
        case ConditionClass::kGood:
            return "good";
        case ConditionClass::kSatisfactory:
            return "satisfactory";
        case ConditionClass::kFair:
            return "fair";
        case ConditionClass::kPoor:
            return "poor";
        case ConditionClass::kVeryPoor:
            return "very_poor";
        case ConditionClass::kSerious:
            return "serious";
        case ConditionClass::kFailed:
            return "failed";
    }
    return "failed";
}

std::optional<ConditionClass> ConditionClassFromString(std::string_view text) {
    for (int i = 0; i <= static_cast<int>(ConditionClass::kFailed); ++i) {
        const auto c = static_cast<ConditionClass>(i);
        if (text == ToString(c)) {
            return c;
        }
    }
    return std::nullopt;
}

ConditionClass ClassOfIndex(double index) {
    const double r = std::round(index);
    if (r >= 86) {
        return ConditionClass::kGood;
    }
    if (r >= 71) {
        return ConditionClass::kSatisfactory;
    }
    if (r >= 56) {
        return ConditionClass::kFair;
    }
    if (r >= 41) {
        return ConditionClass::kPoor;
    }
    if (r >= 26) {
        return ConditionClass::kVeryPoor;
    }
    if (r >= 11) {
        return ConditionClass::kSerious;
    }
    return ConditionClass::kFailed;
}

std::string ConditionToJson(const SegmentState& s) {
    std::string out;
    out.reserve(512);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(ToString(s.segment));
    w.Key("version").UInt(s.version);
    w.Key("updated_ms").Int(s.last_event_ms);
    const double iri = s.MeanIri();
    if (iri >= 0) {
        const double index = IndexFromIri(iri);
        w.Key("condition_index").Number(std::round(index * 10) / 10);
        w.Key("condition_class").String(ToString(ClassOfIndex(index)));
        w.Key("iri_m_per_km").Number(std::round(iri * 1000) / 1000);
    } else {
        w.Key("condition_index").Null();
        w.Key("condition_class").Null();
        w.Key("iri_m_per_km").Null();
    }
    w.Key("hazards_open").Int(0);
    w.Key("roughness").BeginObject();
    w.Key("traversals").UInt(s.count(ObservationKind::kTraversal));
    w.Key("estimates").UInt(s.iri_estimates);
    w.EndObject();
    w.Key("hazard_events").UInt(s.hazard_events);
    w.Key("structural").BeginObject();
    w.Key("esal").Number(s.esal);
    w.Key("fatigue_damage").Number(s.fatigue_damage);
    w.Key("temperature_c").Number(s.temperature_c);
    w.Key("moisture_vwc_percent").Number(s.moisture_vwc_percent);
    w.EndObject();
    w.Key("observations").UInt(s.version);
    w.EndObject();
    return out;
}

tl::expected<ConditionSummary, Error> ParseConditionSummary(std::string_view text) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec || !doc.is_object()) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed, "", "a condition record must be a JSON object"});
    }
    std::optional<Error> error;
    detail::FieldReader r(doc.get_object(), "", error);
    ConditionSummary c;
    const auto id_text = r.OptionalString("segment_id");
    const auto id = id_text ? ParseSegmentKey(*id_text) : std::nullopt;
    if (!id) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "segment_id", "required decimal string"});
    }
    c.segment = *id;
    c.version = static_cast<std::uint64_t>(r.Integer("version", 0, INT64_MAX));
    c.updated_ms = r.Integer("updated_ms", 0, INT64_MAX, 0);
    if (r.Has("condition_index")) {
        c.index = r.Number("condition_index", 0.0, 100.0);
        c.klass = ClassOfIndex(*c.index);
    }
    if (r.Has("iri_m_per_km")) {
        c.iri_m_per_km = r.Number("iri_m_per_km", 0.0, 100.0);
    }
    c.hazards_open = static_cast<std::uint32_t>(r.Integer("hazards_open", 0, 1000000, 0));
    if (error) {
        return tl::unexpected(*error);
    }
    return c;
}

void WriteSummaryFields(JsonWriter& w, const ConditionSummary& c) {
    w.Key("segment_id").String(ToString(c.segment));
    w.Key("version").UInt(c.version);
    if (c.updated_ms > 0) {
        w.Key("updated_ms").Int(c.updated_ms);
    } else {
        w.Key("updated_ms").Null();
    }
    if (c.index) {
        w.Key("condition_index").Number(*c.index);
        w.Key("condition_class").String(ToString(*c.klass));
    } else {
        w.Key("condition_index").Null();
        w.Key("condition_class").Null();
    }
    if (c.iri_m_per_km) {
        w.Key("iri_m_per_km").Number(*c.iri_m_per_km);
    } else {
        w.Key("iri_m_per_km").Null();
    }
    w.Key("hazards_open").UInt(c.hazards_open);
}

}  // namespace pavewatch::pipeline
