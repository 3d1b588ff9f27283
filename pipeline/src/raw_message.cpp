#include "pavewatch/pipeline/raw_message.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {
namespace {

namespace json = boost::json;
using detail::FieldReader;
using L = RawLimits;

tl::expected<json::object, Error> ParseObject(std::string_view text) {
    boost::system::error_code ec;
    json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "", "not valid JSON: " + ec.message()});
    }
    if (!doc.is_object()) {
        return tl::unexpected(Error{ErrorCode::kWrongType, "", "the message must be a JSON object"}
        );
    }
    return std::move(doc.as_object());
}

void CheckSchemaVersion(const FieldReader& r) {
    if (r.Has("schema_version")) {
        if (r.Integer("schema_version", 0, INT32_MAX) != 1 && !r.failed()) {
            r.Fail(ErrorCode::kUnsupportedVersion, "schema_version", "only version 1 is known");
        }
    }
}

}  // namespace

const char* ToString(VehicleClass c) {
    switch (c) {
        case VehicleClass::kUnknown:
            return "unknown";
        case VehicleClass::kCar:
            return "car";
        case VehicleClass::kSuv:
            return "suv";
        case VehicleClass::kVan:
            return "van";
        case VehicleClass::kBus:
            return "bus";
        case VehicleClass::kTruck:
            return "truck";
        case VehicleClass::kMotorcycle:
            return "motorcycle";
    }
    return "unknown";
}

std::optional<VehicleClass> VehicleClassFromString(std::string_view text) {
    for (const auto c :
         {VehicleClass::kUnknown,
          VehicleClass::kCar,
          VehicleClass::kSuv,
          VehicleClass::kVan,
          VehicleClass::kBus,
          VehicleClass::kTruck,
          VehicleClass::kMotorcycle}) {
        if (text == ToString(c)) {
            return c;
        }
    }
    return std::nullopt;
}

double AccelBatch::TimeAt(double fractional_index) const {
    if (offsets_s.empty()) {
        return fractional_index / rate_hz;
    }
    if (offsets_s.size() < 2) {
        return offsets_s.front();
    }
    const auto last = static_cast<double>(offsets_s.size() - 1);
    // The interval [i, i + 1] that holds the index, or the first or last one outside them.
    const double floor = std::isnan(fractional_index) ? 0.0 : std::floor(fractional_index);
    const auto i = static_cast<std::size_t>(std::clamp(floor, 0.0, last - 1.0));
    const double t0 = offsets_s[i];
    const double t1 = offsets_s[i + 1];
    return t0 + (fractional_index - static_cast<double>(i)) * (t1 - t0);
}

double AccelBatch::EffectiveRateHz() const {
    if (offsets_s.empty()) {
        return rate_hz;
    }
    if (offsets_s.size() < 2 || offsets_s.back() <= offsets_s.front()) {
        return 0.0;
    }
    return static_cast<double>(offsets_s.size() - 1) / (offsets_s.back() - offsets_s.front());
}

