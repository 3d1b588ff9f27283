#pragma once

// What the fuzz targets share: a property check that stops the run (libFuzzer then saves the
// input that broke it), the project's files, and the Almaty set-up of the ingest path.

#include "pavewatch/pipeline/calibration.hpp"
#include "pavewatch/pipeline/ingest_processor.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

namespace pavewatch::fuzz {

/// The one access token of feed_subscription's token store (a contractor's).
inline constexpr std::string_view kFeedToken = "contractor-token-0123456789";

/// Stops the process with `what` when a property does not hold.
inline void Check(bool holds, std::string_view what) {
    if (!holds) {
        std::fprintf(
            stderr, "property does not hold: %.*s\n", static_cast<int>(what.size()), what.data()
        );
        std::abort();
    }
}

/// The whole of a file; stops the process when it cannot be read.
inline std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::abort();
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The checkout's folder: PAVEWATCH_SOURCE_DIR if set, else where the targets were built from.
inline std::string ProjectDir() {
    const char* dir =
        std::getenv("PAVEWATCH_SOURCE_DIR");  // NOLINT(concurrency-mt-unsafe): one thread
    return dir != nullptr ? dir : PAVEWATCH_SOURCE_DIR;
}

/// A file of the checkout, e.g. "data/almaty_roads.geojson".
inline std::string ReadProjectFile(const std::string& relative) {
    return ReadFile(ProjectDir() + "/" + relative);
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
            auto network =
                pipeline::RoadNetwork::FromGeoJson(ReadProjectFile("data/almaty_roads.geojson"));
            Check(network.has_value(), "the Almaty network loads");
            s.network = std::make_unique<pipeline::RoadNetwork>(std::move(*network));
            s.matcher = std::make_unique<pipeline::MapMatcher>(*s.network);
            auto registry = pipeline::SensorRegistry::FromJson(
                ReadProjectFile("tests/fuzz/sensors.json"), *s.matcher
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
