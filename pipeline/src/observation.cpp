#include "pavewatch/pipeline/observation.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

namespace pavewatch::pipeline {
namespace {

// Layout, little-endian: u8 magic 0xB5, u8 version, u8 kind, u64 segment, i64 t_ms, body.
// Version 1 for every kind; version 2 is a hazard event's layout with the device's sample rate
// (f32) after v1's body. Only hazard events are written as v2, so that readers of v1 (a wear
// processor not yet upgraded) keep reading every other kind; v1 hazard events still decode,
// with rate 0 (unknown).
constexpr std::uint8_t kMagic = 0xB5;
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kHazardEventVersion = 2;

void PutBody(ByteWriter& w, const Traversal& t) {
    w.Put(t.vehicle_key);
    w.PutU8(static_cast<std::uint8_t>(t.vehicle_class));
    w.Put(t.speed_mps);
    w.Put(t.speed_spread_mps);
    w.Put(t.from_m);
    w.Put(t.to_m);
    w.Put(t.iri_m_per_km);
    w.Put(t.samples);
    w.Put(t.sample_rate_hz);
    w.Put(t.confidence);
}
void PutBody(ByteWriter& w, const HazardEvent& e) {
    w.Put(e.vehicle_key);
    w.Put(e.offset_m);
    w.Put(e.uncertainty_m);
    w.Put(e.peak_ms2);
    w.Put(e.speed_mps);
    w.Put(e.score);
    w.Put(e.lat);
    w.Put(e.lon);
    w.Put(e.sample_rate_hz);
}
void PutBody(ByteWriter& w, const AxleLoads& a) {
    w.PutU8(a.axles);
    for (std::uint8_t i = 0; i < a.axles; ++i) {
        w.Put(a.load_kn[i]);
        w.Put(a.spacing_m[i]);
    }
    w.Put(a.speed_mps);
}
void PutBody(ByteWriter& w, const StrainPasses& s) {
    w.PutU8(s.passes);
    for (std::uint8_t i = 0; i < s.passes; ++i) {
        w.Put(s.microstrain[i]);
    }
    w.Put(s.depth_mm);
}
void PutBody(ByteWriter& w, const PavementTemperature& t) {
    w.Put(t.celsius);
    w.Put(t.depth_mm);
}
void PutBody(ByteWriter& w, const SoilMoisture& m) {
    w.Put(m.vwc_percent);
}
void PutBody(ByteWriter& w, const HazardAction& a) {
    w.Put(a.hazard_id);
    w.PutU8(static_cast<std::uint8_t>(a.action));
    w.PutShortString(a.actor);
}

/// The first value of a decoded observation outside ObservationLimits, named; nullopt when all
/// are inside. A NaN is outside every range. Every record on the wear processor's input goes
/// through it, so a value inside costs an inlined comparison; only a refusal builds text.
class RangeCheck {
public:
    void operator()(const char* field, double value, double min, double max) {
        if (!(value >= min && value <= max)) [[unlikely]] {
            RefuseRange(field, std::nullopt, min, max);
        }
    }
    void operator()(const char* field, std::size_t i, double value, double min, double max) {
        if (!(value >= min && value <= max)) [[unlikely]] {
            RefuseRange(field, i, min, max);
        }
    }
    /// Any finite number.
    void Finite(const char* field, double value) {
        if (!std::isfinite(value)) [[unlikely]] {
            Refuse(field, "must be a finite number");
        }
    }
    /// An id: 1 to `max_length` of the characters detail::IsIdText allows.
    void Id(const char* field, std::string_view value, std::size_t max_length) {
        if (value.empty() || value.size() > max_length || !detail::IsIdText(value)) {
            Refuse(
                field, "must be 1 to " + std::to_string(max_length) + " letters, digits or . _ : -"
            );
        }
    }
    std::optional<Error> Take() { return std::move(error_); }

private:
    [[gnu::cold, gnu::noinline]] void
    RefuseRange(const char* field, std::optional<std::size_t> i, double min, double max) {
        Refuse(
            i ? std::string(field) + "[" + std::to_string(*i) + "]" : std::string(field),
            detail::FieldReader::RangeText(min, max)
        );
    }
    /// Keeps the first refusal.
    [[gnu::cold, gnu::noinline]] void Refuse(const std::string& field, std::string message) {
        if (!error_) {
            error_ = Error{ErrorCode::kOutOfRange, "observation." + field, std::move(message)};
        }
    }

