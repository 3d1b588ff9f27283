// The write-back cache over the in-memory store: dirty tracking, one batch per flush with the
// offsets, discarding an aborted transaction's changes, the entry bound, and store failures.
#include "pavewatch/state/state_cache.hpp"

#include "pavewatch/pipeline/segment_state.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace pavewatch::state {
namespace {

using pipeline::SegmentId;

constexpr pipeline::EpochMs kT0 = 1763856000000;  // 2025-11-23T00:00:00Z

pipeline::Observation Pass(SegmentId segment, pipeline::EpochMs t, float iri) {
    return {
        segment,
        t,
        pipeline::Traversal{
            .vehicle_key = 1,
            .speed_mps = 12.0F,
            .from_m = 0.0F,
            .to_m = 100.0F,
            .iri_m_per_km = iri,
            .samples = 500,
            .sample_rate_hz = 100.0F,
            .confidence = 0.8F}};
}

/// A store that counts writes and can be told to fail them.
class CountingStore final : public SegmentStore {
public:
    tl::expected<std::optional<std::string>, StoreError>
    Get(std::int32_t partition, SegmentId segment) override {
        ++gets;
        return inner_->Get(partition, segment);
    }
    tl::expected<std::optional<PartitionMeta>, StoreError> GetMeta(std::int32_t partition
    ) override {
        return inner_->GetMeta(partition);
    }
    tl::expected<void, StoreError> Write(const StoreBatch& batch) override {
        if (fail_writes) {
            return tl::unexpected(StoreError{"disk full", false});
        }
        ++writes;
        last_batch_puts = batch.puts.size();
        return inner_->Write(batch);
    }
    tl::expected<void, StoreError> Load(
        std::int32_t partition,
        std::vector<std::pair<SegmentId, std::string_view>>& states
    ) override {
        return inner_->Load(partition, states);
    }
    tl::expected<void, StoreError> DropPartition(std::int32_t partition) override {
        return inner_->DropPartition(partition);
    }
    tl::expected<void, StoreError> ForEach(
        std::int32_t partition,
        const std::function<void(SegmentId, std::string_view)>& visit
    ) override {
        return inner_->ForEach(partition, visit);
    }
    StoreStats Stats() override { return inner_->Stats(); }

    int gets = 0;
    int writes = 0;
    std::size_t last_batch_puts = 0;
    bool fail_writes = false;

private:
    std::unique_ptr<SegmentStore> inner_ = MakeMemorySegmentStore();
};

class StateCacheTest : public testing::Test {
protected:
    void Apply(std::int32_t partition, std::uint64_t segment, pipeline::EpochMs t, float iri) {
        auto state = cache_.Mutable(partition, SegmentId{segment});
        ASSERT_TRUE(state.has_value()) << state.error().message;
        pipeline::Apply(**state, Pass(SegmentId{segment}, t, iri), config_);
    }
    std::uint64_t StoredVersion(std::int32_t partition, std::uint64_t segment) {
        auto bytes = store_.Get(partition, SegmentId{segment});
        EXPECT_TRUE(bytes.has_value());
        if (!bytes || !*bytes) {
            return 0;
        }
        auto state = pipeline::DecodeState(**bytes);
        EXPECT_TRUE(state.has_value());
        return state ? state->version : 0;
    }

    pipeline::ModelConfig config_;
    CountingStore store_;
    StateCache cache_{store_, 1000};
};

TEST_F(StateCacheTest, NewSegmentStartsEmptyAndIsDirtyUntilFlushed) {
    Apply(0, 42, kT0, 2.0F);
    Apply(0, 42, kT0 + 1000, 3.0F);
    Apply(0, 43, kT0, 2.0F);
    EXPECT_EQ(cache_.DirtyCount(0), 2U);  // once per segment, however many updates
    EXPECT_EQ(cache_.DirtyCount(1), 0U);
    std::vector<std::uint64_t> order;
    cache_.ForEachDirty(0, [&](const pipeline::SegmentState& s) {
        order.push_back(s.segment.value());
    });
    EXPECT_EQ(order, (std::vector<std::uint64_t>{42, 43}));  // first dirtied first
    EXPECT_EQ(store_.writes, 0);  // nothing reaches the store before the flush
}

TEST_F(StateCacheTest, FlushWritesDirtyStatesAndOffsetsInOneBatch) {
    Apply(2, 1, kT0, 2.0F);
    Apply(2, 2, kT0, 2.0F);
    Apply(2, 2, kT0 + 1, 2.5F);
    const PartitionMeta meta{.input_offset = 3, .action_offset = 0, .changelog_offset = 2};
    ASSERT_TRUE(cache_.Flush(2, meta).has_value());
    EXPECT_EQ(store_.writes, 1);
    EXPECT_EQ(store_.last_batch_puts, 2U);
    EXPECT_EQ(cache_.DirtyCount(2), 0U);
    EXPECT_EQ(StoredVersion(2, 1), 1U);
    EXPECT_EQ(StoredVersion(2, 2), 2U);
    auto stored_meta = store_.GetMeta(2);
    ASSERT_TRUE(stored_meta.has_value() && stored_meta->has_value());
    EXPECT_EQ(**stored_meta, meta);
}

TEST_F(StateCacheTest, UsesTheCallersEncodingOnlyWhenItMatchesTheDirtyStates) {
    Apply(0, 1, kT0, 2.0F);
    Apply(0, 2, kT0, 2.0F);
    std::vector<std::pair<SegmentId, std::string>> encoded;
    cache_.ForEachDirty(0, [&](const pipeline::SegmentState& s) {
        encoded.emplace_back(s.segment, pipeline::EncodeState(s));
    });
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{1, 0, 1}, encoded).has_value());
    EXPECT_EQ(StoredVersion(0, 2), 1U);

    // A stale encoding (wrong segments) is ignored: the cache encodes the states itself.
    Apply(0, 1, kT0 + 1, 2.0F);
    std::vector<std::pair<SegmentId, std::string>> stale = {{SegmentId{9}, "not a state"}};
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{2, 0, 2}, stale).has_value());
    EXPECT_EQ(StoredVersion(0, 1), 2U);
    auto nine = store_.Get(0, SegmentId{9});
    ASSERT_TRUE(nine.has_value());
    EXPECT_FALSE(nine->has_value());
}

