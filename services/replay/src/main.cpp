#include "pavewatch/common/log.hpp"
#include "pavewatch/common/network.hpp"
#include "pavewatch/common/options.hpp"
#include "pavewatch/replay/replay.hpp"

#include <boost/program_options.hpp>

#include <iostream>

namespace pavewatch::replay {

int Main(int argc, char** argv) {
    namespace po = boost::program_options;
    common::NetworkOptions network_options;
    common::ModelOptions model_options;
    ReplayOptions options;
    std::string log_level = "info";
    po::options_description desc(
        "pavewatch replay: runs a raw JSONL file through ingest and the wear models without "
        "Kafka (reprocessing historical drives; docs/accuracy.md)"
    );
    desc.add_options()("help", "show this help")(
        "log-level", po::value(&log_level)->default_value(log_level), "debug|info|warn|error"
    )("input",
      po::value(&options.input),
      R"(raw JSONL file, one {"topic","key","message"} per line ('-': standard input))")(
        "out", po::value(&options.out_dir), "output folder (created if missing)"
    )("threads",
      po::value(&options.threads)->default_value(options.threads),
      "ingest worker threads (0: one per core)")(
        "batch-lines",
        po::value(&options.batch_lines)->default_value(options.batch_lines),
        "lines ingested per round (bounds memory)"
    )("max-line-bytes",
      po::value(&options.max_line_bytes)->default_value(options.max_line_bytes),
      "longer lines are refused");
    common::AddNetworkOptions(desc, network_options, true);
    common::AddModelOptions(desc, model_options, true);
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch replay: " << parsed.error() << "\n(see pavewatch replay --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    common::LogLevel level = common::LogLevel::kInfo;
    if (!common::ParseLogLevel(log_level, level)) {
        std::cerr << "pavewatch replay: --log-level must be one of debug, info, warn, error\n";
        return 2;
    }
    if (options.input.empty() || options.out_dir.empty()) {
        std::cerr << "pavewatch replay: --input FILE and --out DIR are required\n";
        return 2;
    }
    if (options.threads < 0 || options.threads > 256 || options.batch_lines < 1 ||
        options.batch_lines > 1000000) {
        std::cerr << "pavewatch replay: --threads 0..256, --batch-lines 1..1000000\n";
        return 2;
    }
    common::Logger log("replay", level);
    auto network = common::LoadNetwork(network_options);
    if (!network) {
        std::cerr << "pavewatch replay: " << network.error() << "\n";
        return 2;
    }
    auto models = common::LoadModels(model_options);
    if (!models) {
        std::cerr << "pavewatch replay: " << models.error() << "\n";
        return 2;
    }
    const pipeline::IngestProcessor ingest(
        *network->matcher, network->sensors, models->config, *models->calibration
    );
    options.matcher = network->matcher.get();
    auto summary = RunReplay(ingest, models->config, options);
    if (!summary) {
        log.Error("replay failed", {{"error", summary.error()}});
        return 1;
    }
    log.Info(
        "replayed",
        {{"input", options.input},
         {"out", options.out_dir},
         {"lines", summary->lines},
         {"vehicle_messages", summary->vehicle_messages},
         {"embedded_messages", summary->embedded_messages},
         {"hazard_actions", summary->hazard_actions},
         {"refused", summary->refused},
         {"observations", summary->observations},
         {"segments", summary->segments},
         {"hazards", summary->hazards},
         {"wall_s", summary->wall_s},
         {"lines_per_s",
          summary->wall_s > 0 ? static_cast<double>(summary->lines) / summary->wall_s : 0.0}}
    );
    return 0;
}

}  // namespace pavewatch::replay
