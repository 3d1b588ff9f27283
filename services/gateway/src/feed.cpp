#include "pavewatch/gateway/feed.hpp"

#include "pavewatch/http/upgrade.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <unordered_map>

namespace pavewatch::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

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

std::uint64_t Journal::Append(
    pipeline::SegmentId segment,
    std::uint64_t version,
    std::shared_ptr<const std::string> summary
) {
    const std::lock_guard lock(mutex_);
    const std::uint64_t index = next_++;
    ring_[index % ring_.size()] = JournalEntry{index, segment, version, std::move(summary)};
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

std::uint64_t Journal::next() const {
    const std::lock_guard lock(mutex_);
    return next_;
}

// ---------------------------------------------------------------------------------------------
// Session

/// One WebSocket client. All its state is touched on its strand only (the stream's executor).
/// It owns itself through the completion handlers in flight; the hub holds a weak pointer.
class FeedSession : public std::enable_shared_from_this<FeedSession> {
public:
    FeedSession(http::UpgradeContext&& context, FeedHub& hub)
        : ws_(std::move(context.stream)),
          request_(std::move(context.request)),
          server_(context.server),
          hub_(hub) {}

    ~FeedSession() {
        hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_));
        if (server_ != nullptr) {
            server_->CloseConnection();
        }
        hub_.mutable_stats().connections_open.fetch_sub(1);
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
        ws_.read_message_max(hub_.options().max_client_message_bytes);
        const bool wants_protocol =
            request_[beast::http::field::sec_websocket_protocol].find("pavewatch.v1") !=
            beast::string_view::npos;
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
        Send(R"({"type":"hello","protocol":1,"role":"agency","zone":null})");
        SendSnapshot();
        Read();
    }

    void SendSnapshot() {
        // The journal position first, then the view: an update that lands in between is sent
        // again after the snapshot, never lost (versions let the client drop the repeat).
        cursor_ = hub_.journal().next();
        std::string out;
        out.reserve(256 * 1024);
        pipeline::JsonWriter w(out);
        w.BeginObject();
        w.Key("type").String("snapshot");
        w.Key("seq").UInt(++seq_);
        w.Key("segments").BeginArray();
        hub_.view().ForEach([&](const pipeline::Segment&, const SegmentCondition* c) {
            if (c != nullptr) {
                w.BeginObject();
                pipeline::WriteSummaryFields(w, c->summary);
                w.EndObject();
            }
        });
        w.EndArray();
        w.Key("hazards").BeginArray().EndArray();
        w.EndObject();
        hub_.mutable_stats().snapshots_sent.fetch_add(1);
        Send(std::move(out));
    }

    void Read() {
        ws_.async_read(in_, beast::bind_front_handler(&FeedSession::OnRead, shared_from_this()));
    }

    void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) {
            if (ec == websocket::error::message_too_big) {
                hub_.mutable_stats().closed_protocol.fetch_add(1);
                BeginClose(websocket::close_code::too_big, "message too big");
            }
            open_ = false;
            return;
        }
        // Client messages: `subscribe` is accepted (the whole network is sent in this version);
        // anything that is not a JSON object with a known type gets an error message.
        const std::string text = beast::buffers_to_string(in_.data());
        in_.consume(in_.size());
        boost::system::error_code jec;
        const auto doc = boost::json::parse(text, jec);
        if (jec || !doc.is_object() || !doc.as_object().contains("type")) {
            Send(
                R"({"type":"error","code":"malformed","message":"expected a JSON object with a type"})"
            );
        } else if (doc.as_object().at("type") != "subscribe") {
            Send(
                R"({"type":"error","code":"unknown_type","message":"only subscribe is understood"})"
            );
        }
        Read();
    }

    /// Pulls new journal entries into the outbound queue.
    void Pump() {
        if (!open_ || closing_) {
            return;
        }
        const std::uint64_t head = hub_.journal().next();
        if (cursor_ >= head) {
            return;
        }
        const std::size_t behind = head - cursor_;
        auto entries = hub_.journal().Read(cursor_, behind);
        if (!entries) {
            // Fell out of the journal: start over from a fresh snapshot.
            SendSnapshot();
            return;
        }
        if (behind > hub_.options().coalesce_after) {
            // Slow: only the latest update of each segment.
            std::unordered_map<pipeline::SegmentId, std::size_t> latest;
            for (std::size_t i = 0; i < entries->size(); ++i) {
                latest[(*entries)[i].segment] = i;
            }
            hub_.mutable_stats().updates_coalesced.fetch_add(entries->size() - latest.size());
            for (std::size_t i = 0; i < entries->size(); ++i) {
                if (latest[(*entries)[i].segment] == i) {
                    SendUpdate((*entries)[i]);
                }
            }
        } else {
            for (const auto& e : *entries) {
                SendUpdate(e);
            }
        }
        cursor_ = head;
    }

    void SendUpdate(const JournalEntry& e) {
        std::string out;
        out.reserve(e.summary->size() + 48);
        out.append(R"({"type":"condition","seq":)");
        out.append(std::to_string(++seq_));
        out.append(R"(,"segment":)");
        out.append(*e.summary);
        out.push_back('}');
        Send(std::move(out));
    }

    void Send(std::string message) {
        if (closing_) {
            return;
        }
        queued_bytes_ += message.size();
        hub_.mutable_stats().queued_bytes.fetch_add(static_cast<std::int64_t>(message.size()));
        queue_.push_back(std::move(message));
        if (queued_bytes_ > hub_.options().max_queued_bytes) {
            hub_.mutable_stats().closed_slow.fetch_add(1);
            hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queued_bytes_));
            queue_.clear();
            queued_bytes_ = 0;
            BeginClose(4008, "too slow: the client does not read its updates");
            return;
        }
        if (!writing_) {
            WriteNext();
        }
    }

    void WriteNext() {
        if (queue_.empty() || closing_) {
            writing_ = false;
            return;
        }
        writing_ = true;
        ws_.text(true);
        ws_.async_write(
            asio::buffer(queue_.front()),
            beast::bind_front_handler(&FeedSession::OnWrite, shared_from_this())
        );
    }

    void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) {
            open_ = false;
            writing_ = false;
            return;
        }
        hub_.mutable_stats().messages_sent.fetch_add(1);
        queued_bytes_ -= queue_.front().size();
        hub_.mutable_stats().queued_bytes.fetch_sub(static_cast<std::int64_t>(queue_.front().size())
        );
        queue_.pop_front();
        if (queue_.empty()) {
            writing_ = false;
            Pump();  // anything that arrived meanwhile
            return;
        }
        WriteNext();
    }

    void BeginClose(std::uint16_t code, const std::string& reason) {
        if (closing_ || !open_) {
            return;
        }
        closing_ = true;
        if (code == websocket::close_code::going_away || code == websocket::close_code::normal) {
            hub_.mutable_stats().closed_normal.fetch_add(1);
        }
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(code), reason),
            [self = shared_from_this()](beast::error_code) { self->open_ = false; }
        );
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::http::request<beast::http::string_body> request_;
    http::Server* server_;
    FeedHub& hub_;
    beast::flat_buffer in_;
    std::deque<std::string> queue_;
    std::size_t queued_bytes_ = 0;
    std::uint64_t cursor_ = 0;
    std::uint64_t seq_ = 0;
    bool open_ = false;
    bool writing_ = false;
    bool closing_ = false;
};

