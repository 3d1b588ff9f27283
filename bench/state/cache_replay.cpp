// Replays the synthetic load (simulate::SyntheticObservation) through the wear processor's
// write-back cache (state::StateCache) over the in-memory store, flushing as a commit would, and
// prints what its lookups found. The counts are deterministic: they measure the cache's
// eviction policy, not this machine. Wall time is printed too, for what it is worth.
//
//   cache_replay [--segments 1000000] [--count 3000000] [--zipf 0.8] [--cache 200000]
//                [--partitions 6] [--commit-records 4000] [--seed 1]
//
// --commit-records: records per commit (the wear processor commits every 100 ms, about 4,000
// records at 40,000 records/s). A segment's partition here is its id modulo --partitions.
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/simulate/synthetic_load.hpp"
#include "pavewatch/state/segment_store.hpp"
#include "pavewatch/state/state_cache.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace {

double Arg(int argc, char** argv, const char* name, double fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0) {
            return std::strtod(argv[i + 1], nullptr);
        }
    }
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    namespace pipeline = pavewatch::pipeline;
    namespace simulate = pavewatch::simulate;
    namespace state = pavewatch::state;
    const auto segments = static_cast<std::uint64_t>(Arg(argc, argv, "--segments", 1e6));
    const auto count = static_cast<std::uint64_t>(Arg(argc, argv, "--count", 3e6));
    const double zipf = Arg(argc, argv, "--zipf", 0.8);
    const auto bound = static_cast<std::size_t>(Arg(argc, argv, "--cache", 200000));
    const auto partitions = static_cast<std::int32_t>(Arg(argc, argv, "--partitions", 6));
    const auto per_commit = static_cast<std::uint64_t>(Arg(argc, argv, "--commit-records", 4000));
    const auto seed = static_cast<std::uint64_t>(Arg(argc, argv, "--seed", 1));
    if (segments == 0 || bound < 1000 || partitions < 1 || per_commit == 0) {
        std::fprintf(stderr, "cache_replay: bad arguments (see the usage in the source)\n");
        return 2;
    }

    const auto store = state::MakeMemorySegmentStore();
    state::StateCache cache(*store, bound);
    const pipeline::ModelConfig config;
    std::map<std::int32_t, std::int64_t> offsets;
    std::set<std::int32_t> touched;
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto o = simulate::SyntheticObservation(i, segments, seed, 300, zipf);
        const auto partition = static_cast<std::int32_t>(o.segment.value() % partitions);
        auto s = cache.Mutable(partition, o.segment);
        if (!s) {
            std::fprintf(stderr, "cache_replay: %s\n", s.error().message.c_str());
            return 1;
        }
        pipeline::Apply(**s, o, config);
        ++offsets[partition];
        touched.insert(partition);
        if ((i + 1) % per_commit == 0 || i + 1 == count) {
            for (const auto p : touched) {
                if (auto f = cache.Flush(p, state::PartitionMeta{offsets[p], 0, 0}); !f) {
                    std::fprintf(stderr, "cache_replay: %s\n", f.error().message.c_str());
                    return 1;
                }
            }
            touched.clear();
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto& st = cache.stats();
    const auto revisits = st.hits + st.loads;
    std::printf(
        "CACHE_DONE lookups=%llu memory=%llu store=%llu new=%llu evictions=%llu "
        "hit_ratio=%.4f revisit_hit_ratio=%.4f seconds=%.2f\n",
        static_cast<unsigned long long>(count),
        static_cast<unsigned long long>(st.hits),
        static_cast<unsigned long long>(st.loads),
        static_cast<unsigned long long>(st.creates),
        static_cast<unsigned long long>(st.evictions),
        static_cast<double>(st.hits) / static_cast<double>(count),
        revisits > 0 ? static_cast<double>(st.hits) / static_cast<double>(revisits) : 0.0,
        seconds
    );
    return 0;
}
