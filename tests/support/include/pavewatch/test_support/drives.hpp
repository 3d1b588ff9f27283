#pragma once

#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <cstddef>
#include <string>

namespace pavewatch::test_support {

/// The Almaty network of the repository, loaded once per test process.
const pipeline::RoadNetwork& AlmatyNetwork();
const pipeline::MapMatcher& AlmatyMatcher();

/// Index of the first segment of a road cut into at least `pieces` pieces.
std::size_t FirstOfLongRoad(const pipeline::RoadNetwork& network, int pieces);

/// A vehicle message for a drive along consecutive segments from `first`, at constant speed,
/// GPS at 1 Hz on the road, the device lying on its side (gravity on x) and a 2 Hz vertical
/// vibration of `vibration_ms2` amplitude.
pipeline::VehicleMessage SyntheticDrive(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    std::size_t first,
    double speed_mps,
    double seconds,
    double rate_hz,
    double vibration_ms2 = 0.8,
    const std::string& vehicle_id = "car-1",
    pipeline::EpochMs t0_ms = 1763900000000
);

}  // namespace pavewatch::test_support