// ---------------------------------------------------------------------------------------------
// Hub

FeedHub::FeedHub(const ConditionView& view, FeedOptions options)
    : view_(view), options_(options), journal_(options.journal_capacity) {}

FeedHub::~FeedHub() = default;

bool FeedHub::Wants(const http::Request& request) const {
    return request.path == "/api/v1/feed";
}

void FeedHub::Upgrade(http::UpgradeContext&& context, http::Request /*request*/) {
    auto session = std::make_shared<FeedSession>(std::move(context), *this);
    {
        const std::lock_guard lock(sessions_mutex_);
        sessions_.push_back(session);
    }
    session->Start();
}

void FeedHub::Publish(const SegmentCondition& condition) {
    journal_.Append(
        condition.summary.segment,
        condition.summary.version,
        std::make_shared<const std::string>(SummaryJson(condition.summary))
    );
}

void FeedHub::Flush() {
    const std::uint64_t head = journal_.next();
    if (head == flushed_) {
        return;
    }
    flushed_ = head;
    const std::lock_guard lock(sessions_mutex_);
    std::erase_if(sessions_, [](const std::weak_ptr<FeedSession>& w) { return w.expired(); });
    for (const auto& w : sessions_) {
        if (auto s = w.lock()) {
            s->Wake();
        }
    }
}

void FeedHub::Shutdown() {
    const std::lock_guard lock(sessions_mutex_);
    for (const auto& w : sessions_) {
        if (auto s = w.lock()) {
            s->CloseWith(websocket::close_code::going_away, "server shutting down");
        }
    }
}

}  // namespace pavewatch::gateway