tl::expected<VehicleMessage, Error> ParseVehicleMessage(std::string_view text) {
    auto parsed = ParseObject(text);
    if (!parsed) {
        return tl::unexpected(parsed.error());
    }
    const json::object& root = *parsed;
    std::optional<Error> error;
    FieldReader r(root, "", error);

    const auto kind = r.OptionalString("kind");
    if (!kind) {
        r.Fail(ErrorCode::kMissingField, "kind", "required: \"vehicle\"");
    } else if (*kind != "vehicle") {
        r.Fail(ErrorCode::kUnknownKind, "kind", "the vehicle topic takes only kind \"vehicle\"");
    }
    CheckSchemaVersion(r);

    VehicleMessage m;
    m.vehicle_id = VehicleId{r.Id("vehicle_id", L::kMaxIdLength)};
    m.device_id = DeviceId{r.Id("device_id", L::kMaxIdLength)};
    if (const auto cls = r.OptionalString("vehicle_class")) {
        const auto parsed_class = VehicleClassFromString(*cls);
        if (!parsed_class) {
            r.Fail(
                ErrorCode::kUnknownKind,
                "vehicle_class",
                "one of unknown, car, suv, van, bus, truck, motorcycle"
            );
        } else {
            m.vehicle_class = *parsed_class;
        }
    }

    // Accelerometer batch.
    const auto* accel_value = r.Raw("accel");
    if (accel_value == nullptr || !accel_value->is_object()) {
        r.Fail(
            accel_value == nullptr ? ErrorCode::kMissingField : ErrorCode::kWrongType,
            "accel",
            "required object with t0_ms, rate_hz or offsets_ms, unit, x, y, z"
        );
    } else if (!r.failed()) {
        FieldReader a(accel_value->get_object(), "accel", error);
        m.accel.t0_ms = a.Integer("t0_ms", L::kMinTimeMs, L::kMaxTimeMs);
        double scale = 1.0;
        const auto unit = a.OptionalString("unit");
        if (!unit) {
            a.Fail(ErrorCode::kMissingField, "accel.unit", R"(required: "m/s2" or "g")");
        } else if (*unit == "g") {
            scale = kStandardGravity;
        } else if (*unit != "m/s2") {
            a.Fail(ErrorCode::kUnknownKind, "accel.unit", R"(must be "m/s2" or "g")");
        }
        if (!a.failed()) {
            m.accel.x =
                a.Numbers<float>("x", -L::kMaxAccelMs2, L::kMaxAccelMs2, 1, L::kMaxSamples, scale);
            m.accel.y =
                a.Numbers<float>("y", -L::kMaxAccelMs2, L::kMaxAccelMs2, 1, L::kMaxSamples, scale);
            m.accel.z =
                a.Numbers<float>("z", -L::kMaxAccelMs2, L::kMaxAccelMs2, 1, L::kMaxSamples, scale);
        }
        if (!a.failed() &&
            (m.accel.x.size() != m.accel.z.size() || m.accel.y.size() != m.accel.z.size())) {
            a.Fail(ErrorCode::kInconsistent, "accel", "x, y and z must have the same length");
        }
        const bool has_rate = a.Has("rate_hz");
        const bool has_offsets = a.Has("offsets_ms");
        if (!a.failed()) {
            if (has_rate == has_offsets) {
                a.Fail(
                    ErrorCode::kInconsistent,
                    "accel",
                    "give exactly one of rate_hz (constant rate) or offsets_ms (per-sample times)"
                );
            } else if (has_rate) {
                m.accel.rate_hz = a.Number("rate_hz", L::kMinRateHz, L::kMaxRateHz);
            } else {
                const auto offsets_ms =
                    a.Numbers<double>("offsets_ms", 0.0, 60000.0, 1, L::kMaxSamples);
                if (!a.failed() && offsets_ms.size() != m.accel.z.size()) {
                    a.Fail(ErrorCode::kInconsistent, "accel.offsets_ms", "one offset per sample");
                }
                for (std::size_t i = 1; !a.failed() && i < offsets_ms.size(); ++i) {
                    if (offsets_ms[i] <= offsets_ms[i - 1]) {
                        a.Fail(
                            ErrorCode::kInconsistent,
                            "accel.offsets_ms[" + std::to_string(i) + "]",
                            "offsets must increase"
                        );
                    }
                }
                if (!a.failed()) {
                    m.accel.offsets_s.reserve(offsets_ms.size());
                    for (const double ms : offsets_ms) {
                        m.accel.offsets_s.push_back(ms / 1000.0);
                    }
                    const double rate = m.accel.EffectiveRateHz();
                    if (m.accel.size() >= 2 && !(rate >= L::kMinRateHz && rate <= L::kMaxRateHz)) {
                        a.Fail(
                            ErrorCode::kOutOfRange,
                            "accel.offsets_ms",
                            "mean sample rate must be within [5, 400] Hz"
                        );
                    }
                }
            }
        }
    }

    // GPS fixes.
    const auto* gps_value = r.Raw("gps");
    if (!r.failed() && (gps_value == nullptr || !gps_value->is_array())) {
        r.Fail(
            gps_value == nullptr ? ErrorCode::kMissingField : ErrorCode::kWrongType,
            "gps",
            "required array of fixes"
        );
    } else if (!r.failed()) {
        const auto& fixes = gps_value->get_array();
        if (fixes.empty() || fixes.size() > L::kMaxGpsFixes) {
            r.Fail(
                ErrorCode::kOutOfRange,
                "gps",
                "must hold 1.." + std::to_string(L::kMaxGpsFixes) + " fixes"
            );
        }
        for (std::size_t i = 0; !r.failed() && i < fixes.size(); ++i) {
            const std::string path = "gps[" + std::to_string(i) + "]";
            if (!fixes[i].is_object()) {
                r.Fail(ErrorCode::kWrongType, path, "must be an object");
                break;
            }
            FieldReader g(fixes[i].get_object(), path, error);
            GpsFix fix;
            fix.t_ms = g.Integer("t_ms", L::kMinTimeMs, L::kMaxTimeMs);
            fix.lat = g.Number("lat", -90.0, 90.0);
            fix.lon = g.Number("lon", -180.0, 180.0);
            fix.speed_mps = g.Number("speed_mps", 0.0, L::kMaxSpeedMps);
            fix.heading_deg = g.Number("heading_deg", 0.0, 360.0, -1.0);
            if (fix.heading_deg >= 360.0) {
                fix.heading_deg -= 360.0;
            }
            fix.accuracy_m = g.Number("accuracy_m", 0.0, L::kMaxAccuracyM, 10.0);
            if (!m.gps.empty() && !g.failed() && fix.t_ms < m.gps.back().t_ms) {
                g.Fail(ErrorCode::kInconsistent, path + ".t_ms", "fixes must be in time order");
            }
            m.gps.push_back(fix);
        }
    }
    if (!r.failed() && m.accel.size() > 0) {
        const double t_end_ms =
            static_cast<double>(m.accel.t0_ms) + 1000.0 * m.accel.TimeOf(m.accel.size() - 1);
        const double tolerance_ms = 2000.0;
        if (static_cast<double>(m.gps.back().t_ms) <
                static_cast<double>(m.accel.t0_ms) - tolerance_ms ||
            static_cast<double>(m.gps.front().t_ms) > t_end_ms + tolerance_ms) {
            r.Fail(
                ErrorCode::kInconsistent,
                "gps",
                "the fixes do not overlap the accelerometer batch in time"
            );
        }
        if (t_end_ms - static_cast<double>(m.accel.t0_ms) > 60000.0) {
            r.Fail(ErrorCode::kOutOfRange, "accel", "a batch may span at most 60 s");
        }
    }
    if (error) {
        return tl::unexpected(*error);
    }
    return m;
}