TEST_F(StateCacheTest, DiscardDirtyGoesBackToTheCommittedState) {
    Apply(0, 7, kT0, 2.0F);
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{1, 0, 1}).has_value());
    Apply(0, 7, kT0 + 1, 9.0F);  // an update of a transaction that then aborts
    Apply(0, 8, kT0, 9.0F);      // and a segment first seen in it
    cache_.DiscardDirty();
    EXPECT_EQ(cache_.DirtyCount(0), 0U);
    auto seven = cache_.Mutable(0, SegmentId{7});
    ASSERT_TRUE(seven.has_value());
    EXPECT_EQ((*seven)->version, 1U);
    EXPECT_EQ((*seven)->iri_sum, 2.0);
    auto eight = cache_.Mutable(0, SegmentId{8});
    ASSERT_TRUE(eight.has_value());
    EXPECT_EQ((*eight)->version, 0U);
}

TEST_F(StateCacheTest, ForgetReloadsFromTheStore) {
    Apply(1, 5, kT0, 2.0F);
    ASSERT_TRUE(cache_.Flush(1, PartitionMeta{1, 0, 1}).has_value());
    cache_.Forget(1);
    EXPECT_EQ(cache_.size(), 0U);
    const int gets_before = store_.gets;
    auto state = cache_.Mutable(1, SegmentId{5});
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ((*state)->version, 1U);
    EXPECT_EQ(store_.gets, gets_before + 1);
}

TEST_F(StateCacheTest, StaysWithinItsBoundAndReloadsEvictedStates) {
    // 3000 segments through a cache of 1000, flushed every 100 records.
    for (std::uint64_t i = 0; i < 3000; ++i) {
        Apply(0, i, kT0 + static_cast<pipeline::EpochMs>(i), 2.0F);
        if (i % 100 == 99) {
            ASSERT_TRUE(
                cache_.Flush(0, PartitionMeta{static_cast<std::int64_t>(i), 0, 0}).has_value()
            );
            EXPECT_LE(cache_.size(), 1000U);
        }
    }
    // Every segment, cached or not, continues from its stored state.
    for (std::uint64_t i = 0; i < 3000; i += 250) {
        auto state = cache_.Mutable(0, SegmentId{i});
        ASSERT_TRUE(state.has_value());
        EXPECT_EQ((*state)->version, 1U) << i;
    }
}

TEST_F(StateCacheTest, EvictsTheLeastRecentlyUsedStates) {
    // Segments 0-99 are looked up at every step (a busy road); 5000 others pass once each.
    // After each flush the cache is back within its bound, and the busy ones are all still
    // in memory: a lookup of them never reads the store.
    for (std::uint64_t i = 0; i < 5000; ++i) {
        const auto t = kT0 + static_cast<pipeline::EpochMs>(i);
        Apply(0, 1000 + i, t, 2.0F);
        Apply(0, i % 100, t, 2.0F);
        if (i % 50 == 49) {
            ASSERT_TRUE(
                cache_.Flush(0, PartitionMeta{static_cast<std::int64_t>(i), 0, 0}).has_value()
            );
            EXPECT_LE(cache_.size(), 1000U);
        }
    }
    const int gets_before = store_.gets;
    for (std::uint64_t busy = 0; busy < 100; ++busy) {
        Apply(0, busy, kT0 + 10000, 2.0F);
    }
    EXPECT_EQ(store_.gets, gets_before);
    // The oldest of the others are gone: looking one up reads the store.
    Apply(0, 1000, kT0 + 10000, 2.0F);
    EXPECT_EQ(store_.gets, gets_before + 1);
}

