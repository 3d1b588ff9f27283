// gateway_load: the load side of the gateway benchmark (docs/benchmarks.md, "Gateway under
// load"). One process opens thousands of WebSocket feed subscribers to a running gateway (Asio
// on epoll, one io_context per thread), subscribes them with a mix of whole-network, bounding
// box, segment list and min_class subscriptions, and records the delivery latency of every
// `condition` message (now - received_us, both the wall clock of this machine). Beside them it
// runs a few slow consumers (they stop reading), an HTTP probe of GET /api/v1/segments, and a
// monitor of the gateway's /metrics and /proc/<pid>. It prints one JSON summary on stdout.
//
// Phases: connect (at --connect-rate), warm-up (--warmup-s), measurement (--measure-s); every
// figure except the snapshot times is taken over the measurement window only.
//
// Memory is bounded: latencies go to log-linear histograms (64 sub-buckets per power of two,
// error < 1.6 %), never to a per-message sample.

#include "pavewatch/bench/metrics_text.hpp"
#include "pavewatch/bench/process_sample.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/program_options.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pavewatch::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace po = boost::program_options;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

std::int64_t WallUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

double SecondsSince(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// ---------------------------------------------------------------------------------------------
// Options

/// Everything the run is parameterised by; parsed once in main.
struct LoadOptions {
    std::string host = "127.0.0.1";  ///< loopback only
    int port = 8080;
    /// Feed subscribers in all, slow consumers included. Default 1 000.
    int clients = 1000;
    /// Shares of the subscription kinds (normalised): whole network, a random bbox, a random
    /// list of segments, the whole network at min_class and worse. Default 40/40/10/10.
    double share_whole = 0.4;
    double share_bbox = 0.4;
    double share_segments = 0.1;
    double share_min_class = 0.1;
    /// Area of a bbox subscription, km² (a square centred on a random segment). Default 4.
    double bbox_km2 = 4.0;
    /// Segments in a segment-list subscription. Default 20.
    int list_segments = 20;
    /// Class of min_class subscriptions. Default "poor".
    std::string min_class = "poor";
    /// Slow consumers (part of `clients`, whole-network subscriptions): they stop reading at
    /// the start of the measurement and read again `slow_stall_s` later, to see how they were
    /// closed. Default 5, 20 s.
    int slow = 5;
    double slow_stall_s = 20.0;
    /// SO_RCVBUF of the slow consumers' sockets, bytes (small, so that the gateway's queue for
    /// them fills in seconds, not minutes). Default 64 KiB.
    int slow_rcvbuf = 64 * 1024;
    /// New connections per second, and handshakes in flight at most (the gateway's accept
    /// queue is not overrun). Defaults 500/s, 256.
    double connect_rate = 500.0;
    int max_pending = 256;
    /// Longest connect phase, seconds; the run goes on with whoever is connected. Default 120.
    double connect_deadline_s = 120.0;
    double warmup_s = 10.0;
    double measure_s = 60.0;
    /// I/O threads of this process (one io_context each). Default 1.
    int threads = 1;
    /// GET /api/v1/segments per second during the run (0: no probe). Default 2.
    double probe_rate = 2.0;
    /// The gateway's pid, for CPU and RSS from /proc (0: not sampled).
    int gateway_pid = 0;
    /// Other processes whose CPU is reported ("name=pid"), e.g. the producer and the broker.
    std::vector<std::string> watch;
    std::string network_file = PAVEWATCH_SOURCE_DIR "/data/almaty_roads.geojson";
    std::uint64_t seed = 1;
};

// ---------------------------------------------------------------------------------------------
// Histogram

/// Log-linear histogram of non-negative integers (microseconds here): exact below 64, then 64
/// sub-buckets per power of two. Fixed size (~21 KB); not thread-safe (one per thread, merged).
class Histogram {
public:
    static constexpr int kSubBits = 6;
    static constexpr std::int64_t kSub = 1 << kSubBits;
    static constexpr int kPowers = 40;  // up to 2^40 µs (12 days)

    Histogram() : counts_(static_cast<std::size_t>((kPowers + 1) * kSub), 0) {}

    void Record(std::int64_t value) {
        if (value < 0) {
            ++negative_;
            value = 0;
        }
        value = std::min<std::int64_t>(value, (std::int64_t{1} << kPowers) - 1);
        ++counts_[Index(value)];
        ++total_;
        sum_ += static_cast<double>(value);
        max_ = std::max(max_, value);
    }

    void Merge(const Histogram& other) {
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            counts_[i] += other.counts_[i];
        }
        total_ += other.total_;
        negative_ += other.negative_;
        sum_ += other.sum_;
        max_ = std::max(max_, other.max_);
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t negative() const { return negative_; }
    std::int64_t max() const { return max_; }
    double mean() const { return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_); }

    /// The value at quantile q (0..1): the middle of the bucket holding it.
    double Quantile(double q) const {
        if (total_ == 0) {
            return 0.0;
        }
        const auto rank =
            static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(total_))));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) {
                const auto [low, high] = Bounds(i);
                return std::min(static_cast<double>(max_), 0.5 * static_cast<double>(low + high));
            }
        }
        return static_cast<double>(max_);
    }

