#include "pavewatch/common/network.hpp"

#include "pavewatch/common/files.hpp"

#include <boost/program_options.hpp>

namespace pavewatch::common {

namespace po = boost::program_options;

void AddNetworkOptions(po::options_description& desc, NetworkOptions& o, bool with_sensors) {
    desc.add_options()(
        "network",
        po::value(&o.network_file)->default_value(o.network_file),
        "road network GeoJSON file"
    )("max-segment-length-m",
      po::value(&o.max_segment_length_m)->default_value(o.max_segment_length_m),
      "longest road segment, metres");
    if (with_sensors) {
        desc.add_options()("sensors", po::value(&o.sensors_file), "sensor registry JSON file");
    }
}

tl::expected<LoadedNetwork, std::string> LoadNetwork(const NetworkOptions& o) {
    auto text = ReadWholeFile(o.network_file);
    if (!text) {
        return tl::unexpected(text.error() + " (set --network or PAVEWATCH_NETWORK)");
    }
    auto network =
        pipeline::RoadNetwork::FromGeoJson(*text, {.max_segment_length_m = o.max_segment_length_m});
    if (!network) {
        return tl::unexpected("road network " + o.network_file + ": " + network.error().Describe());
    }
    LoadedNetwork loaded;
    loaded.network = std::make_unique<pipeline::RoadNetwork>(std::move(*network));
    loaded.matcher = std::make_unique<pipeline::MapMatcher>(*loaded.network);
    if (!o.sensors_file.empty()) {
        auto sensors_text = ReadWholeFile(o.sensors_file);
        if (!sensors_text) {
            return tl::unexpected(sensors_text.error());
        }
        auto sensors = pipeline::SensorRegistry::FromJson(*sensors_text, *loaded.matcher);
        if (!sensors) {
            return tl::unexpected(
                "sensor registry " + o.sensors_file + ": " + sensors.error().Describe()
            );
        }
        loaded.sensors = std::move(*sensors);
    }
    return loaded;
}

void AddModelOptions(po::options_description& desc, ModelOptions& o, bool with_calibration) {
    desc.add_options(
    )("model-config",
      po::value(&o.model_config_file),
      "JSON file overriding pavement model settings (docs/condition-model.md)");
    if (with_calibration) {
        desc.add_options(
        )("calibration",
          po::value(&o.calibration_file),
          "JSON file of roughness calibration factors per device and vehicle");
    }
}

tl::expected<LoadedModels, std::string> LoadModels(const ModelOptions& o) {
    LoadedModels loaded;
    if (!o.model_config_file.empty()) {
        auto text = ReadWholeFile(o.model_config_file);
        if (!text) {
            return tl::unexpected(text.error());
        }
        auto config = pipeline::ModelConfigFromJson(*text);
        if (!config) {
            return tl::unexpected(
                "model configuration " + o.model_config_file + ": " + config.error().Describe()
            );
        }
        loaded.config = std::move(*config);
    }
    if (!o.calibration_file.empty()) {
        auto text = ReadWholeFile(o.calibration_file);
        if (!text) {
            return tl::unexpected(text.error());
        }
        auto store = pipeline::InMemoryCalibrationStore::FromJson(*text, loaded.config.roughness);
        if (!store) {
            return tl::unexpected(
                "calibration " + o.calibration_file + ": " + store.error().Describe()
            );
        }
        loaded.calibration =
            std::make_unique<pipeline::InMemoryCalibrationStore>(std::move(*store));
    } else {
        loaded.calibration =
            std::make_unique<pipeline::InMemoryCalibrationStore>(loaded.config.roughness);
    }
    return loaded;
}

}  // namespace pavewatch::common
