// wear_bench: the steps of the wear processor's benchmark (bench/wear/run.sh runs them in
// order; docs/benchmarks.md, "Wear processor", has the figures).
//
//   load      produce N deterministic observations over K segments into a topic, fast
//   count     records in a topic (sum over partitions of high - low watermark, read_committed)
//   watch     wait until a consumer group has committed a topic's end offsets, sampling the
//             processing process's CPU time (utime + stime from /proc/<pid>/stat) and memory
//   restore   wait until `pavewatch wear` has restored every partition from the changelog
//   verify    compare a stopped wear instance's RocksDB state with the offline fold of the load
//
// Every step prints one line `<STEP>_DONE key=value ...` on stdout for the script to parse;
// progress and errors go to stderr. Loopback only: brokers and the metrics port are local.

#include "pavewatch/bench/metrics_text.hpp"
#include "pavewatch/bench/process_sample.hpp"
#include "pavewatch/kafka/kafka.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/simulate/synthetic_load.hpp"
#include "pavewatch/state/rocks_store.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace pavewatch::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// `--name value` pairs after the step name.
class Args {
public:
    Args(int argc, char** argv) {
        for (int i = 2; i < argc; ++i) {
            std::string a = argv[i];
            if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
                throw std::invalid_argument("expected --name value, got " + a);
            }
            values_[a.substr(2)] = argv[++i];
        }
    }
    std::string Get(const std::string& name) const {
        const auto it = values_.find(name);
        if (it == values_.end()) {
            throw std::invalid_argument("--" + name + " is required");
        }
        return it->second;
    }
    std::string Get(const std::string& name, const std::string& fallback) const {
        const auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    std::uint64_t Num(const std::string& name) const { return std::stoull(Get(name)); }
    std::uint64_t Num(const std::string& name, std::uint64_t fallback) const {
        const auto it = values_.find(name);
        return it == values_.end() ? fallback : std::stoull(it->second);
    }
    /// The power-law exponent of the load's segments (--zipf, 0 = uniform).
    double Zipf() const {
        const auto it = values_.find("zipf");
        const double z = it == values_.end() ? 0.0 : std::stod(it->second);
        if (!(z >= 0.0 && z <= 3.0)) {
            throw std::invalid_argument("--zipf must be within 0-3");
        }
        return z;
    }

private:
    std::map<std::string, std::string> values_;
};

kafka::ClientConfig Client(const Args& args, const std::string& id) {
    kafka::ClientConfig c;
    c.brokers = args.Get("brokers");
    c.client_id = id;
    return c;
}

double Seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// ---- /metrics ---------------------------------------------------------------------------------

/// GET http://127.0.0.1:<port>/metrics; empty on any failure.
std::string ScrapeMetrics(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return {};
    }
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
            char buf[65536];
            for (;;) {
                const ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n <= 0) {
                    break;
                }
                out.append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    close(fd);
    const auto body = out.find("\r\n\r\n");
    return body == std::string::npos ? std::string{} : out.substr(body + 4);
}

// ---- Kafka ------------------------------------------------------------------------------------

std::vector<kafka::TopicPartition> Partitions(const Args& args, const std::string& topic) {
    auto count = kafka::PartitionCount(Client(args, "wear-bench-meta"), topic, milliseconds(10000));
    if (!count) {
        throw std::runtime_error("partitions of " + topic + ": " + count.error().Describe());
    }
    std::vector<kafka::TopicPartition> out;
    out.reserve(static_cast<std::size_t>(*count));
    for (int p = 0; p < *count; ++p) {
        out.push_back({topic, p});
    }
    return out;
}

/// Last stable offset minus low watermark, per partition.
std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>>
Watermarks(const Args& args, const std::string& topic) {
    kafka::ConsumerOptions options;
    options.read_committed = true;
    auto consumer = kafka::Consumer::Create(Client(args, "wear-bench-marks"), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& tp : Partitions(args, topic)) {
        auto marks = consumer->QueryWatermarks(tp, milliseconds(10000));
        if (!marks) {
            throw std::runtime_error("watermarks of " + topic + ": " + marks.error().Describe());
        }
        out[tp.partition] = *marks;
    }
    return out;
}

std::int64_t CountRecords(const Args& args, const std::string& topic) {
    std::int64_t total = 0;
    for (const auto& [p, marks] : Watermarks(args, topic)) {
        total += marks.second - marks.first;
    }
    return total;
}

// ---- Steps ------------------------------------------------------------------------------------

