#include "pavewatch/common/options.hpp"
#include "pavewatch/evaluate/evaluate.hpp"

#include <boost/program_options.hpp>

#include <iostream>

namespace pavewatch::evaluate {

int Main(int argc, char** argv) {
    namespace po = boost::program_options;
    EvaluateOptions options;
    bool as_json = false;
    po::options_description desc(
        "pavewatch evaluate: scores the results of `pavewatch replay` against the ground truth "
        "of `pavewatch simulate --offline` (docs/accuracy.md)"
    );
    desc.add_options()("help", "show this help")(
        "truth", po::value(&options.truth_file), "truth.json of the simulated run"
    )("results", po::value(&options.results_dir), "output folder of pavewatch replay")(
        "hits", po::value(&options.hits_file), "hits.jsonl (default: beside --truth)"
    )("json", po::bool_switch(&as_json), "print one JSON object instead of a table")(
        "min-traversals",
        po::value(&options.min_traversals)->default_value(options.min_traversals),
        "IRI is scored on segments with at least this many traversals"
    )("match-radius-m",
      po::value(&options.match_radius_m)->default_value(options.match_radius_m),
      "a confirmed hazard matches a pothole centre within this distance, m")(
        "min-hit-vehicles",
        po::value(&options.min_hit_vehicles)->default_value(options.min_hit_vehicles),
        "potholes hit by at least this many distinct vehicles count for recall"
    )("event-time-tolerance-s",
      po::value(&options.event_time_tolerance_s)->default_value(options.event_time_tolerance_s),
      "a detector event matches a hit of its vehicle within this time, s");
    auto parsed = common::ParseOptions(argc, argv, desc);
    if (!parsed) {
        std::cerr << "pavewatch evaluate: " << parsed.error()
                  << "\n(see pavewatch evaluate --help)\n";
        return 2;
    }
    if (parsed->help) {
        std::cout << desc << "\n";
        return 0;
    }
    if (options.truth_file.empty() || options.results_dir.empty()) {
        std::cerr << "pavewatch evaluate: --truth FILE and --results DIR are required\n";
        return 2;
    }
    if (options.min_traversals < 1 || !(options.match_radius_m > 0) ||
        options.min_hit_vehicles < 1 || !(options.event_time_tolerance_s > 0)) {
        std::cerr << "pavewatch evaluate: --min-traversals, --match-radius-m, "
                     "--min-hit-vehicles and --event-time-tolerance-s must be positive\n";
        return 2;
    }
    auto report = Evaluate(options);
    if (!report) {
        std::cerr << "pavewatch evaluate: " << report.error() << "\n";
        return 1;
    }
    std::cout << (as_json ? ReportToJson(*report) : ReportToTable(*report));
    return 0;
}

}  // namespace pavewatch::evaluate