tl::expected<EmbeddedMessage, Error> ParseEmbeddedMessage(std::string_view text) {
    auto parsed = ParseObject(text);
    if (!parsed) {
        return tl::unexpected(parsed.error());
    }
    std::optional<Error> error;
    FieldReader r(*parsed, "", error);
    const auto kind = r.OptionalString("kind");
    if (!kind) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "kind", "required: one of wim, strain, temperature, moisture"}
        );
    }
    CheckSchemaVersion(r);
    const SensorId sensor{r.Id("sensor_id", L::kMaxIdLength)};
    const EpochMs t_ms = r.Integer("t_ms", L::kMinTimeMs, L::kMaxTimeMs);

    EmbeddedMessage out;
    if (*kind == "wim") {
        WimReading w;
        w.sensor_id = sensor;
        w.t_ms = t_ms;
        w.lane = static_cast<int>(r.Integer("lane", 1, 16, 1));
        w.speed_mps = r.Number("speed_mps", 0.0, L::kMaxSpeedMps);
        w.axle_loads_kn =
            r.Numbers<double>("axle_loads_kn", 0.0, L::kMaxAxleLoadKn, 1, L::kMaxAxles);
        if (!r.failed()) {
            const std::size_t spacings = w.axle_loads_kn.size() - 1;
            if (spacings == 0 && !r.Has("axle_spacings_m")) {
                // a single-axle record needs no spacing
            } else {
                w.axle_spacings_m =
                    r.Numbers<double>("axle_spacings_m", 0.3, 30.0, spacings, spacings);
            }
        }
        out = std::move(w);
    } else if (*kind == "strain") {
        StrainReading s;
        s.sensor_id = sensor;
        s.t_ms = t_ms;
        s.peak_microstrain =
            r.Numbers<double>("peak_microstrain", 0.0, L::kMaxMicrostrain, 1, L::kMaxAxles);
        out = std::move(s);
    } else if (*kind == "temperature") {
        out = TemperatureReading{
            sensor, t_ms, r.Number("celsius", L::kMinTemperatureC, L::kMaxTemperatureC)};
    } else if (*kind == "moisture") {
        out = MoistureReading{sensor, t_ms, r.Number("vwc_percent", 0.0, 100.0)};
    } else {
        return tl::unexpected(Error{
            ErrorCode::kUnknownKind,
            "kind",
            "\"" + *kind + "\" is not one of wim, strain, temperature, moisture"});
    }
    if (error) {
        return tl::unexpected(*error);
    }
    return out;
}

