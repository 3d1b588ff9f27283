#include "pavewatch/state/rocks_store.hpp"

#include "keys.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace pavewatch::state {
namespace {

StoreError FromStatus(const rocksdb::Status& s, const std::string& what) {
    // Busy/TryAgain/TimedOut can pass; IO errors, corruption and a full disk cannot.
    const bool retriable = s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsIncomplete();
    std::string hint;
    if (s.IsIOError() || s.IsNoSpace()) {
        hint = " (check the state volume: free space, permissions)";
    } else if (s.IsCorruption()) {
        hint = " (delete the state folder: the wear processor rebuilds it from the changelog)";
    }
    return StoreError{what + ": " + s.ToString() + hint, retriable};
}

}  // namespace

struct RocksSegmentStore::Impl {
    // Owns the database and its memory: never copied or moved (held by unique_ptr).
    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    Impl(Impl&&) = delete;
    Impl& operator=(Impl&&) = delete;

    std::shared_ptr<rocksdb::Cache> cache;
    std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
    std::unique_ptr<rocksdb::DB> db;
    std::string path;
    rocksdb::Options options;  ///< as opened; Load() writes its table files with them
    std::uint64_t loads = 0;   ///< names Load()'s table files apart
    rocksdb::WriteOptions write_options;
    rocksdb::ReadOptions read_options;
    std::size_t cache_capacity = 0;
    /// Reused by Write(): a commit's batch is tens of MiB at low segment counts, and growing a
    /// fresh one each time costs more than filling it.
    rocksdb::WriteBatch batch;
    std::vector<std::uint32_t> order;  ///< Write()'s puts in key order

    ~Impl() {
        if (db) {
            // Documented order: Close() reports errors a destructor cannot; then delete the
            // DB; the cache and write-buffer manager are released after it. Without the
            // write-ahead log, Close() flushes the memtables first (avoid_flush_during_shutdown
            // stays false), so a clean stop keeps every write.
            (void)db->Close();
            db.reset();
        }
    }
};

RocksSegmentStore::RocksSegmentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksSegmentStore::~RocksSegmentStore() = default;

tl::expected<std::unique_ptr<RocksSegmentStore>, StoreError>
RocksSegmentStore::Open(const std::string& path, const RocksOptions& options) {
    auto impl = std::make_unique<Impl>();
    impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    impl->cache_capacity = options.block_cache_bytes;
    impl->write_buffers =
        std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes, impl->cache);

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = impl->cache;
    table.cache_index_and_filter_blocks = options.cache_index_and_filter_blocks;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // point lookups by segment
    // Block checksums with XXH3: Debian's RocksDB is a portable build whose CRC32c runs without
    // the CPU's instruction (4 % of the wear processor's CPU in a profile); XXH3 is as strong
    // and fast in plain code. Files written with CRC32c stay readable (the type is per file).
    table.checksum = rocksdb::kXXH3;

    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.write_buffer_manager = impl->write_buffers;
    db_options.write_buffer_size = options.memtable_bytes;
    db_options.max_write_buffer_number = 3;
    db_options.IncreaseParallelism(options.background_threads);
    db_options.max_background_jobs = options.background_threads;
    db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    db_options.compression = rocksdb::kLZ4Compression;
    // L0 and L1 uncompressed: they hold the most recently written states, rewritten at every
    // commit and soon compacted again, so compressing them costs flush and compaction CPU for
    // little disk; the deeper levels, where the bulk of the bytes settle, stay LZ4.
    db_options.compression_per_level = {
        rocksdb::kNoCompression, rocksdb::kNoCompression, rocksdb::kLZ4Compression};
    db_options.max_open_files = 512;
    // A Get of a segment the store does not have (the first update of every segment) is
    // answered by the memtables' whole-key bloom filters instead of a skip-list search each.
    db_options.memtable_prefix_bloom_size_ratio = 0.05;
    db_options.memtable_whole_key_filtering = true;
    db_options.keep_log_file_num = 3;
    db_options.optimize_filters_for_hits = false;

    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, path, &raw);
    if (s.IsInvalidArgument() || s.IsNotSupported()) {
        // A build of RocksDB without LZ4: fall back to no compression rather than fail.
        db_options.compression = rocksdb::kNoCompression;
        db_options.compression_per_level.clear();
        s = rocksdb::DB::Open(db_options, path, &raw);
    }
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "opening the state store at " + path));
    }
    impl->db.reset(raw);
    impl->path = path;
    impl->options = db_options;
    impl->write_options.sync = false;
    impl->write_options.disableWAL = !options.write_ahead_log;
    return std::unique_ptr<RocksSegmentStore>(new RocksSegmentStore(std::move(impl)));
}

tl::expected<std::optional<std::string>, StoreError>
RocksSegmentStore::Get(std::int32_t partition, pipeline::SegmentId segment) {
    std::string value;
    const auto s =
        impl_->db->Get(impl_->read_options, detail::StateKey(partition, segment), &value);
    if (s.IsNotFound()) {
        return std::optional<std::string>{};
    }
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "reading a segment state"));
    }
    return std::optional<std::string>(std::move(value));
}

tl::expected<std::optional<PartitionMeta>, StoreError> RocksSegmentStore::GetMeta(
    std::int32_t partition
) {
    std::string value;
    const auto s = impl_->db->Get(impl_->read_options, detail::MetaKey(partition), &value);
    if (s.IsNotFound()) {
        return std::optional<PartitionMeta>{};
    }
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "reading partition metadata"));
    }
    const auto meta = detail::DecodeMeta(value);
    if (!meta) {
        return tl::unexpected(StoreError{
            "partition metadata is corrupt (delete the state folder to rebuild it)", false});
    }
    return std::optional<PartitionMeta>(meta);
}

