#include "pavewatch/simulate/simulate.hpp"

#include "pavewatch/common/files.hpp"
#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/common/options.hpp"
#include "pavewatch/common/stop.hpp"
#include "pavewatch/simulate/world.hpp"

#include <boost/program_options.hpp>
#include <prometheus/counter.h>

#include <chrono>
#include <iostream>

namespace pavewatch::simulate {
namespace {

namespace po = boost::program_options;

std::int64_t WallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

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
        "stop after this many wall-clock seconds (0: run until stopped)"
    )("registry-out", po::value(&registry_out), "write the embedded sensors' registry to this file"
    )("registry-only",
      po::bool_switch(&registry_only),
      "write the registry (--registry-out) and exit");
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
    const std::int64_t start_ms = WallMs();
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
                         .Help("Raw messages produced, by source (vehicle, embedded)")
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
                kafka.Client("pavewatch-simulate-admin"),
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
    auto producer = kafka::Producer::Create(kafka.Client("pavewatch-simulate"), po_options);
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
        for (const auto& m : batch) {
            const std::string& topic =
                m.vehicle ? kafka.topics.raw_vehicle : kafka.topics.raw_embedded;
            for (;;) {
                auto r = producer->Produce(topic, m.key, m.json);
                if (r) {
                    break;
                }
                if (!r.error().retriable) {
                    log.Warn("produce failed", {{"error", r.error().Describe()}});
                    break;
                }
                producer->Poll(std::chrono::milliseconds(50));
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
