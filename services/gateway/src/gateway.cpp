#include "pavewatch/gateway/gateway.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/common/files.hpp"
#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/common/options.hpp"
#include "pavewatch/common/stop.hpp"
#include "pavewatch/gateway/api.hpp"
#include "pavewatch/gateway/condition_view.hpp"
#include "pavewatch/gateway/feed.hpp"
#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/program_options.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

namespace pavewatch::gateway {
namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

/// The route label of a request for metrics: a fixed set, never the raw path (ids would make a
/// time series each).
std::string RouteOf(const std::string& path) {
    if (path == "/api/v1/segments") {
        return "segments";
    }
    if (path.rfind("/api/v1/segments/", 0) == 0) {
        return "segment";
    }
    if (path == "/api/v1/hazards") {
        return "hazards";
    }
    if (path == "/api/v1/network") {
        return "network";
    }
    if (path == "/api/v1/repairs") {
        return "repairs";
    }
    if (path == "/api/v1/feed") {
        return "feed";
    }
    if (path == "/config.json") {
        return "config";
    }
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
        return path.substr(1);
    }
    if (path.rfind("/api/", 0) == 0) {
        return "api_other";
    }
    return "static";
}

/// Contractors' actions to `pavewatch.hazard-actions`, keyed by segment, with an idempotent
/// producer. Submit is thread-safe (librdkafka's produce is); Poll runs on the reader thread.
class KafkaActionSink final : public ActionSink {
public:
    KafkaActionSink(const common::KafkaOptions& kafka, common::Logger& log)
        : topic_(kafka.topics.hazard_actions), log_(log) {
        kafka::ProducerOptions options;
        options.on_delivery_failure = [this](const kafka::KafkaError& e, std::string_view) {
            log_.Error("a hazard action was not delivered", {{"error", e.Describe()}});
        };
        auto p = kafka::Producer::Create(kafka.Client("pavewatch-gateway-actions", &log), options);
        if (!p) {
            log.Error("cannot create the actions producer", {{"error", p.error().Describe()}});
            return;
        }
        producer_.emplace(std::move(*p));
    }
    bool ok() const { return producer_.has_value(); }

    tl::expected<void, std::string> Submit(const pipeline::Observation& action) override {
        auto r = producer_->Produce(
            topic_, pipeline::SegmentKey(action.segment), pipeline::HazardActionToJson(action)
        );
        if (!r) {
            return tl::unexpected(std::string("unavailable"));
        }
        log_.Info(
            "hazard action submitted",
            {{"segment", pipeline::SegmentKey(action.segment)},
             {"actor", std::get<pipeline::HazardAction>(action.body).actor}}
        );
        return {};
    }
    void Poll() { producer_->Poll(std::chrono::milliseconds(0)); }
    void Flush() { (void)producer_->Flush(std::chrono::seconds(5)); }

private:
    std::string topic_;
    common::Logger& log_;
    std::optional<kafka::Producer> producer_;
};

/// Reads `pavewatch.conditions` and `pavewatch.condition-history` from every partition
/// (read_committed, from the start) into the view and the feed; ready once it has reached the end
/// of every partition of both once.
class ConditionsReader {
    /// What became of the records read from one topic: counted by outcome, and a warning for
    /// each ignored one, throttled (a gateway given another road network than the wear
    /// processor's would otherwise write a line per record; the counter counts every one).
    struct Outcomes {
        Outcomes(prometheus::Registry& registry, const std::string& name, const std::string& help)
            : family(prometheus::BuildCounter().Name(name).Help(help).Register(registry)),
              applied(family.Add({{"outcome", "applied"}})),
              stale(family.Add({{"outcome", "stale"}})),
              invalid(family.Add({{"outcome", "invalid"}})) {}

