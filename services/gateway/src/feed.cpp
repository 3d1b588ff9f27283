#include "pavewatch/gateway/feed.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/gateway/api.hpp"
#include "pavewatch/http/upgrade.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <random>
#include <unordered_map>

namespace pavewatch::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string NewSessionId() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char text[40];
    std::snprintf(
        text,
        sizeof(text),
        "%016llx%016llx",
        static_cast<unsigned long long>(rng()),
        static_cast<unsigned long long>(rng())
    );
    return text;
}

/// What a numbered message is, for rebuilding it byte for byte on resume.
enum class MessageKind : std::uint8_t { kCondition, kHazard, kAlert, kResult, kError };

/// The wire text of a numbered message. Deterministic, so that a resumed session receives
/// exactly the bytes it missed.
std::string Envelope(MessageKind kind, std::uint64_t seq, const std::string& payload) {
    std::string out;
    out.reserve(payload.size() + 48);
    switch (kind) {
        case MessageKind::kCondition:
            out.append(R"({"type":"condition","seq":)")
                .append(std::to_string(seq))
                .append(R"(,"segment":)")
                .append(payload)
                .push_back('}');
            break;
        case MessageKind::kHazard:
            out.append(R"({"type":"hazard","seq":)")
                .append(std::to_string(seq))
                .append(R"(,"hazard":)")
                .append(payload)
                .push_back('}');
            break;
        case MessageKind::kAlert:
            out.append(R"({"type":"alert","seq":)")
                .append(std::to_string(seq))
                .append(R"(,"alert":)")
                .append(payload)
                .push_back('}');
            break;
        case MessageKind::kResult:  // payload: the members of the result object
            out.append(R"({"type":"action_result","seq":)")
                .append(std::to_string(seq))
                .append(",")
                .append(payload)
                .push_back('}');
            break;
        case MessageKind::kError:  // payload: "code" and "message" members
            out.append(R"({"type":"error","seq":)")
                .append(std::to_string(seq))
                .append(",")
                .append(payload)
                .push_back('}');
            break;
    }
    return out;
}

MessageKind KindOf(EntryKind kind) {
    switch (kind) {
        case EntryKind::kCondition:
            return MessageKind::kCondition;
        case EntryKind::kHazard:
            return MessageKind::kHazard;
        case EntryKind::kAlert:
            return MessageKind::kAlert;
    }
    return MessageKind::kCondition;
}

/// The members of a JSON object without its braces (to splice into an envelope).
std::string Members(const std::string& object) {
    return object.substr(1, object.size() - 2);
}

/// The first `max` code points of `text` (UTF-8, as every string of a parsed JSON document
/// is): cut between characters, never inside one, so that the result is UTF-8 too.
std::string FirstCodePoints(std::string_view text, std::size_t max) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U && count++ == max) {
            return std::string(text.substr(0, i));  // a character starts at i: the max + 1st
        }
    }
    return std::string(text);
}

std::string ErrorFields(std::string_view code, std::string_view message) {
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("code").String(code);
    w.Key("message").String(message);
    w.EndObject();
    return Members(out);
}

}  // namespace

std::string SummaryJson(const pipeline::ConditionSummary& summary) {
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    pipeline::WriteSummaryFields(w, summary);
    w.EndObject();
    return out;
}

// ---------------------------------------------------------------------------------------------
// Journal

Journal::Journal(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 16)) {}

std::uint64_t Journal::Append(JournalEntry entry) {
    const std::lock_guard lock(mutex_);
    entry.index = next_++;
    const std::uint64_t index = entry.index;
    ring_[index % ring_.size()] = std::move(entry);
    return index;
}

std::optional<std::vector<JournalEntry>> Journal::Read(std::uint64_t from, std::size_t max) const {
    const std::lock_guard lock(mutex_);
    const std::uint64_t oldest = next_ > ring_.size() ? next_ - ring_.size() : 1;
    if (from < oldest) {
        return std::nullopt;
    }
    std::vector<JournalEntry> out;
    for (std::uint64_t i = from; i < next_ && out.size() < max; ++i) {
        out.push_back(ring_[i % ring_.size()]);
    }
    return out;
}

std::optional<std::vector<JournalEntry>>
Journal::ReadAt(const std::vector<std::uint64_t>& indices, std::uint64_t from) const {
    const std::lock_guard lock(mutex_);
    const std::uint64_t oldest = next_ > ring_.size() ? next_ - ring_.size() : 1;
    std::vector<JournalEntry> out;
    out.reserve(indices.size());
    for (const std::uint64_t i : indices) {
        if (i < from) {
            continue;
        }
        if (i < oldest) {
            return std::nullopt;
        }
        out.push_back(ring_[i % ring_.size()]);
    }
    return out;
}

