// gateway_updates: the update source of the gateway benchmark (docs/benchmarks.md, "Gateway
// under load"). Produces condition records, as pipeline::ConditionToJson writes them, to a
// conditions topic at a steady rate with an idempotent producer (pavewatch::kafka), keyed by
// segment like the wear processor. First one record per segment of the network (so that
// snapshots are full from the start), then `--rate` records per second on random segments,
// each segment's version increasing, until `--duration-s` passes or SIGINT/SIGTERM. Prints a
// JSON summary on stdout.
//
// Condition indices: each segment has a base drawn once from N(75, 12) clipped to [5, 100]
// (most roads good to fair, a few percent poor or worse), and each update moves ±3 around it,
// so that min_class subscriptions see a small, stable share of the updates.

#include "pavewatch/kafka/kafka.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pavewatch::bench {
namespace {

namespace po = boost::program_options;
using SteadyClock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void OnSignal(int /*signal*/) {
    g_stop.store(true);
}

std::int64_t WallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

/// A condition record with the fields and layout of pipeline::ConditionToJson (no hazards).
std::string ConditionRecord(
    const std::string& segment_id,
    std::uint64_t version,
    std::int64_t updated_ms,
    double index
) {
    const double rounded = std::round(index * 10.0) / 10.0;
    const double iri = std::round((1.0 + (100.0 - rounded) / 12.0) * 1000.0) / 1000.0;
    std::string out;
    out.reserve(512);
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(segment_id);
    w.Key("version").UInt(version);
    w.Key("updated_ms").Int(updated_ms);
    w.Key("condition_index").Number(rounded);
    w.Key("condition_class").String(pipeline::ToString(pipeline::ClassOfIndex(rounded)));
    w.Key("iri_m_per_km").Number(iri);
    w.Key("hazards_open").Int(0);
    w.Key("trend_per_30d").Null();
    w.Key("roughness").BeginObject();
    w.Key("iri_m_per_km").Number(iri);
    w.Key("class").String(iri < 2.5 ? "good" : (iri < 4.0 ? "fair" : "poor"));
    w.Key("confidence").Number(0.9);
    w.Key("traversals").UInt(12);
    w.Key("vehicles").UInt(7);
    w.Key("speed_spread_mps").Number(3.25);
    w.EndObject();
    w.Key("hazards").BeginArray().EndArray();
    w.EndObject();
    return out;
}

int Run(int argc, char** argv) {
    std::string brokers = "127.0.0.1:9092";
    std::string topic = "pavewatch.conditions";
    std::string network_file = PAVEWATCH_SOURCE_DIR "/data/almaty_roads.geojson";
    double rate = 5000.0;
    double duration_s = 0.0;
    std::uint64_t seed = 7;
    bool prefill = true;
    po::options_description desc(
        "gateway_updates: condition records to a conditions topic at a steady rate"
    );
    desc.add_options()("help", "this text")(
        "brokers", po::value(&brokers)->default_value(brokers), "bootstrap servers (loopback)"
    )("topic", po::value(&topic)->default_value(topic), "conditions topic")(
        "network", po::value(&network_file)->default_value(network_file), "road network"
    )("rate", po::value(&rate)->default_value(rate), "records per second")(
        "duration-s", po::value(&duration_s)->default_value(duration_s), "0: until a signal"
    )("prefill", po::value(&prefill)->default_value(prefill), "one record per segment first"
    )("seed", po::value(&seed)->default_value(seed), "seed");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "gateway_updates: " << e.what() << "\n";
        return 2;
    }
    if (vm.count("help") != 0U) {
        std::cout << desc << "\n";
        return 0;
    }
    if (rate <= 0 || duration_s < 0) {
        std::cerr << "gateway_updates: --rate must be > 0 and --duration-s >= 0\n";
        return 2;
    }
    std::ifstream in(network_file);
    std::stringstream text;
    text << in.rdbuf();
    auto network = pipeline::RoadNetwork::FromGeoJson(text.str());
    if (!network) {
        std::cerr << "gateway_updates: " << network_file << ": " << network.error().Describe()
                  << "\n";
        return 2;
    }
    struct SegmentLoad {
        std::string id;
        std::string key;
        double base = 75.0;
        std::uint64_t version = 0;
    };
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> base(75.0, 12.0);
    std::uniform_real_distribution<double> wobble(-3.0, 3.0);
    std::vector<SegmentLoad> segments;
    // Versions start at the wall clock in ms, so that a record of this run is always newer
    // than one of an earlier run on the same topic.
    const auto first_version = static_cast<std::uint64_t>(WallMs());
    for (const auto& s : network->segments()) {
        segments.push_back(
            {pipeline::ToString(s.id),
             pipeline::SegmentKey(s.id),
             std::clamp(base(rng), 5.0, 100.0),
             first_version}
        );
    }
    std::uniform_int_distribution<std::size_t> pick(0, segments.size() - 1);

    kafka::ClientConfig config;
    config.brokers = brokers;
    config.client_id = "gateway-bench-updates";
    std::uint64_t failed = 0;
    kafka::ProducerOptions options;
    options.on_delivery_failure = [&failed](const kafka::KafkaError&, std::string_view) {
        ++failed;
    };
    auto producer = kafka::Producer::Create(config, options);
    if (!producer) {
        std::cerr << "gateway_updates: " << producer.error().Describe() << "\n";
        return 1;
    }
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);

    std::uint64_t produced = 0;
    std::uint64_t retries = 0;
    const auto produce = [&](SegmentLoad& s) {
        ++s.version;
        const std::string value = ConditionRecord(
            s.id, s.version, WallMs(), std::clamp(s.base + wobble(rng), 0.0, 100.0)
        );
        while (!g_stop.load()) {
            if (producer->Produce(topic, s.key, value)) {
                ++produced;
                return;
            }
            ++retries;  // local queue full: serve delivery reports and try again
            producer->Poll(std::chrono::milliseconds(10));
        }
    };
    if (prefill) {
        for (auto& s : segments) {
            produce(s);
        }
        producer->Poll(std::chrono::milliseconds(0));
    }
    const auto started = SteadyClock::now();
    std::uint64_t sent = 0;
    double max_behind_ms = 0.0;
    while (!g_stop.load()) {
        const double elapsed = std::chrono::duration<double>(SteadyClock::now() - started).count();
        if (duration_s > 0 && elapsed >= duration_s) {
            break;
        }
        const auto due = static_cast<std::uint64_t>(elapsed * rate);
        if (due > sent) {
            max_behind_ms = std::max(max_behind_ms, static_cast<double>(due - sent) / rate * 1e3);
        }
        while (sent < due && !g_stop.load()) {
            produce(segments[pick(rng)]);
            ++sent;
        }
        producer->Poll(std::chrono::milliseconds(0));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - started).count();
    const auto flushed = producer->Flush(std::chrono::seconds(10));
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("topic").String(topic);
    w.Key("produced").UInt(produced);
    w.Key("prefill").UInt(prefill ? segments.size() : 0);
    w.Key("seconds").Fixed(elapsed, 1);
    w.Key("rate_per_s").Fixed(elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0, 0);
    w.Key("max_behind_schedule_ms").Fixed(max_behind_ms, 1);
    w.Key("queue_full_retries").UInt(retries);
    w.Key("delivery_failures").UInt(failed);
    w.Key("flushed").Bool(flushed.has_value());
    w.EndObject();
    std::cout << out << std::endl;
    return flushed && failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pavewatch::bench

int main(int argc, char** argv) {
    return pavewatch::bench::Run(argc, argv);
}
