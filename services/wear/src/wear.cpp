#include "pavewatch/wear/wear.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/common/stop.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/state/state_cache.hpp"
#include "pavewatch/stream/eos_loop.hpp"

#include <boost/program_options.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pavewatch::wear {
namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using stream::TopicPartition;

// librdkafka 2.0.2 stops fetching for a whole second whenever its pre-fetch queue (all
// partitions together) holds queued.min.messages (default 100 000) or queued.max.messages.kbytes
// (default 64 MiB): a processor that drains the queue faster than that then waits for input
// most of each second (librdkafka issue #2879; 2.1 made the pause configurable,
// fetch.queue.backoff.ms). So the queue is sized to hold about a second of input at the
// processors' rate, and each fetch brings more per partition so that it fills in a few round
// trips. Cost: up to about 150 MiB of queued records (a record takes ~300 bytes queued).
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kInputConsumerDefaults{{
    {"queued.min.messages", "500000"},
    {"queued.max.messages.kbytes", "131072"},
    {"max.partition.fetch.bytes", "4194304"},
}};

/// Restoring one partition's state from the changelog.
struct Restore {
    std::int64_t next = 0;               ///< next changelog offset to read
    std::int64_t end = 0;                ///< last stable offset when the restore started
    pipeline::InputPositions committed;  ///< the group's, read when the restore began
    /// The input positions the states read so far reflect: the local store's when the restore
    /// goes on from it, then each positions record's; none before the first such record.
    std::optional<pipeline::InputPositions> positions;
    /// Since when the restore, at the changelog's end, waits for it to catch up with the
    /// committed offsets.
    std::optional<Clock::time_point> behind_since;
    std::uint64_t records = 0;
    Clock::time_point started = Clock::now();
    /// The states read since the last load into the store, back to back in `bytes`, in
    /// changelog order: a segment written several times (once per commit that touched it) is
    /// loaded once, the store keeping the later entry. One buffer rather than a string per
    /// state: a restore reads millions of them, and their allocations cost more than the rest.
    std::string bytes;
    struct Entry {
        std::uint64_t segment;
        std::uint32_t offset;
        std::uint32_t size;
    };
    std::vector<Entry> entries;
    std::uint64_t files = 0;  ///< sorted files loaded into the store so far
    /// How many of `entries` came before the last positions record read: the states after it
    /// belong to a transaction whose positions record has not been read (it may be only partly
    /// visible, e.g. behind another producer's open transaction), and must not be kept with the
    /// positions before them.
    std::size_t entries_at_positions = 0;
    /// A load into the store took states read after the last positions record: the restore
    /// can then end only at a later positions record.
    bool loaded_past_positions = false;

    std::size_t BufferedBytes() const { return bytes.size() + entries.size() * sizeof(Entry); }
};

/// The most one partition's restore buffers before loading into the store, whatever
/// --restore-buffer-mb says: entries address the buffer with 32-bit offsets.
constexpr std::size_t kMaxRestoreShare = std::size_t{1} << 31;

