#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/iso8608.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/raw_message.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <chrono>
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
    /// Share of segments whose class is their road's (a street is built and resurfaced as a
    /// whole, so its pieces look alike); the others draw their own. Either way each segment's
    /// class follows `class_shares`. Roads are the source features (`Segment::source_id`).
    double road_class_share = 0.8;
    /// Embedded sensor sites; each has a WIM station, a strain gauge, a thermometer and a
    /// moisture probe.
    int sensor_sites = 12;
    /// Heavy-traffic rate at each WIM station, vehicles per second.
    double wim_rate_per_s = 0.2;
    /// Share of vehicle messages deliberately corrupted (to exercise the dead-letter path).
    double invalid_share = 0.0;
    /// Longitudinal profile resolution, metres.
    double profile_spacing_m = 0.05;
    /// Only these segments (indices into the network) are driven; empty: all of them. Vehicles
    /// never leave the subset: where a road leaves it, they reappear elsewhere in it.
    std::vector<std::size_t> segment_subset;
    /// Share of potholes that are repaired (removed from the road) during the run, [0, 1].
    double repair_share = 0.0;
    /// Repairs happen at a time drawn uniformly in [repair_window_start, repair_window_end]
    /// after the world's start (event time). Both zero: at the start.
    std::chrono::milliseconds repair_window_start{0};
    std::chrono::milliseconds repair_window_end{0};
};

/// A pothole placed on a segment: a flat-bottomed depression from `at_m` to `at_m + length_m`
/// along the segment and `width_m` wide around `lateral_m`. Metres.
struct TruthPothole {
    double at_m = 0;  ///< start of the depression, from the segment's start
    double depth_m = 0;
    double length_m = 0;
    double lateral_m = 0;  ///< centre's offset right of the lane centre
    double width_m = 0;
    /// Event time from which the pothole is repaired (gone from the road); none: never.
    std::optional<pipeline::EpochMs> repaired_at_ms;

    double centre_m() const { return at_m + 0.5 * length_m; }
};

/// The hidden truth of one segment.
struct SegmentTruth {
    double gd0_m3 = 0;  ///< ISO 8608 displacement PSD at 0.1 cycles/m
    pipeline::Iso8608Class iso_class = pipeline::Iso8608Class::kB;
    std::vector<TruthPothole> potholes;
};

/// A vehicle's wheel passing the position of a pothole (the ground truth of single-pass
/// detection and of repair detection).
struct PotholeEncounter {
    std::size_t segment_index = 0;  ///< into RoadNetwork::segments()
    std::size_t pothole = 0;        ///< index into Truth(segment_index).potholes
    pipeline::EpochMs t_ms = 0;     ///< when the wheel passed the pothole's centre
    double speed_mps = 0.0;
    double wheel_lateral_m = 0.0;  ///< the wheel path's offset right of the lane centre
    /// The wheel path overlapped the pothole and it was not repaired yet: the wheel hit it.
    bool hit = false;
    bool repaired = false;  ///< the pothole had been repaired by t_ms
};

/// One raw message, ready for its topic.
struct RawMessage {
    bool vehicle = true;  ///< raw vehicle topic; else the embedded topic
    std::string key;      ///< vehicle id or sensor id
    std::string json;
    pipeline::EpochMs t_ms = 0;
    /// Vehicle messages: the sample rate, the time the batch covers and the potholes passed
    /// during it (the truth behind the message; not part of what a device sends).
    double rate_hz = 0.0;
    pipeline::EpochMs end_ms = 0;  ///< time of the batch's last sample
    bool corrupted = false;        ///< deliberately broken (WorldConfig::invalid_share)
    std::vector<PotholeEncounter> encounters;
};

/// What an embedded sensor site really carried: the expected result of the structural models
/// from the loads and strains it reported, with the temperature and moisture it really had.
struct SiteTruth {
    std::size_t segment_index = 0;
    std::string wim_id;
    std::string strain_id;
    std::uint64_t vehicles = 0;  ///< weighed vehicles
    std::uint64_t axles = 0;
    double esal = 0.0;            ///< sum of VehicleEsal over the reported axle loads
    double fatigue_damage = 0.0;  ///< Miner sum with the site's true temperature and moisture
    std::uint64_t strain_peaks = 0;
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
    /// Per embedded sensor site, what it carried so far.
    std::vector<SiteTruth> SiteTruths() const;
    const SegmentTruth& Truth(std::size_t segment_index);
    /// The segment's longitudinal profile with its potholes as a wheel on the lane centre sees
    /// them; metres, at `config.profile_spacing_m`.
    const std::vector<double>& Profile(std::size_t segment_index);
    /// Reference IRI (ASTM E1926) of the segment's profile, m/km.
    double TrueIri(std::size_t segment_index);

    pipeline::EpochMs now() const { return now_; }
    pipeline::EpochMs start_ms() const { return start_ms_; }
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
    pipeline::EpochMs start_ms_;
    std::vector<bool> allowed_;
    std::vector<std::optional<SegmentTruth>> truth_;
    std::map<std::size_t, std::vector<double>> profiles_;  ///< bounded cache
    std::vector<std::size_t> profile_order_;
    std::vector<std::vector<std::size_t>> successors_;
    std::vector<std::unique_ptr<Vehicle>> vehicles_;
    std::vector<std::unique_ptr<Site>> sites_;
    std::uint64_t vehicle_messages_ = 0;
    std::uint64_t embedded_messages_ = 0;
};

/// About `target_segments` segments of whole roads that are connected on the map (road ends
/// within 12 m of each other), grown breadth-first from a road drawn with `seed`; indices into
/// the network's segments, ascending. All segments when the target is 0 or exceeds the network.
std::vector<std::size_t> ConnectedSubset(
    const pipeline::RoadNetwork& network,
    std::size_t target_segments,
    std::uint64_t seed
);

}  // namespace pavewatch::simulate
