#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pavewatch::test_support {

/// A child process for tests (a `pavewatch` service): started with arguments and extra
/// environment, its stdout and stderr appended to a log file. The destructor stops it
/// (SIGTERM, then SIGKILL after 10 s), so no test leaves a process behind.
class Process {
public:
    Process(
        const std::string& program,
        const std::vector<std::string>& args,
        const std::string& log_path,
        const std::map<std::string, std::string>& env = {}
    );
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    Process(Process&&) noexcept;
    Process& operator=(Process&&) = delete;

    pid_t pid() const { return pid_; }
    bool Running();
    /// SIGTERM and wait up to `timeout`; returns the exit code (nullopt if it had to be killed).
    std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// SIGKILL, as a crash would.
    void Kill();
    /// Waits for the process to exit by itself.
    std::optional<int> Wait(std::chrono::milliseconds timeout);
    const std::string& log_path() const { return log_path_; }

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::string log_path_;
};

/// The `pavewatch` binary under test (PAVEWATCH_BINARY, set by CTest).
std::string PavewatchBinary();

/// Kafka bootstrap servers of the test broker (PAVEWATCH_BROKERS, set by scripts/test); an
/// empty string when unset.
std::string Brokers();

/// A fresh folder under the build's test area, e.g. for logs or RocksDB state.
std::string TempDir(const std::string& name);

/// A unique suffix for topic names and ids, so that tests share one broker without meeting.
std::string UniqueSuffix();

/// A free TCP port on 127.0.0.1.
int FreePort();

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
template <typename F>
bool Eventually(F condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return condition();
}

/// The last lines of a file (for failure messages).
std::string Tail(const std::string& path, std::size_t lines = 30);

}  // namespace pavewatch::test_support
