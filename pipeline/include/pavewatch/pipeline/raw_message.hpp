#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pavewatch::pipeline {

// The raw JSON messages devices send. Their contracts, with every unit and range, are the JSON
// Schema files in docs/schemas/; the limits below are the same numbers, and a test checks that
// the two agree.

/// Limits of the raw contracts (see docs/schemas/).
struct RawLimits {
    static constexpr double kMinRateHz = 5.0;
    static constexpr double kMaxRateHz = 400.0;
    static constexpr std::size_t kMaxSamples = 24000;  ///< 60 s at 400 Hz
    static constexpr std::size_t kMaxGpsFixes = 600;
    static constexpr std::size_t kMaxIdLength = 64;
    static constexpr double kMaxAccelMs2 = 160.0;  ///< +-16 g, the widest common MEMS range
    static constexpr double kMaxSpeedMps = 70.0;   ///< 252 km/h
    static constexpr double kMaxAccuracyM = 500.0;
    static constexpr std::size_t kMaxAxles = 16;
    static constexpr double kMaxAxleLoadKn = 400.0;
    static constexpr double kMaxMicrostrain = 5000.0;
    static constexpr double kMinTemperatureC = -60.0;
    static constexpr double kMaxTemperatureC = 90.0;
    /// Accepted event times: 2000-01-01 .. 2100-01-01 (epoch ms).
    static constexpr EpochMs kMinTimeMs = 946684800000;
    static constexpr EpochMs kMaxTimeMs = 4102444800000;
};

enum class AccelUnit { kMetresPerSecond2, kG };

/// Standard gravity, m/s^2 (CGPM 1901).
inline constexpr double kStandardGravity = 9.80665;

/// Vehicle classes with their own default calibration (see calibration.hpp).
enum class VehicleClass { kUnknown, kCar, kSuv, kVan, kBus, kTruck, kMotorcycle };
const char* ToString(VehicleClass c);
std::optional<VehicleClass> VehicleClassFromString(std::string_view text);

struct GpsFix {
    EpochMs t_ms = 0;
    double lat = 0.0;
    double lon = 0.0;
    double speed_mps = 0.0;     ///< >= 0
    double heading_deg = -1.0;  ///< [0, 360) clockwise from north; -1 when unknown
    double accuracy_m = 10.0;   ///< horizontal 1-sigma, metres
};

/// A batch of 3-axis accelerometer samples in the device's own axes (any orientation).
/// Stored in m/s^2 whatever unit the device declared.
struct AccelBatch {
    EpochMs t0_ms = 0;
    double rate_hz = 0.0;           ///< declared rate; 0 when per-sample times are given
    std::vector<double> offsets_s;  ///< per-sample times after t0, seconds; empty with a rate
    std::vector<float> x, y, z;     ///< m/s^2

    std::size_t size() const { return z.size(); }
    /// Time of sample i after t0, seconds.
    double TimeOf(std::size_t i) const {
        return offsets_s.empty() ? static_cast<double>(i) / rate_hz : offsets_s[i];
    }
    /// Time of a fractional sample position after t0, seconds: linear between the two
    /// samples around it (per-sample times need not start at 0 nor be evenly spaced), and
    /// beyond the first or last sample along the first or last interval. With a declared rate,
    /// fractional_index / rate_hz.
    double TimeAt(double fractional_index) const;
    /// Mean sample rate over the batch, Hz.
    double EffectiveRateHz() const;
};

struct VehicleMessage {
    VehicleId vehicle_id;
    DeviceId device_id;
    VehicleClass vehicle_class = VehicleClass::kUnknown;
    AccelBatch accel;
    std::vector<GpsFix> gps;  ///< in time order
};

struct WimReading {
    SensorId sensor_id;
    EpochMs t_ms = 0;
    int lane = 1;
    double speed_mps = 0.0;
    std::vector<double> axle_loads_kn;
    std::vector<double> axle_spacings_m;  ///< one fewer than the axles
};

struct StrainReading {
    SensorId sensor_id;
    EpochMs t_ms = 0;
    std::vector<double> peak_microstrain;  ///< tensile, one per axle pass
};

struct TemperatureReading {
    SensorId sensor_id;
    EpochMs t_ms = 0;
    double celsius = 0.0;
};

struct MoistureReading {
    SensorId sensor_id;
    EpochMs t_ms = 0;
    double vwc_percent = 0.0;  ///< volumetric water content, %
};

using EmbeddedMessage =
    std::variant<WimReading, StrainReading, TemperatureReading, MoistureReading>;

/// Decodes and validates one raw vehicle message (JSON). Every refusal names the field.
tl::expected<VehicleMessage, Error> ParseVehicleMessage(std::string_view json);

/// Decodes and validates one raw embedded-sensor message (JSON, `kind` selects the type).
tl::expected<EmbeddedMessage, Error> ParseEmbeddedMessage(std::string_view json);

/// Encodes messages in the raw contract (used by the simulator and tests).
std::string ToJson(const VehicleMessage& message);
std::string ToJson(const EmbeddedMessage& message);

}  // namespace pavewatch::pipeline