private:
    static std::size_t Index(std::int64_t v) {
        if (v < kSub) {
            return static_cast<std::size_t>(v);
        }
        const int msb = 63 - std::countl_zero(static_cast<std::uint64_t>(v));
        const int shift = msb - kSubBits;
        return static_cast<std::size_t>((shift + 1) * kSub + ((v >> shift) - kSub));
    }
    /// [low, high) of bucket i.
    static std::pair<std::int64_t, std::int64_t> Bounds(std::size_t i) {
        const auto index = static_cast<std::int64_t>(i);
        if (index < kSub) {
            return {index, index + 1};
        }
        const auto shift = index / kSub - 1;
        const auto sub = index % kSub + kSub;
        return {sub << shift, (sub + 1) << shift};
    }

    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
    std::uint64_t negative_ = 0;
    double sum_ = 0.0;
    std::int64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Subscriptions

enum class Kind : std::uint8_t { kWhole, kBbox, kSegments, kMinClass, kSlow };
constexpr std::size_t kKinds = 5;
const char* KindName(Kind k) {
    switch (k) {
        case Kind::kWhole:
            return "whole_network";
        case Kind::kBbox:
            return "bbox";
        case Kind::kSegments:
            return "segment_list";
        case Kind::kMinClass:
            return "min_class";
        case Kind::kSlow:
            return "slow";
    }
    return "?";
}

/// The network's segments as subscriptions need them: ids and a point of each.
struct NetworkIndex {
    std::vector<std::string> ids;
    std::vector<pipeline::LonLat> points;
};

/// The `subscribe` message of client number `n`.
std::string
SubscribeMessage(Kind kind, const NetworkIndex& net, const LoadOptions& o, std::mt19937_64& rng) {
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("type").String("subscribe");
    w.Key("kinds").BeginArray().String("conditions").EndArray();
    std::uniform_int_distribution<std::size_t> pick(0, net.ids.size() - 1);
    w.Key("bbox");
    if (kind == Kind::kBbox) {
        const auto c = net.points[pick(rng)];
        const double half_km = std::sqrt(o.bbox_km2) / 2.0;
        const double dlat = half_km / 111.32;
        const double dlon = half_km / (111.32 * std::cos(c.lat * M_PI / 180.0));
        w.BeginArray()
            .Fixed(c.lon - dlon, 6)
            .Fixed(c.lat - dlat, 6)
            .Fixed(c.lon + dlon, 6)
            .Fixed(c.lat + dlat, 6)
            .EndArray();
    } else {
        w.Null();
    }
    w.Key("segments");
    if (kind == Kind::kSegments) {
        w.BeginArray();
        for (int i = 0; i < o.list_segments; ++i) {
            w.String(net.ids[pick(rng)]);
        }
        w.EndArray();
    } else {
        w.Null();
    }
    w.Key("min_class");
    if (kind == Kind::kMinClass) {
        w.String(o.min_class);
    } else {
        w.Null();
    }
    w.EndObject();
    return out;
}

// ---------------------------------------------------------------------------------------------
// Feed clients

enum class Phase : int { kConnect = 0, kWarmup = 1, kMeasure = 2, kDone = 3 };
std::atomic<int> g_phase{static_cast<int>(Phase::kConnect)};
Phase CurrentPhase() {
    return static_cast<Phase>(g_phase.load(std::memory_order_relaxed));
}

/// What one I/O thread counted; merged at the end.
struct ThreadStats {
    std::array<Histogram, kKinds> latency;         ///< µs, measurement window
    std::array<Histogram, kKinds> snapshot_ms;     ///< subscribe sent -> snapshot read
    std::array<std::uint64_t, kKinds> clients{};   ///< subscribed (snapshot received)
    std::array<std::uint64_t, kKinds> messages{};  ///< condition messages, measurement window
    std::array<std::uint64_t, kKinds> bytes{};     ///< bytes of them
    std::array<std::uint64_t, kKinds> snapshot_bytes{};
    std::map<std::string, std::uint64_t> failures;  ///< connect/handshake/read errors by name
    std::map<int, std::uint64_t> closes;            ///< close codes received, by code
    std::map<int, std::uint64_t> slow_closes;       ///< of slow consumers
    std::uint64_t seq_gaps = 0;                     ///< seq not previous + 1
    std::uint64_t slow_drained_messages = 0;
    std::uint64_t open = 0;      ///< connections open now
    std::uint64_t finished = 0;  ///< subscribed or failed
};

/// One feed subscriber. Lives on its thread's io_context (no strand needed: one thread per
/// context); owned by its completion handlers.
class FeedClient : public std::enable_shared_from_this<FeedClient> {
public:
    FeedClient(
        asio::io_context& io,
        ThreadStats& stats,
        const LoadOptions& o,
        Kind kind,
        std::string subscribe
    )
        : ws_(io),
          timer_(io),
          stats_(stats),
          options_(o),
          kind_(kind),
          subscribe_(std::move(subscribe)) {}

