#pragma once

#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"

#include <tl/expected.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pavewatch::pipeline {

enum class SensorKind { kWim, kStrain, kTemperature, kMoisture };
const char* ToString(SensorKind kind);

/// One registered embedded sensor: where it is and how to correct its readings.
struct SensorRegistration {
    SensorId id;
    SensorKind kind = SensorKind::kWim;
    SegmentId segment;
    double depth_mm = 0.0;  ///< below the surface (strain gauges, thermometers, probes)
    double gain = 1.0;      ///< calibrated = gain * raw + offset
    double offset = 0.0;
};

/// The registry of embedded sensors, loaded at start-up from a JSON file:
/// `{"sensors":[{"sensor_id":"wim-001","kind":"wim","segment_id":"123"|"lat":..,"lon":..,
///   "depth_mm":0,"calibration":{"gain":1.0,"offset":0.0}}]}`.
/// A sensor placed by position is matched to its segment with the map matcher at load time, so
/// a registry survives a change of segment length. Immutable after loading; thread-safe to read.
class SensorRegistry {
public:
    SensorRegistry() = default;
    static tl::expected<SensorRegistry, Error>
    FromJson(std::string_view json, const MapMatcher& matcher);

    const SensorRegistration* Find(const SensorId& id) const;
    const std::vector<SensorRegistration>& sensors() const { return sensors_; }
    void Add(SensorRegistration registration);

private:
    std::vector<SensorRegistration> sensors_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace pavewatch::pipeline
