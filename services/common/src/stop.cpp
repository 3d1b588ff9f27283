#include "pavewatch/common/stop.hpp"

#include <csignal>
#include <thread>

namespace pavewatch::common {
namespace {

std::atomic<bool> g_stop{false};  // NOLINT: the one process-wide signal flag

extern "C" void OnSignal(int /*signal*/) {
    g_stop.store(true);
}

}  // namespace

void StopFlag::InstallSignalHandlers() {
    struct sigaction action {};
    action.sa_handler = &OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

bool StopFlag::Requested() {
    return g_stop.load(std::memory_order_relaxed);
}

void StopFlag::Request() {
    g_stop.store(true);
}

bool StopFlag::WaitFor(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
        if (Requested()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Requested();
}

}  // namespace pavewatch::common
