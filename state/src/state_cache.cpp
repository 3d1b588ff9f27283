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
    if (it != cache.entries.end()) {
        ++stats_.hits;
        // A dirty state was used since the last commit and moved to the front then: the
        // recency order is kept per commit (by first use within it), which is all eviction
        // needs (it runs at commits and skips dirty states), without relinking, and so
        // touching two neighbours' cache lines, on every record of a busy segment.
        if (!it->second.dirty && newest_ != &it->second) {
            Unlink(it->second);
            LinkNewest(it->second);
        }
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
        entry.segment = segment;
        entry.partition = partition;
        it = cache.entries.emplace(segment, std::move(entry)).first;
        ++size_;
        LinkNewest(it->second);
    }
    if (!it->second.dirty) {
        it->second.dirty = true;
        cache.dirty.push_back(&it->second);
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
    for (const Entry* d : p->second.dirty) {
        visit(d->state);
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
        matches = encoded[i].first == cache.dirty[i]->segment;
    }
    if (matches) {
        batch.puts = std::move(encoded);
    } else {
        batch.puts.reserve(cache.dirty.size());
        for (const Entry* d : cache.dirty) {
            batch.puts.emplace_back(d->segment, pipeline::EncodeState(d->state));
        }
    }
    if (auto written = store_->Write(batch); !written) {
        return written;
    }
    for (Entry* d : cache.dirty) {
        d->dirty = false;
    }
    cache.dirty.clear();
    if (size_ > max_entries_) {
        EvictClean();
    }
    return {};
}

void StateCache::DiscardDirty() {
    for (auto& [partition, cache] : partitions_) {
        for (Entry* d : cache.dirty) {
            Unlink(*d);
            cache.entries.erase(d->segment);  // destroys *d
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
    for (auto& [segment, entry] : p->second.entries) {
        Unlink(entry);
    }
    size_ -= p->second.entries.size();
    partitions_.erase(p);
    last_cache_ = nullptr;
}

void StateCache::Unlink(Entry& e) {
    (e.newer != nullptr ? e.newer->older : newest_) = e.older;
    (e.older != nullptr ? e.older->newer : oldest_) = e.newer;
    e.newer = nullptr;
    e.older = nullptr;
}

void StateCache::LinkNewest(Entry& e) {
    e.newer = nullptr;
    e.older = newest_;
    (newest_ != nullptr ? newest_->newer : oldest_) = &e;
    newest_ = &e;
}

void StateCache::EvictClean() {
    // From the least recently used end, drop clean states until the cache is within its
    // bound: the cost is the states dropped (and the few dirty ones stepped over, which were
    // used since the last commit and so sit near the other end). Evicted states are one
    // RocksDB read (often the block cache) away; a segment that vehicles pass often stays.
    Entry* e = oldest_;
    while (e != nullptr && size_ > max_entries_) {
        Entry* newer = e->newer;
        if (!e->dirty) {
            Unlink(*e);
            Partition(e->partition).entries.erase(e->segment);  // destroys *e
            --size_;
            ++stats_.evictions;
        }
        e = newer;
    }
}

}  // namespace pavewatch::state
