#pragma once

#include "pavewatch/pipeline/calibration.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/roughness_estimator.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"

#include <tl/expected.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::pipeline {

struct IngestOptions {
    /// A pass shorter than this on one segment yields no observation. Seconds.
    double min_pass_s = 0.5;
    /// The band-pass filter of the roughness estimator and the event detector are warmed on
    /// the mirror image of this many seconds of a message's start (a message begins
    /// mid-drive). Seconds; 2 s is four time constants of the 0.5 Hz high-pass edges.
    double warm_up_s = 2.0;
    /// The roughness of a pass that begins mid-message (the vehicle came from another
    /// segment) is estimated without its first pass_trim_s seconds: the body's response and
    /// the band-pass filter still carry the previous segment's road for about a second
    /// (body-bounce decay ~0.6 s, 0.5 Hz filter ~0.8 s), which pulled smooth segments between
    /// rough ones up by ~25 % in the accuracy runs (docs/condition-model.md). Seconds.
    double pass_trim_s = 1.5;
};

/// Turns raw device messages into observations keyed by segment: validation, map matching,
/// re-orientation by gravity, splitting a drive into per-segment passes, and on each pass the
/// roughness estimate (calibrated per device and vehicle) and the detected surface defects,
/// each placed on its segment. The same code runs in `pavewatch ingest` and `pavewatch replay`.
///
/// Holds references to the matcher, registry, configuration and calibration store (which must
/// outlive it). Thread-safe: the only mutable state is a cache of estimator prototypes behind a
/// mutex.
class IngestProcessor {
public:
    IngestProcessor(
        const MapMatcher& matcher,
        const SensorRegistry& registry,
        const ModelConfig& config,
        const CalibrationStore& calibration,
        IngestOptions options = {}
    );

    tl::expected<std::vector<Observation>, Error> ProcessVehicle(std::string_view json) const;
    tl::expected<std::vector<Observation>, Error> ProcessVehicle(const VehicleMessage& message
    ) const;
    tl::expected<std::vector<Observation>, Error> ProcessEmbedded(std::string_view json) const;

private:
    /// A fresh estimator (its filter unused) for a sample rate and vehicle class.
    RoughnessEstimator EstimatorFor(double rate_hz, VehicleClass vehicle_class) const;

    const MapMatcher* matcher_;
    const SensorRegistry* registry_;
    const ModelConfig* config_;
    const CalibrationStore* calibration_;
    IngestOptions options_;
    mutable std::mutex cache_mutex_;
    mutable std::map<std::pair<long, int>, RoughnessEstimator> prototypes_;
};

}  // namespace pavewatch::pipeline
