#pragma once

#include "pavewatch/gateway/access.hpp"
#include "pavewatch/gateway/condition_view.hpp"
#include "pavewatch/gateway/feed_filter.hpp"
#include "pavewatch/http/server.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/observation.hpp"

#include <tl/expected.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pavewatch::gateway {

/// Limits of the live feed. Close codes and messages are documented in
/// docs/api/asyncapi.yaml; the defaults are the documented values.
struct FeedOptions {
    /// Updates kept for sessions that fall behind or resume. Default 262 144 (about a minute at
    /// 5 000 updates per second).
    std::size_t journal_capacity = 262144;
    /// Updates read for a session more than this many at once (after a resume, or when it fell
    /// behind the hub's wakes) are coalesced to the latest per segment, hazard and alert.
    /// Default 2 000.
    std::size_t coalesce_after = 2000;
    /// Bytes queued for one session above which it is closed with 4008 (too slow). 4 MiB.
    /// One snapshot or resume replay being sent is not counted (it bounds the backlog of
    /// updates; a snapshot is bounded by the network, a replay by resume_messages); it counts
    /// toward max_total_queued_bytes.
    std::size_t max_queued_bytes = 4U << 20;
    /// Bytes queued for all sessions together above which sessions that have fallen behind are
    /// closed with 4008 as more is queued for them, so that a saturated gateway sheds its
    /// slowest clients instead of growing. 256 MiB. Behind: more than kShedFloorBytes queued
    /// and the oldest queued message waiting for more than kShedAfter. The total can exceed
    /// the budget by what sessions that are not behind hold (each under max_queued_bytes).
    std::size_t max_total_queued_bytes = 256U << 20;
    static constexpr std::size_t kShedFloorBytes = 64U << 10;
    static constexpr std::chrono::milliseconds kShedAfter{1000};
    /// Largest message a client may send; larger ones close with 1009. 16 KiB.
    std::size_t max_client_message_bytes = 16U << 10;
    /// Idle time after which the server pings; no answer within it closes the connection.
    std::chrono::seconds idle_timeout{30};
    /// Time a client has to authenticate with a first `auth` message (when no token came in
    /// Sec-WebSocket-Protocol). Default 5 s.
    std::chrono::seconds auth_timeout{5};
    /// Client messages per second (token bucket, burst `client_burst`); above it: 4009.
    double client_rate_per_s = 10.0;
    double client_burst = 20.0;
    /// How long a closed session can be resumed, and the messages kept for it. 60 s, 512.
    std::chrono::seconds resume_window{60};
    std::size_t resume_messages = 512;
    /// Closed sessions kept for resumption at most (oldest dropped first).
    std::size_t max_retained_sessions = 20000;
};

/// Close codes of the feed (docs/api/asyncapi.yaml).
struct CloseCode {
    static constexpr std::uint16_t kGoingAway = 1001;
    static constexpr std::uint16_t kTooBig = 1009;
    static constexpr std::uint16_t kUnauthorized = 4001;
    static constexpr std::uint16_t kForbidden = 4003;
    static constexpr std::uint16_t kTooSlow = 4008;
    static constexpr std::uint16_t kTooManyMessages = 4009;
};

/// One update in the journal: a condition, a hazard or an alert, with what the filters need.
struct JournalEntry {
    std::uint64_t index = 0;
    EntryKind kind = EntryKind::kCondition;
    std::size_t segment_index = 0;
    pipeline::SegmentId segment;
    std::optional<pipeline::ConditionClass> klass;  ///< conditions
    pipeline::LonLat at{};                          ///< hazards and alerts
    std::string key;                                ///< what coalescing keeps the latest of
    std::shared_ptr<const std::string> payload;     ///< the message's object, JSON
};

/// Fixed-size ring of the latest updates, indexed by a global counter. Thread-safe.
class Journal {
public:
    explicit Journal(std::size_t capacity);
    std::uint64_t Append(JournalEntry entry);
    /// Entries from `from` (inclusive), at most `max`; nullopt when `from` has been overwritten.
    std::optional<std::vector<JournalEntry>> Read(std::uint64_t from, std::size_t max) const;
    /// The entries at `indices` (ascending), those below `from` left out; nullopt when one has
    /// been overwritten.
    std::optional<std::vector<JournalEntry>>
    ReadAt(const std::vector<std::uint64_t>& indices, std::uint64_t from) const;
    /// Index the next Append will get.
    std::uint64_t next() const;

private:
    mutable std::mutex mutex_;
    std::vector<JournalEntry> ring_;
    std::uint64_t next_ = 1;
};

/// Where contractors' actions go: `pavewatch.hazard-actions`, keyed by segment, towards the wear
/// processor (the single writer of segment state). Must be thread-safe.
class ActionSink {
public:
    virtual ~ActionSink() = default;
    ActionSink() = default;
    ActionSink(const ActionSink&) = delete;
    ActionSink& operator=(const ActionSink&) = delete;
    ActionSink(ActionSink&&) = delete;
    ActionSink& operator=(ActionSink&&) = delete;

    /// Queues the action (a HazardAction observation); the error is for the client.
    virtual tl::expected<void, std::string> Submit(const pipeline::Observation& action) = 0;
};