        prometheus::Family<prometheus::Counter>& family;
        prometheus::Counter& applied;
        prometheus::Counter& stale;
        prometheus::Counter& invalid;
        common::LogThrottle warnings{10, std::chrono::seconds(10)};
    };

public:
    ConditionsReader(
        const common::KafkaOptions& kafka,
        ConditionView& view,
        FeedHub& hub,
        KafkaActionSink& actions,
        common::Logger& log,
        prometheus::Registry& registry
    )
        : kafka_(kafka),
          view_(view),
          hub_(hub),
          actions_(actions),
          log_(log),
          conditions_(
              registry,
              "pavewatch_gateway_conditions_total",
              "Condition records read from the conditions topic, by outcome (applied, stale, "
              "invalid)"
          ),
          history_(
              registry,
              "pavewatch_gateway_history_records_total",
              "History records read from the condition history topic, by outcome (applied, "
              "stale, invalid)"
          ) {
        event_age_ = &prometheus::BuildHistogram()
                          .Name("pavewatch_gateway_event_age_seconds")
                          .Help(
                              "Time from the latest observation of a segment to its condition "
                              "reaching the gateway"
                          )
                          .Register(registry)
                          .Add(
                              {},
                              prometheus::Histogram::BucketBoundaries{
                                  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}
                          );
    }

    bool ready() const { return ready_.load(); }

    void Run() {
        // Both topics, each with its own partition count (created alike, but an operator may
        // have created them otherwise).
        const std::vector<std::string> topics{
            kafka_.topics.conditions, kafka_.topics.condition_history};
        std::vector<int> partitions;
        while (!common::StopFlag::Requested() && partitions.size() < topics.size()) {
            auto count = kafka::PartitionCount(
                kafka_.Client("pavewatch-gateway-meta", &log_),
                topics[partitions.size()],
                std::chrono::seconds(5)
            );
            if (count) {
                partitions.push_back(*count);
                continue;
            }
            log_.Warn(
                "waiting for a topic",
                {{"topic", topics[partitions.size()]}, {"error", count.error().Describe()}}
            );
            common::StopFlag::WaitFor(std::chrono::seconds(1));
        }
        if (partitions.size() < topics.size()) {
            return;
        }
        kafka::ConsumerOptions co;
        co.read_committed = true;
        co.report_partition_eof = true;
        auto consumer = kafka::Consumer::Create(kafka_.Client("pavewatch-gateway", &log_), co);
        if (!consumer) {
            log_.Error(
                "cannot create the conditions consumer", {{"error", consumer.error().Describe()}}
            );
            return;
        }
        std::vector<kafka::TopicPartitionOffset> all;
        for (std::size_t t = 0; t < topics.size(); ++t) {
            for (int p = 0; p < partitions[t]; ++p) {
                all.push_back({topics[t], p, kafka::kOffsetBeginning});
            }
        }
        (void)consumer->Assign(all);
        // Caught up with a partition once the consumer reaches the end the partition had when
        // the reader first fetched from it: a partition-end event, or a record at or past that
        // end. The event alone is not enough: librdkafka raises it only when a fetch response
        // brings nothing new, which a partition written every commit interval (~100 ms) may
        // never do. The end is the high watermark of the first fetch response (no blocking
        // query, which on a just-created topic waits for its leader).
        // first_end[t][p]: that end for partition p of topics[t] (-1 until known).
        std::vector<std::vector<std::int64_t>> first_end;
        std::size_t all_partitions = 0;
        for (const int n : partitions) {
            first_end.emplace_back(static_cast<std::size_t>(n), -1);
            all_partitions += static_cast<std::size_t>(n);
        }
        std::set<std::pair<std::size_t, int>> at_end;
        const auto caught_up = [&](std::size_t topic, int partition) {
            at_end.insert({topic, partition});
            if (!ready_.load() && at_end.size() == all_partitions) {
                ready_.store(true);
                log_.Info(
                    "conditions read up to the end",
                    {{"segments_with_data", static_cast<std::int64_t>(view_.with_data())}}
                );
            }
        };
        const auto topic_index = [&](std::string_view topic) -> std::size_t {
            return topic == topics[1] ? 1 : 0;
        };
        auto last_flush = Clock::now();
        while (!common::StopFlag::Requested()) {
            const auto r = consumer->Poll(std::chrono::milliseconds(20));
            if (!ready_.load()) {
                for (std::size_t t = 0; t < topics.size(); ++t) {
                    for (int p = 0; p < partitions[t]; ++p) {
                        auto& end = first_end[t][static_cast<std::size_t>(p)];
                        if (end < 0 && !at_end.contains({t, p})) {
                            if (const auto marks = consumer->CachedWatermarks({topics[t], p})) {
                                end = marks->second;
                            }
                        }
                    }
                }
            }
            if (r.status == kafka::PollStatus::kRecord) {
                const std::size_t t = topic_index(r.record.topic);
                const auto p = static_cast<std::size_t>(r.record.partition);
                if (p < first_end[t].size() && first_end[t][p] >= 0 &&
                    r.record.offset >= first_end[t][p]) {
                    caught_up(t, r.record.partition);
                }
                if (t == 1) {
                    ApplyHistory(r.record);
                } else {
                    ApplyCondition(r.record);
                }
            } else if (r.status == kafka::PollStatus::kPartitionEof) {
                caught_up(topic_index(r.record.topic), r.record.partition);
            } else if (r.status == kafka::PollStatus::kError) {
                log_.Warn("conditions consumer error", {{"error", r.error.Describe()}});
            }
            if (Clock::now() - last_flush >= std::chrono::milliseconds(10)) {
                hub_.Flush();
                actions_.Poll();
                last_flush = Clock::now();
            }
        }
        consumer->Close();
    }

private:
    void ApplyCondition(const kafka::RecordView& record) {
        std::string error;
        if (auto change = view_.Apply(record.value, &error)) {
            conditions_.applied.Increment();
            hub_.Publish(change->before, change->now);
            if (ready_.load() && change->now.summary.updated_ms > 0) {
                event_age_->Observe(std::max(
                    0.0,
                    static_cast<double>(common::WallMs() - change->now.summary.updated_ms) / 1000.0
                ));
            }
        } else if (error.empty()) {
            conditions_.stale.Increment();
        } else {
            Ignored(conditions_, "condition record ignored", record, error);
        }
    }