std::uint64_t Journal::next() const {
    const std::lock_guard lock(mutex_);
    return next_;
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// A numbered message as sent: enough to send the same bytes again.
struct SentMessage {
    std::uint64_t seq = 0;
    MessageKind kind = MessageKind::kCondition;
    std::shared_ptr<const std::string> payload;
};

/// What survives a closed connection for `resume_window`.
struct RetainedSession {
    std::string principal_name;
    std::optional<FeedFilter> filter;
    std::uint64_t seq = 0;
    std::uint64_t cursor = 0;
    std::uint64_t snapshot_seq = 0;  ///< messages up to it cannot be replayed
    std::deque<SentMessage> sent;
    std::vector<bool> seen;
};

/// One WebSocket client. All its state is touched on its strand only (the stream's executor).
/// It owns itself through the completion handlers in flight; the hub holds a weak pointer.
class FeedSession : public std::enable_shared_from_this<FeedSession> {
public:
    FeedSession(http::UpgradeContext&& context, FeedHub& hub)
        : ws_(std::move(context.stream)),
          request_(std::move(context.request)),
          server_(context.server),
          hub_(hub),
          timer_(ws_.get_executor()),
          tokens_(hub.options().client_burst),
          state_(std::make_shared<RetainedSession>()),
          inbox_(std::make_shared<SessionInbox>()) {
        state_->seen.assign(hub.boxes().size(), false);
    }

    ~FeedSession() {
        hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_));
        if (server_ != nullptr) {
            server_->CloseConnection();
        }
        hub_.mutable_stats().connections_open.fetch_sub(1);
        if (state_->filter && !session_id_.empty()) {
            hub_.Retain(session_id_, state_);
        }
    }
    FeedSession(const FeedSession&) = delete;
    FeedSession& operator=(const FeedSession&) = delete;
    FeedSession(FeedSession&&) = delete;
    FeedSession& operator=(FeedSession&&) = delete;

    void Start() {
        hub_.mutable_stats().connections_opened.fetch_add(1);
        hub_.mutable_stats().connections_open.fetch_add(1);
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = std::chrono::seconds(5);
        timeout.idle_timeout = hub_.options().idle_timeout;
        timeout.keep_alive_pings = true;
        ws_.set_option(timeout);
        // The hard cap (Beast fails the connection above it) is far above the documented limit,
        // so that a client that goes over the limit reads a proper 1009 close instead of a
        // reset: the message is read to its end, then refused.
        ws_.read_message_max(
            std::max<std::size_t>(1U << 20, hub_.options().max_client_message_bytes)
        );
        // Sec-WebSocket-Protocol: "pavewatch.v1" and optionally "bearer.<token>".
        const std::string protocols(request_[beast::http::field::sec_websocket_protocol]);
        const bool wants_protocol = protocols.find("pavewatch.v1") != std::string::npos;
        const auto bearer = protocols.find("bearer.");
        if (bearer != std::string::npos) {
            const auto end = protocols.find_first_of(", ", bearer);
            token_ = protocols.substr(
                bearer + 7, end == std::string::npos ? std::string::npos : end - bearer - 7
            );
            has_token_ = true;
        }
        ws_.set_option(
            websocket::stream_base::decorator([wants_protocol](websocket::response_type& res) {
                res.set(beast::http::field::server, "pavewatch");
                if (wants_protocol) {
                    res.set(beast::http::field::sec_websocket_protocol, "pavewatch.v1");
                }
            })
        );
        ws_.async_accept(
            request_, beast::bind_front_handler(&FeedSession::OnAccept, shared_from_this())
        );
    }

    const std::shared_ptr<SessionInbox>& inbox() const { return inbox_; }

    /// Called (through the strand) when the journal has new entries.
    void Wake() {
        asio::post(
            ws_.get_executor(), beast::bind_front_handler(&FeedSession::Pump, shared_from_this())
        );
    }

    void CloseWith(std::uint16_t code, std::string reason) {
        asio::post(
            ws_.get_executor(),
            [self = shared_from_this(), code, reason = std::move(reason)] {
                self->BeginClose(code, reason);
            }
        );
    }

