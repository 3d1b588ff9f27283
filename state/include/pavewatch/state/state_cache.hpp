#pragma once

#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/state/segment_store.hpp"

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace pavewatch::state {

/// A write-back cache of segment states over a SegmentStore, so that the store is not on the
/// per-record path: records mutate states in memory; at each commit the partition's dirty
/// states and its offsets go to the store in one atomic batch. Clean states stay cached up to
/// `max_entries` (then the oldest-loaded half of the clean ones is dropped; they are in the
/// store). Not thread-safe: one owner thread.
class StateCache {
public:
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
    tl::expected<void, StoreError> Flush(std::int32_t partition, const PartitionMeta& meta);

    /// Forgets every uncommitted change (an aborted transaction): dirty states are dropped so
    /// that the next read loads the committed state from the store.
    void DiscardDirty();
    /// Forgets a partition entirely (it was revoked or is being rebuilt).
    void Forget(std::int32_t partition);

    std::size_t size() const { return size_; }

private:
    struct Entry {
        pipeline::SegmentState state;
        bool dirty = false;
    };
    struct PartitionCache {
        std::unordered_map<pipeline::SegmentId, Entry> entries;
        std::vector<pipeline::SegmentId> dirty;
    };
    void EvictClean();

    SegmentStore* store_;
    std::size_t max_entries_;
    std::size_t size_ = 0;
    std::unordered_map<std::int32_t, PartitionCache> partitions_;
};

}  // namespace pavewatch::state
