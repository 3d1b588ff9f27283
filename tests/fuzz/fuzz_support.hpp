#pragma once

// What the fuzz targets share: a property check that stops the run (libFuzzer then saves the
// input that broke it) and the Almaty set-up of the ingest path (files of the checkout through
// test_support::ProjectPath, as the other tests find them).

#include "pavewatch/pipeline/calibration.hpp"
#include "pavewatch/pipeline/ingest_processor.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"
#include "pavewatch/test_support/paths.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace pavewatch::fuzz {

/// The contractor's access token of the feed_subscription and http_api targets.
inline constexpr std::string_view kFeedToken = "contractor-token-0123456789";
/// http_api's agency token, and a token of its store that has expired.
inline constexpr std::string_view kAgencyToken = "agency-token-0123456789abc";
inline constexpr std::string_view kExpiredToken = "expired-token-0123456789ab";

/// Stops the process with `what` when a property does not hold.
inline void Check(bool holds, std::string_view what) {
    if (!holds) {
        std::fprintf(
            stderr, "property does not hold: %.*s\n", static_cast<int>(what.size()), what.data()
        );
        std::abort();
    }
}

/// The ingest path over the Almaty network with the default models and the fuzz targets'
/// sensor registry (tests/fuzz/sensors.json), built once per process.
struct IngestSetup {
    std::unique_ptr<pipeline::RoadNetwork> network;
    std::unique_ptr<pipeline::MapMatcher> matcher;
    pipeline::SensorRegistry registry;
    pipeline::ModelConfig config;
    std::unique_ptr<pipeline::InMemoryCalibrationStore> calibration;
    std::unique_ptr<pipeline::IngestProcessor> processor;

    static const IngestSetup& Get() {
        static const IngestSetup kSetup = [] {
            IngestSetup s;
            auto network = pipeline::RoadNetwork::FromGeoJson(
                test_support::ReadFile(test_support::ProjectPath("data/almaty_roads.geojson"))
            );
            Check(network.has_value(), "the Almaty network loads");
            s.network = std::make_unique<pipeline::RoadNetwork>(std::move(*network));
            s.matcher = std::make_unique<pipeline::MapMatcher>(*s.network);
            auto registry = pipeline::SensorRegistry::FromJson(
                test_support::ReadFile(test_support::ProjectPath("tests/fuzz/sensors.json")),
                *s.matcher
            );
            Check(registry.has_value(), "tests/fuzz/sensors.json loads");
            s.registry = std::move(*registry);
            s.calibration =
                std::make_unique<pipeline::InMemoryCalibrationStore>(s.config.roughness);
            s.processor = std::make_unique<pipeline::IngestProcessor>(
                *s.matcher, s.registry, s.config, *s.calibration
            );
            return s;
        }();
        return kSetup;
    }
};

}  // namespace pavewatch::fuzz