int Load(const Args& args) {
    const std::string topic = args.Get("topic");
    const auto count = args.Num("count");
    const auto segments = args.Num("segments");
    const auto seed = args.Num("seed", 1);
    const auto step_ms = static_cast<std::int64_t>(args.Num("step-ms", 300));
    const double zipf = args.Zipf();
    const auto first = args.Num("first", 0);
    const int partitions = static_cast<int>(args.Num("partitions", 6));
    if (auto t = kafka::EnsureTopics(
            Client(args, "wear-bench-admin"), {{topic, partitions, 1, {}}}, milliseconds(30000)
        );
        !t) {
        throw std::runtime_error("creating " + topic + ": " + t.error().Describe());
    }
    auto client = Client(args, "wear-bench-load");
    // Large batches: the load is a bulk copy, not a latency-sensitive stream.
    client.properties["batch.num.messages"] = "100000";
    client.properties["batch.size"] = "1000000";
    client.properties["compression.codec"] = args.Get("compression", "none");
    kafka::ProducerOptions options;
    options.linger = milliseconds(50);
    std::string failure;
    options.on_delivery_failure = [&](const kafka::KafkaError& e, std::string_view) {
        failure = e.Describe();
    };
    auto producer = kafka::Producer::Create(client, options);
    if (!producer) {
        throw std::runtime_error(producer.error().Describe());
    }
    const auto started = Clock::now();
    std::string value;
    for (std::uint64_t i = first; i < first + count; ++i) {
        const auto o = simulate::SyntheticObservation(i, segments, seed, step_ms, zipf);
        value.clear();
        pipeline::EncodeObservation(o, value);
        const std::string key = pipeline::SegmentKey(o.segment);
        if (auto r = producer->ProduceWaiting(topic, key, value, milliseconds(10)); !r) {
            throw std::runtime_error("produce: " + r.error().Describe());
        }
        if ((i & 8191U) == 0) {
            producer->Poll(milliseconds(0));
        }
    }
    if (auto f = producer->Flush(milliseconds(300000)); !f) {
        throw std::runtime_error("flush: " + f.error().Describe());
    }
    if (!failure.empty()) {
        throw std::runtime_error("delivery: " + failure);
    }
    const double seconds = Seconds(Clock::now() - started);
    std::printf(
        "LOAD_DONE records=%" PRIu64 " seconds=%.3f rate=%.0f\n",
        count,
        seconds,
        static_cast<double>(count) / seconds
    );
    return 0;
}

int Count(const Args& args) {
    std::printf("COUNT_DONE records=%" PRId64 "\n", CountRecords(args, args.Get("topic")));
    return 0;
}

