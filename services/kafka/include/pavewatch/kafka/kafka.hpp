#pragma once

// PaveWatch's adapter to Apache Kafka, over librdkafka 2.0.2. No librdkafka type appears in
// this header: handles live behind pimpls in src/, so that domain code and services never see
// them. Every call that can fail returns its error as a value (tl::expected).

#include <tl/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::kafka {

/// An error reported by librdkafka, classed for the caller: retry, abort the transaction, or
/// give up (fatal: the client instance must be recreated).
struct KafkaError {
    int code = 0;         ///< librdkafka's rd_kafka_resp_err_t value
    std::string name;     ///< e.g. "_TIMED_OUT", "PRODUCER_FENCED"
    std::string message;  ///< what happened, with a hint for the operator where we have one
    bool retriable = false;
    bool fatal = false;
    bool txn_requires_abort = false;

    std::string Describe() const { return name + ": " + message; }
};

/// Connection settings shared by every client. `properties` passes any other librdkafka
/// property through unchanged (TLS, SASL, tuning), as userver's Kafka configuration does.
struct ClientConfig {
    std::string brokers = "127.0.0.1:9092";  ///< bootstrap.servers
    std::string client_id = "pavewatch";
    std::map<std::string, std::string> properties;
    /// Receives librdkafka's own log lines (syslog level 0-7, facility, message) instead of
    /// stderr; called from librdkafka's threads. Empty: librdkafka prints them itself.
    std::function<void(int level, std::string_view facility, std::string_view message)> log;
};

struct TopicPartition {
    std::string topic;
    std::int32_t partition = 0;
    // clang-tidy 14 reads the defaulted comparison's literal 0 as a null pointer.
    // NOLINTNEXTLINE(modernize-use-nullptr)
    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct TopicPartitionOffset {
    std::string topic;
    std::int32_t partition = 0;
    /// Next offset to read; kOffsetBeginning / kOffsetEnd / kOffsetStored are librdkafka's
    /// logical offsets.
    std::int64_t offset = 0;
};
inline constexpr std::int64_t kOffsetBeginning = -2;
inline constexpr std::int64_t kOffsetEnd = -1;
inline constexpr std::int64_t kOffsetStored = -1000;
inline constexpr std::int64_t kOffsetInvalid = -1001;

struct Header {
    std::string name;
    std::string value;
};

/// A consumed record. Views are valid until the next Poll() or Close() of its consumer.
struct RecordView {
    std::string_view topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string_view key;
    std::string_view value;
    std::int64_t timestamp_ms = -1;  ///< -1 when the record has none
};

/// Creates topics that do not exist yet (existing ones are left alone; an existing topic
/// with fewer partitions is reported, not changed).
struct TopicSpec {
    std::string name;
    int partitions = 1;
    int replication_factor = 1;
    std::map<std::string, std::string> configs;  ///< e.g. cleanup.policy=compact
};
tl::expected<void, KafkaError> EnsureTopics(
    const ClientConfig& config,
    const std::vector<TopicSpec>& topics,
    std::chrono::milliseconds timeout
);

/// Partition count of a topic, from cluster metadata.
tl::expected<int, KafkaError> PartitionCount(
    const ClientConfig& config,
    const std::string& topic,
    std::chrono::milliseconds timeout
);

class Consumer;

struct ProducerOptions {
    /// Set to make a transactional producer (exactly-once); empty for an idempotent one.
    std::string transactional_id;
    /// Transaction timeout on the broker: an open transaction of a dead instance is aborted
    /// after this. Default 10 s (Kafka's default is 60 s; a shorter one unblocks
    /// read_committed readers sooner after a crash).
    std::chrono::milliseconds transaction_timeout{10000};
    std::chrono::milliseconds linger{5};        ///< linger.ms
    std::int64_t max_queue_messages = 1000000;  ///< queue.buffering.max.messages
    /// Called from Poll/Flush/Commit for every record that could not be delivered.
    std::function<void(const KafkaError&, std::string_view topic)> on_delivery_failure;
    /// Called from Poll/Flush/Commit for every delivered record, with where it landed.
    std::function<void(std::string_view topic, std::int32_t partition, std::int64_t offset)>
        on_delivered;
};

/// An idempotent (or, with a transactional id, transactional) producer. Keys are hashed with
/// murmur2 like the Java client, so every PaveWatch service and any Java peer put a key on the
/// same partition. Not thread-safe: one owner thread. Destruction flushes for at most 5 s
/// then frees the handle.
class Producer {
public:
    static tl::expected<Producer, KafkaError>
    Create(const ClientConfig& config, const ProducerOptions& options);
    ~Producer();
    Producer(Producer&&) noexcept;
    Producer& operator=(Producer&&) noexcept;
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    /// Queues one record. partition < 0 lets the partitioner choose from the key.
    /// A full local queue is reported as a retriable error (call Poll and retry).
    tl::expected<void, KafkaError> Produce(
        std::string_view topic,
        std::string_view key,
        std::string_view value,
        const std::vector<Header>& headers = {},
        std::int32_t partition = -1
    );
    /// Produce(), but while the local queue is full it serves delivery reports (Poll, `wait`
    /// at a time) and tries again: returns once the record is queued, fails otherwise, or
    /// returns the queue-full error once the queue has stayed full for `give_up_after` (a
    /// broker gone for good). For loaders that may outrun the broker; not for paths that must
    /// not block.
    tl::expected<void, KafkaError> ProduceWaiting(
        std::string_view topic,
        std::string_view key,
        std::string_view value,
        std::chrono::milliseconds wait = std::chrono::milliseconds(20),
        std::chrono::milliseconds give_up_after = std::chrono::seconds(120)
    );
    /// Serves delivery reports; returns how many were served.
    int Poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
    /// Waits until every queued record is delivered or failed, at most `timeout`.
    tl::expected<void, KafkaError> Flush(std::chrono::milliseconds timeout);
    /// Records queued locally and not yet acknowledged by the broker.
    int QueueDepth() const;

