#pragma once

#include "pavewatch/pipeline/calibration.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/pipeline/sensor_registry.hpp"

#include <boost/program_options/options_description.hpp>
#include <tl/expected.hpp>

#include <memory>
#include <string>

namespace pavewatch::common {

/// Where the road network and the sensor registry come from (`--network`, `--sensors`,
/// `--max-segment-length-m`).
struct NetworkOptions {
    /// GeoJSON FeatureCollection of the city's roads. Default: the Almaty network shipped in
    /// the repository's data/ folder (the container image has it at the same relative path).
    std::string network_file = "data/almaty_roads.geojson";
    /// Sensor registry JSON; empty means no embedded sensors are registered.
    std::string sensors_file;
    double max_segment_length_m = 100.0;
};

void AddNetworkOptions(
    boost::program_options::options_description& desc,
    NetworkOptions& options,
    bool with_sensors
);

/// The loaded network, its matcher and the sensor registry, built once at start-up.
struct LoadedNetwork {
    std::unique_ptr<pipeline::RoadNetwork> network;
    std::unique_ptr<pipeline::MapMatcher> matcher;
    pipeline::SensorRegistry sensors;
};

/// Loads and cuts the network and the registry; the error names the file and the field.
tl::expected<LoadedNetwork, std::string> LoadNetwork(const NetworkOptions& options);

/// The pavement models' settings (`--model-config`, a JSON file overriding any defaults of
/// ModelConfig) and the roughness calibration (`--calibration`, docs/condition-model.md).
struct ModelOptions {
    std::string model_config_file;
    std::string calibration_file;
};
void AddModelOptions(
    boost::program_options::options_description& desc,
    ModelOptions& options,
    bool with_calibration
);

struct LoadedModels {
    pipeline::ModelConfig config;
    std::unique_ptr<pipeline::InMemoryCalibrationStore> calibration;
};
/// Loads and validates them; the error names the file and the field.
tl::expected<LoadedModels, std::string> LoadModels(const ModelOptions& options);

}  // namespace pavewatch::common