int Watch(const Args& args) {
    const std::string topic = args.Get("topic");
    const std::string group = args.Get("group");
    const int pid = static_cast<int>(args.Num("pid"));
    const int metrics_port = static_cast<int>(args.Num("metrics-port", 0));
    const std::string records_metric = args.Get("records-metric", "pavewatch_wear_records_total");
    const auto timeout = std::chrono::seconds(args.Num("timeout-s", 900));
    const auto poll = milliseconds(args.Num("poll-ms", 20));

    std::map<std::int32_t, std::int64_t> end;
    std::int64_t total = 0;
    for (const auto& [p, marks] : Watermarks(args, topic)) {
        end[p] = marks.second;
        total += marks.second - marks.first;
    }
    kafka::ConsumerOptions options;
    options.group_id = group;  // never subscribes: only reads the group's committed offsets
    options.read_committed = true;
    auto consumer = kafka::Consumer::Create(Client(args, "wear-bench-watch"), options);
    if (!consumer) {
        throw std::runtime_error(consumer.error().Describe());
    }
    std::vector<kafka::TopicPartition> partitions;
    partitions.reserve(end.size());
    for (const auto& [p, offset] : end) {
        partitions.push_back({topic, p});
    }

    const auto started = Clock::now();
    std::optional<Clock::time_point> first_at;
    ProcessSample first_sample;
    auto last_report = started;
    std::int64_t done_records = 0;
    for (;;) {
        const auto now = Clock::now();
        if (now - started > timeout) {
            std::fprintf(
                stderr, "watch: timed out at %" PRId64 " of %" PRId64 "\n", done_records, total
            );
            return 1;
        }
        if (!first_at && metrics_port > 0) {
            // The first record processed: the processor's own counter (scraped every 5 ms
            // until then, and never after, so that the scrapes cost it nothing while it works).
            const auto m = MetricSum(ScrapeMetrics(metrics_port), records_metric);
            if (m && *m > 0) {
                first_at = Clock::now();
                first_sample = SampleProcess(pid);
            } else {
                if (!SampleProcess(pid).alive) {
                    std::fprintf(stderr, "watch: process %d is gone\n", pid);
                    return 1;
                }
                std::this_thread::sleep_for(milliseconds(5));
                continue;
            }
        }
        auto committed = consumer->Committed(partitions, milliseconds(10000));
        if (committed) {
            bool all = true;
            done_records = 0;
            for (const auto& o : *committed) {
                const std::int64_t at = std::max<std::int64_t>(0, o.offset);
                done_records += at;
                all = all && at >= end[o.partition];
            }
            if (all) {
                const auto done_at = Clock::now();
                const ProcessSample s = SampleProcess(pid);
                if (!s.alive) {
                    std::fprintf(stderr, "watch: process %d is gone\n", pid);
                    return 1;
                }
                const double seconds = Seconds(done_at - first_at.value_or(started));
                const double cpu = s.cpu_seconds - first_sample.cpu_seconds;
                // The share of state lookups the processor's cache answered (its counters are
                // published every 2 s, so this misses at most the last 2 s); -1 if unknown.
                double hit_ratio = -1.0;
                if (metrics_port > 0) {
                    const std::string text = ScrapeMetrics(metrics_port);
                    const auto all = MetricSum(text, "pavewatch_wear_cache_lookups_total");
                    const auto hits =
                        MetricSum(text, "pavewatch_wear_cache_lookups_total{found=\"memory\"}");
                    if (all && hits && *all > 0) {
                        hit_ratio = *hits / *all;
                    }
                }
                std::printf(
                    "WATCH_DONE records=%" PRId64
                    " seconds=%.3f cpu_seconds=%.2f wall_total=%.3f cpu_total=%.2f"
                    " vmhwm_kb=%" PRIu64 " vmrss_kb=%" PRIu64 " threads=%d cache_hit_ratio=%.3f\n",
                    total,
                    seconds,
                    cpu,
                    s.age_seconds,
                    s.cpu_seconds,
                    s.vmhwm_kb,
                    s.vmrss_kb,
                    s.threads,
                    hit_ratio
                );
                return 0;
            }
        }
        const ProcessSample s = SampleProcess(pid);
        if (!s.alive) {
            std::fprintf(stderr, "watch: process %d is gone\n", pid);
            return 1;
        }
        if (now - last_report >= std::chrono::seconds(5)) {
            last_report = now;
            std::fprintf(
                stderr,
                "  watch: %" PRId64 " of %" PRId64 " committed, cpu %.1f s, rss %" PRIu64 " MiB\n",
                done_records,
                total,
                s.cpu_seconds,
                s.vmrss_kb >> 10
            );
        }
        std::this_thread::sleep_for(poll);
    }
}

