#include "pavewatch/common/options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace pavewatch::common {

namespace po = boost::program_options;

kafka::ClientConfig KafkaOptions::Client(const std::string& client_id, Logger* log) const {
    kafka::ClientConfig config;
    config.brokers = brokers;
    config.client_id = client_id;
    if (log != nullptr) {
        config.log = [log,
                      client_id](int level, std::string_view facility, std::string_view message) {
            // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
            const LogLevel mapped = level <= 3   ? LogLevel::kError
                                    : level == 4 ? LogLevel::kWarn
                                    : level <= 6 ? LogLevel::kInfo
                                                 : LogLevel::kDebug;
            log->Log(
                mapped,
                message,
                {{"source", "librdkafka"}, {"facility", facility}, {"client", client_id}}
            );
        };
    }
    for (const auto& p : properties) {
        const auto eq = p.find('=');
        if (eq != std::string::npos) {
            config.properties[p.substr(0, eq)] = p.substr(eq + 1);
        }
    }
    return config;
}

std::vector<kafka::TopicSpec> KafkaOptions::TopicSpecs() const {
    // Compacted topics roll a segment every 10 minutes or 64 MiB, whichever comes first: the
    // log cleaner compacts only rolled segments, so this bounds the uncompacted tail that a
    // restore (the changelog) or a gateway's start (conditions) reads through.
    const std::map<std::string, std::string> compact{
        {"cleanup.policy", "compact"},
        {"min.compaction.lag.ms", "0"},
        {"segment.ms", "600000"},
        {"segment.bytes", "67108864"}};
    const std::map<std::string, std::string> retained{{"retention.ms", "604800000"}};  // 7 days
    return {
        {topics.raw_vehicle, partitions, replication_factor, retained},
        {topics.raw_embedded, partitions, replication_factor, retained},
        {topics.observations, partitions, replication_factor, retained},
        {topics.conditions, partitions, replication_factor, compact},
        {topics.condition_history, partitions, replication_factor, compact},
        {topics.dlq, partitions, replication_factor, {{"retention.ms", "2592000000"}}},  // 30 days
        {topics.changelog, partitions, replication_factor, compact},
        {topics.hazard_actions, partitions, replication_factor, retained},
    };
}

void AddKafkaOptions(po::options_description& desc, KafkaOptions& k) {
    desc.add_options()(
        "brokers",
        po::value(&k.brokers)->default_value(k.brokers),
        "Kafka bootstrap servers, host:port[,host:port]"
    )("partitions",
      po::value(&k.partitions)->default_value(k.partitions),
      "partitions of topics this service creates")(
        "replication-factor",
        po::value(&k.replication_factor)->default_value(k.replication_factor),
        "replication factor of topics this service creates"
    )("create-topics",
      po::value(&k.create_topics)->default_value(k.create_topics),
      "create missing topics at start-up (true|false)")(
        "kafka-property",
        po::value(&k.properties)->composing(),
        "extra librdkafka property key=value (repeatable), e.g. security.protocol=SASL_SSL"
    )("topic-raw-vehicle",
      po::value(&k.topics.raw_vehicle)->default_value(k.topics.raw_vehicle),
      "topic of raw vehicle messages")(
        "topic-raw-embedded",
        po::value(&k.topics.raw_embedded)->default_value(k.topics.raw_embedded),
        "topic of raw embedded-sensor messages"
    )("topic-observations",
      po::value(&k.topics.observations)->default_value(k.topics.observations),
      "topic of observations keyed by segment")(
        "topic-conditions",
        po::value(&k.topics.conditions)->default_value(k.topics.conditions),
        "compacted topic of segment conditions"
    )("topic-condition-history",
      po::value(&k.topics.condition_history)->default_value(k.topics.condition_history),
      "compacted topic of segments' daily condition history")(
        "topic-dlq", po::value(&k.topics.dlq)->default_value(k.topics.dlq), "dead-letter topic"
    )("topic-changelog",
      po::value(&k.topics.changelog)->default_value(k.topics.changelog),
      "compacted changelog of wear state"
    )("topic-hazard-actions",
      po::value(&k.topics.hazard_actions)->default_value(k.topics.hazard_actions),
      "topic of contractors' hazard actions");
}

void AddCommonOptions(po::options_description& desc, CommonOptions& c, bool own_metrics_port) {
    desc.add_options()("help", "show this help")(
        "log-level", po::value(&c.log_level)->default_value(c.log_level), "debug|info|warn|error"
    );
    if (own_metrics_port) {
        desc.add_options()(
            "metrics-port",
            po::value(&c.metrics_port)->default_value(c.metrics_port),
            "port of /metrics, /healthz, /readyz (0: any free port)"
        )("metrics-address",
          po::value(&c.metrics_address)->default_value(c.metrics_address),
          "address of the operations endpoint");
    }
}

tl::expected<ParsedOptions, std::string>
ParseOptions(int argc, char** argv, const po::options_description& desc) {
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        std::set<std::string> known;
        for (const auto& option : desc.options()) {
            known.insert(option->long_name());
        }
        po::store(
            po::parse_environment(
                desc,
                [&](const std::string& env) -> std::string {
                    if (env.rfind("PAVEWATCH_", 0) != 0) {
                        return {};
                    }
                    std::string name = env.substr(10);
                    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) {
                        return ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
                    });
                    return known.contains(name) && name != "help" ? name : std::string{};
                }
            ),
            vm
        );
        if (vm.count("help") != 0U) {
            return ParsedOptions{true};
        }
        po::notify(vm);
    } catch (const po::error& e) {
        return tl::unexpected(std::string(e.what()));
    }
    return ParsedOptions{false};
}

tl::expected<LogLevel, std::string>
ValidateCommon(const KafkaOptions& kafka, const CommonOptions& common) {
    LogLevel level = LogLevel::kInfo;
    if (!ParseLogLevel(common.log_level, level)) {
        return tl::unexpected(
            "--log-level must be one of debug, info, warn, error (got \"" + common.log_level + "\")"
        );
    }
    if (kafka.brokers.empty()) {
        return tl::unexpected(std::string("--brokers must name at least one host:port"));
    }
    if (kafka.partitions < 1 || kafka.partitions > 10000) {
        return tl::unexpected(
            "--partitions must be within 1..10000 (got " + std::to_string(kafka.partitions) + ")"
        );
    }
    if (kafka.replication_factor < 1) {
        return tl::unexpected(std::string("--replication-factor must be at least 1"));
    }
    for (const auto& p : kafka.properties) {
        if (p.find('=') == std::string::npos || p.front() == '=') {
            return tl::unexpected("--kafka-property must be key=value (got \"" + p + "\")");
        }
    }
    if (common.metrics_port < 0 || common.metrics_port > 65535) {
        return tl::unexpected(std::string("--metrics-port must be within 0..65535"));
    }
    return level;
}

}  // namespace pavewatch::common