    void Start(const tcp::endpoint& endpoint, std::function<void()> on_subscribed) {
        on_subscribed_ = std::move(on_subscribed);
        auto& socket = beast::get_lowest_layer(ws_).socket();
        beast::error_code ec;
        socket.open(tcp::v4(), ec);
        if (kind_ == Kind::kSlow && !ec) {
            socket.set_option(asio::socket_base::receive_buffer_size(options_.slow_rcvbuf), ec);
        }
        if (ec) {
            return Fail("socket", ec);
        }
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
        beast::get_lowest_layer(ws_).async_connect(
            endpoint, [self = shared_from_this()](beast::error_code e) { self->OnConnect(e); }
        );
    }

private:
    void OnConnect(beast::error_code ec) {
        if (ec) {
            return Fail("connect", ec);
        }
        ++stats_.open;
        counted_open_ = true;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = std::chrono::seconds(30);
        timeout.idle_timeout = websocket::stream_base::none();
        timeout.keep_alive_pings = false;
        ws_.set_option(timeout);
        ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(bhttp::field::sec_websocket_protocol, "pavewatch.v1");
        }));
        ws_.read_message_max(64U << 20);
        const std::string host = options_.host + ":" + std::to_string(options_.port);
        ws_.async_handshake(host, "/api/v1/feed", [self = shared_from_this()](beast::error_code e) {
            self->OnHandshake(e);
        });
    }

    void OnHandshake(beast::error_code ec) {
        if (ec) {
            return Fail("handshake", ec);
        }
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code e, std::size_t) {
            self->OnHello(e);
        });
    }

    void OnHello(beast::error_code ec) {
        if (ec) {
            return Fail("hello", ec);
        }
        const auto text = Text();
        if (text.find(R"("type":"hello")") == std::string_view::npos) {
            return Fail("hello", beast::error_code());
        }
        buffer_.consume(buffer_.size());
        ws_.text(true);
        subscribed_at_ = SteadyClock::now();
        ws_.async_write(
            asio::buffer(subscribe_),
            [self = shared_from_this()](beast::error_code e, std::size_t) {
                self->OnSubscribeSent(e);
            }
        );
    }

    void OnSubscribeSent(beast::error_code ec) {
        if (ec) {
            return Fail("subscribe", ec);
        }
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code e, std::size_t n) {
            self->OnSnapshot(e, n);
        });
    }

    void OnSnapshot(beast::error_code ec, std::size_t bytes) {
        if (ec) {
            return Fail("snapshot", ec);
        }
        const auto text = Text();
        if (text.find(R"("type":"snapshot")") == std::string_view::npos) {
            return Fail("snapshot_type", beast::error_code());
        }
        const auto k = static_cast<std::size_t>(kind_);
        stats_.snapshot_ms[k].Record(static_cast<std::int64_t>(SecondsSince(subscribed_at_) * 1e3));
        stats_.snapshot_bytes[k] += bytes;
        ++stats_.clients[k];
        last_seq_ = 1;
        buffer_.consume(buffer_.size());
        buffer_.shrink_to_fit();  // a snapshot can be megabytes; updates are < 1 KiB
        subscribed_ = true;
        Finished();
        if (kind_ == Kind::kSlow) {
            return WaitToStall();
        }
        Read();
    }

    /// Slow consumers read normally until the measurement starts, then stop reading for
    /// `slow_stall_s`, then drain what the gateway sent them (to learn how it closed them).
    void WaitToStall() {
        if (CurrentPhase() < Phase::kMeasure) {
            // Reads until the measurement starts, checking the phase between messages.
            return ws_.async_read(
                buffer_,
                [self = shared_from_this()](beast::error_code e, std::size_t) {
                    if (e) {
                        return self->OnClosed(e);
                    }
                    self->buffer_.consume(self->buffer_.size());
                    self->WaitToStall();
                }
            );
        }
        timer_.expires_after(std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(options_.slow_stall_s)
        ));
        timer_.async_wait([self = shared_from_this()](beast::error_code) {
            self->draining_ = true;
            self->Read();
        });
    }

    void Read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code e, std::size_t n) {
            self->OnMessage(e, n);
        });
    }

    void OnMessage(beast::error_code ec, std::size_t bytes) {
        if (ec) {
            return OnClosed(ec);
        }
        const std::int64_t now_us = WallUs();
        const auto text = Text();
        if (draining_) {
            ++stats_.slow_drained_messages;
        } else if (text.starts_with(R"({"type":"condition","seq":)")) {
            const auto seq = ParseInt(text, 26);
            if (seq && *seq != last_seq_ + 1) {
                ++stats_.seq_gaps;
            }
            if (seq) {
                last_seq_ = *seq;
            }
            const auto at = text.rfind(R"("received_us":)");
            const auto received =
                at == std::string_view::npos ? std::nullopt : ParseInt(text, at + 14);
            if (received && CurrentPhase() == Phase::kMeasure) {
                const auto k = static_cast<std::size_t>(kind_);
                stats_.latency[k].Record(now_us - *received);
                ++stats_.messages[k];
                stats_.bytes[k] += bytes;
            }
        } else if (const auto seq = ParseInt(text, text.find(R"("seq":)") + 6)) {
            last_seq_ = *seq;  // another numbered message (hazard, alert, error)
        }
        buffer_.consume(buffer_.size());
        Read();
    }

    void OnClosed(beast::error_code ec) {
        if (ec == websocket::error::closed) {
            const int code = static_cast<int>(ws_.reason().code);
            ++(kind_ == Kind::kSlow ? stats_.slow_closes : stats_.closes)[code];
        } else if (ec != asio::error::operation_aborted) {
            ++stats_.failures
                  [std::string(kind_ == Kind::kSlow ? "slow_" : "") + "read: " + ec.message()];
        }
        Close();
    }

    void Fail(const char* step, beast::error_code ec) {
        ++stats_.failures[std::string(step) + (ec ? ": " + ec.message() : "")];
        if (!subscribed_) {
            Finished();
        }
        Close();
    }

    void Finished() {
        if (!finished_) {
            finished_ = true;
            ++stats_.finished;
            if (on_subscribed_) {
                on_subscribed_();
            }
        }
    }

    void Close() {
        if (counted_open_) {
            counted_open_ = false;
            --stats_.open;
        }
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    std::string_view Text() const {
        const auto data = buffer_.data();
        return {static_cast<const char*>(data.data()), data.size()};
    }

    static std::optional<std::int64_t> ParseInt(std::string_view text, std::size_t at) {
        if (at >= text.size()) {
            return std::nullopt;
        }
        std::int64_t v = 0;
        std::size_t i = at;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
            v = v * 10 + (text[i] - '0');
        }
        return i == at ? std::nullopt : std::optional<std::int64_t>(v);
    }

    websocket::stream<beast::tcp_stream> ws_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    ThreadStats& stats_;
    const LoadOptions& options_;
    Kind kind_;
    std::string subscribe_;
    std::function<void()> on_subscribed_;
    SteadyClock::time_point subscribed_at_;
    std::int64_t last_seq_ = 0;
    bool counted_open_ = false;
    bool subscribed_ = false;
    bool finished_ = false;
    bool draining_ = false;
};

