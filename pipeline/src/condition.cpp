#include "pavewatch/pipeline/condition.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pavewatch::pipeline {
namespace {

void OptionalTime(JsonWriter& w, std::string_view key, const std::optional<EpochMs>& t) {
    w.Key(key);
    if (t) {
        w.Int(*t);
    } else {
        w.Null();
    }
}

std::string DayText(std::int32_t day) {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    std::int64_t z = day + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = std::clamp<std::int64_t>(y + (m <= 2 ? 1 : 0), 0, 9999);
    // "YYYY-MM-DD" by hand: snprintf took most of a 90-day history record's time.
    const auto digit = [](std::int64_t v) { return static_cast<char>('0' + v % 10); };
    return {
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        '-',
        digit(m / 10),
        digit(m),
        '-',
        digit(d / 10),
        digit(d)};
}

/// A record of ours as read back: a JSON object with a decimal `segment_id`.
struct KeyedRecord {
    boost::json::value doc;
    SegmentId segment;
};

tl::expected<KeyedRecord, Error> ParseKeyedRecord(std::string_view text, std::string_view what) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec || !doc.is_object()) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed, "", std::string(what) + " must be a JSON object"});
    }
    const auto* id = doc.get_object().if_contains("segment_id");
    const auto segment = id != nullptr && id->is_string()
                             ? ParseSegmentKey(std::string_view(id->get_string()))
                             : std::nullopt;
    if (!segment) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "segment_id", "required decimal string"});
    }
    return KeyedRecord{std::move(doc), *segment};
}

/// One day of a segment's history: {"day", "iri_m_per_km", "condition_index", "esal"}.
void WriteDay(
    JsonWriter& w,
    std::int32_t day,
    std::optional<double> iri,
    double index,
    double esal
) {
    w.BeginObject();
    w.Key("day").String(DayText(day));
    w.Key("iri_m_per_km");
    if (iri) {
        w.Decimal(*iri, 3);
    } else {
        w.Null();
    }
    w.Key("condition_index").Decimal(index, 1);
    w.Key("esal").Decimal(esal, 3);
    w.EndObject();
}

}  // namespace

std::string HazardIdText(SegmentId segment, std::uint32_t number) {
    return ToString(segment) + "-" + std::to_string(number);
}

std::optional<std::pair<SegmentId, std::uint32_t>> ParseHazardId(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    const auto segment = ParseSegmentKey(text.substr(0, dash));
    std::uint32_t number = 0;
    const auto rest = text.substr(dash + 1);
    const auto r = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (!segment || rest.empty() || r.ec != std::errc{} || r.ptr != rest.data() + rest.size()) {
        return std::nullopt;
    }
    return std::pair{*segment, number};
}

std::optional<HazardStatus> HazardStatusFromString(std::string_view text) {
    for (int i = 0; i <= static_cast<int>(HazardStatus::kResolved); ++i) {
        if (text == ToString(static_cast<HazardStatus>(i))) {
            return static_cast<HazardStatus>(i);
        }
    }
    return std::nullopt;
}

std::string ConditionToJson(const SegmentState& s, const ModelConfig& config) {
    std::string out;
    out.reserve(1024);
    ConditionToJson(s, config, out);
    return out;
}

