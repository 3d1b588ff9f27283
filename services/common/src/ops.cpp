#include "pavewatch/common/ops.hpp"

#include "pavewatch/pipeline/json_writer.hpp"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <mutex>

#ifndef PAVEWATCH_VERSION
#define PAVEWATCH_VERSION "dev"
#endif

namespace pavewatch::common {
namespace {

long long SteadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch()
    )
        .count();
}

/// A loop that has not turned for this long is reported unhealthy.
constexpr long long kStallAfterMs = 30000;

}  // namespace

std::string MetricsText(const prometheus::Registry& registry) {
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

Ops::Ops(std::string service, std::shared_ptr<prometheus::Registry> registry)
    : service_(std::move(service)), registry_(std::move(registry)) {
    prometheus::BuildGauge()
        .Name("pavewatch_build_info")
        .Help("Build of the running binary; always 1")
        .Register(*registry_)
        .Add({{"service", service_}, {"version", PAVEWATCH_VERSION}})
        .Set(1);
    Heartbeat();
}

Ops::~Ops() {
    if (server_) {
        server_->Stop();
    }
}

void Ops::SetReady(bool ready, std::string reason) {
    {
        const std::lock_guard lock(reason_mutex_);
        reason_ = std::move(reason);
    }
    ready_.store(ready);
}

void Ops::Heartbeat() {
    last_heartbeat_ms_.store(SteadyMs());
}

std::optional<http::Response> Ops::Handle(const http::Request& request) const {
    if (request.path == "/metrics") {
        http::Response r;
        r.content_type = kMetricsContentType;
        r.body = MetricsText(*registry_);
        return r;
    }
    const auto status_body = [this](bool ok, std::string_view reason) {
        http::Response r;
        r.status = ok ? 200 : 503;
        pipeline::JsonWriter w(r.body);
        w.BeginObject();
        w.Key("status").String(ok ? "ok" : "unavailable");
        w.Key("service").String(service_);
        if (!reason.empty()) {
            w.Key("reason").String(reason);
        }
        w.EndObject();
        return r;
    };
    if (request.path == "/healthz") {
        const long long idle = SteadyMs() - last_heartbeat_ms_.load();
        return status_body(
            idle < kStallAfterMs, idle < kStallAfterMs ? "" : "service loop stalled"
        );
    }
    if (request.path == "/readyz") {
        std::string reason;
        {
            const std::lock_guard lock(reason_mutex_);
            reason = reason_;
        }
        return status_body(ready_.load(), ready_.load() ? "" : reason);
    }
    return std::nullopt;
}

tl::expected<void, std::string> Ops::Serve(const std::string& address, int port) {
    http::ServerOptions options;
    options.address = address;
    options.port = static_cast<std::uint16_t>(port);
    options.max_connections = 256;
    server_ = std::make_unique<http::Server>(options, [this](const http::Request& request) {
        if (auto r = Handle(request)) {
            return *r;
        }
        return http::Problem(404, "Not Found", "this port serves /metrics, /healthz and /readyz");
    });
    return server_->Start();
}

std::uint16_t Ops::port() const {
    return server_ ? server_->port() : 0;
}

}  // namespace pavewatch::common