/// The wear processor: folds observations into per-segment state with exactly-once semantics.
/// Lives on the EosLoop's thread.
class WearProcessor final : public stream::Processor {
public:
    WearProcessor(
        const WearOptions& options,
        const common::LoadedModels& models,
        state::SegmentStore& store,
        common::Logger& log,
        prometheus::Registry& registry
    )
        : options_(options),
          models_(models),
          store_(store),
          cache_(store, options.cache_entries),
          log_(log) {
        const auto& t = options.kafka.topics;
        observations_ = t.observations;
        actions_ = t.hazard_actions;
        changelog_ = t.changelog;
        conditions_ = t.conditions;
        condition_history_ = t.condition_history;
        segments_updated_ =
            &prometheus::BuildCounter()
                 .Name("pavewatch_wear_segment_updates_total")
                 .Help("Segment states written to the changelog and the conditions topic")
                 .Register(registry)
                 .Add({});
        event_age_ =
            &prometheus::BuildHistogram()
                 .Name("pavewatch_wear_event_age_seconds")
                 .Help("Processing time minus event time of observations (sampled 1 in 64)")
                 .Register(registry)
                 .Add(
                     {},
                     prometheus::Histogram::BucketBoundaries{
                         0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}
                 );
        auto& restore_records = prometheus::BuildCounter()
                                    .Name("pavewatch_wear_restore_records_total")
                                    .Help("Changelog records applied while restoring state")
                                    .Register(registry);
        restore_records_ = &restore_records.Add({});
        restoring_ = &prometheus::BuildGauge()
                          .Name("pavewatch_wear_restoring_partitions")
                          .Help("Partitions whose state is being restored from the changelog")
                          .Register(registry)
                          .Add({});
        restore_remaining_ = &prometheus::BuildGauge()
                                  .Name("pavewatch_wear_restore_remaining_records")
                                  .Help("Changelog records left to restore")
                                  .Register(registry)
                                  .Add({});
        restore_seconds_ = &prometheus::BuildHistogram()
                                .Name("pavewatch_wear_restore_duration_seconds")
                                .Help("Time to restore one partition's state")
                                .Register(registry)
                                .Add(
                                    {},
                                    prometheus::Histogram::BucketBoundaries{
                                        0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
                                );
        auto& store_family =
            prometheus::BuildGauge()
                .Name("pavewatch_wear_state_store_bytes")
                .Help("State store size by part (sst, memtable, block_cache, block_cache_capacity)")
                .Register(registry);
        store_sst_ = &store_family.Add({{"part", "sst"}});
        store_memtable_ = &store_family.Add({{"part", "memtable"}});
        store_cache_ = &store_family.Add({{"part", "block_cache"}});
        store_cache_capacity_ = &store_family.Add({{"part", "block_cache_capacity"}});
        store_keys_ = &prometheus::BuildGauge()
                           .Name("pavewatch_wear_state_store_keys")
                           .Help("Estimated keys in the state store")
                           .Register(registry)
                           .Add({});
        write_stopped_ = &prometheus::BuildGauge()
                              .Name("pavewatch_wear_state_store_write_stopped")
                              .Help("1 while RocksDB stops writes (a write stall)")
                              .Register(registry)
                              .Add({});
        write_delayed_ = &prometheus::BuildGauge()
                              .Name("pavewatch_wear_state_store_write_delayed")
                              .Help("1 while RocksDB throttles writes")
                              .Register(registry)
                              .Add({});
        cache_entries_ = &prometheus::BuildGauge()
                              .Name("pavewatch_wear_cache_entries")
                              .Help("Segment states held in memory")
                              .Register(registry)
                              .Add({});
        auto& lookups = prometheus::BuildCounter()
                            .Name("pavewatch_wear_cache_lookups_total")
                            .Help(
                                "Segment state lookups by where the state was found (memory, "
                                "store, or new)"
                            )
                            .Register(registry);
        cache_hits_ = &lookups.Add({{"found", "memory"}});
        cache_loads_ = &lookups.Add({{"found", "store"}});
        cache_creates_ = &lookups.Add({{"found", "new"}});
        cache_evictions_ = &prometheus::BuildCounter()
                                .Name("pavewatch_wear_cache_evictions_total")
                                .Help("Clean segment states dropped from memory to stay in bound")
                                .Register(registry)
                                .Add({});
    }

    void Attach(stream::EosLoop& loop) { loop_ = &loop; }

    void OnDelivered(std::string_view topic, std::int32_t partition, std::int64_t offset) {
        if (topic == changelog_) {
            auto& last = delivered_changelog_[partition];
            last = std::max(last, offset);
        }
    }

    void OnRecord(const kafka::RecordView& record, stream::Transaction& txn) override {
        tl::expected<pipeline::Observation, pipeline::Error> observation =
            record.topic == actions_ ? pipeline::ParseHazardActionJson(record.value)
                                     : pipeline::DecodeObservation(record.value);
        if (!observation) {
            txn.DeadLetter(
                record, pipeline::ToString(observation.error().code), observation.error().Describe()
            );
            return;
        }
        auto state = cache_.Mutable(record.partition, observation->segment);
        if (!state) {
            StoreFailed(state.error());
            return;
        }
        if (pipeline::Apply(**state, *observation, models_.config)) {
            history_changed_.insert(observation->segment);  // its history record is due
        }
        if ((++sampled_ & 63U) == 0) {
            event_age_->Observe(static_cast<double>(common::WallMs() - observation->t_ms) / 1000.0);
        }
    }

    void BeforeCommit(stream::Transaction& txn) override {
        // The encoded states go to the changelog now and to the store after the commit
        // (AfterCommit), encoded once.
        encoded_.clear();
        for (const auto& assigned : partitions_) {
            const std::int32_t partition = assigned.first;  // named: the lambda below uses it
            const std::size_t dirty = cache_.DirtyCount(partition);
            if (dirty == 0) {
                continue;
            }
            auto& encoded = encoded_[partition];
            encoded.reserve(dirty);
            cache_.ForEachDirty(partition, [&](const pipeline::SegmentState& s) {
                const std::string key = pipeline::SegmentKey(s.segment);
                scratch_.clear();
                pipeline::EncodeState(s, scratch_);
                txn.Produce(changelog_, key, scratch_, partition);
                condition_json_.clear();
                pipeline::ConditionToJson(s, models_.config, condition_json_);
                txn.Produce(conditions_, key, condition_json_);
                if (history_changed_.contains(s.segment)) {
                    condition_json_.clear();
                    pipeline::HistoryToJson(s, condition_json_);
                    txn.Produce(condition_history_, key, condition_json_);
                }
                encoded.emplace_back(s.segment, scratch_);
            });
            segments_updated_->Increment(static_cast<double>(dirty));
        }
        history_changed_.clear();  // written; an abort re-applies the records and marks again
        // Then, per partition whose input moved, the positions these states reflect.
        const auto& moved = txn.Positions();
        for (const auto& [partition, meta] : partitions_) {
            const auto input = moved.find({observations_, partition});
            const auto actions = moved.find({actions_, partition});
            if (input == moved.end() && actions == moved.end()) {
                continue;
            }
            const pipeline::InputPositions positions{
                input != moved.end() ? input->second : meta.input_offset,
                actions != moved.end() ? actions->second : meta.action_offset};
            txn.Produce(
                changelog_, pipeline::kPositionsKey, pipeline::EncodePositions(positions), partition
            );
        }
    }

    void AfterCommit(const std::map<TopicPartition, std::int64_t>& committed) override {
        // Offsets that moved, per state partition.
        for (const auto& [tp, next] : committed) {
            auto it = partitions_.find(tp.partition);
            if (it == partitions_.end()) {
                continue;
            }
            if (tp.topic == observations_) {
                it->second.input_offset = next;
            } else if (tp.topic == actions_) {
                it->second.action_offset = next;
            }
        }
        for (auto& [partition, meta] : partitions_) {
            const auto delivered = delivered_changelog_.find(partition);
            const bool moved_changelog = delivered != delivered_changelog_.end() &&
                                         delivered->second + 1 > meta.changelog_offset;
            if (moved_changelog) {
                meta.changelog_offset = delivered->second + 1;
            }
            if (cache_.DirtyCount(partition) == 0 && !moved_changelog &&
                !committed_partitions(committed, partition)) {
                continue;
            }
            std::vector<std::pair<pipeline::SegmentId, std::string>> encoded;
            if (const auto it = encoded_.find(partition); it != encoded_.end()) {
                encoded = std::move(it->second);
            }
            if (auto flushed = cache_.Flush(partition, meta, std::move(encoded)); !flushed) {
                StoreFailed(flushed.error());
                return;
            }
        }
        encoded_.clear();
        PublishCacheStats();
    }

    void OnAbort() override {
        encoded_.clear();
        history_changed_.clear();
        cache_.DiscardDirty();
    }

    void OnAssigned(const std::vector<TopicPartition>& assigned) override {
        std::set<std::int32_t> numbers;
        for (const auto& tp : assigned) {
            numbers.insert(tp.partition);
            loop_->Hold(tp);  // nothing is processed for a partition before its state is ready
        }
        for (const std::int32_t p : numbers) {
            StartRestore(p);
        }
    }

    void OnRevoked(const std::vector<TopicPartition>& revoked) override {
        for (const auto& tp : revoked) {
            cache_.Forget(tp.partition);
            partitions_.erase(tp.partition);
            if (restores_.erase(tp.partition) > 0) {
                restore_assignment_changed_ = true;
            }
        }
        restoring_->Set(static_cast<double>(restores_.size()));
    }

    void Step() override {
        if (!restores_.empty()) {
            StepRestore();
        } else if (restore_assignment_changed_) {
            // The last restore is over: unassign the restore consumer, which would otherwise
            // go on fetching the changelog this instance writes into a queue nobody reads (up
            // to its pre-fetch limit, 128 MiB).
            if (restore_consumer_) {
                (void)restore_consumer_->Assign({});
            }
            restore_assignment_changed_ = false;
        }
        // A turn of the loop is one record while records flow: look at the clock (for the
        // store's metrics, every 2 s) on one turn in 16 only.
        if ((++steps_ & 15U) != 0) {
            return;
        }
        const auto now = Clock::now();
        if (now - last_stats_ >= std::chrono::seconds(2)) {
            last_stats_ = now;
            const auto stats = store_.Stats();
            store_sst_->Set(static_cast<double>(stats.live_data_bytes));
            store_memtable_->Set(static_cast<double>(stats.memtable_bytes));
            store_cache_->Set(static_cast<double>(stats.block_cache_usage_bytes));
            store_cache_capacity_->Set(static_cast<double>(stats.block_cache_capacity_bytes));
            store_keys_->Set(static_cast<double>(stats.estimated_keys));
            write_stopped_->Set(stats.write_stopped ? 1 : 0);
            write_delayed_->Set(stats.delayed_write_rate > 0 ? 1 : 0);
            cache_entries_->Set(static_cast<double>(cache_.size()));
        }
    }

    /// The cache's counts since the last call, added to their counters (at each commit).
    void PublishCacheStats() {
        const auto& now = cache_.stats();
        const auto add = [](prometheus::Counter* c, std::uint64_t to, std::uint64_t from) {
            c->Increment(static_cast<double>(to - from));
        };
        add(cache_hits_, now.hits, published_cache_.hits);
        add(cache_loads_, now.loads, published_cache_.loads);
        add(cache_creates_, now.creates, published_cache_.creates);
        add(cache_evictions_, now.evictions, published_cache_.evictions);
        published_cache_ = now;
    }

    bool HasBackgroundWork() const override { return !restores_.empty(); }

    bool Ready(std::string& reason) const override {
        if (!restores_.empty()) {
            reason = "restoring " + std::to_string(restores_.size()) +
                     " partition(s) from the changelog";
            return false;
        }
        if (store_failed_) {
            reason = "the state store failed";
            return false;
        }
        return true;
    }

    bool Failed() const override { return store_failed_; }

private:
    static bool
    committed_partitions(const std::map<TopicPartition, std::int64_t>& committed, std::int32_t p) {
        for (const auto& [tp, next] : committed) {
            if (tp.partition == p) {
                return true;
            }
        }
        return false;
    }

    void StoreFailed(const state::StoreError& error) {
        log_.Error("the state store failed; stopping", {{"error", error.message}});
        store_failed_ = true;
        common::StopFlag::Request();
    }

    /// Decides how partition p's state becomes exact: already exact locally, or restored from
    /// the changelog (from where the local store stopped, or from the start).
    void StartRestore(std::int32_t p) {
        cache_.Forget(p);
        const TopicPartition input{observations_, p};
        const TopicPartition actions{actions_, p};
        const auto committed = loop_->CommittedOffsets({input, actions});
        const pipeline::InputPositions committed_positions{
            committed.contains(input) ? committed.at(input) : -1,
            committed.contains(actions) ? committed.at(actions) : -1};
        auto meta = store_.GetMeta(p);
        if (!meta) {
            StoreFailed(meta.error());
            return;
        }
        if (*meta && (*meta)->input_offset == committed_positions.observations &&
            (*meta)->action_offset == committed_positions.actions &&
            (committed_positions.observations >= 0 || committed_positions.actions >= 0)) {
            log_.Info(
                "local state is exact; no restore",
                {{"partition", p}, {"offset", committed_positions.observations}}
            );
            partitions_[p] = **meta;
            Activate(p, committed_positions);
            return;
        }
        Restore r;
        r.committed = committed_positions;
        if (*meta) {
            r.next = std::max<std::int64_t>(0, (*meta)->changelog_offset);
            r.positions = pipeline::InputPositions{(*meta)->input_offset, (*meta)->action_offset};
        } else {
            if (auto dropped = store_.DropPartition(p); !dropped) {
                StoreFailed(dropped.error());
                return;
            }
            r.next = 0;
        }
        if (!EnsureRestoreConsumer()) {
            return;
        }
        auto marks = restore_consumer_->QueryWatermarks({changelog_, p}, std::chrono::seconds(10));
        for (int attempt = 0; !marks && attempt < 30 && !common::StopFlag::Requested(); ++attempt) {
            log_.Warn(
                "reading the changelog's end failed; retrying",
                {{"partition", p}, {"error", marks.error().Describe()}}
            );
            common::StopFlag::WaitFor(std::chrono::milliseconds(500));
            marks = restore_consumer_->QueryWatermarks({changelog_, p}, std::chrono::seconds(10));
        }
        if (!marks) {
            StoreFailed(state::StoreError{
                "cannot read the changelog's end for partition " + std::to_string(p), false});
            return;
        }
        r.next = std::max(r.next, marks->first);
        r.end = marks->second;
        log_.Info(
            "restoring state from the changelog",
            {{"partition", p}, {"from", r.next}, {"to", r.end}, {"local", meta->has_value()}}
        );
        restores_[p] = std::move(r);
        restore_assignment_changed_ = true;
        restoring_->Set(static_cast<double>(restores_.size()));
        if (restores_[p].next >= restores_[p].end) {
            Settle(p);
        }
    }

    /// At the changelog's end (as far as read): finishes partition p's restore when the states
    /// read reflect the group's committed offsets, or offsets past them (the previous owner
    /// committed once more after they were read: its states are in, so its input must not be
    /// read twice). Behind them (a commit's markers not yet on the changelog partition), it
    /// waits for the changelog to catch up, at most the transaction timeout and 15 s more;
    /// then it resumes where the states stop, so that the state stays exact.
    void Settle(std::int32_t p) {
        const auto it = restores_.find(p);
        if (it == restores_.end()) {
            return;
        }
        Restore& r = it->second;
        const pipeline::InputPositions& committed = r.committed;
        if (r.positions && r.loaded_past_positions) {
            // States of a transaction whose positions record has not been read yet are in the
            // store already: only that record can end the restore. Settled again every step.
            if (!r.behind_since) {
                r.behind_since = Clock::now();
                LogPositions(
                    common::LogLevel::kWarn,
                    "states past the last positions record are loaded; waiting for the next one",
                    p
                );
            }
            return;
        }
        if (r.positions) {
            const pipeline::InputPositions& read = *r.positions;
            if (read == committed) {
                FinishRestore(p, read);
                return;
            }
            if (read.observations >= committed.observations && read.actions >= committed.actions) {
                LogPositions(
                    common::LogLevel::kInfo,
                    "the changelog is ahead of the committed offsets; resuming where its states "
                    "stop",
                    p
                );
                FinishRestore(p, read);
                return;
            }
        } else if (committed.observations < 0 && committed.actions < 0) {
            FinishRestore(p, committed);  // nothing read, nothing committed: a new partition
            return;
        }
        const auto now = Clock::now();
        if (!r.behind_since) {
            r.behind_since = now;
            LogPositions(
                common::LogLevel::kInfo,
                "the changelog is behind the committed offsets; waiting for it",
                p
            );
            return;
        }
        if (now - *r.behind_since < options_.transaction_timeout + std::chrono::seconds(15)) {
            return;
        }
        if (r.positions) {
            LogPositions(
                common::LogLevel::kWarn,
                "the changelog stayed behind the committed offsets; resuming where its states stop",
                p
            );
            FinishRestore(p, *r.positions);
        } else {
            LogPositions(
                common::LogLevel::kWarn,
                "the changelog holds no input positions (written by an older version?); resuming "
                "from the committed offsets",
                p
            );
            FinishRestore(p, committed);
        }
    }

    /// Drops the states buffered after the last positions record, as the restore ends there:
    /// the states kept are exactly those the positions reflect. (Settle ends a restore at its
    /// positions only while none of those states has been loaded into the store; a restore
    /// that read no positions record ends at the committed offsets with all it read.)
    static void CutToPositions(Restore& r) {
        if (r.entries.size() > r.entries_at_positions) {
            r.bytes.resize(r.entries[r.entries_at_positions].offset);
            r.entries.resize(r.entries_at_positions);
        }
    }

    void LogPositions(common::LogLevel level, std::string_view message, std::int32_t p) {
        const Restore& r = restores_.at(p);
        log_.Log(
            level,
            message,
            {{"partition", p},
             {"changelog_observations", r.positions ? r.positions->observations : -1},
             {"changelog_actions", r.positions ? r.positions->actions : -1},
             {"committed_observations", r.committed.observations},
             {"committed_actions", r.committed.actions}}
        );
    }

    bool EnsureRestoreConsumer() {
        if (restore_consumer_) {
            return true;
        }
        kafka::ConsumerOptions co;
        co.read_committed = true;
        co.report_partition_eof = true;
        auto client =
            options_.kafka.Client("pavewatch-wear-restore-" + options_.instance_id, &log_);
        client.properties.emplace("fetch.max.bytes", "104857600");
        client.properties.emplace("max.partition.fetch.bytes", "16777216");
        // The restore drains its queue faster than the input loop does: the same pre-fetch
        // queue sizing (kInputConsumerDefaults) keeps librdkafka from pausing its fetches.
        for (const auto& [k, v] : kInputConsumerDefaults) {
            client.properties.emplace(std::string(k), std::string(v));
        }
        auto c = kafka::Consumer::Create(client, co);
        if (!c) {
            StoreFailed(state::StoreError{
                "cannot create the restore consumer: " + c.error().Describe(), false});
            return false;
        }
        restore_consumer_.emplace(std::move(*c));
        return true;
    }

    void StepRestore() {
        if (restore_assignment_changed_) {
            std::vector<kafka::TopicPartitionOffset> assignment;
            for (const auto& [p, r] : restores_) {
                assignment.push_back({changelog_, p, r.next});
            }
            (void)restore_consumer_->Assign(assignment);
            restore_assignment_changed_ = false;
        }
        // Bounded work per turn so that the main consumer keeps polling (max.poll.interval.ms).
        const auto deadline = Clock::now() + std::chrono::milliseconds(50);
        std::int64_t remaining = 0;
        std::uint64_t applied = 0;  // added to the metric before a restore finishes and at the end
        const auto count_applied = [&] {
            if (applied > 0) {
                restore_records_->Increment(static_cast<double>(applied));
                applied = 0;
            }
        };
        // The clock is read every 64 records and after every wait for one, not per record.
        std::uint32_t turns = 0;
        while (!restores_.empty() && ((++turns & 63U) != 0 || Clock::now() < deadline)) {
            const auto r = restore_consumer_->Poll(std::chrono::milliseconds(5));
            if (r.status == kafka::PollStatus::kTimeout) {
                if (Clock::now() >= deadline) {
                    break;
                }
                continue;
            }
            const auto it = restores_.find(r.record.partition);
            if (it == restores_.end()) {
                continue;
            }
            Restore& restore = it->second;
            const std::size_t share =
                std::min(options_.restore_buffer_bytes / restores_.size(), kMaxRestoreShare);
            if (r.status == kafka::PollStatus::kRecord) {
                if (r.record.key == pipeline::kPositionsKey) {
                    if (auto positions = pipeline::DecodePositions(r.record.value)) {
                        restore.positions = *positions;
                        restore.entries_at_positions = restore.entries.size();
                        restore.loaded_past_positions = false;
                    } else {
                        log_.Warn(
                            "an unreadable positions record in the changelog; skipped",
                            {{"partition", r.record.partition}, {"offset", r.record.offset}}
                        );
                    }
                } else if (!r.record.value.empty()) {
                    const auto segment = pipeline::ParseSegmentKey(r.record.key);
                    if (segment && !BufferState(
                                       r.record.partition, restore, *segment, r.record.value, share
                                   )) {
                        count_applied();
                        return;
                    }
                }
                restore.next = r.record.offset + 1;
                ++restore.records;
                ++applied;
                if (restore.next >= restore.end) {
                    count_applied();
                    Settle(r.record.partition);
                }
            } else if (r.status == kafka::PollStatus::kPartitionEof) {
                // End of the committed log: control records (transaction markers) take offsets
                // but are never delivered, so the end can be reached without a record at it.
                count_applied();
                Settle(r.record.partition);
            } else if (r.status == kafka::PollStatus::kError) {
                log_.Warn("restore consumer error", {{"error", r.error.Describe()}});
            }
        }
        count_applied();
        std::vector<std::int32_t> behind;
        for (const auto& [p, r] : restores_) {
            remaining += std::max<std::int64_t>(0, r.end - r.next);
            if (r.behind_since) {
                behind.push_back(p);
            }
        }
        for (const std::int32_t p : behind) {
            Settle(p);  // finishes those whose wait is over
        }
        restore_remaining_->Set(static_cast<double>(remaining));
    }

    /// Appends one state to partition p's restore buffer. What the buffer holds is loaded into
    /// the store first when the state would take it past the partition's `share`, or past the
    /// room it has: the buffer never grows by reallocation, which would copy all it holds.
    bool BufferState(
        std::int32_t p,
        Restore& restore,
        pipeline::SegmentId segment,
        std::string_view value,
        std::size_t share
    ) {
        if (!restore.entries.empty() &&
            (restore.BufferedBytes() + value.size() + sizeof(Restore::Entry) > share ||
             restore.bytes.size() + value.size() > restore.bytes.capacity()) &&
            !LoadRestored(p, restore, share)) {
            return false;
        }
        if (restore.entries.empty() && restore.bytes.capacity() < std::max(share, value.size())) {
            // Sized once per fill (it is empty here, so nothing is copied); virtual until
            // written: only the bytes appended take memory.
            restore.bytes.reserve(std::max(share, value.size()));
        }
        restore.entries.push_back(
            {segment.value(),
             static_cast<std::uint32_t>(restore.bytes.size()),
             static_cast<std::uint32_t>(value.size())}
        );
        restore.bytes.append(value);
        return true;
    }

    /// Loads the states buffered for partition p into the store, as one sorted file. The
    /// buffer is kept for the next states unless it outgrew the partition's `share` (more
    /// partitions are restoring than when it was sized).
    bool LoadRestored(std::int32_t p, Restore& restore, std::size_t share) {
        if (restore.entries.empty()) {
            return true;
        }
        std::vector<std::pair<pipeline::SegmentId, std::string_view>> states;
        states.reserve(restore.entries.size());
        for (const auto& e : restore.entries) {
            states.emplace_back(
                pipeline::SegmentId{e.segment},
                std::string_view(restore.bytes).substr(e.offset, e.size)
            );
        }
        auto loaded = store_.Load(p, states);
        ++restore.files;
        if (restore.entries.size() > restore.entries_at_positions) {
            restore.loaded_past_positions = true;
        }
        restore.entries_at_positions = 0;
        restore.entries.clear();
        restore.bytes.clear();
        if (restore.bytes.capacity() > share) {
            restore.bytes = std::string();  // hand the memory back
        }
        if (!loaded) {
            StoreFailed(loaded.error());
            return false;
        }
        return true;
    }

    /// Stores partition p's restored states with the input positions they reflect, then
    /// resumes its input from there. `positions` is taken by value: callers pass the restore's
    /// own, and the restore ends here.
    void FinishRestore(std::int32_t p, pipeline::InputPositions positions) {
        auto it = restores_.find(p);
        if (it == restores_.end()) {
            return;
        }
        Restore& r = it->second;
        const state::PartitionMeta meta{
            positions.observations, positions.actions, std::max(r.next, r.end)};
        if (r.positions) {
            CutToPositions(r);
        }
        if (!LoadRestored(p, r, 0)) {
            return;
        }
        // The offsets after the states: a process killed in between restores again.
        state::StoreBatch meta_only;
        meta_only.partition = p;
        meta_only.meta = meta;
        if (auto w = store_.Write(meta_only); !w) {
            StoreFailed(w.error());
            return;
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - r.started).count();
        restore_seconds_->Observe(seconds);
        log_.Info(
            "state restored",
            {{"partition", p}, {"records", r.records}, {"files", r.files}, {"seconds", seconds}}
        );
        partitions_[p] = meta;
        restores_.erase(it);
        restore_assignment_changed_ = true;
        restoring_->Set(static_cast<double>(restores_.size()));
        Activate(p, positions);
    }

    void Activate(std::int32_t p, const pipeline::InputPositions& positions) {
        loop_->Release({observations_, p}, positions.observations);
        loop_->Release({actions_, p}, positions.actions);
    }

    const WearOptions& options_;
    const common::LoadedModels& models_;
    state::SegmentStore& store_;
    state::StateCache cache_;
    common::Logger& log_;
    stream::EosLoop* loop_ = nullptr;
    std::string observations_, actions_, changelog_, conditions_, condition_history_;
    std::map<std::int32_t, state::PartitionMeta> partitions_;  ///< active partitions' offsets
    std::map<std::int32_t, std::int64_t> delivered_changelog_;
    std::map<std::int32_t, Restore> restores_;
    std::optional<kafka::Consumer> restore_consumer_;
    bool restore_assignment_changed_ = false;
    bool store_failed_ = false;
    std::string scratch_;         ///< one encoded state at a time, reused
    std::string condition_json_;  ///< one condition or history record at a time, reused
    /// Segments whose closed days changed in the open transaction (their history record is due).
    std::unordered_set<pipeline::SegmentId> history_changed_;
    /// Dirty states encoded in BeforeCommit, per partition, for the store in AfterCommit.
    std::map<std::int32_t, std::vector<std::pair<pipeline::SegmentId, std::string>>> encoded_;
    std::uint64_t sampled_ = 0;
    std::uint64_t steps_ = 0;
    Clock::time_point last_stats_{};

    prometheus::Counter* segments_updated_;
    prometheus::Histogram* event_age_;
    prometheus::Counter* restore_records_;
    prometheus::Gauge* restoring_;
    prometheus::Gauge* restore_remaining_;
    prometheus::Histogram* restore_seconds_;
    prometheus::Gauge* store_sst_;
    prometheus::Gauge* store_memtable_;
    prometheus::Gauge* store_cache_;
    prometheus::Gauge* store_cache_capacity_;
    prometheus::Gauge* store_keys_;
    prometheus::Gauge* write_stopped_;
    prometheus::Gauge* write_delayed_;
    prometheus::Gauge* cache_entries_;
    prometheus::Counter* cache_hits_;
    prometheus::Counter* cache_loads_;
    prometheus::Counter* cache_creates_;
    prometheus::Counter* cache_evictions_;
    state::StateCache::Stats published_cache_;
};

std::string HostName() {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
        return "wear";
    }
    return name;
}

}  // namespace