private:
    void OnAccept(beast::error_code ec) {
        if (ec) {
            return;
        }
        open_ = true;
        if (hub_.tokens().open() || has_token_) {
            Authenticate(token_);
        } else {
            // The token may come as the first message, within the auth timeout.
            timer_.expires_after(hub_.options().auth_timeout);
            timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
                if (!timer_ec && !self->principal_) {
                    self->hub_.mutable_stats().closed_unauthorized.fetch_add(1);
                    self->BeginClose(
                        CloseCode::kUnauthorized, "unauthorized: no token within the time allowed"
                    );
                }
            });
        }
        Read();
    }

    void Authenticate(const std::string& token) {
        auto principal = hub_.tokens().Authenticate(token, common::WallMs());
        if (!principal) {
            hub_.mutable_stats().closed_unauthorized.fetch_add(1);
            BeginClose(
                CloseCode::kUnauthorized,
                std::string("unauthorized: ") + ToString(principal.error()) + " token"
            );
            return;
        }
        timer_.cancel();
        principal_ = std::move(*principal);
        session_id_ = NewSessionId();
        std::string hello;
        pipeline::JsonWriter w(hello);
        w.BeginObject();
        w.Key("type").String("hello");
        w.Key("protocol").Int(1);
        w.Key("session").String(session_id_);
        w.Key("role").String(ToString(principal_->role));
        w.Key("name").String(principal_->name);
        w.Key("resume_window_s").Int(hub_.options().resume_window.count());
        w.Key("zone");
        if (principal_->zone) {
            const auto& b = principal_->zone->bbox();
            w.BeginObject();
            w.Key("name").String(principal_->name);
            w.Key("segments").UInt(principal_->zone->size());
            w.Key("bbox").BeginArray().Number(b[0]).Number(b[1]).Number(b[2]).Number(b[3]).EndArray(
            );
            w.EndObject();
        } else {
            w.Null();
        }
        w.EndObject();
        SendRaw(std::move(hello));
    }

    void Read() {
        ws_.async_read(in_, beast::bind_front_handler(&FeedSession::OnRead, shared_from_this()));
    }

    void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) {
            if (ec == websocket::error::message_too_big) {
                hub_.mutable_stats().closed_protocol.fetch_add(1);
                BeginClose(CloseCode::kTooBig, "message too big");
            }
            if (ec == websocket::error::closed || ec == beast::error::timeout ||
                ec == asio::error::eof || ec == asio::error::connection_reset) {
                open_ = false;
            }
            return;
        }
        // Token bucket: a client that talks too much is closed.
        const auto now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
        last_refill_ = now;
        tokens_ = std::min(
            hub_.options().client_burst, tokens_ + elapsed * hub_.options().client_rate_per_s
        );
        if (tokens_ < 1.0) {
            hub_.mutable_stats().closed_rate.fetch_add(1);
            BeginClose(CloseCode::kTooManyMessages, "too many messages");
            return;
        }
        tokens_ -= 1.0;
        if (in_.size() > hub_.options().max_client_message_bytes) {
            in_.consume(in_.size());
            hub_.mutable_stats().closed_protocol.fetch_add(1);
            BeginClose(CloseCode::kTooBig, "message too big");
            return;
        }
        const std::string text = beast::buffers_to_string(in_.data());
        in_.consume(in_.size());
        if (closing_) {
            return;  // closed while the message was read: nothing it asks for is done
        }
        Handle(text);
        if (!closing_) {
            Read();
        }
    }

    /// Closes with 4001 once the principal's token has expired; true when it has. Checked on
    /// every client message and every wake (at least once a second), subscribed or not.
    bool CloseIfExpired() {
        if (!principal_ || principal_->expires_ms == 0 ||
            common::WallMs() < principal_->expires_ms) {
            return false;
        }
        hub_.mutable_stats().closed_unauthorized.fetch_add(1);
        BeginClose(CloseCode::kUnauthorized, "unauthorized: expired token");
        return true;
    }

    void Handle(const std::string& text) {
        if (CloseIfExpired()) {
            return;
        }
        boost::system::error_code jec;
        const auto doc = json::parse(text, jec);
        const bool typed = !jec && doc.is_object() && doc.as_object().contains("type") &&
                           doc.as_object().at("type").is_string();
        if (!principal_) {
            // Before authentication anything but an `auth` message, malformed ones included,
            // closes with 4001: nothing is numbered for an unknown client.
            const auto* m = typed ? &doc.as_object() : nullptr;
            if (m != nullptr && m->at("type").as_string() == "auth" && m->contains("token") &&
                m->at("token").is_string()) {
                Authenticate(std::string(m->at("token").as_string()));
            } else {
                hub_.mutable_stats().closed_unauthorized.fetch_add(1);
                BeginClose(CloseCode::kUnauthorized, "unauthorized: authenticate first");
            }
            return;
        }
        if (!typed) {
            SendError("malformed", "expected a JSON object with a type");
            return;
        }
        const auto& m = doc.as_object();
        const std::string type(m.at("type").as_string());
        if (type == "subscribe") {
            Subscribe(m);
        } else if (type == "action") {
            Act(m);
        } else if (type == "auth") {
            SendError("already_authenticated", "this connection is authenticated");
        } else {
            SendError(
                "unknown_type", "unknown message type \"" + type + "\"; see docs/api/asyncapi.yaml"
            );
        }
    }

    void Subscribe(const json::object& m) {
        // Resume: the same principal, a retained session, and the missed messages still kept.
        if (const auto* session = m.if_contains("session");
            session != nullptr && session->is_string()) {
            const auto* from = m.if_contains("resume_from");
            if (from != nullptr && from->is_int64() &&
                TryResume(std::string(session->as_string()), from->as_int64())) {
                return;
            }
        }
        auto subscription = ParseSubscription(m);
        if (!subscription) {
            SendError("bad_subscription", subscription.error());
            return;
        }
        state_->filter.emplace(*principal_, std::move(*subscription), hub_.boxes());
        state_->principal_name = principal_->name;
        SendSnapshot();
        hub_.SetInterest(*inbox_, *state_->filter);
        Pump();
    }

    bool TryResume(const std::string& id, std::int64_t last_seq) {
        auto old = hub_.Reclaim(id, principal_->name);
        if (!old) {
            return false;  // none, or another principal's: left to its holder, untouched
        }
        const std::uint64_t first_kept = old->sent.empty() ? old->seq + 1 : old->sent.front().seq;
        const bool replayable = last_seq >= 0 && static_cast<std::uint64_t>(last_seq) <= old->seq &&
                                static_cast<std::uint64_t>(last_seq) + 1 >= first_kept &&
                                static_cast<std::uint64_t>(last_seq) >= old->snapshot_seq;
        const bool journal_ok =
            old->cursor >= hub_.journal().next() || hub_.journal().Read(old->cursor, 0).has_value();
        if (!replayable || !journal_ok || !old->filter) {
            return false;
        }
        // Adopt the old session: its id, numbering, filter and journal position.
        session_id_ = id;
        state_ = std::move(old);
        hub_.mutable_stats().resumed.fetch_add(1);
        // The replay is bounded by resume_messages: like a snapshot, it is not counted toward
        // the per-session limit (it is about as large as the backlog the old connection was
        // closed for, and would close the new one at once).
        const bool exempt = exempt_bytes_ == 0;
        std::string resumed;
        pipeline::JsonWriter w(resumed);
        w.BeginObject();
        w.Key("type").String("resumed");
        w.Key("session").String(session_id_);
        w.Key("from_seq").UInt(static_cast<std::uint64_t>(last_seq) + 1);
        w.EndObject();
        SendRaw(std::move(resumed), exempt);
        for (const auto& s : state_->sent) {
            if (s.seq > static_cast<std::uint64_t>(last_seq)) {
                SendRaw(Envelope(s.kind, s.seq, *s.payload), exempt);
            }
        }
        hub_.SetInterest(*inbox_, *state_->filter);
        Pump();
        return true;
    }

    void Act(const json::object& m) {
        if (CloseIfExpired()) {
            return;  // an expired token acts on nothing
        }
        const auto text = [&](const char* key) -> std::string {
            const auto* v = m.if_contains(key);
            return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
        };
        // At most 64 characters (the schema's maxLength), cut between characters: a cut
        // inside one would be an invalid text frame (browsers close with 1007).
        const std::string request_id = FirstCodePoints(text("request_id"), 64);
        const std::string hazard_text = text("hazard_id");
        const std::string action_text = text("action");
        const auto reply = [&](bool accepted, std::string_view reason) {
            std::string fields;
            pipeline::JsonWriter w(fields);
            w.BeginObject();
            w.Key("request_id").String(request_id);
            w.Key("hazard_id").String(hazard_text);
            w.Key("action").String(action_text);
            w.Key("status").String(accepted ? "accepted" : "refused");
            w.Key("reason").String(reason);
            w.EndObject();
            fields = Members(fields);
            (accepted ? hub_.mutable_stats().actions_accepted : hub_.mutable_stats().actions_refused
            )
                .fetch_add(1);
            SendNumbered(
                MessageKind::kResult, std::make_shared<const std::string>(std::move(fields))
            );
        };
        const bool acknowledge = action_text == "acknowledge";
        if (!acknowledge && action_text != "repaired") {
            return reply(false, "unknown_action");
        }
        const auto id = pipeline::ParseHazardId(hazard_text);
        const auto index = id ? hub_.view().network().IndexOf(id->first) : std::nullopt;
        if (!index) {
            return reply(false, "unknown_hazard");
        }
        if (!principal_->Sees(*index)) {
            return reply(false, "forbidden");  // outside the contractor's zone
        }
        const auto condition = hub_.view().Get(id->first);
        const pipeline::HazardSummary* hazard = nullptr;
        if (condition) {
            for (const auto& h : condition->summary.hazards) {
                if (h.id == hazard_text) {
                    hazard = &h;
                }
            }
        }
        if (hazard == nullptr) {
            return reply(false, "unknown_hazard");
        }
        using pipeline::HazardStatus;
        const auto s = hazard->status;
        // The same rule as the wear processor's hazard tracker (pipeline/src/hazard_tracker.cpp):
        // acknowledge a confirmed hazard; report a repair of a confirmed, acknowledged or
        // disputed one.
        const bool allowed =
            acknowledge ? s == HazardStatus::kConfirmed
                        : (s == HazardStatus::kConfirmed || s == HazardStatus::kAcknowledged ||
                           s == HazardStatus::kDisputed);
        if (!allowed) {
            return reply(false, "invalid_state");
        }
        if (hub_.actions() == nullptr) {
            return reply(false, "unavailable");
        }
        pipeline::Observation o;
        o.segment = id->first;
        o.t_ms = common::WallMs();
        o.body = pipeline::HazardAction{
            id->second,
            acknowledge ? pipeline::HazardActionKind::kAcknowledge
                        : pipeline::HazardActionKind::kReportRepaired,
            principal_->name};
        const auto submitted = hub_.actions()->Submit(o);
        reply(submitted.has_value(), submitted ? "" : submitted.error());
    }

    void SendSnapshot() {
        // The journal position first, then the view: an update that lands in between is sent
        // again after the snapshot, never lost (versions let the client drop the repeat).
        state_->cursor = hub_.journal().next();
        std::fill(state_->seen.begin(), state_->seen.end(), false);
        const auto& filter = *state_->filter;
        std::string out;
        out.reserve(std::size_t{256} * 1024);
        pipeline::JsonWriter w(out);
        w.BeginObject();
        w.Key("type").String("snapshot");
        w.Key("seq").UInt(++state_->seq);
        state_->snapshot_seq = state_->seq;
        state_->sent.clear();
        w.Key("segments").BeginArray();
        std::vector<std::pair<std::size_t, const SegmentCondition*>> with_hazards;
        const auto& segments = hub_.view().network().segments();
        std::vector<std::string> hazards;
        hub_.view().ForEach([&](const pipeline::Segment& s, const SegmentCondition* c) {
            if (c == nullptr) {
                return;
            }
            const auto index = static_cast<std::size_t>(&s - segments.data());
            if (filter.WantsCondition(index, c->summary.klass, false)) {
                state_->seen[index] = true;
                w.BeginObject();
                pipeline::WriteSummaryFields(w, c->summary);
                w.EndObject();
            }
            for (const auto& h : c->summary.hazards) {
                if (filter.WantsHazard(index, hub_.matcher().PointAt(index, h.offset_m))) {
                    hazards.push_back(hub_.HazardJson(h, index, c->summary.version));
                }
            }
        });
        w.EndArray();
        w.Key("hazards").BeginArray();
        for (const auto& h : hazards) {
            w.Raw(h);
        }
        w.EndArray();
        w.EndObject();
        hub_.mutable_stats().snapshots_sent.fetch_add(1);
        // A snapshot is as large as the network the subscription covers (megabytes for an
        // agency on a large network), bounded by it, and sent once per subscribe: it is not
        // counted toward the per-session limit, which bounds the backlog of updates, unless
        // another snapshot or replay is still queued (one at a time). It counts toward the
        // total budget like everything else.
        SendRaw(std::move(out), exempt_bytes_ == 0);
    }

    /// Pulls the journal entries the hub found for it into the outbound queue.
    void Pump() {
        std::vector<std::uint64_t> indices;
        std::uint64_t looked_to = 0;
        bool read_all = false;
        {
            const std::lock_guard lock(inbox_->mutex);
            indices.swap(inbox_->indices);
            looked_to = inbox_->looked_to;
            read_all = inbox_->read_all;
            inbox_->read_all = false;
            inbox_->wake_pending = false;
        }
        if (!open_ || closing_ || CloseIfExpired() || !state_->filter) {
            return;
        }
        if (state_->cursor >= looked_to) {
            return;
        }
        // Entries in [cursor, looked_to) that are not in `indices` do not concern the session;
        // after a resubscription or resumption (read_all) the hub had not looked for it.
        auto entries = read_all ? hub_.journal().Read(state_->cursor, looked_to - state_->cursor)
                                : hub_.journal().ReadAt(indices, state_->cursor);
        if (!entries) {
            SendSnapshot();  // fell out of the journal: start over from a fresh picture
            return;
        }
        const std::uint64_t head = looked_to;
        const bool coalesce = entries->size() > hub_.options().coalesce_after;
        std::unordered_map<std::string_view, std::size_t> latest;
        if (coalesce) {
            for (std::size_t i = 0; i < entries->size(); ++i) {
                latest[(*entries)[i].key] = i;
            }
            hub_.mutable_stats().updates_coalesced.fetch_add(entries->size() - latest.size());
        }
        const auto& filter = *state_->filter;
        for (std::size_t i = 0; i < entries->size(); ++i) {
            const auto& e = (*entries)[i];
            if (coalesce && latest[e.key] != i) {
                continue;
            }
            bool wanted = false;
            switch (e.kind) {
                case EntryKind::kCondition:
                    wanted = filter.WantsCondition(
                        e.segment_index, e.klass, state_->seen[e.segment_index]
                    );
                    if (wanted) {
                        state_->seen[e.segment_index] = true;
                    }
                    break;
                case EntryKind::kHazard:
                    wanted = filter.WantsHazard(e.segment_index, e.at);
                    break;
                case EntryKind::kAlert:
                    wanted = filter.WantsAlert(e.segment_index, e.at);
                    break;
            }
            if (wanted) {
                SendNumbered(KindOf(e.kind), e.payload);
            }
            if (closing_) {
                // Closed (too slow) on the way: what is numbered so far is kept in `sent` and
                // replayed on resume; the cursor moves past it so that it is not read again.
                state_->cursor = e.index + 1;
                return;
            }
        }
        state_->cursor = head;
    }

    void SendError(std::string_view code, std::string_view message) {
        SendNumbered(
            MessageKind::kError, std::make_shared<const std::string>(ErrorFields(code, message))
        );
    }

    void SendNumbered(MessageKind kind, std::shared_ptr<const std::string> payload) {
        const std::uint64_t seq = ++state_->seq;
        std::string text = Envelope(kind, seq, *payload);
        state_->sent.push_back({seq, kind, std::move(payload)});
        while (state_->sent.size() > hub_.options().resume_messages) {
            state_->sent.pop_front();
        }
        SendRaw(std::move(text));
    }

    /// Queues a message. `exempt`: a snapshot or a resume's replay, not counted toward
    /// max_queued_bytes (see SendSnapshot).
    void SendRaw(std::string message, bool exempt = false) {
        if (closing_ || !open_) {
            return;
        }
        const auto size = static_cast<std::int64_t>(message.size());
        queued_bytes_ += message.size();
        if (exempt) {
            exempt_bytes_ += message.size();
        }
        const std::int64_t total = hub_.mutable_stats().queued_bytes.fetch_add(size) + size;
        const auto now = Clock::now();
        queue_.push_back({std::move(message), now, exempt});
        const auto& options = hub_.options();
        if (queued_bytes_ - exempt_bytes_ > options.max_queued_bytes) {
            hub_.mutable_stats().closed_slow.fetch_add(1);
            BeginClose(CloseCode::kTooSlow, "too slow: the client does not read its updates");
            return;
        }
        // Over the total budget, shed a session that is behind: a backlog, and its oldest
        // message waiting for long (a client that keeps up drains even a burst in milliseconds).
        if (total > static_cast<std::int64_t>(options.max_total_queued_bytes) &&
            queued_bytes_ > FeedOptions::kShedFloorBytes &&
            now - queue_.front().queued_at > FeedOptions::kShedAfter) {
            hub_.mutable_stats().closed_over_budget.fetch_add(1);
            BeginClose(CloseCode::kTooSlow, "too slow: the server's feed queues are full");
            return;
        }
        if (!writing_) {
            WriteNext();
        }
    }

    void WriteNext() {
        if (queue_.empty()) {
            writing_ = false;
            if (closing_) {
                FinishClose();
            }
            return;
        }
        writing_ = true;
        ws_.text(true);
        ws_.async_write(
            asio::buffer(queue_.front().text),
            beast::bind_front_handler(&FeedSession::OnWrite, shared_from_this())
        );
    }

    void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
        writing_ = false;
        if (ec) {
            open_ = false;
            return;
        }
        hub_.mutable_stats().messages_sent.fetch_add(1);
        queued_bytes_ -= queue_.front().text.size();
        if (queue_.front().exempt) {
            exempt_bytes_ -= queue_.front().text.size();
        }
        hub_.mutable_stats().queued_bytes.fetch_sub(
            static_cast<std::int64_t>(queue_.front().text.size())
        );
        queue_.pop_front();
        if (closing_) {
            // Drop what is left (a slow client) and close.
            hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_));
            queued_bytes_ = 0;
            exempt_bytes_ = 0;
            queue_.clear();
            FinishClose();
            return;
        }
        if (queue_.empty()) {
            Pump();  // anything that arrived meanwhile
        }
        if (!writing_ && !queue_.empty()) {
            WriteNext();
        }
    }

    /// Closes with a code: at once when no write is in flight, else after it (Beast allows one
    /// write operation, close included, at a time).
    void BeginClose(std::uint16_t code, const std::string& reason) {
        if (closing_ || !open_) {
            return;
        }
        closing_ = true;
        close_code_ = code;
        close_reason_ = reason;
        if (code == CloseCode::kGoingAway) {
            hub_.mutable_stats().closed_normal.fetch_add(1);
        }
        timer_.cancel();
        if (!writing_) {
            hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_));
            queued_bytes_ = 0;
            exempt_bytes_ = 0;
            queue_.clear();
            FinishClose();
        }
    }

    void FinishClose() {
        if (close_sent_) {
            return;
        }
        close_sent_ = true;
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
            [self = shared_from_this()](beast::error_code) { self->open_ = false; }
        );
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::http::request<beast::http::string_body> request_;
    http::Server* server_;
    FeedHub& hub_;
    asio::steady_timer timer_;
    beast::flat_buffer in_;
    struct Outgoing {
        std::string text;
        Clock::time_point queued_at;
        bool exempt = false;  ///< not counted toward max_queued_bytes
    };
    std::deque<Outgoing> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t exempt_bytes_ = 0;  ///< of queued_bytes_: a snapshot or a replay being sent
    std::string token_;
    bool has_token_ = false;
    std::optional<Principal> principal_;
    std::string session_id_;
    double tokens_;
    Clock::time_point last_refill_ = Clock::now();
    std::shared_ptr<RetainedSession> state_;
    std::shared_ptr<SessionInbox> inbox_;  ///< what the hub found for it in the journal
    bool open_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool close_sent_ = false;
    std::uint16_t close_code_ = 1000;
    std::string close_reason_;
};