    std::optional<Error> error_;
};

std::optional<Error> CheckRanges(const Observation& o) {
    using L = ObservationLimits;
    using R = RawLimits;
    RangeCheck check;
    check(
        "t_ms",
        static_cast<double>(o.t_ms),
        static_cast<double>(R::kMinTimeMs),
        static_cast<double>(R::kMaxTimeMs)
    );
    std::visit(
        [&](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, Traversal>) {
                check("speed_mps", b.speed_mps, 0.0, R::kMaxSpeedMps);
                check("speed_spread_mps", b.speed_spread_mps, 0.0, R::kMaxSpeedMps);
                check("from_m", b.from_m, 0.0, L::kMaxOffsetM);
                check("to_m", b.to_m, b.from_m, L::kMaxOffsetM);
                check.Finite("iri_m_per_km", b.iri_m_per_km);  // negative: no estimate
                if (b.iri_m_per_km >= 0.0F) {
                    check("iri_m_per_km", b.iri_m_per_km, 0.0, L::kMaxIriMPerKm);
                }
                check.Finite("sample_rate_hz", b.sample_rate_hz);
                check("confidence", b.confidence, 0.0, 1.0);
            } else if constexpr (std::is_same_v<T, HazardEvent>) {
                check("offset_m", b.offset_m, 0.0, L::kMaxOffsetM);
                check("uncertainty_m", b.uncertainty_m, 0.0, L::kMaxOffsetM);
                check.Finite("peak_ms2", b.peak_ms2);
                check("speed_mps", b.speed_mps, 0.0, R::kMaxSpeedMps);
                check.Finite("score", b.score);
                check("lat", b.lat, -90.0, 90.0);
                check("lon", b.lon, -180.0, 180.0);
                check("sample_rate_hz", b.sample_rate_hz, 0.0, R::kMaxRateHz);
            } else if constexpr (std::is_same_v<T, AxleLoads>) {
                check("axles", b.axles, 1.0, static_cast<double>(R::kMaxAxles));
                for (std::size_t i = 0; i < b.axles; ++i) {
                    check("load_kn", i, b.load_kn[i], 0.0, R::kMaxAxleLoadKn);
                    check("spacing_m", i, b.spacing_m[i], 0.0, L::kMaxAxleSpacingM);
                }
                check("speed_mps", b.speed_mps, 0.0, R::kMaxSpeedMps);
            } else if constexpr (std::is_same_v<T, StrainPasses>) {
                check("passes", b.passes, 1.0, static_cast<double>(R::kMaxAxles));
                for (std::size_t i = 0; i < b.passes; ++i) {
                    check("microstrain", i, b.microstrain[i], 0.0, R::kMaxMicrostrain);
                }
                check("depth_mm", b.depth_mm, 0.0, L::kMaxDepthMm);
            } else if constexpr (std::is_same_v<T, PavementTemperature>) {
                check("celsius", b.celsius, R::kMinTemperatureC, R::kMaxTemperatureC);
                check("depth_mm", b.depth_mm, 0.0, L::kMaxDepthMm);
            } else if constexpr (std::is_same_v<T, SoilMoisture>) {
                check("vwc_percent", b.vwc_percent, 0.0, 100.0);
            } else if constexpr (std::is_same_v<T, HazardAction>) {
                // As ParseHazardActionJson reads it: the actor is written into condition
                // records, where bytes that are not UTF-8 would make them invalid JSON.
                check.Id("actor", b.actor, R::kMaxIdLength);
            }
        },
        o.body
    );
    return check.Take();
}

}  // namespace

