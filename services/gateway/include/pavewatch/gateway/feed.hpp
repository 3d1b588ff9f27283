#pragma once

#include "pavewatch/gateway/condition_view.hpp"
#include "pavewatch/http/server.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pavewatch::gateway {

/// Limits of the live feed. Close codes are documented in docs/api/asyncapi.yaml.
struct FeedOptions {
    /// Updates kept for sessions that fall behind or reconnect. Default 65 536 (a few seconds
    /// at thousands of updates per second).
    std::size_t journal_capacity = 65536;
    /// A session more than this many updates behind gets them coalesced to the latest per
    /// segment. Default 2 000.
    std::size_t coalesce_after = 2000;
    /// Bytes queued for one session above which it is closed with 4008 (too slow).
    /// Default 8 MiB.
    std::size_t max_queued_bytes = 8U << 20;
    /// Largest message a client may send. Default 64 KiB.
    std::size_t max_client_message_bytes = 64U << 10;
    /// Idle time after which the server pings; no answer within the same time closes.
    std::chrono::seconds idle_timeout{30};
};

/// One update in the journal.
struct JournalEntry {
    std::uint64_t index = 0;
    pipeline::SegmentId segment;
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> summary;  ///< the Condition object, JSON
};

/// Fixed-size ring of the latest updates, indexed by a global counter. Thread-safe.
class Journal {
public:
    explicit Journal(std::size_t capacity);
    std::uint64_t Append(
        pipeline::SegmentId segment,
        std::uint64_t version,
        std::shared_ptr<const std::string> summary
    );
    /// Entries from `from` (inclusive), at most `max`; nullopt when `from` has been overwritten.
    std::optional<std::vector<JournalEntry>> Read(std::uint64_t from, std::size_t max) const;
    /// Index the next Append will get.
    std::uint64_t next() const;

private:
    mutable std::mutex mutex_;
    std::vector<JournalEntry> ring_;
    std::uint64_t next_ = 1;
};

/// Counters of the feed (for metrics).
struct FeedStats {
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::int64_t> connections_open{0};
    std::atomic<std::uint64_t> messages_sent{0};
    std::atomic<std::uint64_t> updates_coalesced{0};
    std::atomic<std::uint64_t> snapshots_sent{0};
    std::atomic<std::uint64_t> closed_slow{0};
    std::atomic<std::uint64_t> closed_protocol{0};
    std::atomic<std::uint64_t> closed_normal{0};
    std::atomic<std::int64_t> queued_bytes{0};  ///< across sessions
};

class FeedSession;

/// The WebSocket feed at /api/v1/feed: accepts upgrades, sends each session a snapshot then the
/// updates from the journal, coalesces for slow sessions, closes those above the hard limit.
class FeedHub final : public http::UpgradeHandler {
public:
    FeedHub(const ConditionView& view, FeedOptions options);
    ~FeedHub() override;

    bool Wants(const http::Request& request) const override;
    void Upgrade(http::UpgradeContext&& context, http::Request request) override;

    /// Records an update (consumer thread).
    void Publish(const SegmentCondition& condition);
    /// Wakes sessions that have updates to send; call after a batch of Publish.
    void Flush();
    /// Closes every session with 1001 (going away).
    void Shutdown();

    const FeedStats& stats() const { return stats_; }
    const Journal& journal() const { return journal_; }
    const ConditionView& view() const { return view_; }
    const FeedOptions& options() const { return options_; }
    FeedStats& mutable_stats() { return stats_; }

private:
    const ConditionView& view_;
    FeedOptions options_;
    Journal journal_;
    FeedStats stats_;
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<FeedSession>> sessions_;
    std::uint64_t flushed_ = 0;
};

/// Serialises a summary as the feed's Condition object.
std::string SummaryJson(const pipeline::ConditionSummary& summary);

}  // namespace pavewatch::gateway
