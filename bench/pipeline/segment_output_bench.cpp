// What one touched segment costs the wear processor at a commit: its state encoded for the
// changelog and the store, its condition record (JSON) for pavewatch.conditions, and, once a
// day, its history record for pavewatch.condition-history, as a function of the days of
// history the segment holds (a segment in service for 90 days and more holds the full 90).
// Bytes written are reported as counters. Each writes into a reused buffer, as the wear
// processor does. Timings on a shared machine move a lot: segment_output_calls gives
// instruction counts under callgrind.

#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/simulate/synthetic_load.hpp"
#include "segment_states.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pavewatch::pipeline {
namespace {

/// Times `write(state, config, out)` into a reused buffer on the state built over range(0)
/// days; reports the bytes written and the closed days held.
template <typename Write>
void Measure(benchmark::State& bench, Write write) {
    const ModelConfig config;
    const SegmentState s = StateOver(static_cast<int>(bench.range(0)), config);
    std::string out;
    for (auto _ : bench) {
        out.clear();
        write(s, config, out);
        benchmark::DoNotOptimize(out.data());
    }
    bench.counters["bytes"] = static_cast<double>(out.size());
    bench.counters["history_days"] = static_cast<double>(s.history.entries().size());
}

void BM_EncodeState(benchmark::State& bench) {
    Measure(bench, [](const SegmentState& s, const ModelConfig&, std::string& out) {
        EncodeState(s, out);
    });
}

void BM_ConditionToJson(benchmark::State& bench) {
    Measure(bench, [](const SegmentState& s, const ModelConfig& config, std::string& out) {
        ConditionToJson(s, config, out);
    });
}

/// The history record, written only when one of the segment's days closes.
void BM_HistoryToJson(benchmark::State& bench) {
    Measure(bench, [](const SegmentState& s, const ModelConfig&, std::string& out) {
        HistoryToJson(s, out);
    });
}

// Before any of that, every record of the input is decoded and its values checked
// (DecodeObservation): 4,096 records of the chaos tests' and wear benchmark's load, per
// iteration; items/s is records per second.
void BM_DecodeObservation(benchmark::State& bench) {
    std::vector<std::string> records;
    for (std::uint64_t i = 0; i < 4096; ++i) {
        records.push_back(EncodeObservation(simulate::SyntheticObservation(i, 10000, 1)));
    }
    for (auto _ : bench) {
        for (const auto& r : records) {
            auto o = DecodeObservation(r);
            benchmark::DoNotOptimize(o);
        }
    }
    bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(records.size()));
}

// A state read back (a write-back cache miss, read from RocksDB): its layout and values
// checked (DecodeState), on the heavy segment of the others.
void BM_DecodeState(benchmark::State& bench) {
    const ModelConfig config;
    const std::string bytes = EncodeState(StateOver(static_cast<int>(bench.range(0)), config));
    for (auto _ : bench) {
        auto s = DecodeState(bytes);
        benchmark::DoNotOptimize(s);
    }
    bench.counters["bytes"] = static_cast<double>(bytes.size());
}

BENCHMARK(BM_DecodeObservation);
BENCHMARK(BM_DecodeState)->Arg(7)->Arg(120);
BENCHMARK(BM_EncodeState)->Arg(1)->Arg(7)->Arg(30)->Arg(120);
BENCHMARK(BM_ConditionToJson)->Arg(1)->Arg(7)->Arg(30)->Arg(120);
BENCHMARK(BM_HistoryToJson)->Arg(1)->Arg(7)->Arg(30)->Arg(120);

}  // namespace
}  // namespace pavewatch::pipeline