/// Counters of the feed (for metrics).
struct FeedStats {
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::int64_t> connections_open{0};
    std::atomic<std::uint64_t> messages_sent{0};
    std::atomic<std::uint64_t> updates_coalesced{0};
    std::atomic<std::uint64_t> snapshots_sent{0};
    std::atomic<std::uint64_t> resumed{0};
    std::atomic<std::uint64_t> closed_slow{0};
    std::atomic<std::uint64_t> closed_over_budget{0};  ///< shed for max_total_queued_bytes
    std::atomic<std::uint64_t> closed_protocol{0};
    std::atomic<std::uint64_t> closed_normal{0};
    std::atomic<std::uint64_t> closed_unauthorized{0};
    std::atomic<std::uint64_t> closed_rate{0};
    std::atomic<std::uint64_t> actions_accepted{0};
    std::atomic<std::uint64_t> actions_refused{0};
    std::atomic<std::int64_t> queued_bytes{0};  ///< across sessions
};

class FeedSession;
struct RetainedSession;

/// What the hub has found for one session in the journal since the session last looked: the
/// indices of the entries that may concern it, and how far the hub has looked. Shared by the
/// hub (reader thread) and the session (its strand), under `mutex`.
struct SessionInbox {
    /// Segment indices that may concern the session (FeedFilter::MayConcern), or empty for all;
    /// with the entry kinds it subscribed to. Set when it subscribes or resumes.
    struct Interest {
        std::vector<bool> segments;  ///< empty: every segment
        std::uint8_t kinds = 0;
    };
    std::mutex mutex;
    std::shared_ptr<const Interest> interest;  ///< nullptr until it subscribes
    std::vector<std::uint64_t> indices;        ///< ascending
    /// Entries below it have been looked at for the session (those not in `indices` do not
    /// concern it).
    std::uint64_t looked_to = 0;
    /// Too many indices, or entries not looked at for it: read the journal from the cursor.
    bool read_all = false;
    bool wake_pending = false;
};

/// The WebSocket feed at /api/v1/feed: authenticates sessions, sends each a snapshot then the
/// updates it may see and wants, numbered per connection; coalesces for slow sessions, closes
/// those above the hard limit, resumes reconnecting sessions exactly, and takes contractors'
/// hazard actions. Thread-safe: Publish/Flush from the conditions reader, sessions on the HTTP
/// server's threads.
class FeedHub final : public http::UpgradeHandler {
public:
    FeedHub(
        const ConditionView& view,
        const pipeline::MapMatcher& matcher,
        const TokenStore& tokens,
        ActionSink* actions,
        FeedOptions options
    );
    ~FeedHub() override;
    FeedHub(const FeedHub&) = delete;
    FeedHub& operator=(const FeedHub&) = delete;
    FeedHub(FeedHub&&) = delete;
    FeedHub& operator=(FeedHub&&) = delete;

    bool Wants(const http::Request& request) const override;
    void Upgrade(http::UpgradeContext&& context, http::Request request) override;

    /// Records the change from `before` to `now` of one segment: the condition, every hazard
    /// that changed, and alerts (class worsened, hazard confirmed, repair verified/disputed).
    void Publish(const std::optional<SegmentCondition>& before, const SegmentCondition& now);
    /// Gives the new journal entries to the sessions they may concern, and wakes those; call
    /// after a batch of Publish. Every session is also woken once a second (token expiry).
    void Flush();
    /// A session has (re)subscribed or resumed: from now on Flush looks at entries for it with
    /// its new filter; entries Flush has looked at before are read from its cursor.
    void SetInterest(SessionInbox& inbox, const FeedFilter& filter);
    /// Closes every session with 1001 (going away).
    void Shutdown();

    const FeedStats& stats() const { return stats_; }
    FeedStats& mutable_stats() { return stats_; }
    const Journal& journal() const { return journal_; }
    const ConditionView& view() const { return view_; }
    const FeedOptions& options() const { return options_; }
    const TokenStore& tokens() const { return tokens_; }
    const SegmentBoxes& boxes() const { return boxes_; }
    const pipeline::MapMatcher& matcher() const { return matcher_; }
    ActionSink* actions() const { return actions_; }

    /// Keeps a closed session for resumption.
    void Retain(std::string id, std::shared_ptr<RetainedSession> session);
    /// Takes back the retained session `id` if `principal_name` holds it; nullptr if there is
    /// none or it is another principal's (then it stays retained as it was).
    std::shared_ptr<RetainedSession>
    Reclaim(const std::string& id, const std::string& principal_name);

    /// Hazard object of the API and the feed (with its position on the network).
    std::string HazardJson(
        const pipeline::HazardSummary& hazard,
        std::size_t segment_index,
        std::uint64_t segment_version
    ) const;

private:
    const ConditionView& view_;
    const pipeline::MapMatcher& matcher_;
    const TokenStore& tokens_;
    ActionSink* actions_;
    FeedOptions options_;
    SegmentBoxes boxes_;
    Journal journal_;
    FeedStats stats_;
    struct SessionRef {
        std::weak_ptr<FeedSession> session;
        std::shared_ptr<SessionInbox> inbox;
    };
    std::mutex sessions_mutex_;
    std::vector<SessionRef> sessions_;
    std::uint64_t flushed_ = 1;  ///< journal entries below it have been given to the sessions
    std::chrono::steady_clock::time_point last_wake_all_{};
    std::mutex retained_mutex_;
    std::map<
        std::string,
        std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<RetainedSession>>>
        retained_;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> retained_order_;
};

/// Serialises a summary as the feed's Condition object.
std::string SummaryJson(const pipeline::ConditionSummary& summary);

}  // namespace pavewatch::gateway