/// One I/O thread: its io_context, its share of the clients (started at its share of the
/// connect rate, at most its share of `max_pending` handshakes in flight) and its counts.
class Worker {
public:
    Worker(const LoadOptions& o, std::vector<std::pair<Kind, std::string>> clients, int workers)
        : options_(o),
          clients_(std::move(clients)),
          timer_(io_),
          rate_(o.connect_rate / workers),
          max_pending_(std::max(1, o.max_pending / workers)) {}

    void Run() {
        endpoint_ = tcp::endpoint(asio::ip::make_address(options_.host), options_.port);
        started_ = SteadyClock::now();
        Tick();
        thread_ = std::thread([this] {
            auto guard = asio::make_work_guard(io_);
            io_.run();
        });
    }
    void Stop() {
        io_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    const ThreadStats& stats() const { return stats_; }
    /// Read from the main thread while running: approximate, for progress only.
    std::uint64_t finished() const { return finished_.load(std::memory_order_relaxed); }

private:
    void Tick() {
        const double due = SecondsSince(started_) * rate_;
        while (next_ < clients_.size() && static_cast<double>(next_) < due &&
               pending_ < max_pending_) {
            auto& [kind, subscribe] = clients_[next_++];
            ++pending_;
            auto client =
                std::make_shared<FeedClient>(io_, stats_, options_, kind, std::move(subscribe));
            client->Start(endpoint_, [this] {
                --pending_;
                finished_.store(stats_.finished, std::memory_order_relaxed);
            });
        }
        if (next_ < clients_.size()) {
            timer_.expires_after(std::chrono::milliseconds(5));
            timer_.async_wait([this](beast::error_code ec) {
                if (!ec) {
                    Tick();
                }
            });
        }
    }

    const LoadOptions& options_;
    std::vector<std::pair<Kind, std::string>> clients_;
    asio::io_context io_{1};
    asio::steady_timer timer_;
    tcp::endpoint endpoint_;
    double rate_;
    int max_pending_;
    int pending_ = 0;
    std::size_t next_ = 0;
    SteadyClock::time_point started_;
    ThreadStats stats_;
    std::atomic<std::uint64_t> finished_{0};
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// HTTP probe and monitor

/// A keep-alive HTTP/1.1 GET client for the probe and the monitor threads: blocking for its
/// caller, but built on async operations so that Beast's timeouts apply (they do not to
/// synchronous calls). Each request has at most `timeout` to connect, send and read.
class HttpGetter {
public:
    explicit HttpGetter(const LoadOptions& o) : options_(o) {}

    /// The body, or nullopt with the reason in `error`. One retry on a fresh connection.
    std::optional<std::string>
    Get(const std::string& target, std::chrono::seconds timeout, std::string* error) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            beast::error_code ec;
            if (!stream_) {
                stream_.emplace(io_);
                stream_->expires_after(timeout);
                Await(
                    [&](auto done) {
                        stream_->async_connect(
                            tcp::endpoint(asio::ip::make_address(options_.host), options_.port),
                            done
                        );
                    },
                    ec
                );
                if (ec) {
                    *error = "connect: " + ec.message();
                    stream_.reset();
                    continue;
                }
            }
            bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
            req.set(bhttp::field::host, options_.host);
            req.keep_alive(true);
            stream_->expires_after(timeout);
            Await(
                [&](auto done) {
                    bhttp::async_write(*stream_, req, [done](beast::error_code e, std::size_t) {
                        done(e);
                    });
                },
                ec
            );
            bhttp::response_parser<bhttp::string_body> parser;
            parser.body_limit(256U << 20);
            if (!ec) {
                Await(
                    [&](auto done) {
                        bhttp::async_read(
                            *stream_,
                            buffer_,
                            parser,
                            [done](beast::error_code e, std::size_t) { done(e); }
                        );
                    },
                    ec
                );
            }
            if (ec) {
                *error = ec.message();
                stream_.reset();
                buffer_.clear();
                continue;
            }
            auto res = parser.release();
            if (!res.keep_alive()) {
                stream_.reset();
            }
            if (res.result_int() != 200) {
                *error = "status " + std::to_string(res.result_int());
                return std::nullopt;
            }
            return std::move(res.body());
        }
        return std::nullopt;
    }

private:
    /// Starts one async operation and runs the io_context until it completes.
    template <typename Start>
    void Await(Start start, beast::error_code& ec) {
        bool finished = false;
        start([&](beast::error_code e) {
            ec = e;
            finished = true;
        });
        io_.restart();
        while (!finished && io_.run_one() > 0) {
        }
    }