const char* ToString(ObservationKind kind) {
    switch (kind) {
        case ObservationKind::kTraversal:
            return "traversal";
        case ObservationKind::kHazardEvent:
            return "hazard_event";
        case ObservationKind::kAxleLoads:
            return "axle_loads";
        case ObservationKind::kStrain:
            return "strain";
        case ObservationKind::kTemperature:
            return "temperature";
        case ObservationKind::kMoisture:
            return "moisture";
        case ObservationKind::kHazardAction:
            return "hazard_action";
    }
    return "unknown";
}

void EncodeObservation(const Observation& o, std::string& out) {
    ByteWriter w(out);
    w.PutU8(kMagic);
    w.PutU8(o.kind() == ObservationKind::kHazardEvent ? kHazardEventVersion : kVersion);
    w.PutU8(static_cast<std::uint8_t>(o.kind()));
    w.Put(o.segment.value());
    w.Put(o.t_ms);
    std::visit([&](const auto& body) { PutBody(w, body); }, o.body);
}

std::string EncodeObservation(const Observation& o) {
    std::string out;
    out.reserve(64);
    EncodeObservation(o, out);
    return out;
}

tl::expected<Observation, Error> DecodeObservation(std::string_view bytes) {
    ByteReader r(bytes);
    const auto fail = [](std::string message) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "observation", std::move(message)});
    };
    if (r.GetU8() != kMagic || !r.ok()) {
        return fail("not an observation (bad magic byte)");
    }
    const auto version = r.GetU8();
    const auto kind = r.GetU8();
    if (version != kVersion &&
        !(version == kHazardEventVersion &&
          kind == static_cast<std::uint8_t>(ObservationKind::kHazardEvent))) {
        return tl::unexpected(Error{
            ErrorCode::kUnsupportedVersion, "observation", "unknown format version"});
    }
    Observation o;
    o.segment = SegmentId{r.Get<std::uint64_t>()};
    o.t_ms = r.Get<std::int64_t>();
    switch (static_cast<ObservationKind>(kind)) {
        case ObservationKind::kTraversal: {
            Traversal t;
            t.vehicle_key = r.Get<std::uint64_t>();
            const auto cls = r.GetU8();
            t.vehicle_class = cls <= static_cast<std::uint8_t>(VehicleClass::kMotorcycle)
                                  ? static_cast<VehicleClass>(cls)
                                  : VehicleClass::kUnknown;
            t.speed_mps = r.Get<float>();
            t.speed_spread_mps = r.Get<float>();
            t.from_m = r.Get<float>();
            t.to_m = r.Get<float>();
            t.iri_m_per_km = r.Get<float>();
            t.samples = r.Get<std::uint32_t>();
            t.sample_rate_hz = r.Get<float>();
            t.confidence = r.Get<float>();
            o.body = t;
            break;
        }
        case ObservationKind::kHazardEvent: {
            HazardEvent e;
            e.vehicle_key = r.Get<std::uint64_t>();
            e.offset_m = r.Get<float>();
            e.uncertainty_m = r.Get<float>();
            e.peak_ms2 = r.Get<float>();
            e.speed_mps = r.Get<float>();
            e.score = r.Get<float>();
            e.lat = r.Get<double>();
            e.lon = r.Get<double>();
            e.sample_rate_hz = version >= kHazardEventVersion ? r.Get<float>() : 0.0F;
            o.body = e;
            break;
        }
        case ObservationKind::kAxleLoads: {
            AxleLoads a;
            a.axles = r.GetU8();
            if (a.axles > RawLimits::kMaxAxles) {
                return fail("too many axles");
            }
            for (std::uint8_t i = 0; i < a.axles; ++i) {
                a.load_kn[i] = r.Get<float>();
                a.spacing_m[i] = r.Get<float>();
            }
            a.speed_mps = r.Get<float>();
            o.body = a;
            break;
        }
        case ObservationKind::kStrain: {
            StrainPasses s;
            s.passes = r.GetU8();
            if (s.passes > RawLimits::kMaxAxles) {
                return fail("too many strain passes");
            }
            for (std::uint8_t i = 0; i < s.passes; ++i) {
                s.microstrain[i] = r.Get<float>();
            }
            s.depth_mm = r.Get<float>();
            o.body = s;
            break;
        }
        case ObservationKind::kTemperature: {
            PavementTemperature t;
            t.celsius = r.Get<float>();
            t.depth_mm = r.Get<float>();
            o.body = t;
            break;
        }
        case ObservationKind::kMoisture: {
            SoilMoisture m;
            m.vwc_percent = r.Get<float>();
            o.body = m;
            break;
        }
        case ObservationKind::kHazardAction: {
            HazardAction a;
            a.hazard_id = r.Get<std::uint64_t>();
            const auto action = r.GetU8();
            if (action != 1 && action != 2) {
                return fail("unknown hazard action");
            }
            a.action = static_cast<HazardActionKind>(action);
            a.actor = r.GetShortString();
            o.body = std::move(a);
            break;
        }
        default:
            return fail("unknown observation kind " + std::to_string(kind));
    }
    if (!r.ok()) {
        return fail("truncated");
    }
    if (!r.AtEnd()) {
        return fail("trailing bytes after the observation");
    }
    if (auto error = CheckRanges(o)) {
        return tl::unexpected(std::move(*error));
    }
    return o;
}

