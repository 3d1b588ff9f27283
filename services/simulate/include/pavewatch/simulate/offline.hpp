#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/road_network.hpp"
#include "pavewatch/simulate/world.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace pavewatch::simulate {

/// `pavewatch simulate --offline`: where the files go and how long the simulated run lasts.
struct OfflineOptions {
    /// Output folder (created if missing). Files: raw.jsonl, sensors.json, hits.jsonl,
    /// truth.json (formats in docs/simulator.md).
    std::string out_dir;
    /// Simulated time, event time (not wall clock). Default 10 min.
    std::chrono::milliseconds duration{600000};
    /// Event time of the simulation's start, epoch ms. Default 2026-01-01T00:00:00Z, so that a
    /// seed gives byte-identical files on every run.
    pipeline::EpochMs start_ms = 1767225600000;
    /// Simulated time advanced per step (messages of a step are written in time order), ms.
    /// Bounds memory; does not change the result. Default 10 s.
    std::chrono::milliseconds step{10000};
};

/// What an offline run wrote.
struct OfflineSummary {
    std::uint64_t vehicle_messages = 0;
    std::uint64_t embedded_messages = 0;
    std::uint64_t encounters = 0;  ///< wheel passes over pothole positions
    std::uint64_t hits = 0;        ///< of which the wheel hit the pothole
    std::size_t segments = 0;      ///< segments driven (the subset)
    std::size_t potholes = 0;
    std::size_t repaired = 0;  ///< potholes repaired during the run
};

/// Runs the world for `options.duration` and writes its raw messages and ground truth to
/// `options.out_dir` instead of producing to Kafka. Deterministic: the same network, world
/// configuration and options give byte-identical files. Memory is bounded by one step's
/// messages and the world's own state. Errors (as values) name the file that could not be
/// written; they are permanent (disk full, permissions).
tl::expected<OfflineSummary, std::string> RunOffline(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    const WorldConfig& config,
    const OfflineOptions& options
);

/// Parses a fleet mix "100:0.6,50:0.2,10:0.1,5:0.1" (rate Hz : share); shares need not sum to
/// one. Rates within the raw contract's 5..400 Hz, shares > 0.
tl::expected<std::vector<std::pair<double, double>>, std::string> ParseRates(std::string_view text);

}  // namespace pavewatch::simulate
