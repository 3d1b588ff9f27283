#pragma once

#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/state/segment_store.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pavewatch::state {

/// A write-back cache of segment states over a SegmentStore, so that the store is not on the
/// per-record path: records mutate states in memory; at each commit the partition's dirty
/// states and its offsets go to the store in one atomic batch. Clean states stay cached up to
/// `max_entries`; above it, a flush drops the least recently used clean states (they are in the
/// store). Not thread-safe: one owner thread.
class StateCache {
public:
    /// What the lookups found since the cache was made (for metrics).
    struct Stats {
        std::uint64_t hits = 0;       ///< in memory
        std::uint64_t loads = 0;      ///< read from the store
        std::uint64_t creates = 0;    ///< in neither: a new segment
        std::uint64_t evictions = 0;  ///< clean states dropped to stay within the bound
    };

    StateCache(SegmentStore& store, std::size_t max_entries);

    /// The state of a segment for update: from the cache, else the store, else a new empty
    /// state. Marks it dirty.
    tl::expected<pipeline::SegmentState*, StoreError>
    Mutable(std::int32_t partition, pipeline::SegmentId segment);

    /// Visits the partition's dirty states (in the order they were first dirtied).
    void ForEachDirty(
        std::int32_t partition,
        const std::function<void(const pipeline::SegmentState&)>& visit
    ) const;
    std::size_t DirtyCount(std::int32_t partition) const;

    /// Writes the partition's dirty states with `meta` in one batch; they become clean.
    /// `encoded` may hold the dirty states already encoded (EncodeState), in ForEachDirty
    /// order, e.g. by the caller that produced them to the changelog: they are then written
    /// as they are rather than encoded a second time. If it does not match the dirty states
    /// (count or segments), it is ignored and they are encoded here.
    tl::expected<void, StoreError> Flush(
        std::int32_t partition,
        const PartitionMeta& meta,
        std::vector<std::pair<pipeline::SegmentId, std::string>> encoded = {}
    );

    /// Forgets every uncommitted change (an aborted transaction): dirty states are dropped so
    /// that the next read loads the committed state from the store.
    void DiscardDirty();
    /// Forgets a partition entirely (it was revoked or is being rebuilt).
    void Forget(std::int32_t partition);

    std::size_t size() const { return size_; }
    const Stats& stats() const { return stats_; }

private:
    /// A cached state, linked into the recency list (newest first) of all partitions' entries:
    /// a lookup moves it to the front, eviction takes clean ones from the back. Map nodes do
    /// not move, so the links stay valid until the entry is erased (and unlinked).
    struct Entry {
        pipeline::SegmentState state;
        Entry* newer = nullptr;
        Entry* older = nullptr;
        pipeline::SegmentId segment;
        std::int32_t partition = 0;
        bool dirty = false;
    };
    struct PartitionCache {
        std::unordered_map<pipeline::SegmentId, Entry> entries;
        /// Its dirty entries, in the order first dirtied (map nodes are stable until erased,
        /// and a dirty entry is only erased with this list), so that commits need no lookups.
        std::vector<Entry*> dirty;
    };
    void EvictClean();
    PartitionCache& Partition(std::int32_t partition);
    void Unlink(Entry& e);
    void LinkNewest(Entry& e);

    SegmentStore* store_;
    std::size_t max_entries_;
    std::size_t size_ = 0;
    Stats stats_;
    Entry* newest_ = nullptr;
    Entry* oldest_ = nullptr;
    std::unordered_map<std::int32_t, PartitionCache> partitions_;
    /// The partition of the last Mutable() (records come in runs per partition); nodes of
    /// `partitions_` are stable until erased, which resets it.
    std::int32_t last_partition_ = -1;
    PartitionCache* last_cache_ = nullptr;
};

}  // namespace pavewatch::state