    void ApplyHistory(const kafka::RecordView& record) {
        std::string error;
        if (view_.ApplyHistory(record.value, &error)) {
            history_.applied.Increment();
        } else if (error.empty()) {
            history_.stale.Increment();
        } else {
            Ignored(history_, "history record ignored", record, error);
        }
    }

    void Ignored(
        Outcomes& outcomes,
        std::string_view message,
        const kafka::RecordView& record,
        const std::string& error
    ) {
        outcomes.invalid.Increment();
        if (auto suppressed = outcomes.warnings.Admit(Clock::now())) {
            log_.Warn(
                message,
                {{"partition", record.partition},
                 {"offset", record.offset},
                 {"error", error},
                 {"suppressed", *suppressed}}
            );
        }
    }

    const common::KafkaOptions& kafka_;
    ConditionView& view_;
    FeedHub& hub_;
    KafkaActionSink& actions_;
    common::Logger& log_;
    std::atomic<bool> ready_{false};
    Outcomes conditions_;
    Outcomes history_;
    prometheus::Histogram* event_age_;
};

/// Gauges and counters derived from the feed's and the view's own counts, refreshed every second.
class GatewayMetrics {
public:
    explicit GatewayMetrics(prometheus::Registry& r) {
        ws_open_ = &prometheus::BuildGauge()
                        .Name("pavewatch_gateway_websocket_connections")
                        .Help("Open WebSocket feed connections")
                        .Register(r)
                        .Add({});
        ws_messages_ = &prometheus::BuildCounter()
                            .Name("pavewatch_gateway_websocket_messages_sent_total")
                            .Help("Feed messages sent")
                            .Register(r)
                            .Add({});
        auto& closes = prometheus::BuildCounter()
                           .Name("pavewatch_gateway_websocket_closes_total")
                           .Help(
                               "Feed connections closed by the server, by reason (too_slow, "
                               "over_budget, protocol, going_away)"
                           )
                           .Register(r);
        close_slow_ = &closes.Add({{"reason", "too_slow"}});
        close_budget_ = &closes.Add({{"reason", "over_budget"}});
        close_protocol_ = &closes.Add({{"reason", "protocol"}});
        close_normal_ = &closes.Add({{"reason", "going_away"}});
        coalesced_ =
            &prometheus::BuildCounter()
                 .Name("pavewatch_gateway_websocket_updates_coalesced_total")
                 .Help("Updates replaced by a newer one of the same segment for slow clients")
                 .Register(r)
                 .Add({});
        snapshots_ = &prometheus::BuildCounter()
                          .Name("pavewatch_gateway_websocket_snapshots_total")
                          .Help("Snapshots sent to feed clients")
                          .Register(r)
                          .Add({});
        queued_ = &prometheus::BuildGauge()
                       .Name("pavewatch_gateway_websocket_queued_bytes")
                       .Help("Bytes queued for feed clients, all connections")
                       .Register(r)
                       .Add({});
        http_open_ = &prometheus::BuildGauge()
                          .Name("pavewatch_gateway_http_connections")
                          .Help("Open HTTP connections, upgraded ones included")
                          .Register(r)
                          .Add({});
        http_rejected_ = &prometheus::BuildCounter()
                              .Name("pavewatch_gateway_http_rejected_connections_total")
                              .Help("Connections refused above the connection limit")
                              .Register(r)
                              .Add({});
        http_timeouts_ = &prometheus::BuildCounter()
                              .Name("pavewatch_gateway_http_timeouts_total")
                              .Help("HTTP requests cut off by the request deadline (slow clients)")
                              .Register(r)
                              .Add({});
        auto& by_class = prometheus::BuildGauge()
                             .Name("pavewatch_gateway_segments")
                             .Help("Segments by condition class (no_data: no condition yet)")
                             .Register(r);
        for (int c = 0; c <= static_cast<int>(pipeline::ConditionClass::kFailed); ++c) {
            by_class_[c] = &by_class.Add(
                {{"class", pipeline::ToString(static_cast<pipeline::ConditionClass>(c))}}
            );
        }
        no_data_ = &by_class.Add({{"class", "no_data"}});
        auto& hazards = prometheus::BuildGauge()
                            .Name("pavewatch_gateway_hazards")
                            .Help(
                                "Hazards by status (candidate, confirmed, acknowledged, "
                                "repair_reported, verified, disputed, resolved)"
                            )
                            .Register(r);
        for (int st = 0; st <= static_cast<int>(pipeline::HazardStatus::kResolved); ++st) {
            hazards_[static_cast<std::size_t>(st)] = &hazards.Add(
                {{"status", pipeline::ToString(static_cast<pipeline::HazardStatus>(st))}}
            );
        }
        freshness_ = &prometheus::BuildGauge()
                          .Name("pavewatch_gateway_data_freshness_seconds")
                          .Help("Age of the newest condition the gateway holds (event time)")
                          .Register(r)
                          .Add({});
    }