TEST_F(StateCacheTest, CountsWhatItsLookupsFound) {
    Apply(0, 1, kT0, 2.0F);      // new
    Apply(0, 1, kT0 + 1, 2.0F);  // in memory
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{2, 0, 0}).has_value());
    StateCache other(store_, 1000);  // a second cache over the same store: reads it
    auto state = other.Mutable(0, SegmentId{1});
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ((*state)->version, 2U);
    EXPECT_EQ(cache_.stats().creates, 1U);
    EXPECT_EQ(cache_.stats().hits, 1U);
    EXPECT_EQ(cache_.stats().loads, 0U);
    EXPECT_EQ(other.stats().loads, 1U);
    EXPECT_EQ(other.stats().hits + other.stats().creates, 0U);
    // Past the bound, a flush evicts down to it and counts them.
    for (std::uint64_t i = 100; i < 1150; ++i) {
        Apply(0, i, kT0, 2.0F);
    }
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{1052, 0, 0}).has_value());
    EXPECT_EQ(cache_.size(), 1000U);
    EXPECT_EQ(cache_.stats().evictions, 51U);
}

TEST(StateCacheRandom, EveryLookupSeesItsCommittedAndPendingUpdates) {
    // Random lookups, flushes, aborts and revoked partitions over a cache much smaller than
    // the segments: whatever was evicted, dropped or kept, a state always continues from its
    // committed updates plus the uncommitted ones still held, and flushes keep the bound.
    CountingStore store;
    StateCache cache(store, 50);
    const pipeline::ModelConfig config;
    std::mt19937_64 rng(20261207);
    using Key = std::pair<std::int32_t, std::uint64_t>;
    std::map<Key, std::uint64_t> committed;
    std::map<Key, std::uint64_t> pending;
    std::map<std::int32_t, std::int64_t> offsets;
    for (int op = 0; op < 20000; ++op) {
        const auto p = static_cast<std::int32_t>(rng() % 3);
        const auto roll = rng() % 100;
        if (roll < 85) {
            const std::uint64_t segment = rng() % 200;
            const Key key{p, segment};
            auto state = cache.Mutable(p, SegmentId{segment});
            ASSERT_TRUE(state.has_value());
            ASSERT_EQ((*state)->version, committed[key] + pending[key]) << "op " << op;
            pipeline::Apply(**state, Pass(SegmentId{segment}, kT0 + op, 2.0F), config);
            ++pending[key];
        } else if (roll < 95) {
            ASSERT_TRUE(cache.Flush(p, PartitionMeta{++offsets[p], 0, 0}).has_value());
            for (auto it = pending.begin(); it != pending.end();) {
                if (it->first.first == p) {
                    committed[it->first] += it->second;
                    it = pending.erase(it);
                } else {
                    ++it;
                }
            }
            if (cache.DirtyCount(0) + cache.DirtyCount(1) + cache.DirtyCount(2) <= 50) {
                EXPECT_LE(cache.size(), 50U) << "op " << op;
            }
        } else if (roll < 98) {
            cache.DiscardDirty();
            pending.clear();
        } else {
            cache.Forget(p);
            std::erase_if(pending, [&](const auto& kv) { return kv.first.first == p; });
        }
    }
    EXPECT_GT(cache.stats().evictions, 1000U);
    EXPECT_GT(cache.stats().loads, 1000U);
}

TEST_F(StateCacheTest, AFailedFlushKeepsTheStatesDirty) {
    Apply(0, 1, kT0, 2.0F);
    store_.fail_writes = true;
    auto flushed = cache_.Flush(0, PartitionMeta{1, 0, 1});
    ASSERT_FALSE(flushed.has_value());
    EXPECT_EQ(flushed.error().message, "disk full");
    EXPECT_EQ(cache_.DirtyCount(0), 1U);
    store_.fail_writes = false;
    ASSERT_TRUE(cache_.Flush(0, PartitionMeta{1, 0, 1}).has_value());
    EXPECT_EQ(StoredVersion(0, 1), 1U);
}

TEST_F(StateCacheTest, AnUnreadableStoredStateIsAnError) {
    StoreBatch junk;
    junk.partition = 0;
    junk.puts = {{SegmentId{3}, "not a state"}};
    ASSERT_TRUE(store_.Write(junk).has_value());
    auto state = cache_.Mutable(0, SegmentId{3});
    ASSERT_FALSE(state.has_value());
    EXPECT_NE(state.error().message.find("segment"), std::string::npos);
    EXPECT_FALSE(state.error().retriable);
}

}  // namespace
}  // namespace pavewatch::state
