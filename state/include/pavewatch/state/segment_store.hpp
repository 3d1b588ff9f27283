#pragma once

#include "pavewatch/pipeline/ids.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::state {

/// A failed store operation. `retriable` false means the store is unusable (disk full,
/// corruption): the service stops and reports it.
struct StoreError {
    std::string message;
    bool retriable = false;
};

/// Where a partition's stored state stands: the input offsets it reflects (the next offsets to
/// consume from `pavewatch.observations` and `pavewatch.hazard-actions`) and the changelog
/// offset it reflects (the next changelog offset after the last record applied). -1 when
/// unknown.
struct PartitionMeta {
    std::int64_t input_offset = -1;
    std::int64_t action_offset = -1;
    std::int64_t changelog_offset = -1;
    friend bool operator==(const PartitionMeta&, const PartitionMeta&) = default;
};

/// An atomic set of writes: segment states (encoded bytes) and partition metadata.
struct StoreBatch {
    std::int32_t partition = 0;
    std::vector<std::pair<pipeline::SegmentId, std::string>> puts;
    std::optional<PartitionMeta> meta;
};

/// Numbers for metrics and alerts.
struct StoreStats {
    std::uint64_t estimated_keys = 0;
    std::uint64_t live_data_bytes = 0;  ///< SST files on disk
    std::uint64_t memtable_bytes = 0;
    std::uint64_t block_cache_usage_bytes = 0;
    std::uint64_t block_cache_capacity_bytes = 0;
    std::uint64_t delayed_write_rate = 0;  ///< bytes/s writes are throttled to; 0 when not
    bool write_stopped = false;            ///< writes are stopped right now
};

/// Per-segment state of the partitions one wear instance owns, with the offsets it reflects.
/// Keys are (partition, segment), so a partition can be dropped and rebuilt on its own.
///
/// Implementations: RocksSegmentStore (RocksDB, the real one) and MemorySegmentStore (for unit
/// tests). Not thread-safe: one owner thread (the wear loop).
class SegmentStore {
public:
    virtual ~SegmentStore() = default;
    SegmentStore() = default;
    SegmentStore(const SegmentStore&) = delete;
    SegmentStore& operator=(const SegmentStore&) = delete;
    SegmentStore(SegmentStore&&) = delete;
    SegmentStore& operator=(SegmentStore&&) = delete;

    /// Encoded state of a segment; nullopt when the store has none.
    virtual tl::expected<std::optional<std::string>, StoreError>
    Get(std::int32_t partition, pipeline::SegmentId segment) = 0;
    virtual tl::expected<std::optional<PartitionMeta>, StoreError> GetMeta(std::int32_t partition
    ) = 0;
    /// Applies every write of the batch, or none.
    virtual tl::expected<void, StoreError> Write(const StoreBatch& batch) = 0;
    /// Bulk-loads states into a partition, replacing what is stored for the same segments, in
    /// any order; of two entries for one segment the later wins (`states` is consumed; the
    /// bytes it views need to live only until the call returns). For restores: the RocksDB
    /// store writes them as one sorted table file and ingests it, so they pass neither the
    /// memtables nor, when the partition holds nothing in their key range, a compaction.
    /// Later loads and writes win over earlier ones, as with Write().
    virtual tl::expected<void, StoreError> Load(
        std::int32_t partition,
        std::vector<std::pair<pipeline::SegmentId, std::string_view>>& states
    ) = 0;
    /// Removes a partition's segments and metadata (before rebuilding it from the changelog).
    virtual tl::expected<void, StoreError> DropPartition(std::int32_t partition) = 0;
    /// Visits every stored segment of a partition in key order.
    virtual tl::expected<void, StoreError> ForEach(
        std::int32_t partition,
        const std::function<void(pipeline::SegmentId, std::string_view)>& visit
    ) = 0;
    virtual StoreStats Stats() = 0;
};

/// A SegmentStore in memory, for unit tests of the code above the store.
std::unique_ptr<SegmentStore> MakeMemorySegmentStore();

}  // namespace pavewatch::state
