#pragma once

#include <atomic>
#include <chrono>

namespace pavewatch::common {

/// Set by SIGINT or SIGTERM; every service loop checks it. Installing the handler is done once
/// in main, before any thread starts.
class StopFlag {
public:
    /// Installs SIGINT/SIGTERM handlers that set the process-wide flag (and ignores SIGPIPE:
    /// a peer closing a socket must not kill the process).
    static void InstallSignalHandlers();
    static bool Requested();
    /// For tests and for a service that decides to stop on its own.
    static void Request();
    /// Sleeps up to `d`, returning early (true) once a stop is requested.
    static bool WaitFor(std::chrono::milliseconds d);
};

}  // namespace pavewatch::common
