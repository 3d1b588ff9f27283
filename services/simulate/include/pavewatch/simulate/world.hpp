#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/iso8608.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pavewatch::simulate {

/// How the simulated world is made. Every default is a plausible city fleet; see
/// docs/simulator.md for the choices.
struct WorldConfig {
    std::uint64_t seed = 1;
    int vehicles = 40;
    /// Seconds of driving per vehicle message.
    double batch_seconds = 5.0;
    /// Device sample rates and their shares of the fleet (phones at 100 Hz, telematics boxes
    /// at lower rates).
    std::vector<std::pair<double, double>> rates = {
        {100.0, 0.6},
        {50.0, 0.2},
        {10.0, 0.1},
        {5.0, 0.1}};
    /// Share of segments with potholes (1 to 3 each).
    double pothole_segment_share = 0.08;
    /// Share of segments in each ISO 8608 class A..E (the rest of the city is B/C).
    std::vector<double> class_shares = {0.25, 0.40, 0.22, 0.10, 0.03};
    /// Embedded sensor sites; each has a WIM station, a strain gauge, a thermometer and a
    /// moisture probe.
    int sensor_sites = 12;
    /// Heavy-traffic rate at each WIM station, vehicles per second.
    double wim_rate_per_s = 0.2;
    /// Share of vehicle messages deliberately corrupted (to exercise the dead-letter path).
    double invalid_share = 0.0;
    /// Longitudinal profile resolution, metres.
    double profile_spacing_m = 0.05;
    /// Only these segments (indices into the network) are driven; empty: all of them.
    std::vector<std::size_t> segment_subset;
};

/// A pothole placed on a segment.
struct TruthPothole {
    double at_m = 0;  ///< from the segment's start
    double depth_m = 0;
    double length_m = 0;
    double lateral_m = 0;  ///< centre's offset right of the lane centre
    double width_m = 0;
};

/// The hidden truth of one segment.
struct SegmentTruth {
    double gd0_m3 = 0;  ///< ISO 8608 displacement PSD at 0.1 cycles/m
    pipeline::Iso8608Class iso_class = pipeline::Iso8608Class::kB;
    std::vector<TruthPothole> potholes;
};

/// One raw message, ready for its topic.
struct RawMessage {
    bool vehicle = true;  ///< raw vehicle topic; else the embedded topic
    std::string key;      ///< vehicle id or sensor id
    std::string json;
    pipeline::EpochMs t_ms = 0;
};

/// The simulated city: vehicles with accelerometers and GPS driving the road network over
/// per-segment ISO 8608 profiles with potholes (each vehicle a quarter-car with its own
/// parameters, its device at its own rate and orientation), plus embedded sensor sites with
/// traffic and Almaty's climate. Deterministic for a seed whatever the steps of Advance.
/// Pure: no I/O, no clock (time is what Advance is told). Not thread-safe.
class World {
public:
    World(
        const pipeline::RoadNetwork& network,
        const pipeline::MapMatcher& matcher,
        WorldConfig config,
        pipeline::EpochMs start_ms
    );
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;
    World(World&&) = delete;
    World& operator=(World&&) = delete;

    /// Simulates up to `until_ms` and appends every message completed by then, in time order.
    void Advance(pipeline::EpochMs until_ms, std::vector<RawMessage>& out);

    /// The registry of the embedded sensors (JSON, the ingest's --sensors format).
    std::string SensorRegistryJson() const;
    const SegmentTruth& Truth(std::size_t segment_index);
    /// The segment's longitudinal profile with its potholes as a wheel on the lane centre sees
    /// them; metres, at `config.profile_spacing_m`.
    const std::vector<double>& Profile(std::size_t segment_index);
    /// Reference IRI (ASTM E1926) of the segment's profile, m/km.
    double TrueIri(std::size_t segment_index);

    pipeline::EpochMs now() const { return now_; }
    const WorldConfig& config() const { return config_; }
    std::uint64_t vehicle_messages() const { return vehicle_messages_; }
    std::uint64_t embedded_messages() const { return embedded_messages_; }

private:
    struct Vehicle;
    struct Site;
    void DriveBatch(Vehicle& v, std::vector<RawMessage>& out);
    void SiteEvents(Site& s, pipeline::EpochMs until_ms, std::vector<RawMessage>& out);
    std::size_t NextSegment(std::size_t segment, pipeline::Xoshiro256& rng) const;
    std::size_t RandomSegment(pipeline::Xoshiro256& rng) const;

    const pipeline::RoadNetwork& network_;
    const pipeline::MapMatcher& matcher_;
    WorldConfig config_;
    pipeline::EpochMs now_;
    std::vector<std::optional<SegmentTruth>> truth_;
    std::map<std::size_t, std::vector<double>> profiles_;  ///< bounded cache
    std::vector<std::size_t> profile_order_;
    std::vector<std::vector<std::size_t>> successors_;
    std::vector<std::unique_ptr<Vehicle>> vehicles_;
    std::vector<std::unique_ptr<Site>> sites_;
    std::uint64_t vehicle_messages_ = 0;
    std::uint64_t embedded_messages_ = 0;
};

}  // namespace pavewatch::simulate
