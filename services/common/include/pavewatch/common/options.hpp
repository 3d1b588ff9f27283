#pragma once

#include "pavewatch/common/log.hpp"
#include "pavewatch/kafka/kafka.hpp"

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace pavewatch::common {

/// Names of every topic PaveWatch uses (flags `--topic-<name>`). Defaults are the documented
/// names; deployments that share a cluster prefix them.
struct Topics {
    std::string raw_vehicle = "pavewatch.raw.vehicle";
    std::string raw_embedded = "pavewatch.raw.embedded";
    std::string observations = "pavewatch.observations";
    std::string conditions = "pavewatch.conditions";
    std::string condition_history = "pavewatch.condition-history";
    std::string dlq = "pavewatch.dlq";
    std::string changelog = "pavewatch.wear.changelog";
    std::string hazard_actions = "pavewatch.hazard-actions";
};

/// Kafka settings every service takes.
struct KafkaOptions {
    std::string brokers = "127.0.0.1:9092";
    Topics topics;
    /// Partitions of each topic when a service creates it. Default 6: room for 6 instances
    /// of each consumer group. Observations, changelog and hazard actions must agree.
    int partitions = 6;
    int replication_factor = 1;
    /// Create missing topics at start-up (off in production, where a Job or the platform
    /// creates them).
    bool create_topics = true;
    /// Extra librdkafka properties, `--kafka-property key=value` (repeatable): TLS, SASL.
    std::vector<std::string> properties;

    /// Client settings for one client; with a logger, librdkafka's own log lines become
    /// structured log lines of the service (facility and client id as fields).
    kafka::ClientConfig Client(const std::string& client_id, Logger* log = nullptr) const;
    /// Every PaveWatch topic with its partitions and cleanup policy.
    std::vector<kafka::TopicSpec> TopicSpecs() const;
};

/// Settings every service takes besides Kafka.
struct CommonOptions {
    std::string log_level = "info";
    /// Port of the operations endpoint (/metrics, /healthz, /readyz); 0 picks a free one.
    int metrics_port = 0;
    std::string metrics_address = "127.0.0.1";
};

/// Adds the shared flags to `desc`, bound to `kafka` and `common`.
void AddKafkaOptions(boost::program_options::options_description& desc, KafkaOptions& kafka);
/// `own_metrics_port` false for a service that serves /metrics on its main port (the gateway).
void AddCommonOptions(
    boost::program_options::options_description& desc,
    CommonOptions& common,
    bool own_metrics_port = true
);

/// Parses flags, then PAVEWATCH_* environment variables for flags not given (PAVEWATCH_BROKERS
/// for --brokers, PAVEWATCH_TOPIC_DLQ for --topic-dlq). Returns the error text on bad input
/// or nullopt-like "help" when --help was asked (the caller prints `desc`).
struct ParsedOptions {
    bool help = false;
};
tl::expected<ParsedOptions, std::string>
ParseOptions(int argc, char** argv, const boost::program_options::options_description& desc);

/// Validates values shared by all services; the message names the flag.
tl::expected<LogLevel, std::string>
ValidateCommon(const KafkaOptions& kafka, const CommonOptions& common);

}  // namespace pavewatch::common
