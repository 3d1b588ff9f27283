#include "pavewatch/stream/eos_loop.hpp"

#include "pavewatch/common/stop.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>

namespace pavewatch::stream {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How long a commit, an offsets send or an abort may take before it is retried.
constexpr milliseconds kTxnCallTimeout{10000};
/// Backoff between retries of a transactional call that failed with a retriable error.
constexpr milliseconds kRetryBackoff{200};
/// Attempts at an abort that fails with a retriable error (e.g. it timed out while the broker
/// restarts) before the producer is replaced instead.
constexpr int kAbortAttempts = 10;
/// Attempts at a commit or an offsets send that fails with a retriable error before the
/// transaction is aborted.
constexpr int kCommitAttempts = 30;
/// Attempts at reading the committed offsets and seeking there (a rewind, a lookup) before
/// giving up.
constexpr int kOffsetAttempts = 100;
/// While records flow, the clock is read (for the heartbeat and the commit, metrics and
/// broker checks) on one turn in this many: a few clock reads per record would cost more than
/// the rest of the loop's bookkeeping at a million records per second. A power of two.
constexpr std::uint32_t kRecordTurnsPerClockRead = 32;

bool IsQueueFull(const kafka::KafkaError& e) {
    return e.name == "_QUEUE_FULL";
}

}  // namespace

struct EosLoop::Impl final : Transaction {
    EosOptions options;
    kafka::ClientConfig client;
    Processor& processor;
    common::Logger& log;
    common::Ops& ops;

    std::optional<kafka::Producer> producer;
    std::optional<kafka::Consumer> consumer;
    kafka::ConsumerOptions consumer_options;
    bool replacing_consumer = false;
    bool in_txn = false;
    bool needs_abort = false;
    bool fatal = false;
    std::map<TopicPartition, std::int64_t> pending;  // next offsets consumed since the last commit
    std::set<TopicPartition> held;
    /// Partitions released at an offset the group has not committed yet (a restored state's
    /// position): a rewind goes there, not to the group's offset, until a commit carries it.
    std::map<TopicPartition, std::int64_t> resume_from;
    /// Held partitions whose release could not seek to its offset (the consumer refuses a seek
    /// until the partition's fetcher has started, e.g. inside the rebalance callback): they
    /// stay held, and the release is tried again every few turns of the loop. Resuming without
    /// the seek would read from the group's offset, which may be behind the state.
    std::map<TopicPartition, std::int64_t> unreleased;
    /// The input partition of the last record, with what the loop needs of it per record, so
    /// that a run of records from one partition (the consumer hands over whole fetched
    /// batches) costs no string, map or set operation. Forgotten (ForgetHot) whenever
    /// `pending` or `held` changes other than through it.
    struct HotPartition {
        bool valid = false;
        std::string topic;
        std::int32_t partition = -1;
        bool held = false;
        std::int64_t* next = nullptr;  ///< its entry in `pending` (map nodes are stable), if any
        prometheus::Counter* records = nullptr;
    } hot;
    /// Records processed and not yet added to `counted` (added on clock-reading turns).
    std::uint64_t uncounted = 0;
    prometheus::Counter* counted = nullptr;
    std::size_t records_in_txn = 0;
    Clock::time_point last_commit = Clock::now();
    Clock::time_point last_broker_ok = Clock::now();
    Clock::time_point last_metrics = Clock::now();
    /// Kafka client errors and failed deliveries come in bursts (a lost broker fails every
    /// queued record): a few lines per interval, with the count of those held back.
    common::LogThrottle error_warnings{1, std::chrono::seconds(5)};
    common::LogThrottle delivery_warnings{10, std::chrono::seconds(10)};