    void Update(const FeedStats& feed, const ConditionView& view, const http::ServerStats& http) {
        ws_open_->Set(static_cast<double>(feed.connections_open.load()));
        Advance(ws_messages_, feed.messages_sent.load(), last_messages_);
        Advance(close_slow_, feed.closed_slow.load(), last_slow_);
        Advance(close_budget_, feed.closed_over_budget.load(), last_budget_);
        Advance(close_protocol_, feed.closed_protocol.load(), last_protocol_);
        Advance(close_normal_, feed.closed_normal.load(), last_normal_);
        Advance(coalesced_, feed.updates_coalesced.load(), last_coalesced_);
        Advance(snapshots_, feed.snapshots_sent.load(), last_snapshots_);
        queued_->Set(static_cast<double>(feed.queued_bytes.load()));
        http_open_->Set(static_cast<double>(http.open_connections));
        Advance(http_rejected_, http.rejected_connections, last_rejected_);
        Advance(http_timeouts_, http.timeouts, last_timeouts_);
        std::array<int, 7> counts{};
        std::array<int, 7> hazard_counts{};
        int none = 0;
        std::int64_t newest = 0;
        view.ForEach([&](const pipeline::Segment&, const SegmentCondition* c) {
            if (c == nullptr || !c->summary.klass) {
                ++none;
            } else {
                ++counts[static_cast<std::size_t>(*c->summary.klass)];
            }
            if (c != nullptr) {
                newest = std::max(newest, c->summary.updated_ms);
                for (const auto& h : c->summary.hazards) {
                    ++hazard_counts[static_cast<std::size_t>(h.status)];
                }
            }
        });
        for (std::size_t i = 0; i < counts.size(); ++i) {
            by_class_[i]->Set(counts[i]);
        }
        no_data_->Set(none);
        for (std::size_t i = 0; i < hazard_counts.size(); ++i) {
            hazards_[i]->Set(hazard_counts[i]);
        }
        if (newest > 0) {
            // Event times ahead of the clock (a sped-up simulation, a device clock running
            // fast) count as fresh, not as negative age.
            freshness_->Set(std::max(0.0, static_cast<double>(common::WallMs() - newest) / 1000.0));
        }
    }

private:
    static void Advance(prometheus::Counter* c, std::uint64_t now, std::uint64_t& last) {
        if (now > last) {
            c->Increment(static_cast<double>(now - last));
            last = now;
        }
    }

