#include "pavewatch/pipeline/sensor_registry.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/raw_message.hpp"

#include <boost/json.hpp>

namespace pavewatch::pipeline {

const char* ToString(SensorKind kind) {
    switch (kind) {
        case SensorKind::kWim:
            return "wim";
        case SensorKind::kStrain:
            return "strain";
        case SensorKind::kTemperature:
            return "temperature";
        case SensorKind::kMoisture:
            return "moisture";
    }
    return "wim";
}

tl::expected<SensorRegistry, Error>
SensorRegistry::FromJson(std::string_view text, const MapMatcher& matcher) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed, "", "sensor registry is not JSON: " + ec.message()});
    }
    if (!doc.is_object() || !doc.as_object().contains("sensors") ||
        !doc.as_object().at("sensors").is_array()) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, "sensors", "expected {\"sensors\": [...]}"});
    }
    SensorRegistry registry;
    const auto& sensors = doc.as_object().at("sensors").get_array();
    std::optional<Error> error;
    for (std::size_t i = 0; i < sensors.size() && !error; ++i) {
        const std::string path = "sensors[" + std::to_string(i) + "]";
        if (!sensors[i].is_object()) {
            return tl::unexpected(Error{ErrorCode::kWrongType, path, "must be an object"});
        }
        detail::FieldReader r(sensors[i].get_object(), path, error);
        SensorRegistration s;
        s.id = SensorId{r.Id("sensor_id", RawLimits::kMaxIdLength)};
        const auto kind = r.OptionalString("kind").value_or("");
        if (kind == "wim") {
            s.kind = SensorKind::kWim;
        } else if (kind == "strain") {
            s.kind = SensorKind::kStrain;
        } else if (kind == "temperature") {
            s.kind = SensorKind::kTemperature;
        } else if (kind == "moisture") {
            s.kind = SensorKind::kMoisture;
        } else {
            r.Fail(
                ErrorCode::kUnknownKind,
                r.FieldPath("kind"),
                "one of wim, strain, temperature, moisture"
            );
        }
        s.depth_mm = r.Number("depth_mm", 0.0, 2000.0, 0.0);
        if (const auto* cal = r.Raw("calibration"); cal != nullptr && cal->is_object()) {
            detail::FieldReader c(cal->get_object(), r.FieldPath("calibration"), error);
            s.gain = c.Number("gain", 0.01, 100.0, 1.0);
            s.offset = c.Number("offset", -1000.0, 1000.0, 0.0);
        }
        if (const auto id_text = r.OptionalString("segment_id")) {
            const auto id = ParseSegmentKey(*id_text);
            if (!id || matcher.network().Find(*id) == nullptr) {
                r.Fail(
                    ErrorCode::kNotOnNetwork,
                    r.FieldPath("segment_id"),
                    "not a segment of the network"
                );
            } else {
                s.segment = *id;
            }
        } else if (!error) {
            const double lat = r.Number("lat", -90.0, 90.0);
            const double lon = r.Number("lon", -180.0, 180.0);
            if (!error) {
                const auto match = matcher.Match({lon, lat});
                if (!match) {
                    r.Fail(
                        ErrorCode::kNotOnNetwork, path, "no road of the network near this position"
                    );
                } else {
                    s.segment = match->segment;
                }
            }
        }
        if (!error && registry.Find(s.id) != nullptr) {
            r.Fail(ErrorCode::kInconsistent, r.FieldPath("sensor_id"), "registered twice");
        }
        if (!error) {
            registry.Add(std::move(s));
        }
    }
    if (error) {
        return tl::unexpected(*error);
    }
    return registry;
}

const SensorRegistration* SensorRegistry::Find(const SensorId& id) const {
    const auto it = index_.find(id.value());
    return it == index_.end() ? nullptr : &sensors_[it->second];
}

void SensorRegistry::Add(SensorRegistration registration) {
    index_[registration.id.value()] = sensors_.size();
    sensors_.push_back(std::move(registration));
}

}  // namespace pavewatch::pipeline
