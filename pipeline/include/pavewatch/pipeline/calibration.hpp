#pragma once

#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/raw_message.hpp"

#include <tl/expected.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace pavewatch::pipeline {

/// Calibration factors of the roughness estimator, dimensionless multipliers of the model gain
/// (RoughnessModelGain of the vehicle class's default quarter-car). 1.0 = the model as it is.
///
/// Lookup order: (device, vehicle) > (device, any vehicle) > vehicle class default.
/// Implementations must be safe for concurrent reads.
class CalibrationStore {
public:
    virtual ~CalibrationStore() = default;
    CalibrationStore() = default;
    CalibrationStore(const CalibrationStore&) = default;
    CalibrationStore& operator=(const CalibrationStore&) = default;
    CalibrationStore(CalibrationStore&&) = default;
    CalibrationStore& operator=(CalibrationStore&&) = default;

    virtual double
    Factor(const DeviceId& device, const VehicleId& vehicle, VehicleClass vehicle_class) const = 0;
};

/// A class default from RoughnessConfig (factor_car, ...).
double ClassDefaultFactor(const RoughnessConfig& config, VehicleClass vehicle_class);

/// A CalibrationStore in memory: built at start-up (from JSON, which names vehicle classes as
/// ToString(VehicleClass) does, or by Set*), then read-only. Reads are thread-safe once no one
/// writes.
class InMemoryCalibrationStore final : public CalibrationStore {
public:
    /// Class defaults from `config` (factor_car, ...).
    explicit InMemoryCalibrationStore(const RoughnessConfig& config = {});

    /// {"class_defaults": {"car": 1.0, ...}, "entries": [{"device_id": "d1", "vehicle_id": "v1",
    /// "factor": 1.05}, {"device_id": "d2", "factor": 0.9}]} (vehicle_id optional: the device
    /// in any vehicle). Factors must be in (0, 10]. Errors name the field, e.g.
    /// "entries[2].factor".
    static tl::expected<InMemoryCalibrationStore, Error>
    FromJson(std::string_view json, const RoughnessConfig& config = {});

    double Factor(const DeviceId& device, const VehicleId& vehicle, VehicleClass vehicle_class)
        const override;

    void Set(const DeviceId& device, const std::optional<VehicleId>& vehicle, double factor);
    void SetClassDefault(VehicleClass vehicle_class, double factor);

private:
    std::map<std::pair<std::string, std::string>, double> exact_;
    std::map<std::string, double> device_;
    std::map<VehicleClass, double> class_default_;
};

}  // namespace pavewatch::pipeline
