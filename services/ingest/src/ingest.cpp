#include "pavewatch/ingest/ingest.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/ops.hpp"
#include "pavewatch/common/options.hpp"
#include "pavewatch/common/stop.hpp"
#include "pavewatch/pipeline/ingest_processor.hpp"
#include "pavewatch/stream/eos_loop.hpp"

#include <boost/program_options.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <iostream>
#include <map>
#include <unistd.h>

namespace pavewatch::ingest {
namespace {

namespace po = boost::program_options;

/// Raw message in, observations (or a dead letter) out, inside the loop's transaction.
class IngestStreamProcessor final : public stream::Processor {
public:
    IngestStreamProcessor(
        const pipeline::IngestProcessor& ingest,
        const common::KafkaOptions& kafka,
        prometheus::Registry& registry
    )
        : ingest_(ingest), topics_(kafka.topics) {
        auto& produced = prometheus::BuildCounter()
                             .Name("pavewatch_ingest_observations_total")
                             .Help("Observations produced, by kind")
                             .Register(registry);
        for (int k = 1; k <= 7; ++k) {
            by_kind_[k] = &produced.Add(
                {{"kind", pipeline::ToString(static_cast<pipeline::ObservationKind>(k))}}
            );
        }
        event_age_ = &prometheus::BuildHistogram()
                          .Name("pavewatch_ingest_event_age_seconds")
                          .Help("Processing time minus event time of raw messages")
                          .Register(registry)
                          .Add(
                              {},
                              prometheus::Histogram::BucketBoundaries{
                                  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}
                          );
        auto& messages = prometheus::BuildCounter()
                             .Name("pavewatch_ingest_messages_total")
                             .Help(
                                 "Raw messages by source (vehicle, wim, strain, temperature, "
                                 "moisture, embedded when unreadable) "
                                 "and outcome (accepted, rejected)"
                             )
                             .Register(registry);
        auto& last_seen = prometheus::BuildGauge()
                              .Name("pavewatch_ingest_last_message_timestamp_seconds")
                              .Help(
                                  "Wall time of the last accepted message of each source (for "
                                  "'gone silent' alerts)"
                              )
                              .Register(registry);
        for (const char* source : {"vehicle", "wim", "strain", "temperature", "moisture"}) {
            accepted_[source] = &messages.Add({{"source", source}, {"outcome", "accepted"}});
            last_seen_[source] = &last_seen.Add({{"source", source}});
        }
        vehicle_bad_ = &messages.Add({{"source", "vehicle"}, {"outcome", "rejected"}});
        embedded_bad_ = &messages.Add({{"source", "embedded"}, {"outcome", "rejected"}});
    }

