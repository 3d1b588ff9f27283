#pragma once
// Batches whose consistency is easy to check after a crash, shared by store_test.cpp and the
// crash_writer program it runs.
#include "pavewatch/state/rocks_store.hpp"
#include "pavewatch/state/segment_store.hpp"

#include <cstdint>
#include <string>
#include <utility>

namespace pavewatch::state::test_batches {

constexpr int kSegments = 200;

/// Batch k: every one of kSegments segments gets the value "k:<segment>:" padded to 400 bytes
/// (a typical encoded state), and the meta says k. A consistent store therefore holds, for
/// some k, exactly batch k's values and meta k.
inline StoreBatch NumberedBatch(std::int64_t k) {
    StoreBatch batch;
    batch.partition = 0;
    for (int s = 0; s < kSegments; ++s) {
        std::string value = std::to_string(k) + ":" + std::to_string(s) + ":";
        value.resize(400, 'x');
        batch.puts.emplace_back(
            pipeline::SegmentId{static_cast<std::uint64_t>(s)}, std::move(value)
        );
    }
    batch.meta = PartitionMeta{k, k, k};
    return batch;
}

/// Small memtables: a flush every ~12 batches, so that a run of 60 batches has flushed some
/// and not all of them.
inline RocksOptions SmallMemtables(bool write_ahead_log) {
    RocksOptions options;
    options.memtable_bytes = 1U << 20;
    options.write_buffer_bytes = 4U << 20;
    options.block_cache_bytes = 8U << 20;
    options.write_ahead_log = write_ahead_log;
    return options;
}

}  // namespace pavewatch::state::test_batches