    prometheus::Gauge* ws_open_;
    prometheus::Counter* ws_messages_;
    prometheus::Counter* close_slow_;
    prometheus::Counter* close_budget_;
    prometheus::Counter* close_protocol_;
    prometheus::Counter* close_normal_;
    prometheus::Counter* coalesced_;
    prometheus::Counter* snapshots_;
    prometheus::Gauge* queued_;
    prometheus::Gauge* http_open_;
    prometheus::Counter* http_rejected_;
    prometheus::Counter* http_timeouts_;
    std::array<prometheus::Gauge*, 7> by_class_{};
    prometheus::Gauge* no_data_;
    std::array<prometheus::Gauge*, 7> hazards_{};
    prometheus::Gauge* freshness_;
    std::uint64_t last_messages_ = 0, last_slow_ = 0, last_budget_ = 0, last_protocol_ = 0,
                  last_normal_ = 0, last_coalesced_ = 0, last_snapshots_ = 0, last_rejected_ = 0,
                  last_timeouts_ = 0;
};

}  // namespace

int Main(int argc, char** argv) {
    common::KafkaOptions kafka;
    common::CommonOptions common_options;
    common::NetworkOptions network_options;
    std::string address = "127.0.0.1";
    int port = 8080;
    int threads = 2;
    std::string web_root = "web/dist";
    std::string tile_url;
    std::string tokens_file;
    std::string hash_token;
    bool print_routes = false;
    FeedOptions feed_options;
    long long resume_window_s = feed_options.resume_window.count();
    http::ServerOptions server_options;
    long long request_timeout_ms = server_options.request_timeout.count();
    std::size_t send_buffer_kb = server_options.socket_send_buffer_bytes >> 10;
    po::options_description desc(
        "pavewatch gateway: live condition map, REST API, WebSocket feed and metrics"
    );
    common::AddCommonOptions(desc, common_options, false);
    common::AddKafkaOptions(desc, kafka);
    common::AddNetworkOptions(desc, network_options, false);
    desc.add_options()(
        "address",
        po::value(&address)->default_value(address),
        "listen address (0.0.0.0 for every interface)"
    )("port", po::value(&port)->default_value(port), "listen port of the map, API and feed")(
        "threads", po::value(&threads)->default_value(threads), "I/O threads"
    )("web-root", po::value(&web_root)->default_value(web_root), "folder of the built map page")(
        "tile-url", po::value(&tile_url), "optional raster basemap URL template {z}/{x}/{y}"
    )("tokens",
      po::value(&tokens_file),
      "access tokens file (JSON); without it the gateway is open to everyone as the agency")(
        "hash-token",
        po::value(&hash_token),
        "print the SHA-256 of a token for the tokens file, then exit"
    )("print-routes",
      po::bool_switch(&print_routes),
      "print the routes the gateway answers, then exit")(
        "feed-max-queued-bytes",
        po::value(&feed_options.max_queued_bytes)->default_value(feed_options.max_queued_bytes),
        "bytes queued for one feed client above which it is closed (4008)"
    )("feed-max-total-queued-bytes",
      po::value(&feed_options.max_total_queued_bytes)
          ->default_value(feed_options.max_total_queued_bytes),
      "bytes queued for all feed clients together above which those behind are closed (4008)")(
        "feed-resume-window-s",
        po::value(&resume_window_s)->default_value(resume_window_s),
        "how long a dropped feed session can be resumed, seconds"
    )("http-request-timeout-ms",
      po::value(&request_timeout_ms)->default_value(request_timeout_ms),
      "time a client has to send a whole HTTP request (slow clients are cut off)")(
        "http-max-connections",
        po::value(&server_options.max_connections)->default_value(server_options.max_connections),
        "open connections (feed included) above which new ones are refused with 503"
    )("http-send-buffer-kb",
      po::value(&send_buffer_kb)->default_value(send_buffer_kb),
      "kernel send buffer of each connection, KiB (0: the kernel's autotuning)");
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch gateway: " << parsed.error()
                  << "\n(see pavewatch gateway --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    if (!hash_token.empty()) {
        if (!WellFormedToken(hash_token)) {
            std::cerr << "pavewatch gateway: a token is 16-256 characters of A-Z a-z 0-9 . _ ~ -\n";
            return 2;
        }
        std::cout << Sha256Hex(hash_token) << "\n";
        return 0;
    }
    if (print_routes) {
        for (const auto& r : ApiRoutes()) {
            std::cout << r.method << " " << r.path << "\n";
        }
        return 0;
    }
    auto level = common::ValidateCommon(kafka, common_options);
    if (!level) {
        std::cerr << "pavewatch gateway: " << level.error() << "\n";
        return 2;
    }
    if (resume_window_s < 0 || resume_window_s > 3600 || feed_options.max_queued_bytes < 65536 ||
        feed_options.max_total_queued_bytes < 65536) {
        std::cerr << "pavewatch gateway: --feed-resume-window-s must be within 0..3600, and "
                     "--feed-max-queued-bytes and --feed-max-total-queued-bytes at least 65536\n";
        return 2;
    }
    feed_options.resume_window = std::chrono::seconds(resume_window_s);
    if (request_timeout_ms < 100 || request_timeout_ms > 600000) {
        std::cerr << "pavewatch gateway: --http-request-timeout-ms must be within 100..600000\n";
        return 2;
    }
    server_options.request_timeout = std::chrono::milliseconds(request_timeout_ms);
    if (send_buffer_kb != 0 && (send_buffer_kb < 16 || send_buffer_kb > 65536)) {
        std::cerr << "pavewatch gateway: --http-send-buffer-kb must be 0 or within 16..65536\n";
        return 2;
    }
    server_options.socket_send_buffer_bytes = send_buffer_kb << 10;
    if (port < 0 || port > 65535 || threads < 1 || threads > 64) {
        std::cerr
            << "pavewatch gateway: --port must be within 0..65535 and --threads within 1..64\n";
        return 2;
    }
    common::Logger log("gateway", *level);
    auto network = common::LoadNetwork(network_options);
    if (!network) {
        std::cerr << "pavewatch gateway: " << network.error() << "\n";
        return 2;
    }
    TokenStore tokens;
    if (!tokens_file.empty()) {
        auto text = common::ReadWholeFile(tokens_file);
        if (!text) {
            std::cerr << "pavewatch gateway: " << text.error() << "\n";
            return 2;
        }
        auto loaded = TokenStore::FromJson(*text, *network->network);
        if (!loaded) {
            std::cerr << "pavewatch gateway: tokens " << tokens_file << ": "
                      << loaded.error().Describe() << "\n";
            return 2;
        }
        tokens = std::move(*loaded);
    }
    auto files = StaticFiles::Load(web_root);
    if (!files) {
        std::cerr << "pavewatch gateway: " << files.error() << "\n";
        return 2;
    }
    common::StopFlag::InstallSignalHandlers();
    auto registry = std::make_shared<prometheus::Registry>();
    common::Ops ops("gateway", registry);
    ops.SetReady(false, "reading the conditions topic");

    if (kafka.create_topics) {
        if (auto t = kafka::EnsureTopics(
                kafka.Client("pavewatch-gateway-admin", &log),
                kafka.TopicSpecs(),
                std::chrono::seconds(30)
            );
            !t) {
            log.Error("cannot create topics", {{"error", t.error().Describe()}});
            return 1;
        }
    }

    std::string config_json;
    {
        pipeline::JsonWriter w(config_json);
        w.BeginObject();
        if (tile_url.empty()) {
            w.Key("tile_url").Null();
        } else {
            w.Key("tile_url").String(tile_url);
        }
        w.Key("attribution").String("© OpenStreetMap contributors (ODbL)");
        w.EndObject();
    }
    ConditionView view(*network->network);
    KafkaActionSink actions(kafka, log);
    if (!actions.ok()) {
        return 1;
    }
    FeedHub hub(view, *network->matcher, tokens, &actions, feed_options);
    Api api(view, *network->matcher, tokens, config_json);
    log.Info(
        "access", {{"tokens", static_cast<std::int64_t>(tokens.size())}, {"open", tokens.open()}}
    );

    auto& requests = prometheus::BuildCounter()
                         .Name("pavewatch_gateway_http_requests_total")
                         .Help("HTTP requests, by route and status code")
                         .Register(*registry);
    auto& durations = prometheus::BuildHistogram()
                          .Name("pavewatch_gateway_http_request_duration_seconds")
                          .Help("Time to answer an HTTP request, by route")
                          .Register(*registry);
    std::mutex metrics_mutex;
    std::map<std::string, prometheus::Histogram*> duration_by_route;
    const auto handler = [&](const http::Request& request) {
        const auto started = Clock::now();
        http::Response response;
        if (request.method != "GET" && request.method != "HEAD") {
            // Everything here is read-only: actions go through the feed.
            response = http::Problem(405, "Method Not Allowed", "only GET and HEAD are served");
            response.headers.emplace_back("Allow", "GET, HEAD");
        } else if (auto r = ops.Handle(request)) {
            response = std::move(*r);
        } else if (auto a = api.Handle(request)) {
            response = std::move(*a);
        } else if (auto f = files->Get(request.path)) {
            response = std::move(*f);
        } else {
            response = http::Problem(404, "Not Found", "nothing at " + request.path);
        }
        const std::string route = RouteOf(request.path);
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        {
            const std::lock_guard lock(metrics_mutex);
            requests.Add({{"route", route}, {"code", std::to_string(response.status)}}).Increment();
            auto it = duration_by_route.find(route);
            if (it == duration_by_route.end()) {
                it = duration_by_route
                         .emplace(
                             route,
                             &durations.Add(
                                 {{"route", route}},
                                 prometheus::Histogram::BucketBoundaries{
                                     0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}
                             )
                         )
                         .first;
            }
            it->second->Observe(seconds);
        }
        return response;
    };

    server_options.address = address;
    server_options.port = static_cast<std::uint16_t>(port);
    server_options.threads = threads;
    server_options.warn = [&log](const std::string& message) { log.Warn(message); };
    http::Server server(server_options, handler, &hub);
    if (auto started = server.Start(); !started) {
        log.Error("cannot start the HTTP server", {{"error", started.error()}});
        return 2;
    }
    log.Info(
        "serving",
        {{"address", address},
         {"port", static_cast<int>(server.port())},
         {"segments", static_cast<std::int64_t>(network->network->segments().size())}}
    );

    GatewayMetrics metrics(*registry);
    ConditionsReader reader(kafka, view, hub, actions, log, *registry);
    std::thread reader_thread([&] { reader.Run(); });
    while (!common::StopFlag::Requested()) {
        ops.Heartbeat();
        ops.SetReady(reader.ready(), "reading the conditions topic up to its end");
        metrics.Update(hub.stats(), view, server.stats());
        common::StopFlag::WaitFor(std::chrono::milliseconds(1000));
    }
    log.Info("stopping");
    ops.SetReady(false, "stopping");
    hub.Shutdown();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let close frames go out
    server.Stop();
    reader_thread.join();
    return 0;
}

}  // namespace pavewatch::gateway