int Main(int argc, char** argv) {
    WearOptions o;
    long long commit_ms = o.commit_interval.count();
    long long txn_timeout_ms = o.transaction_timeout.count();
    long long session_ms = o.session_timeout.count();
    std::size_t block_cache_mb = o.rocks.block_cache_bytes >> 20;
    std::size_t restore_buffer_mb = o.restore_buffer_bytes >> 20;
    std::size_t write_buffer_mb = o.rocks.write_buffer_bytes >> 20;
    po::options_description desc(
        "pavewatch wear: folds observations into per-segment state in RocksDB, exactly once"
    );
    common::AddCommonOptions(desc, o.common);
    common::AddKafkaOptions(desc, o.kafka);
    common::ModelOptions model_options;
    common::AddModelOptions(desc, model_options, false);
    desc.add_options()(
        "state-dir",
        po::value(&o.state_dir)->default_value(o.state_dir),
        "folder of this instance's RocksDB state"
    )("instance-id",
      po::value(&o.instance_id),
      "stable instance name (transactional id suffix); default: host name")(
        "group-id",
        po::value(&o.group_id)->default_value(o.group_id),
        "consumer group of the wear instances"
    )("commit-interval-ms",
      po::value(&commit_ms)->default_value(commit_ms),
      "time between transaction commits")(
        "cache-entries",
        po::value(&o.cache_entries)->default_value(o.cache_entries),
        "segment states kept in memory"
    )("block-cache-mb",
      po::value(&block_cache_mb)->default_value(block_cache_mb),
      "RocksDB shared block cache, MiB")(
        "write-buffer-mb",
        po::value(&write_buffer_mb)->default_value(write_buffer_mb),
        "RocksDB memtable budget, MiB (charged to the block cache)"
    )("restore-buffer-mb",
      po::value(&restore_buffer_mb)->default_value(restore_buffer_mb),
      "memory for states read from the changelog during restores, MiB")(
        "rocksdb-wal",
        po::bool_switch(&o.rocks.write_ahead_log),
        "also write RocksDB's write-ahead log (a killed process then restores nothing)"
    )("transaction-timeout-ms",
      po::value(&txn_timeout_ms)->default_value(txn_timeout_ms),
      "Kafka transaction timeout"
    )("session-timeout-ms",
      po::value(&session_ms)->default_value(session_ms),
      "consumer group session timeout");
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch wear: " << parsed.error() << "\n(see pavewatch wear --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    auto level = common::ValidateCommon(o.kafka, o.common);
    if (!level) {
        std::cerr << "pavewatch wear: " << level.error() << "\n";
        return 2;
    }
    if (commit_ms < 1 || commit_ms > 60000) {
        std::cerr << "pavewatch wear: --commit-interval-ms must be within 1..60000\n";
        return 2;
    }
    if (o.cache_entries < 1000) {
        std::cerr << "pavewatch wear: --cache-entries must be at least 1000\n";
        return 2;
    }
    if (restore_buffer_mb < 1 || restore_buffer_mb > (1U << 20)) {
        std::cerr << "pavewatch wear: --restore-buffer-mb must be within 1..1048576\n";
        return 2;
    }
    o.commit_interval = std::chrono::milliseconds(commit_ms);
    o.transaction_timeout = std::chrono::milliseconds(txn_timeout_ms);
    o.session_timeout = std::chrono::milliseconds(session_ms);
    o.rocks.block_cache_bytes = block_cache_mb << 20;
    o.restore_buffer_bytes = restore_buffer_mb << 20;
    o.rocks.write_buffer_bytes = write_buffer_mb << 20;
    if (o.instance_id.empty()) {
        o.instance_id = HostName();
    }

    common::Logger log("wear", *level);
    common::StopFlag::InstallSignalHandlers();
    auto registry = std::make_shared<prometheus::Registry>();
    common::Ops ops("wear", registry);
    ops.SetReady(false, "starting");
    if (auto served = ops.Serve(o.common.metrics_address, o.common.metrics_port); !served) {
        log.Error("cannot serve the operations endpoint", {{"error", served.error()}});
        return 2;
    }
    log.Info("operations endpoint", {{"port", static_cast<int>(ops.port())}});

    if (o.kafka.create_topics) {
        if (auto t = kafka::EnsureTopics(
                o.kafka.Client("pavewatch-wear-admin", &log),
                o.kafka.TopicSpecs(),
                std::chrono::seconds(30)
            );
            !t) {
            log.Error("cannot create topics", {{"error", t.error().Describe()}});
            return 1;
        }
    }
    std::error_code ec;
    std::filesystem::create_directories(o.state_dir, ec);
    auto store = state::RocksSegmentStore::Open(o.state_dir + "/rocksdb", o.rocks);
    if (!store) {
        log.Error("cannot open the state store", {{"error", store.error().message}});
        return 1;
    }

    auto models = common::LoadModels(model_options);
    if (!models) {
        std::cerr << "pavewatch wear: " << models.error() << "\n";
        return 2;
    }
    WearProcessor processor(o, *models, **store, log, *registry);
    stream::EosOptions eos;
    eos.service = "wear";
    eos.group_id = o.group_id;
    eos.transactional_id = "pavewatch-wear-" + o.instance_id;
    // A wear instance keeps its partitions (and its local state) across restarts.
    eos.group_instance_id = "pavewatch-wear-" + o.instance_id;
    eos.input_topics = {o.kafka.topics.observations, o.kafka.topics.hazard_actions};
    eos.dlq_topic = o.kafka.topics.dlq;
    eos.commit_interval = o.commit_interval;
    eos.transaction_timeout = o.transaction_timeout;
    eos.session_timeout = o.session_timeout;
    for (const auto& [k, v] : kInputConsumerDefaults) {
        eos.consumer_properties.emplace(std::string(k), std::string(v));
    }
    eos.on_delivered = [&processor](
                           std::string_view topic, std::int32_t partition, std::int64_t offset
                       ) { processor.OnDelivered(topic, partition, offset); };
    int code = 0;
    {
        stream::EosLoop loop(
            eos, o.kafka.Client("pavewatch-wear-" + o.instance_id, &log), processor, log, ops
        );
        processor.Attach(loop);
        code = loop.Run();
    }
    if (processor.Failed()) {
        code = 1;
    }
    log.Info("stopped", {{"exit_code", code}});
    return code;
}

}  // namespace pavewatch::wear
