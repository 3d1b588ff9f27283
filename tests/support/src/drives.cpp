#include "pavewatch/test_support/drives.hpp"

#include "pavewatch/test_support/paths.hpp"

#include <cmath>

namespace pavewatch::test_support {

const pipeline::RoadNetwork& AlmatyNetwork() {
    static const pipeline::RoadNetwork kNetwork =
        *pipeline::RoadNetwork::FromGeoJson(ReadFile(ProjectPath("data/almaty_roads.geojson")));
    return kNetwork;
}

const pipeline::MapMatcher& AlmatyMatcher() {
    static const pipeline::MapMatcher kMatcher(AlmatyNetwork());
    return kMatcher;
}

std::size_t FirstOfLongRoad(const pipeline::RoadNetwork& network, int pieces) {
    for (std::size_t i = 0; i < network.segments().size(); ++i) {
        if (network.segments()[i].piece == 0 && network.segments()[i].pieces >= pieces) {
            return i;
        }
    }
    return 0;
}

pipeline::VehicleMessage SyntheticDrive(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    std::size_t first,
    double speed_mps,
    double seconds,
    double rate_hz,
    double vibration_ms2,
    const std::string& vehicle_id,
    pipeline::EpochMs t0_ms
) {
    pipeline::VehicleMessage m;
    m.vehicle_id = pipeline::VehicleId{vehicle_id};
    m.device_id = pipeline::DeviceId{"dev-" + vehicle_id};
    m.vehicle_class = pipeline::VehicleClass::kCar;
    m.accel.t0_ms = t0_ms;
    m.accel.rate_hz = rate_hz;
    const auto n = static_cast<std::size_t>(seconds * rate_hz);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / rate_hz;
        m.accel.x.push_back(
            static_cast<float>(9.81 + vibration_ms2 * std::sin(2 * pipeline::kPi * 2.0 * t))
        );
        m.accel.y.push_back(0.05F);
        m.accel.z.push_back(0.0F);
    }
    for (int s = 0; s <= static_cast<int>(seconds); ++s) {
        double along = speed_mps * s;
        std::size_t seg = first;
        while (along > network.segments()[seg].length_m && seg + 1 < network.segments().size()) {
            along -= network.segments()[seg].length_m;
            ++seg;
        }
        const pipeline::LonLat p =
            matcher.PointAt(seg, std::min(along, network.segments()[seg].length_m));
        const auto& sp = network.segments()[seg].points;
        m.gps.push_back(
            {t0_ms + std::int64_t{1000} * s,
             p.lat,
             p.lon,
             speed_mps,
             pipeline::BearingDeg(sp.front(), sp.back()),
             3.0}
        );
    }
    return m;
}

}  // namespace pavewatch::test_support