    // Metrics.
    prometheus::Family<prometheus::Counter>* records_family = nullptr;
    std::map<std::string, prometheus::Counter*> records_by_topic;
    prometheus::Family<prometheus::Counter>* dlq_family = nullptr;
    prometheus::Counter* committed = nullptr;
    prometheus::Counter* aborted = nullptr;
    prometheus::Counter* producer_recreated = nullptr;
    prometheus::Counter* consumer_replaced = nullptr;
    prometheus::Histogram* commit_seconds = nullptr;
    prometheus::Family<prometheus::Gauge>* lag_family = nullptr;
    prometheus::Gauge* queue_depth = nullptr;
    prometheus::Gauge* assigned = nullptr;
    prometheus::Counter* errors = nullptr;
    prometheus::Counter* delivery_failures = nullptr;
    prometheus::Histogram* processing_seconds = nullptr;
    std::uint64_t processed = 0;

    Impl(EosOptions o, kafka::ClientConfig c, Processor& p, common::Logger& l, common::Ops& ops_ref)
        : options(std::move(o)), client(std::move(c)), processor(p), log(l), ops(ops_ref) {
        auto& registry = *ops.registry();
        const std::string prefix = "pavewatch_" + options.service + "_";
        records_family = &prometheus::BuildCounter()
                              .Name(prefix + "records_total")
                              .Help("Input records processed, by topic")
                              .Register(registry);
        dlq_family = &prometheus::BuildCounter()
                          .Name(prefix + "dlq_records_total")
                          .Help("Input records sent to the dead-letter topic, by reason")
                          .Register(registry);
        auto& txn = prometheus::BuildCounter()
                        .Name(prefix + "transactions_total")
                        .Help("Kafka transactions, by outcome (committed, aborted)")
                        .Register(registry);
        committed = &txn.Add({{"outcome", "committed"}});
        aborted = &txn.Add({{"outcome", "aborted"}});
        producer_recreated = &prometheus::BuildCounter()
                                  .Name(prefix + "producer_recreated_total")
                                  .Help(
                                      "Transactional producers recreated after a fatal error "
                                      "(fencing) or an abort that could not complete"
                                  )
                                  .Register(registry)
                                  .Add({});
        consumer_replaced =
            &prometheus::BuildCounter()
                 .Name(prefix + "consumer_replaced_total")
                 .Help("Consumers replaced after a fatal error (e.g. static member fenced)")
                 .Register(registry)
                 .Add({});
        commit_seconds =
            &prometheus::BuildHistogram()
                 .Name(prefix + "commit_duration_seconds")
                 .Help("Time to send offsets and commit one transaction")
                 .Register(registry)
                 .Add(
                     {},
                     prometheus::Histogram::BucketBoundaries{
                         0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
                 );
        lag_family = &prometheus::BuildGauge()
                          .Name(prefix + "consumer_lag_records")
                          .Help(
                              "Records between the consumer's position and the end of each "
                              "assigned partition"
                          )
                          .Register(registry);
        queue_depth =
            &prometheus::BuildGauge()
                 .Name(prefix + "producer_queue_depth_records")
                 .Help("Records queued in the producer, not yet acknowledged by the broker")
                 .Register(registry)
                 .Add({});
        assigned = &prometheus::BuildGauge()
                        .Name(prefix + "assigned_partitions")
                        .Help("Input partitions assigned to this instance")
                        .Register(registry)
                        .Add({});
        processing_seconds = &prometheus::BuildHistogram()
                                  .Name(prefix + "record_processing_seconds")
                                  .Help("Time to process one input record (sampled 1 in 16)")
                                  .Register(registry)
                                  .Add(
                                      {},
                                      prometheus::Histogram::BucketBoundaries{
                                          1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 0.002, 0.01, 0.05}
                                  );
        errors = &prometheus::BuildCounter()
                      .Name(prefix + "kafka_errors_total")
                      .Help("Errors reported by the Kafka client (broker unreachable, timeouts)")
                      .Register(registry)
                      .Add({});
        delivery_failures =
            &prometheus::BuildCounter()
                 .Name(prefix + "delivery_failures_total")
                 .Help("Produced records the broker did not take (their transaction aborts)")
                 .Register(registry)
                 .Add({});
    }

    // ---- Transaction interface ------------------------------------------------------------

    void Produce(
        std::string_view topic,
        std::string_view key,
        std::string_view value,
        std::int32_t partition,
        const std::vector<kafka::Header>& headers
    ) override {
        if (!EnsureTxn()) {
            needs_abort = true;
            return;
        }
        for (;;) {
            auto r = producer->Produce(topic, key, value, headers, partition);
            if (r) {
                return;
            }
            if (IsQueueFull(r.error())) {
                producer->Poll(milliseconds(10));  // let deliveries drain the queue
                continue;
            }
            log.Warn(
                "produce failed; the transaction will be aborted",
                {{"topic", topic}, {"error", r.error().Describe()}}
            );
            needs_abort = true;
            return;
        }
    }

    void DeadLetter(
        const kafka::RecordView& record,
        std::string_view reason,
        std::string_view detail
    ) override {
        const std::vector<kafka::Header> headers{
            {"pavewatch.reason", std::string(reason)},
            {"pavewatch.detail", std::string(detail)},
            {"pavewatch.source.topic", std::string(record.topic)},
            {"pavewatch.source.partition", std::to_string(record.partition)},
            {"pavewatch.source.offset", std::to_string(record.offset)},
            {"pavewatch.service", options.service},
        };
        Produce(options.dlq_topic, record.key, record.value, -1, headers);
        dlq_family->Add({{"reason", std::string(reason)}}).Increment();
        if (log.Enabled(common::LogLevel::kDebug)) {
            log.Debug(
                "record sent to the dead-letter topic",
                {{"topic", record.topic},
                 {"partition", record.partition},
                 {"offset", record.offset},
                 {"reason", reason},
                 {"detail", detail}}
            );
        }
    }

    const std::map<TopicPartition, std::int64_t>& Positions() const override { return pending; }

    // ---- Transactions -----------------------------------------------------------------------

    /// The client configuration plus `defaults` for what it does not set itself.
    kafka::ClientConfig WithDefaults(const std::map<std::string, std::string>& defaults) const {
        kafka::ClientConfig c = client;
        for (const auto& [k, v] : defaults) {
            c.properties.emplace(k, v);
        }
        return c;
    }

    bool CreateProducer() {
        kafka::ProducerOptions po;
        po.transactional_id = options.transactional_id;
        po.transaction_timeout = options.transaction_timeout;
        po.on_delivered = options.on_delivered;
        po.on_delivery_failure = [this](const kafka::KafkaError& e, std::string_view topic) {
            delivery_failures->Increment();
            // An aborted transaction or a lost broker fails every queued record at once.
            if (auto suppressed = delivery_warnings.Admit(Clock::now())) {
                log.Warn(
                    "delivery failed",
                    {{"topic", topic}, {"error", e.Describe()}, {"suppressed", *suppressed}}
                );
            }
        };
        auto p = kafka::Producer::Create(WithDefaults(options.producer_properties), po);
        if (!p) {
            log.Error(
                "cannot create the transactional producer", {{"error", p.error().Describe()}}
            );
            return false;
        }
        producer.emplace(std::move(*p));
        // init_transactions fences any older instance with the same transactional id and
        // aborts its open transaction; retried while the broker is unreachable.
        while (!common::StopFlag::Requested()) {
            auto r = producer->InitTransactions(kTxnCallTimeout);
            if (r) {
                return true;
            }
            if (r.error().fatal) {
                log.Error("init_transactions failed fatally", {{"error", r.error().Describe()}});
                return false;
            }
            log.Warn("init_transactions failed; retrying", {{"error", r.error().Describe()}});
            common::StopFlag::WaitFor(milliseconds(500));
        }
        return false;
    }

    void RecreateProducer(const kafka::KafkaError& why) {
        log.Warn(
            "the transactional producer failed (fenced, timed out, or its transaction could not "
            "be aborted); recreating it",
            {{"error", why.Describe()}}
        );
        producer_recreated->Increment();
        producer.reset();  // destroys the old handle (its open transaction is abandoned)
        in_txn = false;
        needs_abort = false;
        if (!CreateProducer()) {
            fatal = true;
        }
    }

    bool EnsureTxn() {
        if (in_txn) {
            return true;
        }
        auto r = producer->BeginTransaction();
        if (!r) {
            if (r.error().fatal) {
                RecreateProducer(r.error());
                if (fatal) {
                    return false;
                }
                r = producer->BeginTransaction();
            }
            if (!r) {
                log.Warn("begin_transaction failed", {{"error", r.error().Describe()}});
                return false;
            }
        }
        in_txn = true;
        return true;
    }

    /// Forgets uncommitted work (the transaction, the pending offsets, the processor's state).
    void ForgetUncommitted() {
        in_txn = false;
        needs_abort = false;
        pending.clear();
        ForgetHot();
        records_in_txn = 0;
        processor.OnAbort();
    }

    /// Forgets uncommitted work and rewinds the consumer to the committed offsets.
    void ForgetAndRewind() {
        ForgetUncommitted();
        Rewind();
    }

    /// Aborts the open transaction once, without retrying, then forgets uncommitted work: for
    /// partitions that may be someone else's already, where only dropping the work matters.
    /// An abort that does not complete is not left half done: librdkafka 2.0.2 refuses every
    /// other transactional call until the same call is made again, so the producer is replaced
    /// instead (its init_transactions aborts the transaction on the broker).
    void AbortOnceAndForget() {
        if (in_txn) {
            aborted->Increment();
            auto r = producer->AbortTransaction(kTxnCallTimeout);
            if (!r) {
                RecreateProducer(r.error());
            }
        }
        ForgetUncommitted();
    }

    /// Aborts the open transaction (retrying a few times, then replacing the producer, as
    /// above), forgets uncommitted work and rewinds the consumer.
    void AbortAndRewind() {
        aborted->Increment();
        for (int attempt = 0; in_txn && !fatal; ++attempt) {
            auto r = producer->AbortTransaction(kTxnCallTimeout);
            if (r) {
                break;
            }
            if (r.error().fatal || !r.error().retriable || attempt + 1 >= kAbortAttempts) {
                RecreateProducer(r.error());
                break;
            }
            log.Warn("abort_transaction failed; retrying", {{"error", r.error().Describe()}});
            common::StopFlag::WaitFor(kRetryBackoff);
        }
        ForgetAndRewind();
    }

    void Rewind() {
        if (!consumer) {
            return;
        }
        std::vector<TopicPartition> active;
        for (const auto& tp : consumer->Assignment()) {
            if (!held.contains(tp)) {
                active.push_back(tp);
            }
        }
        if (active.empty()) {
            return;
        }
        for (int attempt = 0; attempt < kOffsetAttempts && !common::StopFlag::Requested();
             ++attempt) {
            auto committed_offsets = consumer->Committed(active, kTxnCallTimeout);
            if (committed_offsets) {
                for (auto& o : *committed_offsets) {
                    if (const auto it = resume_from.find({o.topic, o.partition});
                        it != resume_from.end()) {
                        o.offset = it->second;
                        if (it->second >= 0) {
                            pending[it->first] = it->second;  // the next commit carries it
                        }
                    }
                    if (o.offset < 0) {
                        o.offset = kafka::kOffsetBeginning;
                    }
                }
                auto sought = consumer->Seek(*committed_offsets, kTxnCallTimeout);
                if (sought) {
                    return;
                }
                log.Warn(
                    "seek to committed offsets failed; retrying",
                    {{"error", sought.error().Describe()}}
                );
            } else {
                log.Warn(
                    "reading committed offsets failed; retrying",
                    {{"error", committed_offsets.error().Describe()}}
                );
            }
            common::StopFlag::WaitFor(kRetryBackoff);
        }
        if (!common::StopFlag::Requested()) {
            // Reading on from where the consumer stands would skip the aborted records: stop
            // instead (a restart reads from the committed offsets).
            log.Error("cannot rewind to the committed offsets; stopping");
            fatal = true;
        }
    }

    /// Commits the open transaction with the consumed offsets. False when it was aborted.
    bool Commit() {
        if (!fatal && processor.Failed()) {
            // Records it could not apply have moved the pending offsets past them: committing
            // would lose them. Abort, and stop.
            log.Error("the processor failed; aborting the open transaction and stopping");
            AbortOnceAndForget();
            fatal = true;
            return false;
        }
        if (fatal || (!in_txn && pending.empty())) {
            return true;
        }
        const auto started = Clock::now();
        if (!EnsureTxn()) {
            AbortAndRewind();
            return false;
        }
        processor.BeforeCommit(*this);
        if (needs_abort) {
            AbortAndRewind();
            return false;
        }
        if (!pending.empty()) {
            std::vector<kafka::TopicPartitionOffset> offsets;
            offsets.reserve(pending.size());
            for (const auto& [tp, next] : pending) {
                offsets.push_back({tp.topic, tp.partition, next});
            }
            for (int attempt = 0;; ++attempt) {
                auto r = producer->SendOffsetsToTransaction(*consumer, offsets, kTxnCallTimeout);
                if (r) {
                    break;
                }
                if (r.error().fatal) {
                    RecreateProducer(r.error());
                    ForgetAndRewind();
                    aborted->Increment();
                    return false;
                }
                if (r.error().txn_requires_abort || !r.error().retriable ||
                    attempt + 1 >= kCommitAttempts || common::StopFlag::Requested()) {
                    log.Warn(
                        "sending offsets to the transaction failed; aborting",
                        {{"error", r.error().Describe()}}
                    );
                    AbortAndRewind();
                    return false;
                }
                log.Warn(
                    "sending offsets to the transaction failed; retrying",
                    {{"error", r.error().Describe()}}
                );
                common::StopFlag::WaitFor(kRetryBackoff);
            }
        }
        for (int attempt = 0;; ++attempt) {
            auto r = producer->CommitTransaction(kTxnCallTimeout);
            if (r) {
                break;
            }
            if (r.error().fatal) {
                RecreateProducer(r.error());
                ForgetAndRewind();
                aborted->Increment();
                return false;
            }
            if (r.error().txn_requires_abort || !r.error().retriable ||
                attempt + 1 >= kCommitAttempts) {
                log.Warn(
                    "commit failed; aborting the transaction", {{"error", r.error().Describe()}}
                );
                AbortAndRewind();
                return false;
            }
            // A retriable failure (e.g. the broker is restarting): the same commit is retried.
            log.Warn(
                "commit failed; retrying", {{"error", r.error().Describe()}, {"attempt", attempt}}
            );
            common::StopFlag::WaitFor(kRetryBackoff);
        }
        in_txn = false;
        std::map<TopicPartition, std::int64_t> done;
        done.swap(pending);
        for (const auto& [tp, next] : done) {
            resume_from.erase(tp);
        }
        ForgetHot();
        records_in_txn = 0;
        committed->Increment();
        commit_seconds->Observe(std::chrono::duration<double>(Clock::now() - started).count());
        last_broker_ok = Clock::now();
        processor.AfterCommit(done);
        return true;
    }

    /// EosLoop::Release: seeks the held partition to `offset` and resumes it; when the seek
    /// fails, the partition stays held and the release is retried by the loop (`unreleased`).
    void Release(const TopicPartition& partition, std::int64_t offset) {
        if (!held.contains(partition) || !consumer) {
            unreleased.erase(partition);
            return;
        }
        if (offset < 0) {
            offset = kafka::kOffsetBeginning;
        }
        if (auto s =
                consumer->Seek({{partition.topic, partition.partition, offset}}, kTxnCallTimeout);
            !s) {
            if (unreleased.emplace(partition, offset).second) {  // once per partition
                log.Warn(
                    "seek on release failed; the partition stays paused and the seek is retried",
                    {{"topic", partition.topic},
                     {"partition", partition.partition},
                     {"offset", offset},
                     {"error", s.error().Describe()}}
                );
            }
            return;
        }
        unreleased.erase(partition);
        (void)consumer->Resume({partition});
        held.erase(partition);
        // Until a commit carries it, the group's offset may differ from this one: the next
        // commit sends it (even with nothing read from the partition), and a rewind comes back
        // to it.
        resume_from[partition] = offset;
        if (offset >= 0) {
            pending[partition] = offset;
        }
        ForgetHot();
    }

    // ---- Rebalance ---------------------------------------------------------------------------

    void OnAssigned(const std::vector<TopicPartition>& partitions) {
        log.Info("partitions assigned", {{"count", static_cast<std::int64_t>(partitions.size())}});
        processor.OnAssigned(partitions);
        assigned->Set(
            static_cast<double>(consumer ? consumer->Assignment().size() : partitions.size())
        );
    }

    void OnRevoked(const std::vector<TopicPartition>& partitions, bool lost_by_group) {
        // While a fenced consumer is torn down its partitions are someone else's already.
        const bool lost = lost_by_group || replacing_consumer;
        log.Info(
            lost ? "partitions lost" : "partitions revoked",
            {{"count", static_cast<std::int64_t>(partitions.size())}}
        );
        if (lost) {
            // Someone else may own them already: our uncommitted work must not be committed.
            AbortOnceAndForget();
        } else {
            Commit();
        }
        processor.OnRevoked(partitions);
        ForgetHot();
        for (const auto& tp : partitions) {
            held.erase(tp);
            pending.erase(tp);
            resume_from.erase(tp);
            unreleased.erase(tp);
            lag_family->Remove(
                &lag_family->Add({{"topic", tp.topic}, {"partition", std::to_string(tp.partition)}})
            );
        }
        assigned->Set(0);
    }

    // ---- Loop ----------------------------------------------------------------------------------

    void ForgetHot() {
        hot.valid = false;
        hot.next = nullptr;
    }

    /// Adds the records processed since the last call to their topic's counter.
    void Count() {
        if (uncounted > 0) {
            counted->Increment(static_cast<double>(uncounted));
            uncounted = 0;
        }
    }

    /// Makes `hot` describe the partition of `record`.
    void Locate(const kafka::RecordView& record) {
        hot.topic.assign(record.topic);
        hot.partition = record.partition;
        const TopicPartition tp{hot.topic, hot.partition};
        hot.held = held.contains(tp);
        const auto it = pending.find(tp);
        hot.next = it != pending.end() ? &it->second : nullptr;
        auto counter = records_by_topic.find(hot.topic);
        if (counter == records_by_topic.end()) {
            counter =
                records_by_topic.emplace(
                                    hot.topic, &records_family->Add({{"topic", hot.topic}})
                ).first;
        }
        hot.records = counter->second;
        hot.valid = true;
    }

    /// How long the next poll may wait for a record: not at all right after a record (more are
    /// usually queued) or while the processor has background work (a restore); with records in
    /// the transaction, until its commit is due (a poll returns as soon as a record arrives,
    /// so waiting costs no throughput and spares spinning on an empty queue); else 20 ms.
    milliseconds PollWait(bool got_record) {
        constexpr milliseconds kIdleWait{20};
        if (got_record || processor.HasBackgroundWork()) {
            return milliseconds(0);
        }
        if (records_in_txn == 0) {
            return kIdleWait;
        }
        const auto due =
            std::chrono::ceil<milliseconds>(last_commit + options.commit_interval - Clock::now());
        return std::clamp(due, milliseconds(0), kIdleWait);
    }

    /// One consumed record: processed unless its partition is held (its state is not ready).
    void Process(const kafka::RecordView& record) {
        if (!hot.valid || hot.partition != record.partition || hot.topic != record.topic) {
            Locate(record);
        }
        if (hot.held) {
            return;
        }
        if ((++processed & 15U) == 0) {
            const auto t0 = Clock::now();
            processor.OnRecord(record, *this);
            processing_seconds->Observe(std::chrono::duration<double>(Clock::now() - t0).count());
        } else {
            processor.OnRecord(record, *this);
        }
        if (!hot.valid) {
            Locate(record);  // the processor changed what is pending or held (not expected)
        }
        if (hot.next == nullptr) {
            hot.next = &pending[TopicPartition{hot.topic, hot.partition}];
        }
        *hot.next = record.offset + 1;
        ++records_in_txn;
        if (counted != hot.records) {
            Count();
            counted = hot.records;
        }
        ++uncounted;
    }

    void UpdateMetrics() {
        queue_depth->Set(producer ? producer->QueueDepth() : 0);
        if (consumer) {
            for (const auto& [tp, lag] : consumer->Lag()) {
                lag_family->Add({{"topic", tp.topic}, {"partition", std::to_string(tp.partition)}}
                ).Set(static_cast<double>(lag));
            }
        }
        std::string reason;
        const bool processor_ready = processor.Ready(reason);
        const bool broker_ok = Clock::now() - last_broker_ok < std::chrono::seconds(15);
        if (!broker_ok) {
            reason = "the Kafka broker has not answered for 15 s";
            // Probe: a metadata round trip tells whether it is back while idle.
            if (consumer && !consumer->Assignment().empty()) {
                if (consumer->QueryWatermarks(consumer->Assignment().front(), milliseconds(2000))) {
                    last_broker_ok = Clock::now();
                }
            }
        }
        const bool released = unreleased.empty();
        if (!released && processor_ready && broker_ok) {
            reason = "a partition is still paused: seeking it to its restored position failed";
        }
        ops.SetReady(processor_ready && broker_ok && released, reason);
    }

    bool CreateConsumer() {
        auto c =
            kafka::Consumer::Create(WithDefaults(options.consumer_properties), consumer_options);
        if (!c) {
            log.Error("cannot create the consumer", {{"error", c.error().Describe()}});
            return false;
        }
        consumer.emplace(std::move(*c));
        if (auto s = consumer->Subscribe(options.input_topics); !s) {
            log.Error("cannot subscribe", {{"error", s.error().Describe()}});
            return false;
        }
        return true;
    }

    /// A consumer that failed fatally (e.g. a static member fenced after the broker restarted,
    /// a known librdkafka behaviour) is replaced by a new one; its uncommitted work is dropped
    /// and its partitions are prepared again when the group hands them back.
    void ReplaceConsumer(const kafka::KafkaError& why) {
        log.Warn("the consumer failed fatally; replacing it", {{"error", why.Describe()}});
        consumer_replaced->Increment();
        replacing_consumer = true;
        AbortOnceAndForget();
        const auto assigned_now = consumer->Assignment();
        if (!assigned_now.empty()) {
            processor.OnRevoked(assigned_now);
        }
        held.clear();
        resume_from.clear();
        unreleased.clear();
        consumer.reset();  // closes it (revoking through OnRevoked as lost)
        replacing_consumer = false;
        common::StopFlag::WaitFor(milliseconds(1000));
        if (!common::StopFlag::Requested() && !CreateConsumer()) {
            fatal = true;
        }
    }

    int Run() {
        // A stop asked for during start-up (e.g. SIGTERM while init_transactions waits for the
        // broker) is a clean exit: nothing was consumed, so there is nothing to commit.
        if (!CreateProducer()) {
            return common::StopFlag::Requested() ? 0 : 1;
        }
        kafka::ConsumerOptions co;
        co.group_id = options.group_id;
        co.read_committed = true;
        co.assignment_strategy = options.assignment_strategy;
        co.group_instance_id = options.group_instance_id;
        co.session_timeout = options.session_timeout;
        co.max_poll_interval = options.max_poll_interval;
        co.rebalance.on_assigned = [this](const std::vector<TopicPartition>& p) { OnAssigned(p); };
        co.rebalance.on_revoked = [this](const std::vector<TopicPartition>& p, bool lost) {
            OnRevoked(p, lost);
        };
        consumer_options = co;
        if (!CreateConsumer()) {
            return common::StopFlag::Requested() ? 0 : 1;
        }
        log.Info(
            "processing",
            {{"group", options.group_id}, {"transactional_id", options.transactional_id}}
        );

        std::uint32_t record_turns = 0;
        milliseconds wait{0};  // the next poll's timeout
        while (!common::StopFlag::Requested() && !fatal) {
            const auto r = consumer->Poll(wait);
            const bool got_record = r.status == kafka::PollStatus::kRecord;
            if (got_record) {
                wait = milliseconds(0);
                Process(r.record);
            } else if (r.status == kafka::PollStatus::kError) {
                errors->Increment();
                if (r.error.fatal) {
                    ReplaceConsumer(r.error);
                    continue;
                }
                if (auto suppressed = error_warnings.Admit(Clock::now())) {
                    log.Warn(
                        "Kafka client error",
                        {{"error", r.error.Describe()}, {"suppressed", *suppressed}}
                    );
                }
            }
            processor.Step();
            if (got_record && (++record_turns & (kRecordTurnsPerClockRead - 1)) != 0 &&
                records_in_txn < options.max_records_per_transaction) {
                continue;
            }
            ops.Heartbeat();
            const auto now = Clock::now();
            Count();
            if (got_record) {
                last_broker_ok = now;
            }
            if ((records_in_txn > 0 || in_txn) &&
                (now - last_commit >= options.commit_interval ||
                 records_in_txn >= options.max_records_per_transaction)) {
                Commit();
                last_commit = Clock::now();
            } else if (records_in_txn == 0 && !in_txn) {
                last_commit = now;
            }
            if (!unreleased.empty()) {
                for (const auto& [tp, offset] : std::map(unreleased)) {
                    Release(tp, offset);
                }
            }
            if (now - last_metrics >= std::chrono::seconds(1)) {
                last_metrics = now;
                UpdateMetrics();
            }
            wait = PollWait(got_record);
        }

        // Documented shutdown order: commit the last transaction, close the consumer (leaving
        // the group, which revokes and commits nothing new), then flush and destroy the
        // producer.
        Count();
        log.Info("stopping: committing and leaving the group");
        ops.SetReady(false, "stopping");
        if (!fatal) {
            Commit();
        }
        if (consumer) {  // none when a stop came while it was being replaced
            consumer->Close();
            consumer.reset();
        }
        if (producer) {
            (void)producer->Flush(milliseconds(5000));
            producer.reset();
        }
        return fatal ? 1 : 0;
    }
};

EosLoop::EosLoop(
    EosOptions options,
    kafka::ClientConfig client,
    Processor& processor,
    common::Logger& log,
    common::Ops& ops
)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(client), processor, log, ops)) {}

