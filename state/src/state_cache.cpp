#include "pavewatch/state/state_cache.hpp"

namespace pavewatch::state {

StateCache::StateCache(SegmentStore& store, std::size_t max_entries)
    : store_(&store), max_entries_(max_entries) {}

StateCache::PartitionCache& StateCache::Partition(std::int32_t partition) {
    if (last_cache_ == nullptr || last_partition_ != partition) {
        last_cache_ = &partitions_[partition];
        last_partition_ = partition;
    }
    return *last_cache_;
}

tl::expected<pipeline::SegmentState*, StoreError>
StateCache::Mutable(std::int32_t partition, pipeline::SegmentId segment) {
    auto& cache = Partition(partition);
    auto it = cache.entries.find(segment);
    if (it == cache.entries.end()) {
        Entry entry;
        auto stored = store_->Get(partition, segment);
        if (!stored) {
            return tl::unexpected(stored.error());
        }
        if (*stored) {
            auto decoded = pipeline::DecodeState(**stored);
            if (!decoded) {
                return tl::unexpected(StoreError{
                    "stored state of segment " + pipeline::ToString(segment) +
                        " is unreadable: " + decoded.error().Describe(),
                    false});
            }
            entry.state = std::move(*decoded);
        }
        it = cache.entries.emplace(segment, std::move(entry)).first;
        ++size_;
    }
    if (!it->second.dirty) {
        it->second.dirty = true;
        cache.dirty.push_back({segment, &it->second});
    }
    return &it->second.state;
}

void StateCache::ForEachDirty(
    std::int32_t partition,
    const std::function<void(const pipeline::SegmentState&)>& visit
) const {
    const auto p = partitions_.find(partition);
    if (p == partitions_.end()) {
        return;
    }
    for (const auto& d : p->second.dirty) {
        visit(d.entry->state);
    }
}

std::size_t StateCache::DirtyCount(std::int32_t partition) const {
    const auto p = partitions_.find(partition);
    return p == partitions_.end() ? 0 : p->second.dirty.size();
}

tl::expected<void, StoreError> StateCache::Flush(
    std::int32_t partition,
    const PartitionMeta& meta,
    std::vector<std::pair<pipeline::SegmentId, std::string>> encoded
) {
    auto& cache = Partition(partition);
    StoreBatch batch;
    batch.partition = partition;
    batch.meta = meta;
    bool matches = encoded.size() == cache.dirty.size();
    for (std::size_t i = 0; matches && i < encoded.size(); ++i) {
        matches = encoded[i].first == cache.dirty[i].segment;
    }
    if (matches) {
        batch.puts = std::move(encoded);
    } else {
        batch.puts.reserve(cache.dirty.size());
        for (const auto& d : cache.dirty) {
            batch.puts.emplace_back(d.segment, pipeline::EncodeState(d.entry->state));
        }
    }
    if (auto written = store_->Write(batch); !written) {
        return written;
    }
    for (const auto& d : cache.dirty) {
        d.entry->dirty = false;
    }
    cache.dirty.clear();
    if (size_ > max_entries_) {
        EvictClean();
    }
    return {};
}

void StateCache::DiscardDirty() {
    for (auto& [partition, cache] : partitions_) {
        for (const auto& d : cache.dirty) {
            cache.entries.erase(d.segment);
            --size_;
        }
        cache.dirty.clear();
    }
}

void StateCache::Forget(std::int32_t partition) {
    const auto p = partitions_.find(partition);
    if (p == partitions_.end()) {
        return;
    }
    size_ -= p->second.entries.size();
    partitions_.erase(p);
    last_cache_ = nullptr;
}

void StateCache::EvictClean() {
    // Drop clean entries until the cache is at half its bound: amortised O(1) per record, and
    // evicted states are one RocksDB read (usually the block cache) away.
    const std::size_t target = max_entries_ / 2;
    for (auto& [partition, cache] : partitions_) {
        for (auto it = cache.entries.begin(); it != cache.entries.end() && size_ > target;) {
            if (!it->second.dirty) {
                it = cache.entries.erase(it);
                --size_;
            } else {
                ++it;
            }
        }
    }
}

}  // namespace pavewatch::state
