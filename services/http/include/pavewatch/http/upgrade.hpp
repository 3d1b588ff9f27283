#pragma once

// The hand-over of an upgraded connection. Includes Boost.Beast: only the code that speaks
// WebSocket includes this header.

#include "pavewatch/http/server.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace pavewatch::http {

struct UpgradeContext {
    boost::beast::tcp_stream stream;
    boost::beast::http::request<boost::beast::http::string_body> request;
    Server* server = nullptr;  ///< for CloseConnection() when the upgraded connection ends
};

}  // namespace pavewatch::http
