#pragma once

#include "pavewatch/http/request.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::http {

/// A request handler: a pure function of the request apart from the state it reads. Runs on
/// the server's I/O threads, so it must not block.
using Handler = std::function<Response(const Request&)>;

struct UpgradeContext;  // pavewatch/http/upgrade.hpp: the socket and request of an upgrade

/// Takes over connections that ask for a WebSocket upgrade on a path it wants.
class UpgradeHandler {
public:
    virtual ~UpgradeHandler() = default;
    UpgradeHandler() = default;
    UpgradeHandler(const UpgradeHandler&) = delete;
    UpgradeHandler& operator=(const UpgradeHandler&) = delete;
    UpgradeHandler(UpgradeHandler&&) = delete;
    UpgradeHandler& operator=(UpgradeHandler&&) = delete;

    virtual bool Wants(const Request& request) const = 0;
    /// Owns the connection from here on.
    virtual void Upgrade(UpgradeContext&& context, Request request) = 0;
};

struct ServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0: any free port (see Server::port())
    int threads = 1;
    /// Request header and body limits (431 and 413 above them).
    RequestLimits limits;
    /// Time allowed to send a whole request (headers and body); a slow-loris client that
    /// trickles bytes is cut off after it. Default 10 s.
    std::chrono::milliseconds request_timeout{10000};
    /// Time a kept-alive connection may sit idle between requests. Default 30 s.
    std::chrono::milliseconds idle_timeout{30000};
    /// Time allowed to write a response. Default 30 s.
    std::chrono::milliseconds write_timeout{30000};
    /// Open connections (HTTP and upgraded) above which new ones get 503 and are closed.
    std::size_t max_connections = 20000;
    /// The kernel's send buffer of every accepted connection (SO_SNDBUF), bounding what a client
    /// that stops reading holds in the kernel beyond the server's own queues; 0 leaves it to
    /// the kernel's autotuning (up to net.ipv4.tcp_wmem's maximum, 4 MiB on Debian). Linux
    /// doubles the value asked for, for its bookkeeping.
    std::size_t socket_send_buffer_bytes = 0;
    /// Where the server's warnings go (accept failures, once per burst); none by default.
    /// Called from the server's threads, one call at a time.
    std::function<void(const std::string&)> warn;
};

/// Counts the server reports (for metrics).
struct ServerStats {
    std::uint64_t requests = 0;
    std::uint64_t rejected_connections = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t bad_requests = 0;
    std::size_t open_connections = 0;
};

/// An HTTP/1.1 server on Boost.Beast: one strand per connection, limits and timeouts on every
/// connection, keep-alive, and WebSocket upgrades handed to an UpgradeHandler.
/// Start() once; Stop() (or destruction) closes the listener and every connection and joins
/// the I/O threads. Thread-safe to Stop from any thread.
class Server {
public:
    Server(ServerOptions options, Handler handler, UpgradeHandler* upgrades = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    /// Binds and starts serving; the error names the address on failure.
    tl::expected<void, std::string> Start();
    void Stop();
    std::uint16_t port() const;
    ServerStats stats() const;

    /// For connections an UpgradeHandler keeps: counted against max_connections.
    bool TryOpenConnection();
    void CloseConnection();

    struct Impl;  ///< implementation detail (public so that the sessions in server.cpp see it)

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace pavewatch::http
