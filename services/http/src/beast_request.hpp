#pragma once

// What the server and ParseRequest share of reading a request with Boost.Beast (private to
// pavewatch::http).

#include "pavewatch/http/request.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace pavewatch::http::detail {

/// Sets a request parser's header and body limits.
void ApplyLimits(
    boost::beast::http::request_parser<boost::beast::http::string_body>& parser,
    const RequestLimits& limits
);

/// The Request handed to a handler for a message Beast has read.
Request ToRequest(
    const boost::beast::http::request<boost::beast::http::string_body>& message,
    std::string remote
);

/// The answer to a request that could not be read (`error` from Beast's parser): 431 for
/// headers over the limit, 413 for a body over it, 400 otherwise.
Response ReadProblem(const boost::beast::error_code& error, const RequestLimits& limits);

}  // namespace pavewatch::http::detail