tl::expected<Observation, Error> ParseHazardActionJson(std::string_view text) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec || !doc.is_object()) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed, "", "a hazard action must be a JSON object"});
    }
    std::optional<Error> error;
    detail::FieldReader r(doc.get_object(), "", error);
    Observation o;
    const auto segment = ParseSegmentKey(r.OptionalString("segment_id").value_or(""));
    const auto hazard = ParseSegmentKey(r.OptionalString("hazard_id").value_or(""));
    if (!segment) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "segment_id", "required decimal string"});
    }
    if (!hazard) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "hazard_id", "required decimal string"});
    }
    o.segment = *segment;
    o.t_ms = r.Integer("t_ms", RawLimits::kMinTimeMs, RawLimits::kMaxTimeMs);
    HazardAction a;
    a.hazard_id = hazard->value();
    const auto action = r.OptionalString("action").value_or("");
    if (action == "acknowledge") {
        a.action = HazardActionKind::kAcknowledge;
    } else if (action == "repaired") {
        a.action = HazardActionKind::kReportRepaired;
    } else {
        r.Fail(ErrorCode::kUnknownKind, "action", "one of acknowledge, repaired");
    }
    a.actor = r.Id("actor", RawLimits::kMaxIdLength);
    o.body = std::move(a);
    if (error) {
        return tl::unexpected(*error);
    }
    return o;
}

std::string HazardActionToJson(const Observation& o) {
    const auto& a = std::get<HazardAction>(o.body);
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(SegmentKey(o.segment));
    w.Key("hazard_id").String(std::to_string(a.hazard_id));
    w.Key("action").String(a.action == HazardActionKind::kAcknowledge ? "acknowledge" : "repaired");
    w.Key("actor").String(a.actor);
    w.Key("t_ms").Int(o.t_ms);
    w.EndObject();
    return out;
}

std::string SegmentKey(SegmentId id) {
    return std::to_string(id.value());
}

std::optional<SegmentId> ParseSegmentKey(std::string_view key) {
    std::uint64_t value = 0;
    const auto r = std::from_chars(key.data(), key.data() + key.size(), value);
    if (r.ec != std::errc{} || r.ptr != key.data() + key.size() || key.empty()) {
        return std::nullopt;
    }
    return SegmentId{value};
}

}  // namespace pavewatch::pipeline
