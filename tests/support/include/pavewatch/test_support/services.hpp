#pragma once

#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pavewatch::test_support {

/// Starts `pavewatch <service>` against the test broker and `topics`, logging into `dir`.
/// Adds --brokers, the topic flags, --create-topics false and --metrics-port 0.
std::unique_ptr<Process> StartService(
    const std::string& service,
    const TestTopics& topics,
    const std::string& dir,
    std::vector<std::string> extra_args,
    const std::string& log_name = ""
);

/// The flags every ingest/gateway/simulate needs to find the repository's road network.
std::vector<std::string> NetworkFlags();

}  // namespace pavewatch::test_support
