#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pavewatch::test_support {

struct HttpResult {
    int status = 0;  ///< 0 when the request failed at the socket level
    std::string body;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string error;
};

/// One HTTP/1.1 request to 127.0.0.1:port, bounded by `timeout`.
HttpResult HttpRequest(
    int port,
    const std::string& method,
    const std::string& target,
    const std::map<std::string, std::string>& headers = {},
    const std::string& body = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(10)
);
inline HttpResult HttpGet(int port, const std::string& target) {
    return HttpRequest(port, "GET", target);
}

/// The value of one sample of a Prometheus metrics page (`name` or `name{labels}` exactly as
/// written on the page), or -1 when the page has none.
double MetricValue(const std::string& page, const std::string& sample);

/// Sends `head` on a raw TCP connection to 127.0.0.1:port, then one byte of `trickle` every
/// `interval`, until the server closes the connection or `limit` passes. Returns how long the
/// server kept the connection open (a slow-loris probe).
std::chrono::milliseconds TrickleUntilClosed(
    int port,
    const std::string& head,
    const std::string& trickle,
    std::chrono::milliseconds interval,
    std::chrono::milliseconds limit
);

/// A WebSocket client for tests, on 127.0.0.1:port. Every call is bounded in time.
class WsClient {
public:
    /// Connects and upgrades; `protocols` go in Sec-WebSocket-Protocol. On failure `error()`
    /// says why and, for a refused upgrade, `handshake_status()` holds the HTTP status.
    /// `receive_buffer_bytes` > 0 fixes the socket's SO_RCVBUF (no kernel autotuning), for a
    /// client that plays a slow reader: the kernel then holds little of what it does not read.
    WsClient(
        int port,
        const std::string& target,
        const std::vector<std::string>& protocols = {},
        std::chrono::milliseconds timeout = std::chrono::seconds(10),
        int receive_buffer_bytes = 0
    );
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;
    WsClient(WsClient&&) = delete;
    WsClient& operator=(WsClient&&) = delete;

    bool connected() const;
    const std::string& error() const;
    int handshake_status() const;
    std::string accepted_protocol() const;

    /// The next text message, or nullopt on timeout or close (then `close_code()` is set).
    std::optional<std::string> Read(std::chrono::milliseconds timeout);
    bool Send(const std::string& text);
    /// Sends raw bytes as one binary frame.
    bool SendBinary(const std::string& bytes);
    void Close();
    /// Drops the TCP connection without a WebSocket close (a lost network).
    void Abort();
    /// The close code the server sent, 0 if none yet.
    int close_code() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pavewatch::test_support
