#pragma once

#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"

#include <tl/expected.hpp>

#include <string_view>
#include <vector>

namespace pavewatch::pipeline {

struct IngestOptions {
    /// A pass shorter than this on one segment yields no observation. Seconds.
    double min_pass_s = 0.5;
    /// Scale from RMS of vertical acceleration over sqrt(speed) to IRI (walking skeleton;
    /// the science core replaces it with a calibrated estimator).
    double iri_gain = 1.2;
    /// No roughness estimate below this speed, m/s (20 km/h).
    double min_iri_speed_mps = 20.0 / 3.6;
};

/// Turns raw device messages into observations keyed by segment: validation, map matching,
/// re-orientation, splitting a drive into per-segment passes, and the per-pass measurements.
/// The same code runs in `pavewatch ingest` and in offline replay.
///
/// Holds references to the matcher and registry (which must outlive it); const and
/// thread-safe after construction.
class IngestProcessor {
public:
    IngestProcessor(
        const MapMatcher& matcher,
        const SensorRegistry& registry,
        IngestOptions options = {}
    );

    tl::expected<std::vector<Observation>, Error> ProcessVehicle(std::string_view json) const;
    tl::expected<std::vector<Observation>, Error> ProcessVehicle(const VehicleMessage& message
    ) const;
    tl::expected<std::vector<Observation>, Error> ProcessEmbedded(std::string_view json) const;

private:
    const MapMatcher* matcher_;
    const SensorRegistry* registry_;
    IngestOptions options_;
};

}  // namespace pavewatch::pipeline