    tl::expected<void, KafkaError> InitTransactions(std::chrono::milliseconds timeout);
    tl::expected<void, KafkaError> BeginTransaction();
    /// Adds the consumer's positions to the transaction, fenced by its group generation.
    tl::expected<void, KafkaError> SendOffsetsToTransaction(
        const Consumer& consumer,
        const std::vector<TopicPartitionOffset>& offsets,
        std::chrono::milliseconds timeout
    );
    tl::expected<void, KafkaError> CommitTransaction(std::chrono::milliseconds timeout);
    tl::expected<void, KafkaError> AbortTransaction(std::chrono::milliseconds timeout);

    /// The fatal error the client raised, if any (the producer is unusable after one).
    std::optional<KafkaError> FatalError() const;

private:
    struct Impl;
    explicit Producer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Hooks called from inside Consumer::Poll when the group assigns or revokes partitions.
/// `OnRevoked` runs before the partitions are taken away, so state can still be committed for
/// them; `lost` is true when they were lost (session timeout), not handed over.
struct RebalanceListener {
    std::function<void(const std::vector<TopicPartition>&)> on_assigned;
    std::function<void(const std::vector<TopicPartition>&, bool lost)> on_revoked;
};

struct ConsumerOptions {
    std::string group_id;        ///< empty: no group, partitions are assigned by hand
    bool read_committed = true;  ///< isolation.level
    bool from_beginning = true;  ///< auto.offset.reset earliest / latest
    bool report_partition_eof = false;
    /// The group's assignment strategy. Eager "range" by default: librdkafka 2.0.2's
    /// cooperative-sticky had hangs fixed in later releases (docs/architecture.md).
    std::string assignment_strategy = "range";
    /// Static group membership (KIP-345): an instance that restarts under the same id gets its
    /// partitions back at once, without a rebalance. Empty: dynamic membership.
    std::string group_instance_id;
    std::chrono::milliseconds session_timeout{10000};
    std::chrono::milliseconds max_poll_interval{300000};
    RebalanceListener rebalance;
};

/// What one Poll returned.
enum class PollStatus { kRecord, kTimeout, kPartitionEof, kError };
struct PollResult {
    PollStatus status = PollStatus::kTimeout;
    RecordView record;  ///< valid for kRecord (and topic/partition/offset for EOF)
    KafkaError error;   ///< valid for kError
};

/// A consumer, in a group (subscribe) or standalone (assign). Offsets are never committed
/// automatically: the caller commits them (or sends them to a transaction) after the state
/// that reflects them is safe. Not thread-safe: one owner thread. Close() leaves the group
/// cleanly; the destructor closes if needed.
class Consumer {
public:
    static tl::expected<Consumer, KafkaError>
    Create(const ClientConfig& config, const ConsumerOptions& options);
    ~Consumer();
    Consumer(Consumer&&) noexcept;
    Consumer& operator=(Consumer&&) noexcept;
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

    tl::expected<void, KafkaError> Subscribe(const std::vector<std::string>& topics);
    tl::expected<void, KafkaError> Assign(const std::vector<TopicPartitionOffset>& partitions);
    /// One record, an event, or a timeout. The returned views stay valid until the next call.
    PollResult Poll(std::chrono::milliseconds timeout);

    /// Value of the last header of that name on the record the last Poll returned.
    std::optional<std::string_view> CurrentHeader(std::string_view name) const;

    std::vector<TopicPartition> Assignment() const;
    /// Committed offsets of the group for these partitions (kOffsetInvalid when none).
    tl::expected<std::vector<TopicPartitionOffset>, KafkaError> Committed(
        const std::vector<TopicPartition>& partitions,
        std::chrono::milliseconds timeout
    ) const;
    /// Next offset to be consumed for each partition (kOffsetInvalid when unknown).
    std::vector<TopicPartitionOffset> Positions(const std::vector<TopicPartition>& partitions
    ) const;
    tl::expected<void, KafkaError>
    Seek(const std::vector<TopicPartitionOffset>& offsets, std::chrono::milliseconds timeout);
    tl::expected<void, KafkaError> Pause(const std::vector<TopicPartition>& partitions);
    tl::expected<void, KafkaError> Resume(const std::vector<TopicPartition>& partitions);
    /// Commits offsets synchronously (for consumers outside transactions).
    tl::expected<void, KafkaError> Commit(const std::vector<TopicPartitionOffset>& offsets);
    /// Low and high watermark from the broker; with read_committed the high one is the last
    /// stable offset (librdkafka >= 1.7.1).
    tl::expected<std::pair<std::int64_t, std::int64_t>, KafkaError>
    QueryWatermarks(const TopicPartition& partition, std::chrono::milliseconds timeout) const;
    /// Low and high watermark as last seen in fetch responses (no broker round trip); nullopt
    /// before the partition's first fetch response.
    std::optional<std::pair<std::int64_t, std::int64_t>> CachedWatermarks(
        const TopicPartition& partition
    ) const;
    /// Lag per assigned partition: the high offset last seen in fetch responses (no broker
    /// round trip) minus the consumer's position; partitions with unknown offsets are left out.
    std::map<TopicPartition, std::int64_t> Lag() const;
    /// Leaves the group (revoking partitions through the listener) and stops fetching.
    void Close();

    /// The librdkafka handle, for Producer::SendOffsetsToTransaction only.
    void* NativeHandle() const;

private:
    struct Impl;
    explicit Consumer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pavewatch::kafka