    void OnRecord(const kafka::RecordView& record, stream::Transaction& txn) override {
        const bool vehicle = record.topic == topics_.raw_vehicle;
        auto observations =
            vehicle ? ingest_.ProcessVehicle(record.value) : ingest_.ProcessEmbedded(record.value);
        if (!observations) {
            (vehicle ? vehicle_bad_ : embedded_bad_)->Increment();
            txn.DeadLetter(
                record,
                pipeline::ToString(observations.error().code),
                observations.error().Describe()
            );
            return;
        }
        const char* source = "vehicle";
        if (!vehicle && !observations->empty()) {
            switch (observations->front().kind()) {
                case pipeline::ObservationKind::kAxleLoads:
                    source = "wim";
                    break;
                case pipeline::ObservationKind::kStrain:
                    source = "strain";
                    break;
                case pipeline::ObservationKind::kTemperature:
                    source = "temperature";
                    break;
                default:
                    source = "moisture";
            }
        }
        accepted_[source]->Increment();
        last_seen_[source]->Set(static_cast<double>(common::WallMs()) / 1000.0);
        std::int64_t latest = 0;
        for (const auto& o : *observations) {
            buffer_.clear();
            pipeline::EncodeObservation(o, buffer_);
            txn.Produce(topics_.observations, pipeline::SegmentKey(o.segment), buffer_);
            by_kind_[static_cast<int>(o.kind())]->Increment();
            latest = std::max(latest, o.t_ms);
        }
        if (latest > 0) {
            event_age_->Observe(static_cast<double>(common::WallMs() - latest) / 1000.0);
        }
    }

private:
    const pipeline::IngestProcessor& ingest_;
    common::Topics topics_;
    std::string buffer_;
    prometheus::Counter* by_kind_[8] = {};
    prometheus::Histogram* event_age_;
    std::map<std::string, prometheus::Counter*, std::less<>> accepted_;
    std::map<std::string, prometheus::Gauge*, std::less<>> last_seen_;
    prometheus::Counter* vehicle_bad_;
    prometheus::Counter* embedded_bad_;
};

}  // namespace

int Main(int argc, char** argv) {
    common::KafkaOptions kafka;
    common::CommonOptions common_options;
    common::NetworkOptions network_options;
    common::ModelOptions model_options;
    std::string group_id = "pavewatch-ingest";
    std::string instance_id;
    long long commit_ms = 100;
    po::options_description desc(
        "pavewatch ingest: validates raw device messages, matches them to road segments and "
        "produces observations"
    );
    common::AddCommonOptions(desc, common_options);
    common::AddKafkaOptions(desc, kafka);
    common::AddNetworkOptions(desc, network_options, true);
    common::AddModelOptions(desc, model_options, true);
    desc.add_options()(
        "group-id",
        po::value(&group_id)->default_value(group_id),
        "consumer group of the ingest instances"
    )("instance-id",
      po::value(&instance_id),
      "stable instance name (transactional id suffix); default: host name"
    )("commit-interval-ms",
      po::value(&commit_ms)->default_value(commit_ms),
      "time between transaction commits");
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch ingest: " << parsed.error() << "\n(see pavewatch ingest --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    auto level = common::ValidateCommon(kafka, common_options);
    if (!level) {
        std::cerr << "pavewatch ingest: " << level.error() << "\n";
        return 2;
    }
    if (commit_ms < 1 || commit_ms > 60000) {
        std::cerr << "pavewatch ingest: --commit-interval-ms must be within 1..60000\n";
        return 2;
    }
    if (instance_id.empty()) {
        char host[256] = {};
        gethostname(host, sizeof(host) - 1);
        // Ingest instances are interchangeable; a per-process suffix keeps their
        // transactional ids apart when several run on one host.
        instance_id =
            std::string(host[0] != '\0' ? host : "ingest") + "-" + std::to_string(getpid());
    }
    common::Logger log("ingest", *level);
    auto network = common::LoadNetwork(network_options);
    if (!network) {
        std::cerr << "pavewatch ingest: " << network.error() << "\n";
        return 2;
    }
    log.Info(
        "road network loaded",
        {{"segments", static_cast<std::int64_t>(network->network->segments().size())},
         {"sensors", static_cast<std::int64_t>(network->sensors.sensors().size())}}
    );

    common::StopFlag::InstallSignalHandlers();
    auto registry = std::make_shared<prometheus::Registry>();
    common::Ops ops("ingest", registry);
    if (auto served = ops.Serve(common_options.metrics_address, common_options.metrics_port);
        !served) {
        log.Error("cannot serve the operations endpoint", {{"error", served.error()}});
        return 2;
    }
    log.Info("operations endpoint", {{"port", static_cast<int>(ops.port())}});
    if (kafka.create_topics) {
        if (auto t = kafka::EnsureTopics(
                kafka.Client("pavewatch-ingest-admin", &log),
                kafka.TopicSpecs(),
                std::chrono::seconds(30)
            );
            !t) {
            log.Error("cannot create topics", {{"error", t.error().Describe()}});
            return 1;
        }
    }
    auto models = common::LoadModels(model_options);
    if (!models) {
        std::cerr << "pavewatch ingest: " << models.error() << "\n";
        return 2;
    }
    const pipeline::IngestProcessor ingest(
        *network->matcher, network->sensors, models->config, *models->calibration
    );
    IngestStreamProcessor processor(ingest, kafka, *registry);
    stream::EosOptions eos;
    eos.service = "ingest";
    eos.group_id = group_id;
    eos.transactional_id = "pavewatch-ingest-" + instance_id;
    eos.input_topics = {kafka.topics.raw_vehicle, kafka.topics.raw_embedded};
    eos.dlq_topic = kafka.topics.dlq;
    eos.commit_interval = std::chrono::milliseconds(commit_ms);
    stream::EosLoop loop(
        eos, kafka.Client("pavewatch-ingest-" + instance_id, &log), processor, log, ops
    );
    const int code = loop.Run();
    log.Info("stopped", {{"exit_code", code}});
    return code;
}

}  // namespace pavewatch::ingest
