#include "pavewatch/state/state_cache.hpp"

#include <algorithm>

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
    if (it != cache.entries.end()) {
        ++stats_.hits;
    } else {
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
            ++stats_.loads;
        } else {
            ++stats_.creates;
        }
        it = cache.entries.emplace(segment, std::move(entry)).first;
        ++size_;
    }
    it->second.last_used = ++clock_;
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
    // Drop the least recently used clean states until an eighth of the bound is free: one pass
    // to find the age to drop below (nth_element), one to drop; amortised over the eighth of
    // the bound's lookups that fill it again, a few entry visits per lookup. Evicted states
    // are one RocksDB read (often the block cache) away; a segment that vehicles pass often
    // stays in memory.
    const std::size_t target = max_entries_ - max_entries_ / 8;
    if (size_ <= target) {
        return;
    }
    ages_.clear();
    for (const auto& [partition, cache] : partitions_) {
        for (const auto& [segment, entry] : cache.entries) {
            if (!entry.dirty) {
                ages_.push_back(entry.last_used);
            }
        }
    }
    const std::size_t drop = std::min(size_ - target, ages_.size());
    if (drop == 0) {
        return;
    }
    // Lookups are numbered one by one, so ages are distinct: exactly `drop` are at most the
    // drop-th smallest.
    std::nth_element(
        ages_.begin(), ages_.begin() + static_cast<std::ptrdiff_t>(drop - 1), ages_.end()
    );
    const std::uint64_t newest_dropped = ages_[drop - 1];
    std::size_t dropped = 0;
    for (auto& [partition, cache] : partitions_) {
        dropped += std::erase_if(cache.entries, [&](const auto& kv) {
            return !kv.second.dirty && kv.second.last_used <= newest_dropped;
        });
    }
    size_ -= dropped;
    stats_.evictions += dropped;
}

}  // namespace pavewatch::state