int WatchRestore(const Args& args) {
    const int pid = static_cast<int>(args.Num("pid"));
    const int metrics_port = static_cast<int>(args.Num("metrics-port"));
    const auto partitions = static_cast<double>(args.Num("partitions", 6));
    const auto timeout = std::chrono::seconds(args.Num("timeout-s", 900));
    const auto started = Clock::now();
    auto last_report = started;
    for (;;) {
        const std::string text = ScrapeMetrics(metrics_port);
        const auto restored = MetricSum(text, "pavewatch_wear_restore_duration_seconds_count");
        const auto restoring = MetricSum(text, "pavewatch_wear_restoring_partitions");
        const auto records = MetricSum(text, "pavewatch_wear_restore_records_total");
        if (restored && restoring && *restored >= partitions && *restoring == 0) {
            const ProcessSample s = SampleProcess(pid);
            const auto sum = MetricSum(text, "pavewatch_wear_restore_duration_seconds_sum");
            std::printf(
                "RESTORE_DONE partitions=%.0f records=%.0f since_start=%.3f cpu_total=%.2f"
                " duration_sum=%.3f vmhwm_kb=%" PRIu64 " vmrss_kb=%" PRIu64 "\n",
                *restored,
                records.value_or(0),
                s.age_seconds,
                s.cpu_seconds,
                sum.value_or(0),
                s.vmhwm_kb,
                s.vmrss_kb
            );
            return 0;
        }
        const ProcessSample s = SampleProcess(pid);
        if (!s.alive) {
            std::fprintf(stderr, "restore: process %d is gone\n", pid);
            return 1;
        }
        if (Clock::now() - started > timeout) {
            std::fprintf(stderr, "restore: timed out\n");
            return 1;
        }
        if (Clock::now() - last_report >= std::chrono::seconds(5)) {
            last_report = Clock::now();
            std::fprintf(
                stderr,
                "  restore: %.0f records, %.0f partitions restored, rss %" PRIu64 " MiB\n",
                records.value_or(0),
                restored.value_or(0),
                s.vmrss_kb >> 10
            );
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
}

int Verify(const Args& args) {
    const auto count = args.Num("count");
    const auto segments = args.Num("segments");
    const auto seed = args.Num("seed", 1);
    const auto step_ms = static_cast<std::int64_t>(args.Num("step-ms", 300));
    const double zipf = args.Zipf();
    const int partitions = static_cast<int>(args.Num("partitions", 6));
    const pipeline::ModelConfig config;  // `pavewatch wear` without --model-config
    std::unordered_map<std::uint64_t, pipeline::SegmentState> reference;
    reference.reserve(std::min<std::uint64_t>(segments, count) * 2);
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto o = simulate::SyntheticObservation(i, segments, seed, step_ms, zipf);
        pipeline::Apply(reference[o.segment.value()], o, config);
    }
    auto store = state::RocksSegmentStore::Open(args.Get("state-dir") + "/rocksdb");
    if (!store) {
        throw std::runtime_error(store.error().message);
    }
    std::uint64_t stored = 0;
    std::uint64_t identical = 0;
    std::uint64_t different = 0;
    std::uint64_t extra = 0;
    std::uint64_t versions = 0;
    std::uint64_t stored_bytes = 0;
    std::string encoded;
    for (int p = 0; p < partitions; ++p) {
        auto scanned = (*store)->ForEach(p, [&](pipeline::SegmentId id, std::string_view bytes) {
            ++stored;
            stored_bytes += bytes.size();
            const auto it = reference.find(id.value());
            if (it == reference.end()) {
                ++extra;
                return;
            }
            encoded.clear();
            pipeline::EncodeState(it->second, encoded);
            if (encoded == bytes) {
                ++identical;
                versions += it->second.version;
            } else {
                ++different;
            }
        });
        if (!scanned) {
            throw std::runtime_error(scanned.error().message);
        }
    }
    const std::uint64_t missing = reference.size() - identical - different;
    std::printf(
        "VERIFY_DONE segments=%zu stored=%" PRIu64 " identical=%" PRIu64 " different=%" PRIu64
        " missing=%" PRIu64 " extra=%" PRIu64 " observations=%" PRIu64 " state_bytes=%" PRIu64 "\n",
        reference.size(),
        stored,
        identical,
        different,
        missing,
        extra,
        versions,
        stored_bytes
    );
    return identical == reference.size() && extra == 0 && versions == count ? 0 : 1;
}

}  // namespace
}  // namespace pavewatch::bench

int main(int argc, char** argv) {
    using pavewatch::bench::Args;
    using pavewatch::bench::Count;
    using pavewatch::bench::Load;
    using pavewatch::bench::Verify;
    using pavewatch::bench::Watch;
    using pavewatch::bench::WatchRestore;
    const std::string usage =
        "usage: wear_bench load|count|watch|restore|verify --name value ...\n"
        "  load    --brokers B --topic T --count N --segments K [--seed 1] [--step-ms 300] [--zipf "
        "0]\n"
        "          [--partitions 6]\n"
        "          [--compression none]\n"
        "  count   --brokers B --topic T\n"
        "  watch   --brokers B --topic T --group G --pid P [--metrics-port M] [--timeout-s 900]\n"
        "          [--records-metric pavewatch_wear_records_total]\n"
        "  restore --pid P --metrics-port M [--partitions 6] [--timeout-s 900]\n"
        "  verify  --state-dir D --count N --segments K [--seed 1] [--step-ms 300] [--zipf 0]\n"
        "          [--partitions 6]\n";
    if (argc < 2) {
        std::cerr << usage;
        return 2;
    }
    const std::string step = argv[1];
    try {
        const Args args(argc, argv);
        if (step == "load") {
            return Load(args);
        }
        if (step == "count") {
            return Count(args);
        }
        if (step == "watch") {
            return Watch(args);
        }
        if (step == "restore") {
            return WatchRestore(args);
        }
        if (step == "verify") {
            return Verify(args);
        }
        std::cerr << usage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "wear_bench " << step << ": " << e.what() << "\n";
        return 1;
    }
}
