#include "pavewatch/test_support/kafka_helpers.hpp"

#include "pavewatch/kafka/kafka.hpp"
#include "pavewatch/test_support/process.hpp"

#include <set>
#include <stdexcept>
#include <thread>

namespace pavewatch::test_support {
namespace {

kafka::ClientConfig Client(const std::string& id) {
    kafka::ClientConfig c;
    c.brokers = Brokers();
    c.client_id = id;
    if (c.brokers.empty()) {
        throw std::runtime_error(
            "PAVEWATCH_BROKERS is not set: run the tests through scripts/test, which starts the "
            "broker"
        );
    }
    return c;
}

const char* const kHeaders[] = {
    "pavewatch.reason",
    "pavewatch.detail",
    "pavewatch.source.topic",
    "pavewatch.source.partition",
    "pavewatch.source.offset",
    "pavewatch.service"};

/// The record the consumer just returned, with its pavewatch.* headers.
ConsumedRecord Consumed(kafka::Consumer& consumer, const auto& record) {
    ConsumedRecord c{
        std::string(record.topic),
        record.partition,
        record.offset,
        std::string(record.key),
        std::string(record.value),
        {}};
    for (const char* h : kHeaders) {
        if (auto v = consumer.CurrentHeader(h)) {
            c.headers[h] = std::string(*v);
        }
    }
    return c;
}

/// The number of partitions of `topic`, from the broker.
int PartitionsOf(const std::string& topic) {
    auto count = kafka::PartitionCount(Client("test-meta"), topic, std::chrono::seconds(10));
    if (!count) {
        throw std::runtime_error("partitions of " + topic + ": " + count.error().Describe());
    }
    return *count;
}

/// Every partition of `topic`, from its first record.
std::vector<kafka::TopicPartitionOffset> FromBeginning(const std::string& topic, int count) {
    std::vector<kafka::TopicPartitionOffset> all;
    all.reserve(static_cast<std::size_t>(count));
    for (int p = 0; p < count; ++p) {
        all.push_back({topic, p, kafka::kOffsetBeginning});
    }
    return all;
}

}  // namespace

std::vector<std::string> TestTopics::Flags() const {
    return {
        "--topic-raw-vehicle",
        topics.raw_vehicle,
        "--topic-raw-embedded",
        topics.raw_embedded,
        "--topic-observations",
        topics.observations,
        "--topic-conditions",
        topics.conditions,
        "--topic-condition-history",
        topics.condition_history,
        "--topic-dlq",
        topics.dlq,
        "--topic-changelog",
        topics.changelog,
        "--topic-hazard-actions",
        topics.hazard_actions};
}

TestTopics MakeTopics(const std::string& test, int partitions) {
    const std::string prefix = "t." + test + "." + UniqueSuffix() + ".";
    TestTopics t;
    t.prefix = prefix;
    t.topics.raw_vehicle = prefix + "raw.vehicle";
    t.topics.raw_embedded = prefix + "raw.embedded";
    t.topics.observations = prefix + "observations";
    t.topics.conditions = prefix + "conditions";
    t.topics.condition_history = prefix + "condition-history";
    t.topics.dlq = prefix + "dlq";
    t.topics.changelog = prefix + "changelog";
    t.topics.hazard_actions = prefix + "hazard-actions";
    common::KafkaOptions options;
    options.topics = t.topics;
    options.partitions = partitions;
    auto created =
        kafka::EnsureTopics(Client("test-admin"), options.TopicSpecs(), std::chrono::seconds(30));
    if (!created) {
        throw std::runtime_error("creating test topics: " + created.error().Describe());
    }
    return t;
}

void ProduceAll(
    const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& records
) {
    std::string failure;
    kafka::ProducerOptions options;
    options.on_delivery_failure = [&](const kafka::KafkaError& e, std::string_view) {
        failure = e.Describe();
    };
    auto producer = kafka::Producer::Create(Client("test-producer"), options);
    if (!producer) {
        throw std::runtime_error(producer.error().Describe());
    }
    for (const auto& [key, value] : records) {
        if (auto r = producer->ProduceWaiting(topic, key, value, std::chrono::milliseconds(50));
            !r) {
            throw std::runtime_error("produce: " + r.error().Describe());
        }
    }
    if (auto f = producer->Flush(std::chrono::seconds(30)); !f) {
        throw std::runtime_error("flush: " + f.error().Describe());
    }
    if (!failure.empty()) {
        throw std::runtime_error("delivery: " + failure);
    }
}

std::vector<ConsumedRecord> ConsumeUntil(
    const std::string& topic,
    const std::function<bool(const std::vector<ConsumedRecord>&)>& done,
    std::chrono::milliseconds timeout
) {
    const int count = PartitionsOf(topic);
    kafka::ConsumerOptions options;
    options.read_committed = true;
    auto consumer = kafka::Consumer::Create(Client("test-consumer-" + UniqueSuffix()), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    const auto all = FromBeginning(topic, count);
    (void)consumer->Assign(all);
    std::vector<ConsumedRecord> records;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(records) && std::chrono::steady_clock::now() < deadline) {
        const auto r = consumer->Poll(std::chrono::milliseconds(100));
        if (r.status != kafka::PollStatus::kRecord) {
            continue;
        }
        records.push_back(Consumed(*consumer, r.record));
    }
    consumer->Close();
    return records;
}

std::vector<ConsumedRecord>
ConsumeToEnd(const std::string& topic, std::chrono::milliseconds timeout) {
    const int count = PartitionsOf(topic);
    kafka::ConsumerOptions options;
    options.read_committed = true;
    options.report_partition_eof = true;
    auto consumer = kafka::Consumer::Create(Client("test-consumer-" + UniqueSuffix()), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    const auto all = FromBeginning(topic, count);
    (void)consumer->Assign(all);
    std::vector<ConsumedRecord> records;
    std::set<int> at_end;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (static_cast<int>(at_end.size()) < count && std::chrono::steady_clock::now() < deadline) {
        const auto r = consumer->Poll(std::chrono::milliseconds(100));
        if (r.status == kafka::PollStatus::kPartitionEof) {
            at_end.insert(r.record.partition);
        } else if (r.status == kafka::PollStatus::kRecord) {
            at_end.erase(r.record.partition);
            records.push_back(Consumed(*consumer, r.record));
        }
    }
    consumer->Close();
    if (static_cast<int>(at_end.size()) < count) {
        throw std::runtime_error("did not reach the end of " + topic + " in time");
    }
    return records;
}

std::map<std::int32_t, std::int64_t> EndOffsets(const std::string& topic, bool read_committed) {
    const int count = PartitionsOf(topic);
    kafka::ConsumerOptions options;
    options.read_committed = read_committed;
    auto consumer = kafka::Consumer::Create(Client("test-offsets-" + UniqueSuffix()), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    std::map<std::int32_t, std::int64_t> out;
    for (int p = 0; p < count; ++p) {
        auto marks = consumer->QueryWatermarks({topic, p}, std::chrono::seconds(10));
        if (!marks) {
            throw std::runtime_error("watermarks: " + marks.error().Describe());
        }
        out[p] = marks->second;
    }
    return out;
}

std::map<std::int32_t, std::int64_t>
CommittedOffsets(const std::string& group, const std::string& topic) {
    const int count = PartitionsOf(topic);
    kafka::ConsumerOptions options;
    options.group_id = group;  // never subscribes: only reads the group's offsets
    options.read_committed = true;
    auto consumer = kafka::Consumer::Create(Client("test-committed-" + UniqueSuffix()), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    std::vector<kafka::TopicPartition> partitions;
    partitions.reserve(static_cast<std::size_t>(count));
    for (int p = 0; p < count; ++p) {
        partitions.push_back({topic, p});
    }
    std::map<std::int32_t, std::int64_t> out;
    auto committed = consumer->Committed(partitions, std::chrono::seconds(10));
    if (committed) {
        for (const auto& o : *committed) {
            out[o.partition] = o.offset;
        }
    }
    return out;
}

void CommitOffsets(
    const std::string& group,
    const std::string& topic,
    const std::map<std::int32_t, std::int64_t>& offsets,
    std::chrono::milliseconds timeout
) {
    kafka::ConsumerOptions options;
    options.group_id = group;  // never subscribes: commits as an outside tool does
    auto consumer = kafka::Consumer::Create(Client("test-commit-" + UniqueSuffix()), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    std::vector<kafka::TopicPartitionOffset> list;
    list.reserve(offsets.size());
    for (const auto& [p, next] : offsets) {
        list.push_back({topic, p, next});
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto done = consumer->Commit(list);
        if (done) {
            // Read back: a refused partition need not fail the call as a whole.
            const auto now_committed = CommittedOffsets(group, topic);
            bool all = true;
            for (const auto& [p, next] : offsets) {
                const auto it = now_committed.find(p);
                all = all && it != now_committed.end() && it->second == next;
            }
            if (all) {
                return;
            }
        }
        // A group with members (a stopped static member stays one until its session times
        // out) refuses commits from outside it.
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(
                "committing offsets for " + group + ": " +
                (done ? std::string("not taken") : done.error().Describe())
            );
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

void FenceTransactionalId(const std::string& transactional_id) {
    kafka::ProducerOptions options;
    options.transactional_id = transactional_id;
    auto producer = kafka::Producer::Create(Client("test-fence-" + UniqueSuffix()), options);
    if (!producer) {
        throw std::runtime_error(producer.error().Describe());
    }
    if (auto r = producer->InitTransactions(std::chrono::seconds(60)); !r) {
        throw std::runtime_error("fencing " + transactional_id + ": " + r.error().Describe());
    }
}

std::int64_t CommittedTotal(const std::string& group, const std::string& topic) {
    std::int64_t total = 0;
    for (const auto& [p, offset] : CommittedOffsets(group, topic)) {
        total += std::max<std::int64_t>(0, offset);
    }
    return total;
}

}  // namespace pavewatch::test_support