tl::expected<void, StoreError> RocksSegmentStore::Write(const StoreBatch& batch) {
    rocksdb::WriteBatch& wb = impl_->batch;
    wb.Clear();
    // In key order (segment order within the partition); stable, so that of two puts of one
    // segment the later is still applied last and wins.
    auto& order = impl_->order;
    order.resize(batch.puts.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return batch.puts[a].first.value() < batch.puts[b].first.value();
    });
    std::string key = detail::PartitionPrefix(batch.partition);
    for (const std::uint32_t i : order) {
        const auto& [segment, bytes] = batch.puts[i];
        key.resize(detail::kPartitionPrefixBytes);
        detail::PutBigEndian(key, segment.value(), 8);
        wb.Put(key, bytes);
    }
    if (batch.meta) {
        wb.Put(detail::MetaKey(batch.partition), detail::EncodeMeta(*batch.meta));
    }
    const auto s = impl_->db->Write(impl_->write_options, &wb);
    if (wb.GetDataSize() > (64U << 20)) {
        wb.Clear();
        impl_->batch = rocksdb::WriteBatch();  // do not keep an exceptional batch's memory
    }
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "writing a state batch"));
    }
    return {};
}

tl::expected<void, StoreError> RocksSegmentStore::Load(
    std::int32_t partition,
    std::vector<std::pair<pipeline::SegmentId, std::string_view>>& states
) {
    if (states.empty()) {
        return {};
    }
    std::stable_sort(states.begin(), states.end(), [](const auto& a, const auto& b) {
        return a.first.value() < b.first.value();
    });
    // A table file takes strictly ascending keys: of two entries for one segment the later
    // wins, as in Write().
    const std::string file = impl_->path + "/load-" + std::to_string(partition) + "-" +
                             std::to_string(impl_->loads++) + ".sst";
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), impl_->options);
    rocksdb::Status s = writer.Open(file);
    std::string key = detail::PartitionPrefix(partition);
    for (std::size_t i = 0; s.ok() && i < states.size(); ++i) {
        if (i + 1 < states.size() && states[i + 1].first == states[i].first) {
            continue;
        }
        key.resize(detail::kPartitionPrefixBytes);
        detail::PutBigEndian(key, states[i].first.value(), 8);
        s = writer.Put(key, rocksdb::Slice(states[i].second.data(), states[i].second.size()));
    }
    if (s.ok()) {
        s = writer.Finish();
    }
    if (s.ok()) {
        // Moved (hard-linked) into the database; it lands in the deepest level whose files it
        // does not overlap, and takes a sequence number above every earlier write.
        rocksdb::IngestExternalFileOptions ingest;
        ingest.move_files = true;
        s = impl_->db->IngestExternalFile({file}, ingest);
    }
    std::remove(file.c_str());  // gone already when moved; a failed attempt leaves nothing
    states.clear();
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "loading states into the store"));
    }
    return {};
}

tl::expected<void, StoreError> RocksSegmentStore::DropPartition(std::int32_t partition) {
    const std::string begin = detail::PartitionPrefix(partition);
    const std::string end = detail::PartitionPrefix(partition + 1);
    rocksdb::WriteBatch wb;
    // A range tombstone only where there is something to delete: over an empty range it would
    // still overlap the states Load() ingests next and keep them out of the deepest level.
    bool any = false;
    {
        rocksdb::ReadOptions options;
        rocksdb::Slice upper(end);
        options.iterate_upper_bound = &upper;
        options.fill_cache = false;
        std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options));
        it->Seek(begin);
        any = it->Valid();
        if (!it->status().ok()) {
            return tl::unexpected(FromStatus(it->status(), "dropping a partition"));
        }
    }
    if (any) {
        wb.DeleteRange(begin, end);
    }
    wb.Delete(detail::MetaKey(partition));
    const auto s = impl_->db->Write(impl_->write_options, &wb);
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "dropping a partition"));
    }
    return {};
}

tl::expected<void, StoreError> RocksSegmentStore::ForEach(
    std::int32_t partition,
    const std::function<void(pipeline::SegmentId, std::string_view)>& visit
) {
    const std::string begin = detail::PartitionPrefix(partition);
    const std::string end = detail::PartitionPrefix(partition + 1);
    rocksdb::ReadOptions options;
    rocksdb::Slice upper(end);
    options.iterate_upper_bound = &upper;
    options.fill_cache = false;  // a scan must not evict the working set
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options));
    for (it->Seek(begin); it->Valid(); it->Next()) {
        visit(detail::SegmentOfKey(it->key().ToStringView()), it->value().ToStringView());
    }
    const auto s = it->status();
    it.reset();  // no iterator outlives the call
    if (!s.ok()) {
        return tl::unexpected(FromStatus(s, "scanning a partition"));
    }
    return {};
}

StoreStats RocksSegmentStore::Stats() {
    StoreStats stats;
    auto& db = *impl_->db;
    db.GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &stats.estimated_keys);
    db.GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &stats.live_data_bytes);
    db.GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &stats.memtable_bytes);
    stats.block_cache_usage_bytes = impl_->cache->GetUsage();
    stats.block_cache_capacity_bytes = impl_->cache_capacity;
    std::uint64_t stopped = 0;
    db.GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &stats.delayed_write_rate);
    db.GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped);
    stats.write_stopped = stopped != 0;
    return stats;
}

}  // namespace pavewatch::state
