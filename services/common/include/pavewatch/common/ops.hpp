#pragma once

#include "pavewatch/http/server.hpp"

#include <prometheus/registry.h>
#include <tl/expected.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace pavewatch::common {

/// Prometheus text exposition format 0.0.4 of everything in the registry.
std::string MetricsText(const prometheus::Registry& registry);
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// The operations endpoint of a service: /metrics, /healthz (the process is alive and its loop
/// is turning) and /readyz (it can do its job: e.g. the broker answers, state is restored).
/// Adds `pavewatch_build_info{service,version}` to the registry.
/// Thread-safe: readiness may be set from the service loop while the server answers.
class Ops {
public:
    Ops(std::string service, std::shared_ptr<prometheus::Registry> registry);
    ~Ops();
    Ops(const Ops&) = delete;
    Ops& operator=(const Ops&) = delete;
    Ops(Ops&&) = delete;
    Ops& operator=(Ops&&) = delete;

    /// Ready or not, with the reason shown by /readyz when not.
    void SetReady(bool ready, std::string reason = {});
    bool ready() const { return ready_.load(); }
    /// Marks the loop alive; /healthz fails when it has not been called for `stall_after`.
    void Heartbeat();

    /// Answers /metrics, /healthz and /readyz; nullopt for any other path.
    std::optional<http::Response> Handle(const http::Request& request) const;

    /// Serves these three paths on their own port (ingest, wear, simulate).
    tl::expected<void, std::string> Serve(const std::string& address, int port);
    std::uint16_t port() const;
    const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

private:
    std::string service_;
    std::shared_ptr<prometheus::Registry> registry_;
    std::atomic<bool> ready_{false};
    std::atomic<long long> last_heartbeat_ms_{0};
    mutable std::mutex reason_mutex_;
    std::string reason_ = "starting";
    std::unique_ptr<http::Server> server_;
};

}  // namespace pavewatch::common
