#pragma once

#include "pavewatch/state/segment_store.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace pavewatch::state {

/// Memory and durability settings of the RocksDB store.
struct RocksOptions {
    /// Shared block cache for every column family and table, bytes. Default 256 MiB.
    std::size_t block_cache_bytes = 256ULL << 20;
    /// Memtable budget across the database, charged to the block cache (a
    /// WriteBufferManager), so that cache + memtables stay under one bound. Default 64 MiB.
    std::size_t write_buffer_bytes = 64ULL << 20;
    /// One memtable's size, bytes. Default 16 MiB.
    std::size_t memtable_bytes = 16ULL << 20;
    /// Background flush and compaction threads. Default 2.
    int background_threads = 2;
    /// Keep index and filter blocks in the block cache (bounded) rather than on the heap.
    bool cache_index_and_filter_blocks = true;
    /// Write RocksDB's write-ahead log (without fsync). Off by default: the store is a local
    /// copy of the changelog, so what a killed process loses (the memtables not yet flushed) is
    /// restored from the changelog; the log would cost a second write of every state.
    bool write_ahead_log = false;
};

/// The SegmentStore on RocksDB, one column family. Each Write() is one atomic batch. Without
/// the write-ahead log a killed process comes back with the store as of its last memtable
/// flush: an older but consistent state, states and offsets together (flushes of one column
/// family happen in write order), which the wear processor detects by the offsets and brings
/// up to date from the changelog. Close() flushes the memtables, so a clean stop loses nothing.
///
/// Teardown follows RocksDB's documented order: no iterator outlives a call, then DB::Close(),
/// then the DB object, then the cache and the write-buffer manager.
class RocksSegmentStore final : public SegmentStore {
public:
    static tl::expected<std::unique_ptr<RocksSegmentStore>, StoreError>
    Open(const std::string& path, const RocksOptions& options = {});
    ~RocksSegmentStore() override;
    RocksSegmentStore(const RocksSegmentStore&) = delete;
    RocksSegmentStore& operator=(const RocksSegmentStore&) = delete;
    RocksSegmentStore(RocksSegmentStore&&) = delete;
    RocksSegmentStore& operator=(RocksSegmentStore&&) = delete;

    tl::expected<std::optional<std::string>, StoreError>
    Get(std::int32_t partition, pipeline::SegmentId segment) override;
    tl::expected<std::optional<PartitionMeta>, StoreError> GetMeta(std::int32_t partition) override;
    tl::expected<void, StoreError> Write(const StoreBatch& batch) override;
    tl::expected<void, StoreError> Load(
        std::int32_t partition,
        std::vector<std::pair<pipeline::SegmentId, std::string_view>>& states
    ) override;
    tl::expected<void, StoreError> DropPartition(std::int32_t partition) override;
    tl::expected<void, StoreError> ForEach(
        std::int32_t partition,
        const std::function<void(pipeline::SegmentId, std::string_view)>& visit
    ) override;
    StoreStats Stats() override;

private:
    struct Impl;
    explicit RocksSegmentStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pavewatch::state
