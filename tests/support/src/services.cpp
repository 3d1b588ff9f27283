#include "pavewatch/test_support/services.hpp"

#include "pavewatch/test_support/paths.hpp"

#include <algorithm>

namespace pavewatch::test_support {

std::unique_ptr<Process> StartService(
    const std::string& service,
    const TestTopics& topics,
    const std::string& dir,
    std::vector<std::string> extra_args,
    const std::string& log_name
) {
    std::vector<std::string> args{service, "--brokers", Brokers(), "--create-topics", "false"};
    // The gateway serves /metrics on its own --port; the others on a port of their own.
    if (service != "gateway" &&
        std::find(extra_args.begin(), extra_args.end(), "--metrics-port") == extra_args.end()) {
        args.insert(args.end(), {"--metrics-port", "0"});
    }
    // Consumer groups of the test's own: no test waits for another test's group members.
    if ((service == "wear" || service == "ingest") &&
        std::find(extra_args.begin(), extra_args.end(), "--group-id") == extra_args.end()) {
        args.insert(args.end(), {"--group-id", topics.prefix + service});
    }
    const auto flags = topics.Flags();
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return std::make_unique<Process>(
        PavewatchBinary(), args, dir + "/" + (log_name.empty() ? service : log_name) + ".log"
    );
}

std::vector<std::string> NetworkFlags() {
    return {"--network", ProjectPath("data/almaty_roads.geojson")};
}

}  // namespace pavewatch::test_support
