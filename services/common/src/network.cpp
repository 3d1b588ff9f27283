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

}  // namespace pavewatch::common