    const LoadOptions& options_;
    asio::io_context io_;
    std::optional<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
};

double LoadAverage1() {
    std::ifstream in("/proc/loadavg");
    double v = 0;
    in >> v;
    return v;
}

double OwnCpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Runs GET /api/v1/segments at a fixed rate (a slow answer delays the next one: the figures
/// are per request, without correction for coordinated omission) and records its latency in
/// the measurement window.
class Probe {
public:
    explicit Probe(const LoadOptions& o) : options_(o), http_(o) {}

    void Run() {
        if (options_.probe_rate <= 0) {
            return;
        }
        const auto period = std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(1.0 / options_.probe_rate)
        );
        auto next = SteadyClock::now();
        while (CurrentPhase() != Phase::kDone) {
            std::this_thread::sleep_until(next);
            next += period;
            const auto started = SteadyClock::now();
            std::string error;
            const auto body = http_.Get("/api/v1/segments", std::chrono::seconds(30), &error);
            const double ms = SecondsSince(started) * 1e3;
            if (CurrentPhase() != Phase::kMeasure) {
                continue;
            }
            if (body) {
                latency_us_.Record(static_cast<std::int64_t>(ms * 1e3));
                bytes_ = body->size();
            } else {
                ++errors_[error];
            }
            if (SteadyClock::now() > next) {
                next = SteadyClock::now();
            }
        }
    }

    const Histogram& latency_us() const { return latency_us_; }
    std::size_t bytes() const { return bytes_; }
    const std::map<std::string, std::uint64_t>& errors() const { return errors_; }

private:
    const LoadOptions& options_;
    HttpGetter http_;
    Histogram latency_us_;
    std::size_t bytes_ = 0;
    std::map<std::string, std::uint64_t> errors_;
};

/// Every second: the gateway's RSS, its queued feed bytes and open feed connections, the load
/// average; at the window's edges: CPU of the gateway and the watched processes, and the
/// gateway's counters.
class Monitor {
public:
    explicit Monitor(const LoadOptions& o)
        : options_(o),
          http_(o),
          counters_start_(kCounters.size()),
          counters_end_(kCounters.size()) {
        for (const auto& w : o.watch) {
            const auto eq = w.find('=');
            if (eq != std::string::npos) {
                watched_.push_back({w.substr(0, eq), std::stoi(w.substr(eq + 1)), 0, 0});
            }
        }
    }

    /// Series as the gateway's /metrics page writes them (a name alone sums its label sets).
    static constexpr std::array<std::string_view, 10> kCounters{
        R"(pavewatch_gateway_websocket_closes_total{reason="too_slow"})",
        R"(pavewatch_gateway_websocket_closes_total{reason="over_budget"})",
        R"(pavewatch_gateway_websocket_closes_total{reason="protocol"})",
        R"(pavewatch_gateway_websocket_closes_total{reason="going_away"})",
        "pavewatch_gateway_websocket_updates_coalesced_total",
        "pavewatch_gateway_websocket_messages_sent_total",
        "pavewatch_gateway_websocket_snapshots_total",
        R"(pavewatch_gateway_conditions_total{outcome="applied"})",
        R"(pavewatch_gateway_conditions_total{outcome="stale"})",
        "pavewatch_gateway_http_rejected_connections_total",
    };