// ---------------------------------------------------------------------------------------------
// Hub

FeedHub::FeedHub(
    const ConditionView& view,
    const pipeline::MapMatcher& matcher,
    const TokenStore& tokens,
    ActionSink* actions,
    FeedOptions options
)
    : view_(view),
      matcher_(matcher),
      tokens_(tokens),
      actions_(actions),
      options_(options),
      boxes_(view.network()),
      journal_(options.journal_capacity) {}

FeedHub::~FeedHub() = default;

bool FeedHub::Wants(const http::Request& request) const {
    return request.path == "/api/v1/feed";
}

void FeedHub::Upgrade(http::UpgradeContext&& context, http::Request /*request*/) {
    auto session = std::make_shared<FeedSession>(std::move(context), *this);
    {
        const std::lock_guard lock(sessions_mutex_);
        sessions_.push_back({session, session->inbox()});
    }
    session->Start();
}

std::string FeedHub::HazardJson(
    const pipeline::HazardSummary& h,
    std::size_t segment_index,
    std::uint64_t segment_version
) const {
    return gateway::HazardJson(h, view_.network(), matcher_, segment_index, segment_version);
}

void FeedHub::Publish(const std::optional<SegmentCondition>& before, const SegmentCondition& now) {
    const auto index = view_.network().IndexOf(now.summary.segment);
    if (!index) {
        return;
    }
    const std::string segment_text = pipeline::ToString(now.summary.segment);
    const auto received_us = common::WallUs();
    const auto add = [&](EntryKind kind, std::string key, pipeline::LonLat at, std::string payload
                     ) {
        JournalEntry e;
        e.kind = kind;
        e.segment_index = *index;
        e.segment = now.summary.segment;
        e.klass = now.summary.klass;
        e.at = at;
        e.key = std::move(key);
        // When the update reached the gateway (wall clock, microseconds): clients measure the
        // feed's delivery latency against it.
        payload.pop_back();  // the object's closing brace
        payload.append(",\"received_us\":").append(std::to_string(received_us)).push_back('}');
        e.payload = std::make_shared<const std::string>(std::move(payload));
        journal_.Append(std::move(e));
    };
    add(EntryKind::kCondition, "c:" + segment_text, {}, SummaryJson(now.summary));

    const auto alert =
        [&](std::string_view kind, const pipeline::HazardSummary* h, pipeline::LonLat at) {
            std::string out;
            pipeline::JsonWriter w(out);
            w.BeginObject();
            w.Key("kind").String(kind);
            w.Key("segment_id").String(segment_text);
            w.Key("at_ms").Int(now.summary.updated_ms);
            if (h != nullptr) {
                w.Key("hazard_id").String(h->id);
                w.Key("severity").String(pipeline::ToString(h->severity));
            } else {
                w.Key("from");
                if (before && before->summary.klass) {
                    w.String(pipeline::ToString(*before->summary.klass));
                } else {
                    w.Null();
                }
                w.Key("to").String(now.summary.klass ? pipeline::ToString(*now.summary.klass) : "");
                w.Key("condition_index");
                if (now.summary.index) {
                    w.Number(*now.summary.index);
                } else {
                    w.Null();
                }
            }
            w.Key("lat").Fixed(at.lat, 7);
            w.Key("lon").Fixed(at.lon, 7);
            w.EndObject();
            add(EntryKind::kAlert,
                "a:" + std::string(kind) + ":" + (h != nullptr ? h->id : segment_text),
                at,
                std::move(out));
        };
    if (before && before->summary.klass && now.summary.klass &&
        *now.summary.klass > *before->summary.klass) {
        alert(
            "condition_worsened",
            nullptr,
            matcher_.PointAt(*index, view_.network().segments()[*index].length_m / 2)
        );
    }
    for (const auto& h : now.summary.hazards) {
        const pipeline::HazardSummary* old = nullptr;
        if (before) {
            for (const auto& b : before->summary.hazards) {
                if (b.id == h.id) {
                    old = &b;
                }
            }
        }
        const bool changed = old == nullptr || old->status != h.status ||
                             old->severity != h.severity || old->vehicles != h.vehicles ||
                             old->last_actor != h.last_actor;
        if (!changed) {
            continue;
        }
        const auto at = matcher_.PointAt(*index, h.offset_m);
        add(EntryKind::kHazard, "h:" + h.id, at, HazardJson(h, *index, now.summary.version));
        using pipeline::HazardStatus;
        if (old == nullptr || old->status != h.status) {
            if (h.status == HazardStatus::kConfirmed) {
                alert("hazard_confirmed", &h, at);
            } else if (h.status == HazardStatus::kVerified) {
                alert("repair_verified", &h, at);
            } else if (h.status == HazardStatus::kDisputed) {
                alert("repair_disputed", &h, at);
            }
        }
    }
}

