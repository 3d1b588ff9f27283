#pragma once

#include "pavewatch/common/log.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/kafka/kafka.hpp"

#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::stream {

using kafka::TopicPartition;

/// What a processor may do inside the open transaction.
class Transaction {
public:
    virtual ~Transaction() = default;
    Transaction() = default;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    /// Queues a record in the current transaction (partition < 0: by key).
    virtual void Produce(
        std::string_view topic,
        std::string_view key,
        std::string_view value,
        std::int32_t partition = -1,
        const std::vector<kafka::Header>& headers = {}
    ) = 0;
    /// Sends the record being processed to the dead-letter topic, with the reason (a stable
    /// code, also the metric label) and a sentence for a human, in the current transaction.
    virtual void DeadLetter(
        const kafka::RecordView& record,
        std::string_view reason,
        std::string_view detail
    ) = 0;
    /// The input positions (next offsets to read) this transaction commits, for the
    /// partitions it has consumed from so far.
    virtual const std::map<TopicPartition, std::int64_t>& Positions() const = 0;
};

/// The processing a loop runs. All hooks run on the loop's thread.
class Processor {
public:
    virtual ~Processor() = default;
    Processor() = default;
    Processor(const Processor&) = delete;
    Processor& operator=(const Processor&) = delete;
    Processor(Processor&&) = delete;
    Processor& operator=(Processor&&) = delete;

    /// One input record, inside the open transaction.
    virtual void OnRecord(const kafka::RecordView& record, Transaction& txn) = 0;
    /// Just before the commit: last chance to produce (e.g. changelog and outputs of dirty
    /// state).
    virtual void BeforeCommit(Transaction& /*txn*/) {}
    /// The transaction committed these input positions (next offsets to read).
    virtual void AfterCommit(const std::map<TopicPartition, std::int64_t>& /*committed*/) {}
    /// The transaction was aborted: forget everything since the last commit.
    virtual void OnAbort() {}
    /// Partitions were assigned. The loop considers them active; a processor that must
    /// prepare first calls EosLoop::Hold() on them and EosLoop::Release() when ready.
    virtual void OnAssigned(const std::vector<TopicPartition>& /*partitions*/) {}
    /// Partitions are going away (after the commit of their work, or after an abort when lost).
    virtual void OnRevoked(const std::vector<TopicPartition>& /*partitions*/) {}
    /// Called every turn of the loop, for background work such as restoring state. While
    /// records flow a turn is one record: keep the idle case cheap (no clock read, no lock).
    virtual void Step() {}
    /// True while Step() has work queued (e.g. a restore): the loop then polls the consumer
    /// without waiting, so that the work is not held up by idle waits on the input.
    virtual bool HasBackgroundWork() const { return false; }
    /// Whether the service can do its job (e.g. restore finished).
    virtual bool Ready(std::string& /*reason*/) const { return true; }
    /// True once the processor cannot go on (e.g. its state store failed) and its work since
    /// the last commit may be incomplete: the loop then commits nothing more; it aborts the
    /// open transaction and stops with a failure, so that a restart redoes that work.
    virtual bool Failed() const { return false; }
};

struct EosOptions {
    std::string service;           ///< for logs, metrics and the DLQ headers
    std::string group_id;          ///< consumer group
    std::string transactional_id;  ///< stable per instance (e.g. the pod name)
    std::vector<std::string> input_topics;
    std::string dlq_topic = "pavewatch.dlq";
    /// Time between commits. Default 100 ms: end-to-end latency stays low while a commit's
    /// cost (a few round trips) is shared by every record of the interval.
    std::chrono::milliseconds commit_interval{100};
    /// Also commit once this many records are in the transaction.
    std::size_t max_records_per_transaction = 200000;
    std::chrono::milliseconds transaction_timeout{10000};
    std::chrono::milliseconds session_timeout{10000};
    std::chrono::milliseconds max_poll_interval{300000};
    std::string assignment_strategy = "range";
    /// Static membership id (empty: dynamic); see kafka::ConsumerOptions::group_instance_id.
    std::string group_instance_id;
    /// librdkafka properties for the loop's consumer and its producer only (the client
    /// configuration is shared by both). A property the client configuration already sets
    /// (e.g. from --kafka-property) is not overridden.
    std::map<std::string, std::string> consumer_properties;
    std::map<std::string, std::string> producer_properties;
    /// Producer delivery callback target (e.g. to learn changelog offsets).
    std::function<void(std::string_view topic, std::int32_t partition, std::int64_t offset)>
        on_delivered;
};

/// An exactly-once consume → process → produce loop on Kafka transactions (KIP-447):
/// records are consumed one at a time with per-message poll (librdkafka 2.0.2's batch API can
/// lose or misreturn messages around rebalance, pause and seek); the processor's outputs and
/// the consumed offsets are committed in one transaction every commit interval; on abort or
/// fencing, the processor forgets its uncommitted work and the consumer rewinds to the
/// committed offsets. Revoked partitions are committed before they go; lost ones aborted.
///
/// One thread: construct, Run() until the stop flag is set, then it commits and closes in the
/// documented order (commit, consumer close, producer flush and destroy).
class EosLoop {
public:
    EosLoop(
        EosOptions options,
        kafka::ClientConfig client,
        Processor& processor,
        common::Logger& log,
        common::Ops& ops
    );
    ~EosLoop();
    EosLoop(const EosLoop&) = delete;
    EosLoop& operator=(const EosLoop&) = delete;
    EosLoop(EosLoop&&) = delete;
    EosLoop& operator=(EosLoop&&) = delete;

    /// Runs until common::StopFlag is set or a fatal error; returns the process exit code.
    int Run();

    /// Stops consuming a partition (paused) until Release(); used while its state restores.
    void Hold(const TopicPartition& partition);
    /// Resumes a held partition from `offset` (the position its restored state reflects; the
    /// beginning when negative). When the consumer refuses the seek (it does before a
    /// partition's fetcher has started), the partition stays held and the loop retries.
    void Release(const TopicPartition& partition, std::int64_t offset);
    bool Held(const TopicPartition& partition) const;

    /// Committed offsets of the group for these partitions (-1 when none).
    std::map<TopicPartition, std::int64_t> CommittedOffsets(
        const std::vector<TopicPartition>& partitions
    );

    kafka::Consumer& consumer();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pavewatch::stream