void ConditionToJson(const SegmentState& s, const ModelConfig& config, std::string& out) {
    const ConditionSnapshot c = Evaluate(s, config);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(ToString(s.segment));
    w.Key("version").UInt(s.version);
    w.Key("updated_ms").Int(s.last_event_ms);
    if (c.condition) {
        w.Key("condition_index").Decimal(c.condition->index, 1);
        w.Key("condition_class").String(ToString(c.condition->pci_class));
    } else {
        w.Key("condition_index").Null();
        w.Key("condition_class").Null();
    }
    w.Key("iri_m_per_km");
    if (c.roughness) {
        w.Decimal(c.roughness->iri_m_per_km, 3);
    } else {
        w.Null();
    }
    const int open = c.open_hazards.low + c.open_hazards.medium + c.open_hazards.high;
    w.Key("hazards_open").Int(open);
    w.Key("trend_per_30d");
    if (c.trend_per_30d) {
        w.Decimal(*c.trend_per_30d, 2);
    } else {
        w.Null();
    }

    w.Key("roughness");
    if (c.roughness) {
        w.BeginObject();
        w.Key("iri_m_per_km").Decimal(c.roughness->iri_m_per_km, 3);
        w.Key("class").String(ToString(c.roughness->roughness_class));
        w.Key("confidence").Decimal(c.roughness->confidence, 3);
        w.Key("traversals").UInt(c.roughness->traversals);
        w.Key("vehicles").UInt(c.roughness->vehicles);
        w.Key("speed_spread_mps").Decimal(c.roughness->speed_spread_mps, 2);
        w.EndObject();
    } else {
        w.Null();
    }

    w.Key("hazards").BeginArray();
    for (const auto& h : s.hazards.hazards()) {
        w.BeginObject();
        w.Key("id").String(HazardIdText(s.segment, h.id));
        w.Key("status").String(ToString(h.status));
        w.Key("severity").String(ToString(h.severity));
        w.Key("offset_m").Decimal(h.offset_m, 1);
        w.Key("uncertainty_m").Decimal(h.uncertainty_m(), 1);
        w.Key("vehicles").UInt(h.vehicles.size());
        w.Key("detections").UInt(h.detections);
        w.Key("first_seen_ms").Int(h.first_seen_ms);
        w.Key("last_detection_ms").Int(h.last_detection_ms);
        OptionalTime(w, "confirmed_ms", h.confirmed_ms);
        OptionalTime(w, "acknowledged_ms", h.acknowledged_ms);
        OptionalTime(w, "repair_reported_ms", h.repair_reported_ms);
        OptionalTime(w, "disputed_ms", h.disputed_ms);
        OptionalTime(w, "closed_ms", h.closed_ms);
        w.Key("time_to_repair_s");
        if (h.status == HazardStatus::kVerified && h.confirmed_ms && h.closed_ms) {
            w.Number(static_cast<double>(*h.closed_ms - *h.confirmed_ms) / 1000.0);
        } else {
            w.Null();
        }
        w.Key("last_actor").String(h.last_actor);
        w.EndObject();
    }
    w.EndArray();

    const auto& st = s.structural;
    w.Key("structural").BeginObject();
    w.Key("esal").Decimal(st.esal_total, 3);
    w.Key("axles").UInt(st.axles);
    w.Key("fatigue_damage").Number(st.fatigue_damage);
    w.Key("strain_peaks").UInt(st.strain_peaks);
    w.Key("damage_rate_per_day").Number(c.damage_rate_per_day);
    w.Key("remaining_life_days");
    if (c.remaining_life_days) {
        w.Decimal(*c.remaining_life_days, 1);
    } else {
        w.Null();
    }
    w.Key("freeze_thaw_cycles").UInt(st.freeze_thaw_cycles);
    w.Key("temperature_c");
    if (st.temperature_c) {
        w.Decimal(*st.temperature_c, 2);
    } else {
        w.Null();
    }
    w.Key("moisture_vwc_percent");
    if (st.moisture_vwc_percent) {
        w.Decimal(*st.moisture_vwc_percent, 2);
    } else {
        w.Null();
    }
    w.EndObject();

    w.Key("deducts");
    if (c.condition) {
        w.BeginObject();
        w.Key("roughness").Decimal(c.condition->roughness_deduct, 2);
        w.Key("hazards").Decimal(c.condition->hazard_deduct, 2);
        w.Key("structural").Decimal(c.condition->structural_deduct, 2);
        w.EndObject();
    } else {
        w.Null();
    }

    // Today (so far) only: the closed days go to the history record, written when they change.
    w.Key("today");
    if (c.condition) {
        WriteDay(
            w,
            s.open_day,
            c.roughness ? std::optional<double>(c.roughness->iri_m_per_km) : std::nullopt,
            c.condition->index,
            st.esal_total - s.open_day_esal_start
        );
    } else {
        w.Null();
    }

    w.Key("counts").BeginObject();
    w.Key("observations").UInt(s.version);
    for (int k = 1; k <= 7; ++k) {
        w.Key(ToString(static_cast<ObservationKind>(k)))
            .UInt(s.count(static_cast<ObservationKind>(k)));
    }
    w.Key("actions_refused").UInt(s.actions_refused);
    w.EndObject();
    w.Key("first_event_ms").Int(s.first_event_ms);
    w.EndObject();
}