void FeedHub::Flush() {
    const std::uint64_t head = journal_.next();
    // Drop retained sessions past their window.
    {
        const std::lock_guard lock(retained_mutex_);
        const auto now = Clock::now();
        // retained_order_ also holds entries of sessions reclaimed since (stale): the bound
        // is on the sessions actually kept.
        while (!retained_order_.empty() &&
               (retained_order_.front().first + options_.resume_window < now ||
                retained_.size() > options_.max_retained_sessions)) {
            const auto& [when, id] = retained_order_.front();
            const auto it = retained_.find(id);
            if (it != retained_.end() && it->second.first == when) {  // not a newer retention
                retained_.erase(it);
            }
            retained_order_.pop_front();
        }
    }
    const auto now = Clock::now();
    const bool wake_all = now - last_wake_all_ >= std::chrono::seconds(1);
    if (head == flushed_ && !wake_all) {
        return;
    }
    // The new entries, once: what each is about.
    std::vector<JournalEntry> fresh;
    bool lost = false;  // overwritten before this flush (not expected): sessions read it all
    if (head > flushed_) {
        if (auto read = journal_.Read(flushed_, head - flushed_)) {
            fresh = std::move(*read);
        } else {
            lost = true;
        }
    }
    const std::lock_guard lock(sessions_mutex_);
    std::erase_if(sessions_, [](const SessionRef& r) { return r.session.expired(); });
    if (wake_all) {
        last_wake_all_ = now;
    }
    // A session gets the indices of the entries that may concern it (its zone and area, the
    // kinds it asked for), and is woken only if there are any: one update costs the sessions it
    // may concern, not every session. Every session is still woken once a second, so that an
    // expired token is noticed without updates.
    const std::size_t max_indices = std::max<std::size_t>(options_.coalesce_after * 4, 1024);
    for (const auto& ref : sessions_) {
        bool wake = wake_all;
        {
            SessionInbox& inbox = *ref.inbox;
            const std::lock_guard inbox_lock(inbox.mutex);
            if (inbox.interest) {
                const auto& interest = *inbox.interest;
                if (lost) {
                    inbox.read_all = true;
                    inbox.indices.clear();
                    wake = true;
                }
                for (const auto& e : fresh) {
                    if ((interest.kinds & static_cast<std::uint8_t>(e.kind)) == 0 ||
                        (!interest.segments.empty() && !interest.segments[e.segment_index])) {
                        continue;
                    }
                    if (inbox.indices.size() >= max_indices) {
                        inbox.read_all = true;  // far behind: it reads the journal instead
                        inbox.indices.clear();
                    }
                    if (!inbox.read_all) {
                        inbox.indices.push_back(e.index);
                    }
                    wake = true;
                }
                inbox.looked_to = head;
            }
            if (!wake || inbox.wake_pending) {
                continue;
            }
            inbox.wake_pending = true;
        }
        if (auto s = ref.session.lock()) {
            s->Wake();
        }
    }
    flushed_ = head;
}