    void Run() {
        bool measuring = false;
        while (CurrentPhase() != Phase::kDone) {
            const auto phase = CurrentPhase();
            if (phase == Phase::kMeasure && !measuring) {
                measuring = true;
                Edge(true);
            }
            if (measuring) {
                Sample();
            }
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        if (measuring) {
            Edge(false);
        }
    }

    void Write(pipeline::JsonWriter& w) const {
        w.Key("window_s").Number(window_s_);
        w.Key("load_average_1m").BeginObject();
        w.Key("start").Number(load_start_);
        w.Key("end").Number(load_end_);
        w.Key("mean").Number(load_n_ > 0 ? load_sum_ / load_n_ : 0.0);
        w.Key("max").Number(load_max_);
        w.EndObject();
        w.Key("gateway").BeginObject();
        w.Key("cpu_cores").Number(window_s_ > 0 ? (cpu_end_ - cpu_start_) / window_s_ : 0.0);
        w.Key("rss_mib_start").Number(rss_first_);
        w.Key("rss_mib_end").Number(rss_last_);
        w.Key("rss_mib_max").Number(rss_max_);
        w.Key("hwm_mib").Number(hwm_);
        w.Key("queued_bytes_max").Number(queued_max_);
        w.Key("queued_bytes_end").Number(queued_last_);
        w.Key("feed_connections_end").Number(connections_last_);
        w.Key("metrics_errors").UInt(metrics_errors_);
        w.Key("counters_in_window").BeginObject();
        for (std::size_t i = 0; i < kCounters.size(); ++i) {
            w.Key(kCounters[i]);
            if (counters_start_[i] && counters_end_[i]) {
                w.Number(*counters_end_[i] - *counters_start_[i]);
            } else {
                w.Null();
            }
        }
        w.EndObject();
        w.Key("counters_total_at_end").BeginObject();
        for (std::size_t i = 0; i < kCounters.size(); ++i) {
            w.Key(kCounters[i]);
            if (counters_end_[i]) {
                w.Number(*counters_end_[i]);
            } else {
                w.Null();
            }
        }
        w.EndObject();
        w.EndObject();
        w.Key("cpu_cores").BeginObject();
        w.Key("load_client").Number(window_s_ > 0 ? (own_end_ - own_start_) / window_s_ : 0.0);
        for (const auto& p : watched_) {
            w.Key(p.name).Number(window_s_ > 0 ? (p.end - p.start) / window_s_ : 0.0);
        }
        w.EndObject();
    }

private:
    struct Watched {
        std::string name;
        int pid;
        double start;
        double end;
    };

    void Edge(bool start) {
        const auto now = SteadyClock::now();
        const double load = LoadAverage1();
        const double cpu =
            options_.gateway_pid > 0 ? SampleProcess(options_.gateway_pid).cpu_seconds : 0.0;
        for (auto& p : watched_) {
            (start ? p.start : p.end) = SampleProcess(p.pid).cpu_seconds;
        }
        std::string error;
        const auto metrics = http_.Get("/metrics", std::chrono::seconds(10), &error);
        auto& counters = start ? counters_start_ : counters_end_;
        counters.assign(kCounters.size(), std::nullopt);
        if (metrics) {
            for (std::size_t i = 0; i < kCounters.size(); ++i) {
                counters[i] = MetricSum(*metrics, kCounters[i]);
            }
        } else {
            ++metrics_errors_;
        }
        if (start) {
            window_start_ = now;
            load_start_ = load;
            cpu_start_ = cpu;
            own_start_ = OwnCpuSeconds();
        } else {
            window_s_ = std::chrono::duration<double>(now - window_start_).count();
            load_end_ = load;
            cpu_end_ = cpu;
            own_end_ = OwnCpuSeconds();
            if (options_.gateway_pid > 0) {
                hwm_ = static_cast<double>(SampleProcess(options_.gateway_pid).vmhwm_kb) / 1024.0;
            }
        }
    }

    void Sample() {
        const double load = LoadAverage1();
        load_sum_ += load;
        ++load_n_;
        load_max_ = std::max(load_max_, load);
        if (options_.gateway_pid > 0) {
            const ProcessSample p = SampleProcess(options_.gateway_pid);
            if (p.alive) {
                const double rss = static_cast<double>(p.vmrss_kb) / 1024.0;
                if (rss_first_ == 0) {
                    rss_first_ = rss;
                }
                rss_last_ = rss;
                rss_max_ = std::max(rss_max_, rss);
            }
        }
        std::string error;
        if (const auto metrics = http_.Get("/metrics", std::chrono::seconds(10), &error)) {
            queued_last_ =
                MetricSum(*metrics, "pavewatch_gateway_websocket_queued_bytes").value_or(0);
            queued_max_ = std::max(queued_max_, queued_last_);
            connections_last_ =
                MetricSum(*metrics, "pavewatch_gateway_websocket_connections").value_or(0);
        } else {
            ++metrics_errors_;
        }
    }

    const LoadOptions& options_;
    HttpGetter http_;
    std::vector<Watched> watched_;
    SteadyClock::time_point window_start_;
    double window_s_ = 0;
    double load_start_ = 0, load_end_ = 0, load_sum_ = 0, load_max_ = 0;
    int load_n_ = 0;
    double cpu_start_ = 0, cpu_end_ = 0, own_start_ = 0, own_end_ = 0;
    double rss_first_ = 0, rss_last_ = 0, rss_max_ = 0, hwm_ = 0;
    double queued_max_ = 0, queued_last_ = 0, connections_last_ = 0;
    std::uint64_t metrics_errors_ = 0;
    std::vector<std::optional<double>> counters_start_, counters_end_;
};

// ---------------------------------------------------------------------------------------------
// Main

void WriteHistogramMs(pipeline::JsonWriter& w, const Histogram& h, double scale_to_ms) {
    w.BeginObject();
    w.Key("count").UInt(h.count());
    w.Key("p50").Fixed(h.Quantile(0.50) * scale_to_ms, 3);
    w.Key("p90").Fixed(h.Quantile(0.90) * scale_to_ms, 3);
    w.Key("p99").Fixed(h.Quantile(0.99) * scale_to_ms, 3);
    w.Key("p999").Fixed(h.Quantile(0.999) * scale_to_ms, 3);
    w.Key("max").Fixed(static_cast<double>(h.max()) * scale_to_ms, 3);
    w.Key("mean").Fixed(h.mean() * scale_to_ms, 3);
    if (h.negative() > 0) {
        w.Key("negative").UInt(h.negative());
    }
    w.EndObject();
}

int Run(int argc, char** argv) {
    LoadOptions o;
    po::options_description desc(
        "gateway_load: WebSocket feed subscribers, slow consumers and an HTTP probe against a "
        "running gateway; prints a JSON summary"
    );
    desc.add_options()("help", "this text")(
        "port", po::value(&o.port)->default_value(o.port), "gateway port on 127.0.0.1"
    )("clients", po::value(&o.clients)->default_value(o.clients), "feed subscribers in all")(
        "share-whole", po::value(&o.share_whole)->default_value(o.share_whole), "share: whole"
    )("share-bbox", po::value(&o.share_bbox)->default_value(o.share_bbox), "share: bbox")(
        "share-segments",
        po::value(&o.share_segments)->default_value(o.share_segments),
        "share: segment list"
    )("share-min-class",
      po::value(&o.share_min_class)->default_value(o.share_min_class),
      "share: min_class")(
        "bbox-km2", po::value(&o.bbox_km2)->default_value(o.bbox_km2), "bbox area, km²"
    )("list-segments",
      po::value(&o.list_segments)->default_value(o.list_segments),
      "segments per segment list")(
        "min-class", po::value(&o.min_class)->default_value(o.min_class), "min_class value"
    )("slow",
      po::value(&o.slow)->default_value(o.slow),
      "slow consumers (whole network; part of --clients)")(
        "slow-stall-s",
        po::value(&o.slow_stall_s)->default_value(o.slow_stall_s),
        "how long slow consumers stop reading, from the measurement start"
    )("slow-rcvbuf",
      po::value(&o.slow_rcvbuf)->default_value(o.slow_rcvbuf),
      "SO_RCVBUF of slow consumers, bytes")(
        "connect-rate",
        po::value(&o.connect_rate)->default_value(o.connect_rate),
        "new connections per second"
    )("max-pending",
      po::value(&o.max_pending)->default_value(o.max_pending),
      "handshakes in flight at most")(
        "connect-deadline-s",
        po::value(&o.connect_deadline_s)->default_value(o.connect_deadline_s),
        "longest connect phase"
    )("warmup-s", po::value(&o.warmup_s)->default_value(o.warmup_s), "warm-up after connecting")(
        "measure-s", po::value(&o.measure_s)->default_value(o.measure_s), "measurement window"
    )("threads", po::value(&o.threads)->default_value(o.threads), "I/O threads")(
        "probe-rate",
        po::value(&o.probe_rate)->default_value(o.probe_rate),
        "GET /api/v1/segments per second (0: none)"
    )("gateway-pid", po::value(&o.gateway_pid), "gateway pid for CPU and RSS")(
        "watch", po::value(&o.watch)->composing(), "name=pid of another process to report CPU of"
    )("network", po::value(&o.network_file)->default_value(o.network_file), "road network"
    )("seed", po::value(&o.seed)->default_value(o.seed), "random seed of the subscriptions");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "gateway_load: " << e.what() << "\n";
        return 2;
    }
    if (vm.count("help") != 0U) {
        std::cout << desc << "\n";
        return 0;
    }
    if (o.clients < 1 || o.threads < 1 || o.slow < 0 || o.slow > o.clients || o.connect_rate <= 0 ||
        o.measure_s <= 0) {
        std::cerr << "gateway_load: --clients, --threads >= 1, 0 <= --slow <= --clients, "
                     "--connect-rate and --measure-s > 0\n";
        return 2;
    }