EosLoop::~EosLoop() = default;

int EosLoop::Run() {
    return impl_->Run();
}

void EosLoop::Hold(const TopicPartition& partition) {
    impl_->ForgetHot();
    if (impl_->held.insert(partition).second) {
        (void)impl_->consumer->Pause({partition});
    }
}

void EosLoop::Release(const TopicPartition& partition, std::int64_t offset) {
    impl_->Release(partition, offset);
}

bool EosLoop::Held(const TopicPartition& partition) const {
    return impl_->held.contains(partition);
}

std::map<TopicPartition, std::int64_t> EosLoop::CommittedOffsets(
    const std::vector<TopicPartition>& partitions
) {
    std::map<TopicPartition, std::int64_t> out;
    for (int attempt = 0; attempt < kOffsetAttempts && !common::StopFlag::Requested(); ++attempt) {
        auto r = impl_->consumer->Committed(partitions, kTxnCallTimeout);
        if (r) {
            for (const auto& o : *r) {
                out[{o.topic, o.partition}] = o.offset >= 0 ? o.offset : -1;
            }
            return out;
        }
        impl_->log.Warn(
            "reading committed offsets failed; retrying", {{"error", r.error().Describe()}}
        );
        common::StopFlag::WaitFor(kRetryBackoff);
    }
    return out;
}

kafka::Consumer& EosLoop::consumer() {
    return *impl_->consumer;
}

}  // namespace pavewatch::stream
