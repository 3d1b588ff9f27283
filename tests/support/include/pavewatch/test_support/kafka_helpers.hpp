#pragma once

#include "pavewatch/common/options.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pavewatch::test_support {

/// Topic names unique to one test, so that tests share one broker without meeting.
struct TestTopics {
    common::Topics topics;
    std::string prefix;  ///< of the topic names; also names the test's consumer groups
    /// The `--topic-...` flags that point a service at these topics.
    std::vector<std::string> Flags() const;
};

/// Makes unique topic names for `test` and creates them with `partitions` partitions.
TestTopics MakeTopics(const std::string& test, int partitions);

/// A consumed record, copied.
struct ConsumedRecord {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string key;
    std::string value;
    std::map<std::string, std::string> headers;  ///< the pavewatch.* headers
};

/// Produces records synchronously (flushes before returning); throws on failure.
void ProduceAll(
    const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& records
);

/// Reads `topic` from the start (read_committed) until `done(records)` holds or `timeout`.
std::vector<ConsumedRecord> ConsumeUntil(
    const std::string& topic,
    const std::function<bool(const std::vector<ConsumedRecord>&)>& done,
    std::chrono::milliseconds timeout
);

/// Reads the whole of `topic` as it is now (up to the end of each partition).
std::vector<ConsumedRecord> ConsumeToEnd(
    const std::string& topic,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)
);

/// End offset of every partition of `topic`: the last stable offset (no open transaction
/// before it) when `read_committed`, else the high watermark.
std::map<std::int32_t, std::int64_t>
EndOffsets(const std::string& topic, bool read_committed = true);

/// Offsets committed by consumer group `group` on `topic` (-1 where none).
std::map<std::int32_t, std::int64_t>
CommittedOffsets(const std::string& group, const std::string& topic);

/// Commits `offsets` (partition to next offset) for consumer group `group` on `topic`, as an
/// operator resetting offsets would; retries while the group still has members (up to
/// `timeout`). Throws when it cannot.
void CommitOffsets(
    const std::string& group,
    const std::string& topic,
    const std::map<std::int32_t, std::int64_t>& offsets,
    std::chrono::milliseconds timeout = std::chrono::seconds(60)
);

/// Fences the producers of `transactional_id`, as a new instance with the same id does: their
/// next transactional call fails fatally. Throws when it cannot.
void FenceTransactionalId(const std::string& transactional_id);

/// Sum over partitions of max(0, committed) (progress of a group on a topic).
std::int64_t CommittedTotal(const std::string& group, const std::string& topic);

}  // namespace pavewatch::test_support