    // Sockets: a descriptor per client. Root may raise the hard limit; others get the hard one.
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    rlimit wanted{65536, std::max<rlim_t>(65536, limit.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
        wanted = {limit.rlim_max, limit.rlim_max};
        setrlimit(RLIMIT_NOFILE, &wanted);
    }
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < static_cast<rlim_t>(o.clients) + 64) {
        std::cerr << "gateway_load: only " << limit.rlim_cur << " file descriptors for "
                  << o.clients << " clients (ulimit -n)\n";
        return 2;
    }

    std::ifstream in(o.network_file);
    std::stringstream text;
    text << in.rdbuf();
    auto network = pipeline::RoadNetwork::FromGeoJson(text.str());
    if (!network) {
        std::cerr << "gateway_load: " << o.network_file << ": " << network.error().Describe()
                  << "\n";
        return 2;
    }
    NetworkIndex net;
    for (const auto& s : network->segments()) {
        net.ids.push_back(pipeline::ToString(s.id));
        net.points.push_back(s.points[s.points.size() / 2]);
    }

    // The clients, in a shuffled order so that every kind connects throughout the phase.
    std::mt19937_64 rng(o.seed);
    const double total_share = o.share_whole + o.share_bbox + o.share_segments + o.share_min_class;
    const int regular = o.clients - o.slow;
    std::vector<Kind> kinds;
    const auto add = [&](Kind k, double share) {
        const int n = static_cast<int>(std::lround(regular * share / total_share));
        for (int i = 0; i < n && static_cast<int>(kinds.size()) < regular; ++i) {
            kinds.push_back(k);
        }
    };
    add(Kind::kWhole, o.share_whole);
    add(Kind::kBbox, o.share_bbox);
    add(Kind::kSegments, o.share_segments);
    add(Kind::kMinClass, o.share_min_class);
    while (static_cast<int>(kinds.size()) < regular) {
        kinds.push_back(Kind::kBbox);
    }
    kinds.insert(kinds.end(), static_cast<std::size_t>(o.slow), Kind::kSlow);
    std::shuffle(kinds.begin(), kinds.end(), rng);
    std::vector<std::vector<std::pair<Kind, std::string>>> per_worker(
        static_cast<std::size_t>(o.threads)
    );
    std::array<std::uint64_t, kKinds> planned{};
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        ++planned[static_cast<std::size_t>(kinds[i])];
        const Kind as = kinds[i] == Kind::kSlow ? Kind::kWhole : kinds[i];
        per_worker[i % per_worker.size()].emplace_back(kinds[i], SubscribeMessage(as, net, o, rng));
    }

    std::vector<std::unique_ptr<Worker>> workers;
    workers.reserve(per_worker.size());
    for (auto& clients : per_worker) {
        workers.push_back(std::make_unique<Worker>(o, std::move(clients), o.threads));
    }
    Probe probe(o);
    Monitor monitor(o);
    std::thread probe_thread([&] { probe.Run(); });
    std::thread monitor_thread([&] { monitor.Run(); });

    const auto started = SteadyClock::now();
    for (auto& w : workers) {
        w->Run();
    }
    std::uint64_t finished = 0;
    while (SecondsSince(started) < o.connect_deadline_s) {
        finished = 0;
        for (const auto& w : workers) {
            finished += w->finished();
        }
        if (finished >= static_cast<std::uint64_t>(o.clients)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const double connect_s = SecondsSince(started);
    std::cerr << "gateway_load: " << finished << "/" << o.clients << " clients done connecting in "
              << connect_s << " s; warm-up " << o.warmup_s << " s, measuring " << o.measure_s
              << " s\n";
    g_phase.store(static_cast<int>(Phase::kWarmup));
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
    g_phase.store(static_cast<int>(Phase::kMeasure));
    std::this_thread::sleep_for(std::chrono::duration<double>(o.measure_s));
    g_phase.store(static_cast<int>(Phase::kDone));
    monitor_thread.join();
    probe_thread.join();
    for (auto& w : workers) {
        w->Stop();
    }

    ThreadStats all;
    for (const auto& w : workers) {
        const auto& s = w->stats();
        for (std::size_t k = 0; k < kKinds; ++k) {
            all.latency[k].Merge(s.latency[k]);
            all.snapshot_ms[k].Merge(s.snapshot_ms[k]);
            all.clients[k] += s.clients[k];
            all.messages[k] += s.messages[k];
            all.bytes[k] += s.bytes[k];
            all.snapshot_bytes[k] += s.snapshot_bytes[k];
        }
        for (const auto& [name, n] : s.failures) {
            all.failures[name] += n;
        }
        for (const auto& [code, n] : s.closes) {
            all.closes[code] += n;
        }
        for (const auto& [code, n] : s.slow_closes) {
            all.slow_closes[code] += n;
        }
        all.seq_gaps += s.seq_gaps;
        all.slow_drained_messages += s.slow_drained_messages;
        all.open += s.open;
    }
    Histogram overall;
    std::uint64_t messages = 0;
    for (std::size_t k = 0; k < kKinds; ++k) {
        if (static_cast<Kind>(k) != Kind::kSlow) {
            overall.Merge(all.latency[k]);
            messages += all.messages[k];
        }
    }

    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("clients").Int(o.clients);
    w.Key("slow_consumers").Int(o.slow);
    w.Key("connect_s").Fixed(connect_s, 1);
    w.Key("connected_and_subscribed").UInt(finished);
    w.Key("open_at_end").UInt(all.open);
    w.Key("latency_ms");
    WriteHistogramMs(w, overall, 1e-3);
    w.Key("delivered_per_s").Fixed(static_cast<double>(messages) / o.measure_s, 0);
    w.Key("seq_gaps").UInt(all.seq_gaps);
    w.Key("by_kind").BeginObject();
    for (std::size_t k = 0; k < kKinds; ++k) {
        w.Key(KindName(static_cast<Kind>(k))).BeginObject();
        w.Key("planned").UInt(planned[k]);
        w.Key("subscribed").UInt(all.clients[k]);
        w.Key("messages_per_client_per_s")
            .Fixed(
                all.clients[k] == 0 ? 0.0
                                    : static_cast<double>(all.messages[k]) /
                                          static_cast<double>(all.clients[k]) / o.measure_s,
                2
            );
        w.Key("mean_message_bytes")
            .Fixed(
                all.messages[k] == 0
                    ? 0.0
                    : static_cast<double>(all.bytes[k]) / static_cast<double>(all.messages[k]),
                0
            );
        w.Key("latency_ms");
        WriteHistogramMs(w, all.latency[k], 1e-3);
        w.Key("snapshot_ms");
        WriteHistogramMs(w, all.snapshot_ms[k], 1.0);
        w.Key("snapshot_mean_bytes")
            .Fixed(
                all.clients[k] == 0 ? 0.0
                                    : static_cast<double>(all.snapshot_bytes[k]) /
                                          static_cast<double>(all.clients[k]),
                0
            );
        w.EndObject();
    }
    w.EndObject();
    w.Key("closes_received").BeginObject();
    for (const auto& [code, n] : all.closes) {
        w.Key(std::to_string(code)).UInt(n);
    }
    w.EndObject();
    w.Key("slow_consumers_closes_received").BeginObject();
    for (const auto& [code, n] : all.slow_closes) {
        w.Key(std::to_string(code)).UInt(n);
    }
    w.EndObject();
    w.Key("slow_consumers_drained_messages").UInt(all.slow_drained_messages);
    w.Key("failures").BeginObject();
    for (const auto& [name, n] : all.failures) {
        w.Key(name).UInt(n);
    }
    w.EndObject();
    w.Key("segments_probe").BeginObject();
    w.Key("rate_per_s").Number(o.probe_rate);
    w.Key("body_bytes").UInt(probe.bytes());
    w.Key("latency_ms");
    WriteHistogramMs(w, probe.latency_us(), 1e-3);
    w.Key("errors").BeginObject();
    for (const auto& [name, n] : probe.errors()) {
        w.Key(name).UInt(n);
    }
    w.EndObject();
    w.EndObject();
    monitor.Write(w);
    w.EndObject();
    std::cout << out << std::endl;
    return 0;
}

}  // namespace
}  // namespace pavewatch::bench

int main(int argc, char** argv) {
    return pavewatch::bench::Run(argc, argv);
}
