#include "pavewatch/simulate/simulate.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/common/files.hpp"
#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/common/options.hpp"
#include "pavewatch/common/stop.hpp"
#include "pavewatch/simulate/offline.hpp"
#include "pavewatch/simulate/world.hpp"

#include <boost/program_options.hpp>
#include <prometheus/counter.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

namespace pavewatch::simulate {
namespace {

namespace po = boost::program_options;

}  // namespace

int Main(int argc, char** argv) {
    common::KafkaOptions kafka;
    common::CommonOptions common_options;
    common::NetworkOptions network_options;
    WorldConfig world;
    double speedup = 1.0;
    double duration_s = 0.0;
    std::string registry_out;
    bool registry_only = false;
    bool offline = false;
    OfflineOptions offline_options;
    std::size_t segments = 0;
    std::string rates;
    std::string class_shares;
    double repair_share = 0.0;
    po::options_description desc(
        "pavewatch simulate: vehicles with accelerometers and GPS, and embedded sensors, over the "
        "road network"
    );
    common::AddCommonOptions(desc, common_options);
    common::AddKafkaOptions(desc, kafka);
    common::AddNetworkOptions(desc, network_options, false);
    desc.add_options()(
        "seed",
        po::value(&world.seed)->default_value(world.seed),
        "random seed (same seed, same city and traffic)"
    )("vehicles", po::value(&world.vehicles)->default_value(world.vehicles), "vehicles driving")(
        "batch-seconds",
        po::value(&world.batch_seconds)->default_value(world.batch_seconds),
        "seconds of driving per vehicle message"
    )("sensor-sites",
      po::value(&world.sensor_sites)->default_value(world.sensor_sites),
      "embedded sensor sites (WIM, strain, temperature, moisture)")(
        "invalid-share",
        po::value(&world.invalid_share)->default_value(world.invalid_share),
        "share of vehicle messages deliberately corrupted"
    )("speedup",
      po::value(&speedup)->default_value(speedup),
      "simulated seconds per wall-clock second")(
        "duration-s",
        po::value(&duration_s)->default_value(duration_s),
        "stop after this many wall-clock seconds (0: run until stopped); with --offline, "
        "simulated seconds (required)"
    )("registry-out", po::value(&registry_out), "write the embedded sensors' registry to this file"
    )("registry-only",
      po::bool_switch(&registry_only),
      "write the registry (--registry-out) and exit");
    desc.add_options()(
        "offline",
        po::bool_switch(&offline),
        "write raw messages and ground truth to --out DIR instead of producing to Kafka "
        "(docs/simulator.md)"
    )("out", po::value(&offline_options.out_dir), "--offline: output folder")(
        "segments",
        po::value(&segments)->default_value(segments),
        "drive only a connected part of the network of about this many segments (0: all)"
    )("rates",
      po::value(&rates),
      "fleet's device rates and shares, e.g. 100:0.6,50:0.2,10:0.1,5:0.1 (the default)")(
        "repair-share",
        po::value(&repair_share)->default_value(repair_share),
        "share of potholes repaired during the run (with --offline: between 40 % and 60 % of "
        "--duration-s; live: in the first hour)"
    )("class-shares",
      po::value(&class_shares),
      "shares of segments in ISO 8608 roughness classes A,B,C,D,E, e.g. 0.55,0.3,0.11,0.03,0.01 "
      "(default 0.25,0.4,0.22,0.1,0.03: a rough city, the accuracy tests' mix)")(
        "pothole-share",
        po::value(&world.pothole_segment_share)->default_value(world.pothole_segment_share, "0.08"),
        "share of segments with potholes (1 to 3 each)"
    )("road-class-share",
      po::value(&world.road_class_share)->default_value(world.road_class_share, "0.8"),
      "share of segments whose roughness class is their road's (the others draw their own)"
    )("start-ms",
      po::value(&offline_options.start_ms)->default_value(offline_options.start_ms),
      "--offline: event time of the start, epoch ms");
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch simulate: " << parsed.error()
                  << "\n(see pavewatch simulate --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    auto level = common::ValidateCommon(kafka, common_options);
    if (!level) {
        std::cerr << "pavewatch simulate: " << level.error() << "\n";
        return 2;
    }
    if (world.vehicles < 0 || world.vehicles > 100000 ||
        !(world.batch_seconds >= 1.0 && world.batch_seconds <= 60.0) ||
        !(speedup > 0 && speedup <= 10000) || world.sensor_sites < 0 ||
        !(world.invalid_share >= 0 && world.invalid_share <= 1)) {
        std::cerr << "pavewatch simulate: --vehicles 0..100000, --batch-seconds 1..60, --speedup "
                     "(0, 10000], "
                     "--sensor-sites >= 0, --invalid-share 0..1\n";
        return 2;
    }
    if (!(repair_share >= 0 && repair_share <= 1) ||
        !(world.pothole_segment_share >= 0 && world.pothole_segment_share <= 1) ||
        !(world.road_class_share >= 0 && world.road_class_share <= 1)) {
        std::cerr << "pavewatch simulate: --repair-share, --pothole-share and --road-class-share "
                     "within 0..1\n";
        return 2;
    }
    if (!rates.empty()) {
        auto parsed_rates = ParseRates(rates);
        if (!parsed_rates) {
            std::cerr << "pavewatch simulate: " << parsed_rates.error() << "\n";
            return 2;
        }
        world.rates = std::move(*parsed_rates);
    }
    if (!class_shares.empty()) {
        std::vector<double> shares;
        std::stringstream in(class_shares);
        std::string item;
        double total = 0;
        while (std::getline(in, item, ',')) {
            try {
                shares.push_back(std::stod(item));
            } catch (const std::exception&) {
                shares.clear();
                break;
            }
            total += shares.back();
        }
        if (shares.size() != 5 ||
            std::any_of(shares.begin(), shares.end(), [](double x) { return !(x >= 0); }) ||
            std::fabs(total - 1.0) > 1e-6) {
            std::cerr << "pavewatch simulate: --class-shares takes five shares (classes A to E) "
                         "that sum to 1\n";
            return 2;
        }
        world.class_shares = shares;
    }
    world.repair_share = repair_share;
    if (offline) {
        if (offline_options.out_dir.empty() || !(duration_s > 0 && duration_s <= 30 * 86400.0)) {
            std::cerr << "pavewatch simulate: --offline needs --out DIR and --duration-s in (0, "
                         "2592000] simulated seconds\n";
            return 2;
        }
        offline_options.duration =
            std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(duration_s * 1000)));
        world.repair_window_start = offline_options.duration * 2 / 5;
        world.repair_window_end = offline_options.duration * 3 / 5;
    } else {
        world.repair_window_start = std::chrono::milliseconds(0);
        world.repair_window_end = std::chrono::milliseconds(3600000);
    }
    if (registry_only && registry_out.empty()) {
        std::cerr << "pavewatch simulate: --registry-only needs --registry-out FILE\n";
        return 2;
    }
    common::Logger log("simulate", *level);
    auto network = common::LoadNetwork(network_options);
    if (!network) {
        std::cerr << "pavewatch simulate: " << network.error() << "\n";
        return 2;
    }
    if (segments > 0) {
        world.segment_subset = ConnectedSubset(*network->network, segments, world.seed);
    }
    if (offline) {
        const auto wall_start = std::chrono::steady_clock::now();
        auto summary = RunOffline(*network->network, *network->matcher, world, offline_options);
        if (!summary) {
            std::cerr << "pavewatch simulate: " << summary.error() << "\n";
            return 1;
        }
        log.Info(
            "offline run written",
            {{"out", offline_options.out_dir},
             {"segments", static_cast<std::uint64_t>(summary->segments)},
             {"vehicle_messages", summary->vehicle_messages},
             {"embedded_messages", summary->embedded_messages},
             {"potholes", static_cast<std::uint64_t>(summary->potholes)},
             {"repaired", static_cast<std::uint64_t>(summary->repaired)},
             {"encounters", summary->encounters},
             {"hits", summary->hits},
             {"wall_s",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count()}}
        );
        return 0;
    }
    const std::int64_t start_ms = common::WallMs();
    World city(*network->network, *network->matcher, world, start_ms);
    if (!registry_out.empty()) {
        if (auto w = common::WriteWholeFile(registry_out, city.SensorRegistryJson()); !w) {
            std::cerr << "pavewatch simulate: " << w.error() << "\n";
            return 2;
        }
        log.Info("sensor registry written", {{"file", registry_out}});
        if (registry_only) {
            return 0;
        }
    }

    common::StopFlag::InstallSignalHandlers();
    auto registry = std::make_shared<prometheus::Registry>();
    common::Ops ops("simulate", registry);
    if (auto served = ops.Serve(common_options.metrics_address, common_options.metrics_port);
        !served) {
        log.Error("cannot serve the operations endpoint", {{"error", served.error()}});
        return 2;
    }
    auto& produced = prometheus::BuildCounter()
                         .Name("pavewatch_simulate_messages_total")
                         .Help("Raw messages queued to Kafka, by source (vehicle, embedded)")
                         .Register(*registry);
    auto& vehicle_count = produced.Add({{"source", "vehicle"}});
    auto& embedded_count = produced.Add({{"source", "embedded"}});
    auto& failures = prometheus::BuildCounter()
                         .Name("pavewatch_simulate_delivery_failures_total")
                         .Help("Raw messages the broker did not accept")
                         .Register(*registry)
                         .Add({});
    if (kafka.create_topics) {
        if (auto t = kafka::EnsureTopics(
                kafka.Client("pavewatch-simulate-admin", &log),
                kafka.TopicSpecs(),
                std::chrono::seconds(30)
            );
            !t) {
            log.Error("cannot create topics", {{"error", t.error().Describe()}});
            return 1;
        }
    }
    kafka::ProducerOptions po_options;
    po_options.linger = std::chrono::milliseconds(20);
    po_options.on_delivery_failure = [&](const kafka::KafkaError& e, std::string_view topic) {
        failures.Increment();
        log.Warn("delivery failed", {{"topic", topic}, {"error", e.Describe()}});
    };
    auto producer = kafka::Producer::Create(kafka.Client("pavewatch-simulate", &log), po_options);
    if (!producer) {
        log.Error("cannot create the producer", {{"error", producer.error().Describe()}});
        return 1;
    }
    ops.SetReady(true);
    log.Info(
        "simulating",
        {{"vehicles", world.vehicles},
         {"speedup", speedup},
         {"seed", static_cast<std::int64_t>(world.seed)}}
    );

    std::vector<RawMessage> batch;
    const auto wall_start = std::chrono::steady_clock::now();
    while (!common::StopFlag::Requested()) {
        ops.Heartbeat();
        const double wall_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        if (duration_s > 0 && wall_s >= duration_s) {
            break;
        }
        batch.clear();
        city.Advance(start_ms + static_cast<std::int64_t>(wall_s * speedup * 1000.0), batch);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const auto& m = batch[i];
            const std::string& topic =
                m.vehicle ? kafka.topics.raw_vehicle : kafka.topics.raw_embedded;
            // At most 2 s per message on a full queue (the broker away): then the rest of this
            // step's messages are dropped, and the loop looks at the stop flag again.
            if (auto r = producer->ProduceWaiting(
                    topic, m.key, m.json, std::chrono::milliseconds(50), std::chrono::seconds(2)
                );
                !r) {
                log.Warn(
                    "produce failed; dropping the rest of this step's messages",
                    {{"error", r.error().Describe()},
                     {"dropped", static_cast<std::int64_t>(batch.size() - i)}}
                );
                break;
            }
            (m.vehicle ? vehicle_count : embedded_count).Increment();
        }
        producer->Poll(std::chrono::milliseconds(0));
        common::StopFlag::WaitFor(std::chrono::milliseconds(100));
    }
    log.Info(
        "stopping",
        {{"vehicle_messages", static_cast<std::int64_t>(city.vehicle_messages())},
         {"embedded_messages", static_cast<std::int64_t>(city.embedded_messages())}}
    );
    if (auto f = producer->Flush(std::chrono::seconds(10)); !f) {
        log.Warn("messages left unsent at shutdown", {{"error", f.error().Describe()}});
    }
    return 0;
}

}  // namespace pavewatch::simulate
