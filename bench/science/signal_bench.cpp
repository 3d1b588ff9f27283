// Throughput of the per-device signal path at 100 Hz, in samples per second (items/s).

#include "pavewatch/pipeline/event_detector.hpp"
#include "pavewatch/pipeline/iso8608.hpp"
#include "pavewatch/pipeline/roughness_estimator.hpp"
#include "pavewatch/pipeline/signal.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

constexpr double kRate = 100.0;
constexpr std::size_t kSamples = 1 << 16;  // one "batch" of a device, ~11 min at 100 Hz
constexpr std::size_t kBlock = 2048;       // processed in cache-sized blocks

/// Device-frame accelerometer data: a tilted phone seeing body bounce, sway and noise.
struct Input {
    std::vector<float> x, y, z, speed;
    Input() : x(kSamples), y(kSamples), z(kSamples), speed(kSamples) {
        Xoshiro256 rng(1);
        for (std::size_t i = 0; i < kSamples; ++i) {
            const double t = static_cast<double>(i) / kRate;
            const double av = 1.2 * std::sin(2.0 * std::numbers::pi * 1.3 * t) + 0.3 * rng.Normal();
            const double ah = 0.5 * std::sin(2.0 * std::numbers::pi * 0.4 * t) + 0.2 * rng.Normal();
            const double up = 9.80665 + av;
            x[i] = static_cast<float>(0.6 * up + 0.8 * ah);
            y[i] = static_cast<float>(0.1 * ah);
            z[i] = static_cast<float>(0.8 * up - 0.6 * ah);
            speed[i] = static_cast<float>(14.0 + 2.0 * std::sin(0.01 * t));
        }
    }
};

const Input& Data() {
    static const Input kInput;
    return kInput;
}

void BM_Reorient(benchmark::State& state) {
    const Input& in = Data();
    std::vector<float> vertical(kSamples), horizontal(kSamples);
    GravityReorienter reorienter(kRate);
    for (auto _ : state) {
        reorienter.Process(in.x, in.y, in.z, vertical, horizontal);
        benchmark::DoNotOptimize(vertical.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_Reorient);

void BM_BandPass(benchmark::State& state) {
    const Input& in = Data();
    std::vector<float> buffer(in.z);
    IirFilter band = IirFilter::BandPass(4, 0.5, 20.0, kRate);
    for (auto _ : state) {
        band.Process(buffer);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_BandPass);

void BM_IriEstimate(benchmark::State& state) {
    const Input& in = Data();
    const RoughnessEstimator estimator(RoughnessConfig{}, kRate);
    for (auto _ : state) {
        auto e = estimator.EstimateFiltered(in.z, in.speed);
        benchmark::DoNotOptimize(e);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_IriEstimate);

void BM_EventDetect(benchmark::State& state) {
    const Input& in = Data();
    std::vector<float> vertical(kSamples), horizontal(kSamples);
    GravityReorienter(kRate).Process(in.x, in.y, in.z, vertical, horizontal);
    EventDetector detector(HazardConfig{}, kRate);
    std::vector<DetectedEvent> events;
    events.reserve(1024);
    for (auto _ : state) {
        events.clear();
        detector.Process(vertical, horizontal, in.speed, events);
        benchmark::DoNotOptimize(events.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_EventDetect);

/// Everything one device's batch goes through: re-orientation, band-pass, IRI estimate (one
/// per block: a segment at ~14 m/s is ~7 s = 700 samples, so this is a lower bound on work)
/// and event detection.
void BM_WholeSignalPath(benchmark::State& state) {
    const Input& in = Data();
    GravityReorienter reorienter(kRate);
    RoughnessEstimator estimator(RoughnessConfig{}, kRate);
    EventDetector detector(HazardConfig{}, kRate);
    std::vector<float> vertical(kBlock), horizontal(kBlock), band(kBlock);
    std::vector<DetectedEvent> events;
    events.reserve(1024);
    double sink = 0.0;
    for (auto _ : state) {
        events.clear();
        for (std::size_t start = 0; start < kSamples; start += kBlock) {
            const auto x = std::span(in.x).subspan(start, kBlock);
            const auto y = std::span(in.y).subspan(start, kBlock);
            const auto z = std::span(in.z).subspan(start, kBlock);
            const auto v = std::span(in.speed).subspan(start, kBlock);
            reorienter.Process(x, y, z, vertical, horizontal);
            std::copy(vertical.begin(), vertical.end(), band.begin());
            estimator.Filter(band);
            if (const auto e = estimator.EstimateFiltered(band, v)) {
                sink += e->iri_m_per_km;
            }
            detector.Process(vertical, horizontal, v, events);
        }
        benchmark::DoNotOptimize(sink);
        benchmark::DoNotOptimize(events.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_WholeSignalPath);

}  // namespace
}  // namespace pavewatch::pipeline