void HistoryToJson(const SegmentState& s, std::string& out) {
    JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(ToString(s.segment));
    w.Key("version").UInt(s.version);
    w.Key("days").BeginArray();
    for (const auto& day : s.history.entries()) {
        WriteDay(w, day.day, day.iri_m_per_km, day.index, day.esal);
    }
    w.EndArray();
    w.EndObject();
}

std::string HistoryToJson(const SegmentState& s) {
    std::string out;
    HistoryToJson(s, out);
    return out;
}

tl::expected<HistorySummary, Error> ParseHistorySummary(std::string_view text) {
    const auto record = ParseKeyedRecord(text, "a condition history record");
    if (!record) {
        return tl::unexpected(record.error());
    }
    std::optional<Error> error;
    detail::FieldReader r(record->doc.get_object(), "", error);
    HistorySummary h;
    h.segment = record->segment;
    h.version = static_cast<std::uint64_t>(r.Integer("version", 0, INT64_MAX));
    const auto* days = r.Raw("days");
    if (!error && (days == nullptr || !days->is_array() ||
                   days->get_array().size() > DailyHistory::kMaxDays)) {
        r.Fail(ErrorCode::kWrongType, "days", "must be an array of at most 90 days");
    }
    if (error) {
        return tl::unexpected(*error);
    }
    return h;
}

tl::expected<ConditionSummary, Error> ParseConditionSummary(std::string_view text) {
    const auto record = ParseKeyedRecord(text, "a condition record");
    if (!record) {
        return tl::unexpected(record.error());
    }
    std::optional<Error> error;
    detail::FieldReader r(record->doc.get_object(), "", error);
    ConditionSummary c;
    c.segment = record->segment;
    c.version = static_cast<std::uint64_t>(r.Integer("version", 0, INT64_MAX));
    c.updated_ms = r.Integer("updated_ms", 0, INT64_MAX, 0);
    if (r.Has("condition_index")) {
        c.index = r.Number("condition_index", 0.0, 100.0);
        c.klass = ClassOfIndex(*c.index);
    }
    if (r.Has("iri_m_per_km")) {
        c.iri_m_per_km = r.Number("iri_m_per_km", 0.0, 1000.0);
    }
    c.hazards_open = static_cast<std::uint32_t>(r.Integer("hazards_open", 0, 1000000, 0));
    if (const auto* hazards = r.Raw("hazards"); hazards != nullptr && hazards->is_array()) {
        for (std::size_t i = 0; i < hazards->get_array().size() && !error; ++i) {
            const auto& item = hazards->get_array()[i];
            if (!item.is_object()) {
                r.Fail(
                    ErrorCode::kWrongType, "hazards[" + std::to_string(i) + "]", "must be an object"
                );
                break;
            }
            detail::FieldReader h(item.get_object(), "hazards[" + std::to_string(i) + "]", error);
            HazardSummary s;
            s.id = h.OptionalString("id").value_or("");
            const auto status = HazardStatusFromString(h.OptionalString("status").value_or(""));
            const auto severity = h.OptionalString("severity").value_or("low");
            s.status = status.value_or(HazardStatus::kCandidate);
            s.severity = severity == "high" ? HazardSeverity::kHigh
                                            : (severity == "medium" ? HazardSeverity::kMedium
                                                                    : HazardSeverity::kLow);
            s.offset_m = h.Number("offset_m", 0.0, 1e6, 0.0);
            s.vehicles = static_cast<std::uint32_t>(h.Integer("vehicles", 0, 1000000, 0));
            s.first_seen_ms = h.Integer("first_seen_ms", 0, INT64_MAX, 0);
            if (h.Has("confirmed_ms")) {
                s.confirmed_ms = h.Integer("confirmed_ms", 0, INT64_MAX);
            }
            if (h.Has("closed_ms")) {
                s.closed_ms = h.Integer("closed_ms", 0, INT64_MAX);
            }
            s.last_actor = h.OptionalString("last_actor").value_or("");
            if (!status || !ParseHazardId(s.id)) {
                h.Fail(
                    ErrorCode::kOutOfRange,
                    h.FieldPath("id"),
                    "a hazard needs an id and a known status"
                );
            }
            c.hazards.push_back(std::move(s));
        }
    }
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
