// The SegmentStore contract, run against both implementations: the in-memory fake (which the
// unit tests above the store rely on) and RocksDB in a temporary folder. Then what only the
// RocksDB store has: reopening, and a process killed without closing it.
#include "numbered_batches.hpp"
#include "pavewatch/state/rocks_store.hpp"
#include "pavewatch/state/segment_store.hpp"
#include "pavewatch/test_support/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pavewatch::state {
namespace {

using pipeline::SegmentId;

struct StoreFactory {
    std::string name;
    std::function<std::unique_ptr<SegmentStore>(const std::string& dir)> make;
};

std::unique_ptr<SegmentStore> OpenRocks(const std::string& dir, const RocksOptions& options = {}) {
    auto store = RocksSegmentStore::Open(dir + "/rocksdb", options);
    if (!store) {
        ADD_FAILURE() << store.error().message;
        return nullptr;
    }
    return std::move(*store);
}

class SegmentStoreContract : public testing::TestWithParam<StoreFactory> {
protected:
    void SetUp() override {
        dir_ = test_support::TempDir("state-store");
        store_ = GetParam().make(dir_);
        ASSERT_NE(store_, nullptr);
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    std::vector<std::pair<std::uint64_t, std::string>> Scan(std::int32_t partition) {
        std::vector<std::pair<std::uint64_t, std::string>> out;
        auto scanned = store_->ForEach(partition, [&](SegmentId id, std::string_view bytes) {
            out.emplace_back(id.value(), std::string(bytes));
        });
        EXPECT_TRUE(scanned.has_value());
        return out;
    }

    std::string dir_;
    std::unique_ptr<SegmentStore> store_;
};

TEST_P(SegmentStoreContract, EmptyStoreHasNothing) {
    auto got = store_->Get(0, SegmentId{1});
    ASSERT_TRUE(got.has_value());
    EXPECT_FALSE(got->has_value());
    auto meta = store_->GetMeta(0);
    ASSERT_TRUE(meta.has_value());
    EXPECT_FALSE(meta->has_value());
    EXPECT_TRUE(Scan(0).empty());
}

TEST_P(SegmentStoreContract, WritesStatesAndMetaTogether) {
    StoreBatch batch;
    batch.partition = 3;
    batch.puts = {{SegmentId{7}, "seven"}, {SegmentId{2}, "two"}};
    batch.meta = PartitionMeta{.input_offset = 10, .action_offset = 4, .changelog_offset = 12};
    ASSERT_TRUE(store_->Write(batch).has_value());

    auto seven = store_->Get(3, SegmentId{7});
    ASSERT_TRUE(seven.has_value() && seven->has_value());
    EXPECT_EQ(**seven, "seven");
    auto meta = store_->GetMeta(3);
    ASSERT_TRUE(meta.has_value() && meta->has_value());
    EXPECT_EQ(**meta, (PartitionMeta{10, 4, 12}));
    // The same segment in another partition is another key.
    auto other = store_->Get(4, SegmentId{7});
    ASSERT_TRUE(other.has_value());
    EXPECT_FALSE(other->has_value());
}

TEST_P(SegmentStoreContract, LaterPutOfOneSegmentInABatchWins) {
    StoreBatch batch;
    batch.partition = 0;
    batch.puts = {{SegmentId{5}, "old"}, {SegmentId{1}, "a"}, {SegmentId{5}, "new"}};
    ASSERT_TRUE(store_->Write(batch).has_value());
    auto got = store_->Get(0, SegmentId{5});
    ASSERT_TRUE(got.has_value() && got->has_value());
    EXPECT_EQ(**got, "new");
}

TEST_P(SegmentStoreContract, ScansOnePartitionInSegmentOrder) {
    StoreBatch a;
    a.partition = 1;
    // Segment ids that sort differently as text and as numbers, and one above 2^32.
    a.puts = {
        {SegmentId{300}, "c"},
        {SegmentId{20}, "b"},
        {SegmentId{(1ULL << 40) + 1}, "d"},
        {SegmentId{1}, "a"}};
    a.meta = PartitionMeta{1, 1, 1};
    StoreBatch b;
    b.partition = 2;
    b.puts = {{SegmentId{2}, "other"}};
    ASSERT_TRUE(store_->Write(a).has_value());
    ASSERT_TRUE(store_->Write(b).has_value());
    const auto scanned = Scan(1);
    const std::vector<std::pair<std::uint64_t, std::string>> want = {
        {1, "a"}, {20, "b"}, {300, "c"}, {(1ULL << 40) + 1, "d"}};
    EXPECT_EQ(scanned, want);  // the meta key is not a segment
}

TEST_P(SegmentStoreContract, DropPartitionRemovesOnlyThatPartition) {
    for (std::int32_t p = 0; p < 3; ++p) {
        StoreBatch batch;
        batch.partition = p;
        batch.puts = {{SegmentId{1}, "x"}, {SegmentId{2}, "y"}};
        batch.meta = PartitionMeta{p, p, p};
        ASSERT_TRUE(store_->Write(batch).has_value());
    }
    ASSERT_TRUE(store_->DropPartition(1).has_value());
    EXPECT_TRUE(Scan(1).empty());
    auto meta = store_->GetMeta(1);
    ASSERT_TRUE(meta.has_value());
    EXPECT_FALSE(meta->has_value());
    EXPECT_EQ(Scan(0).size(), 2U);
    EXPECT_EQ(Scan(2).size(), 2U);
    auto kept = store_->GetMeta(2);
    ASSERT_TRUE(kept.has_value() && kept->has_value());
    EXPECT_EQ((*kept)->input_offset, 2);
}

TEST_P(SegmentStoreContract, LoadAddsStatesAndOverridesEarlierWrites) {
    StoreBatch written;
    written.partition = 2;
    written.puts = {{SegmentId{1}, "written-1"}, {SegmentId{9}, "written-9"}};
    written.meta = PartitionMeta{5, 5, 5};
    ASSERT_TRUE(store_->Write(written).has_value());
    // Out of order, one segment already stored, one above 2^32.
    std::vector<std::pair<SegmentId, std::string_view>> loaded = {
        {SegmentId{(1ULL << 40) + 3}, "loaded-big"},
        {SegmentId{9}, "loaded-9"},
        {SegmentId{4}, "loaded-4"}};
    ASSERT_TRUE(store_->Load(2, loaded).has_value());
    EXPECT_TRUE(loaded.empty());  // consumed
    const std::vector<std::pair<std::uint64_t, std::string>> want = {
        {1, "written-1"}, {4, "loaded-4"}, {9, "loaded-9"}, {(1ULL << 40) + 3, "loaded-big"}};
    EXPECT_EQ(Scan(2), want);
    EXPECT_TRUE(Scan(1).empty());
    EXPECT_TRUE(Scan(3).empty());
    auto meta = store_->GetMeta(2);  // a load leaves the metadata alone
    ASSERT_TRUE(meta.has_value() && meta->has_value());
    EXPECT_EQ(**meta, (PartitionMeta{5, 5, 5}));

    // A later load and a later write each win over what came before.
    std::vector<std::pair<SegmentId, std::string_view>> again = {{SegmentId{4}, "reloaded-4"}};
    ASSERT_TRUE(store_->Load(2, again).has_value());
    StoreBatch after;
    after.partition = 2;
    after.puts = {{SegmentId{9}, "rewritten-9"}};
    ASSERT_TRUE(store_->Write(after).has_value());
    auto four = store_->Get(2, SegmentId{4});
    ASSERT_TRUE(four.has_value() && four->has_value());
    EXPECT_EQ(**four, "reloaded-4");
    auto nine = store_->Get(2, SegmentId{9});
    ASSERT_TRUE(nine.has_value() && nine->has_value());
    EXPECT_EQ(**nine, "rewritten-9");
}

TEST_P(SegmentStoreContract, LoadAfterDropRebuildsOnlyThatPartition) {
    for (std::int32_t p = 0; p < 2; ++p) {
        StoreBatch batch;
        batch.partition = p;
        batch.puts = {{SegmentId{1}, "old"}, {SegmentId{2}, "old"}};
        ASSERT_TRUE(store_->Write(batch).has_value());
    }
    ASSERT_TRUE(store_->DropPartition(1).has_value());
    std::vector<std::pair<SegmentId, std::string_view>> loaded = {{SegmentId{2}, "new"}};
    ASSERT_TRUE(store_->Load(1, loaded).has_value());
    const std::vector<std::pair<std::uint64_t, std::string>> rebuilt = {{2, "new"}};
    EXPECT_EQ(Scan(1), rebuilt);  // segment 1 stays dropped
    EXPECT_EQ(Scan(0).size(), 2U);
    std::vector<std::pair<SegmentId, std::string_view>> none;
    EXPECT_TRUE(store_->Load(1, none).has_value());
}

TEST_P(SegmentStoreContract, OfTwoLoadedEntriesForOneSegmentTheLaterWins) {
    // A restore buffers the changelog as read: a segment written at two commits comes twice.
    // The bytes live in one buffer, as the restore's do, and are gone once Load returns.
    auto buffer = std::make_unique<std::string>("first-7second-7only-3third-7");
    const std::string_view b(*buffer);
    std::vector<std::pair<SegmentId, std::string_view>> loaded = {
        {SegmentId{7}, b.substr(0, 7)},
        {SegmentId{7}, b.substr(7, 8)},
        {SegmentId{3}, b.substr(15, 6)},
        {SegmentId{7}, b.substr(21, 7)}};
    ASSERT_TRUE(store_->Load(4, loaded).has_value());
    buffer.reset();
    const std::vector<std::pair<std::uint64_t, std::string>> want = {{3, "only-3"}, {7, "third-7"}};
    EXPECT_EQ(Scan(4), want);
}

INSTANTIATE_TEST_SUITE_P(
    BothStores,
    SegmentStoreContract,
    testing::Values(
        StoreFactory{"memory", [](const std::string&) { return MakeMemorySegmentStore(); }},
        StoreFactory{"rocksdb", [](const std::string& dir) { return OpenRocks(dir); }}
    ),
    [](const testing::TestParamInfo<StoreFactory>& info) { return info.param.name; }
);

// --- RocksDB only -------------------------------------------------------------------------

using test_batches::kSegments;
using test_batches::NumberedBatch;
using test_batches::SmallMemtables;

/// Runs crash_writer (test_support::Process: bounded wait, killed if the test dies): batches
/// 1..count written, then the process exits without closing the store (as a `kill -9` would
/// leave it). Returns its exit code, nullopt if it did not finish within 60 s.
std::optional<int> WriteAndDie(const std::string& dir, bool write_ahead_log, std::int64_t count) {
    test_support::Process writer(
        PAVEWATCH_CRASH_WRITER,
        {dir + "/rocksdb", write_ahead_log ? "1" : "0", std::to_string(count)},
        dir + "/crash_writer.log"
    );
    return writer.Wait(std::chrono::seconds(60));
}

/// The stored meta k, after checking that every segment holds batch k's value.
std::int64_t ConsistentPoint(SegmentStore& store) {
    auto meta = store.GetMeta(0);
    EXPECT_TRUE(meta.has_value() && meta->has_value());
    if (!meta || !*meta) {
        return -1;
    }
    const std::int64_t k = (*meta)->input_offset;
    EXPECT_EQ(**meta, (PartitionMeta{k, k, k}));
    int seen = 0;
    auto scanned = store.ForEach(0, [&](SegmentId id, std::string_view bytes) {
        const std::string prefix = std::to_string(k) + ":" + std::to_string(id.value()) + ":";
        EXPECT_EQ(bytes.substr(0, prefix.size()), prefix) << "segment " << id.value();
        ++seen;
    });
    EXPECT_TRUE(scanned.has_value());
    EXPECT_EQ(seen, kSegments);
    return k;
}

TEST(RocksSegmentStore, CleanCloseKeepsEveryWrite) {
    const auto dir = test_support::TempDir("state-reopen");
    {
        auto store = OpenRocks(dir, SmallMemtables(false));
        ASSERT_NE(store, nullptr);
        for (std::int64_t k = 1; k <= 30; ++k) {
            ASSERT_TRUE(store->Write(NumberedBatch(k)).has_value());
        }
    }
    auto reopened = OpenRocks(dir, SmallMemtables(false));
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(ConsistentPoint(*reopened), 30);
    reopened.reset();
    std::filesystem::remove_all(dir);
}

TEST(RocksSegmentStore, LoadedStatesSurviveAReopenAndLeaveNoFilesBehind) {
    const auto dir = test_support::TempDir("state-load");
    {
        auto store = OpenRocks(dir, SmallMemtables(false));
        ASSERT_NE(store, nullptr);
        ASSERT_TRUE(store->DropPartition(0).has_value());
        for (int chunk = 0; chunk < 3; ++chunk) {
            const std::string value = std::to_string(chunk) + std::string(200, 'x');
            std::vector<std::pair<SegmentId, std::string_view>> states;
            for (std::uint64_t s = 0; s < 5000; ++s) {
                // Chunks overlap: the last chunk's value must win for every segment.
                states.emplace_back(SegmentId{s * 3 + 1}, value);
            }
            ASSERT_TRUE(store->Load(0, states).has_value());
        }
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/rocksdb")) {
        EXPECT_FALSE(entry.path().filename().string().starts_with("load-")) << entry.path();
    }
    auto reopened = OpenRocks(dir, SmallMemtables(false));
    ASSERT_NE(reopened, nullptr);
    int seen = 0;
    auto scanned = reopened->ForEach(0, [&](SegmentId id, std::string_view bytes) {
        EXPECT_EQ(id.value() % 3, 1U);
        EXPECT_EQ(bytes.substr(0, 1), "2") << "segment " << id.value();
        ++seen;
    });
    EXPECT_TRUE(scanned.has_value());
    EXPECT_EQ(seen, 5000);
    reopened.reset();
    std::filesystem::remove_all(dir);
}

TEST(RocksSegmentStore, KilledWithoutLogComesBackOlderButConsistent) {
    // The default: no write-ahead log. What the dead process had not flushed is gone, but
    // states and offsets are gone together; the wear processor sees the older offsets and
    // replays the changelog from there.
    const auto dir = test_support::TempDir("state-killed");
    ASSERT_EQ(WriteAndDie(dir, false, 60), 0) << test_support::Tail(dir + "/crash_writer.log");
    auto store = OpenRocks(dir, SmallMemtables(false));
    ASSERT_NE(store, nullptr);
    const auto k = ConsistentPoint(*store);
    EXPECT_GE(k, 1);   // ~5 memtables were flushed before the end
    EXPECT_LT(k, 60);  // the last memtable was not
    store.reset();
    std::filesystem::remove_all(dir);
}

TEST(RocksSegmentStore, KilledWithLogLosesNothing) {
    const auto dir = test_support::TempDir("state-killed-wal");
    ASSERT_EQ(WriteAndDie(dir, true, 60), 0) << test_support::Tail(dir + "/crash_writer.log");
    auto store = OpenRocks(dir, SmallMemtables(true));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(ConsistentPoint(*store), 60);
    store.reset();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pavewatch::state
