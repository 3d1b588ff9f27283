// `pavewatch`: one binary, one subcommand per service.

#include "pavewatch/evaluate/evaluate.hpp"
#include "pavewatch/gateway/gateway.hpp"
#include "pavewatch/ingest/ingest.hpp"
#include "pavewatch/replay/replay.hpp"
#include "pavewatch/simulate/simulate.hpp"
#include "pavewatch/wear/wear.hpp"

#include <cstring>
#include <iostream>
#include <string_view>

namespace {

struct Command {
    const char* name;
    int (*main)(int, char**);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"ingest",
     &pavewatch::ingest::Main,
     "validate raw device messages and map them to road segments"},
    {"wear",
     &pavewatch::wear::Main,
     "fold observations into per-segment state (RocksDB, exactly once)"},
    {"gateway",
     &pavewatch::gateway::Main,
     "serve the live map, the REST API and the WebSocket feed"},
    {"simulate",
     &pavewatch::simulate::Main,
     "drive simulated vehicles and sensors over the road network"},
    {"replay",
     &pavewatch::replay::Main,
     "run a raw JSONL file through ingest and the wear models, to files"},
    {"evaluate",
     &pavewatch::evaluate::Main,
     "score replay results against the simulator's ground truth"},
};

void Usage(std::ostream& out) {
    out << "PaveWatch: real-time road pavement monitoring\n\nusage: pavewatch <command> "
           "[options]\n\ncommands:\n";
    for (const auto& c : kCommands) {
        out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
    }
    out << "\nEvery command takes --help. Options can also be set as PAVEWATCH_<OPTION> "
           "environment "
           "variables (e.g. PAVEWATCH_BROKERS).\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        Usage(std::cerr);
        return 2;
    }
    const std::string_view command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
        Usage(std::cout);
        return 0;
    }
    for (const auto& c : kCommands) {
        if (command == c.name) {
            // The subcommand sees its own name as argv[0].
            return c.main(argc - 1, argv + 1);
        }
    }
    std::cerr << "pavewatch: unknown command \"" << command << "\"\n\n";
    Usage(std::cerr);
    return 2;
}