std::string ToJson(const VehicleMessage& m) {
    std::string out;
    out.reserve(64 + m.accel.size() * 24 + m.gps.size() * 120);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("kind").String("vehicle");
    w.Key("schema_version").Int(1);
    w.Key("vehicle_id").String(m.vehicle_id.value());
    w.Key("device_id").String(m.device_id.value());
    if (m.vehicle_class != VehicleClass::kUnknown) {
        w.Key("vehicle_class").String(ToString(m.vehicle_class));
    }
    w.Key("accel").BeginObject();
    w.Key("t0_ms").Int(m.accel.t0_ms);
    if (m.accel.offsets_s.empty()) {
        w.Key("rate_hz").Number(m.accel.rate_hz);
    } else {
        w.Key("offsets_ms").BeginArray();
        for (const double s : m.accel.offsets_s) {
            w.Number(std::round(s * 1e6) / 1e3);
        }
        w.EndArray();
    }
    w.Key("unit").String("m/s2");
    for (const auto& [key, values] :
         {std::pair{"x", &m.accel.x}, std::pair{"y", &m.accel.y}, std::pair{"z", &m.accel.z}}) {
        w.Key(key).BeginArray();
        for (const float v : *values) {
            w.Number(v);
        }
        w.EndArray();
    }
    w.EndObject();
    w.Key("gps").BeginArray();
    for (const auto& fix : m.gps) {
        w.BeginObject();
        w.Key("t_ms").Int(fix.t_ms);
        w.Key("lat").Fixed(fix.lat, 7);
        w.Key("lon").Fixed(fix.lon, 7);
        w.Key("speed_mps").Fixed(fix.speed_mps, 2);
        if (fix.heading_deg >= 0) {
            w.Key("heading_deg").Fixed(fix.heading_deg, 1);
        }
        w.Key("accuracy_m").Fixed(fix.accuracy_m, 1);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return out;
}

std::string ToJson(const EmbeddedMessage& message) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    std::visit(
        [&](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, WimReading>) {
                w.Key("kind").String("wim");
            } else if constexpr (std::is_same_v<T, StrainReading>) {
                w.Key("kind").String("strain");
            } else if constexpr (std::is_same_v<T, TemperatureReading>) {
                w.Key("kind").String("temperature");
            } else {
                w.Key("kind").String("moisture");
            }
            w.Key("schema_version").Int(1);
            w.Key("sensor_id").String(r.sensor_id.value());
            w.Key("t_ms").Int(r.t_ms);
            if constexpr (std::is_same_v<T, WimReading>) {
                w.Key("lane").Int(r.lane);
                w.Key("speed_mps").Number(r.speed_mps);
                w.Key("axle_loads_kn").BeginArray();
                for (const double v : r.axle_loads_kn) {
                    w.Number(v);
                }
                w.EndArray();
                w.Key("axle_spacings_m").BeginArray();
                for (const double v : r.axle_spacings_m) {
                    w.Number(v);
                }
                w.EndArray();
            } else if constexpr (std::is_same_v<T, StrainReading>) {
                w.Key("peak_microstrain").BeginArray();
                for (const double v : r.peak_microstrain) {
                    w.Number(v);
                }
                w.EndArray();
            } else if constexpr (std::is_same_v<T, TemperatureReading>) {
                w.Key("celsius").Number(r.celsius);
            } else {
                w.Key("vwc_percent").Number(r.vwc_percent);
            }
        },
        message
    );
    w.EndObject();
    return out;
}

}  // namespace pavewatch::pipeline
