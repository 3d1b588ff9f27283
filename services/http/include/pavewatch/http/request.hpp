#pragma once

// What the server hands a handler and what a handler answers, and how the bytes of a request
// become a Request. Without Boost.Beast: handlers and their tests include only this.

#include <tl/expected.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::http {

/// A parsed HTTP request, handed to the handler.
struct Request {
    std::string method;                          ///< "GET", "POST", ...
    std::string target;                          ///< as sent: path and query
    std::string path;                            ///< percent-decoded path without the query
    std::map<std::string, std::string> query;    ///< percent-decoded; last value wins
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;
    std::string remote;  ///< peer address

    /// Header value by lower-case name; empty when absent.
    std::string Header(const std::string& lower_name) const {
        const auto it = headers.find(lower_name);
        return it == headers.end() ? std::string{} : it->second;
    }
};

/// What the handler answers.
struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    /// Set instead of `body` to send a large body shared between requests without copying.
    std::shared_ptr<const std::string> shared_body;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// Percent-decodes a URL component ("%2C" -> ","; "+" stays "+").
std::string PercentDecode(std::string_view text);

/// A JSON problem document (RFC 9457) response. Text that is not valid UTF-8 in `title` or
/// `detail` (a detail often quotes what the client sent) is written with U+FFFD in place of
/// each invalid sequence, so the document is always valid JSON.
Response Problem(
    unsigned status,
    std::string_view title,
    std::string_view detail,
    std::string_view type = "about:blank"
);

/// Size limits of a request (ServerOptions::limits for the server).
struct RequestLimits {
    /// Larger headers are answered 431. Default 8 KiB, as nginx's
    /// large_client_header_buffers line.
    std::size_t max_header_bytes = std::size_t{8} * 1024;
    /// Larger bodies are answered 413. Default 64 KiB: the API takes no uploads.
    std::size_t max_body_bytes = std::size_t{64} * 1024;
};

/// Reads one whole HTTP/1.x request from `bytes` as the server reads it from a connection that
/// then closes: the same parser and limits, the same Request handed on (path and query
/// percent-decoded, header names lower-cased), and for a request it refuses the same answer
/// (400 malformed or cut short, 413 body too large, 431 headers too large). Bytes after the
/// request are ignored. The server reads incrementally from its sockets; this is the same
/// reading over bytes in memory, for tests and tests/fuzz.
tl::expected<Request, Response>
ParseRequest(std::string_view bytes, const RequestLimits& limits, std::string remote = {});

}  // namespace pavewatch::http
