#include "pavewatch/pipeline/calibration.hpp"

#include <boost/json.hpp>

namespace pavewatch::pipeline {
namespace {

constexpr VehicleClass kClasses[] = {
    VehicleClass::kUnknown,
    VehicleClass::kCar,
    VehicleClass::kSuv,
    VehicleClass::kVan,
    VehicleClass::kBus,
    VehicleClass::kTruck,
    VehicleClass::kMotorcycle};

tl::unexpected<Error> Fail(ErrorCode code, std::string field, std::string message) {
    return tl::unexpected(Error{code, std::move(field), std::move(message)});
}

std::optional<double> Number(const boost::json::value& v) {
    if (v.is_double()) {
        return v.get_double();
    }
    if (v.is_int64()) {
        return static_cast<double>(v.get_int64());
    }
    if (v.is_uint64()) {
        return static_cast<double>(v.get_uint64());
    }
    return std::nullopt;
}

bool ValidFactor(double f) {
    return f > 0.0 && f <= 10.0;
}

}  // namespace

double ClassDefaultFactor(const RoughnessConfig& config, VehicleClass vehicle_class) {
    switch (vehicle_class) {
        case VehicleClass::kCar:
            return config.factor_car;
        case VehicleClass::kSuv:
            return config.factor_suv;
        case VehicleClass::kVan:
            return config.factor_van;
        case VehicleClass::kBus:
            return config.factor_bus;
        case VehicleClass::kTruck:
            return config.factor_truck;
        case VehicleClass::kMotorcycle:
            return config.factor_motorcycle;
        case VehicleClass::kUnknown:
            break;
    }
    return config.factor_unknown;
}

InMemoryCalibrationStore::InMemoryCalibrationStore(const RoughnessConfig& config) {
    for (const VehicleClass c : kClasses) {
        class_default_[c] = ClassDefaultFactor(config, c);
    }
}

tl::expected<InMemoryCalibrationStore, Error>
InMemoryCalibrationStore::FromJson(std::string_view json, const RoughnessConfig& config) {
    boost::system::error_code ec;
    const boost::json::value root = boost::json::parse(json, ec);
    if (ec || !root.is_object()) {
        return Fail(ErrorCode::kMalformed, "", "calibration must be a JSON object");
    }
    InMemoryCalibrationStore store(config);
    for (const auto& [key, value] : root.get_object()) {
        if (key == "class_defaults") {
            if (!value.is_object()) {
                return Fail(ErrorCode::kWrongType, "class_defaults", "must be an object");
            }
            for (const auto& [name, factor] : value.get_object()) {
                const std::string field = "class_defaults." + std::string(name);
                const auto c = VehicleClassFromString(name);
                if (!c) {
                    return Fail(ErrorCode::kUnknownKind, field, "unknown vehicle class");
                }
                const auto f = Number(factor);
                if (!f) {
                    return Fail(ErrorCode::kWrongType, field, "must be a number");
                }
                if (!ValidFactor(*f)) {
                    return Fail(ErrorCode::kOutOfRange, field, "must be in (0, 10]");
                }
                store.SetClassDefault(*c, *f);
            }
        } else if (key == "entries") {
            if (!value.is_array()) {
                return Fail(ErrorCode::kWrongType, "entries", "must be an array");
            }
            std::size_t index = 0;
            for (const auto& entry : value.get_array()) {
                const std::string prefix = "entries[" + std::to_string(index++) + "]";
                if (!entry.is_object()) {
                    return Fail(ErrorCode::kWrongType, prefix, "must be an object");
                }
                const auto& obj = entry.get_object();
                std::optional<std::string> device;
                std::optional<std::string> vehicle;
                std::optional<double> factor;
                for (const auto& [k, v] : obj) {
                    const std::string field = prefix + "." + std::string(k);
                    if (k == "device_id" || k == "vehicle_id") {
                        if (!v.is_string() || v.get_string().empty()) {
                            return Fail(ErrorCode::kWrongType, field, "must be a non-empty string");
                        }
                        (k == "device_id" ? device : vehicle) = std::string(v.get_string());
                    } else if (k == "factor") {
                        factor = Number(v);
                        if (!factor) {
                            return Fail(ErrorCode::kWrongType, field, "must be a number");
                        }
                        if (!ValidFactor(*factor)) {
                            return Fail(ErrorCode::kOutOfRange, field, "must be in (0, 10]");
                        }
                    } else {
                        return Fail(ErrorCode::kUnknownKind, field, "unknown key");
                    }
                }
                if (!device) {
                    return Fail(ErrorCode::kMissingField, prefix + ".device_id", "required");
                }
                if (!factor) {
                    return Fail(ErrorCode::kMissingField, prefix + ".factor", "required");
                }
                std::optional<VehicleId> vehicle_id;
                if (vehicle) {
                    vehicle_id = VehicleId(*vehicle);
                }
                store.Set(DeviceId(*device), vehicle_id, *factor);
            }
        } else {
            return Fail(ErrorCode::kUnknownKind, std::string(key), "unknown key");
        }
    }
    return store;
}

double InMemoryCalibrationStore::Factor(
    const DeviceId& device,
    const VehicleId& vehicle,
    VehicleClass vehicle_class
) const {
    if (const auto it = exact_.find({device.value(), vehicle.value()}); it != exact_.end()) {
        return it->second;
    }
    if (const auto it = device_.find(device.value()); it != device_.end()) {
        return it->second;
    }
    if (const auto it = class_default_.find(vehicle_class); it != class_default_.end()) {
        return it->second;
    }
    return 1.0;
}

void InMemoryCalibrationStore::Set(
    const DeviceId& device,
    const std::optional<VehicleId>& vehicle,
    double factor
) {
    if (vehicle) {
        exact_[{device.value(), vehicle->value()}] = factor;
    } else {
        device_[device.value()] = factor;
    }
}

void InMemoryCalibrationStore::SetClassDefault(VehicleClass vehicle_class, double factor) {
    class_default_[vehicle_class] = factor;
}

}  // namespace pavewatch::pipeline