void FeedHub::SetInterest(SessionInbox& inbox, const FeedFilter& filter) {
    auto interest = std::make_shared<SessionInbox::Interest>();
    interest->kinds = filter.subscription().kinds;
    const std::size_t n = boxes_.size();
    bool all = true;
    std::vector<bool> segments(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        segments[i] = filter.MayConcern(i);
        all = all && segments[i];
    }
    if (!all) {
        interest->segments = std::move(segments);
    }
    const std::lock_guard lock(sessions_mutex_);
    const std::lock_guard inbox_lock(inbox.mutex);
    inbox.interest = std::move(interest);
    // Entries up to flushed_ were looked at with the old filter (or none): the session reads
    // them from its cursor; later ones come through Flush.
    inbox.indices.clear();
    inbox.read_all = true;
    inbox.looked_to = flushed_;
}

void FeedHub::Shutdown() {
    const std::lock_guard lock(sessions_mutex_);
    for (const auto& ref : sessions_) {
        if (auto s = ref.session.lock()) {
            s->CloseWith(CloseCode::kGoingAway, "server shutting down");
        }
    }
}

void FeedHub::Retain(std::string id, std::shared_ptr<RetainedSession> session) {
    const std::lock_guard lock(retained_mutex_);
    const auto now = Clock::now();
    retained_order_.emplace_back(now, id);
    retained_[std::move(id)] = {now, std::move(session)};
}

std::shared_ptr<RetainedSession>
FeedHub::Reclaim(const std::string& id, const std::string& principal_name) {
    const std::lock_guard lock(retained_mutex_);
    const auto it = retained_.find(id);
    // Another principal's attempt leaves the session as it is, window included, so that its
    // holder's own resume (perhaps at the same moment) still finds it.
    if (it == retained_.end() || it->second.second->principal_name != principal_name) {
        return nullptr;
    }
    auto session = std::move(it->second.second);
    retained_.erase(it);
    return session;
}

}  // namespace pavewatch::gateway
