// The HTTP server's connection limit: above it a new connection gets a 503 problem document and
// is closed, and the others keep being served.

#include "pavewatch/http/server.hpp"
#include "pavewatch/test_support/net_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace pavewatch::http {
namespace {

TEST(HttpServer, AboveTheConnectionLimitAnswers503AndServesTheOthers) {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.max_connections = 2;
    Server server(options, [](const Request&) {
        Response r;
        r.body = R"({"ok":true})";
        return r;
    });
    ASSERT_TRUE(server.Start());
    const int port = server.port();

    // Two idle connections take the two places.
    boost::asio::io_context io;
    const boost::asio::ip::tcp::endpoint endpoint(
        boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)
    );
    boost::asio::ip::tcp::socket a(io);
    boost::asio::ip::tcp::socket b(io);
    a.connect(endpoint);
    b.connect(endpoint);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // accepted by the server

    const auto refused = test_support::HttpGet(port, "/");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.headers.at("content-type"), "application/problem+json");
    EXPECT_EQ(refused.headers.at("retry-after"), "1");
    const auto problem = boost::json::parse(refused.body).as_object();
    EXPECT_EQ(problem.at("status"), 503);
    EXPECT_EQ(problem.at("title"), "Service Unavailable");
    EXPECT_GE(server.stats().rejected_connections, 1U);

    // A place frees up: served again (bounded wait for the server to see the close).
    a.close();
    int status = 0;
    for (int i = 0; i < 50 && status != 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = test_support::HttpGet(port, "/").status;
    }
    EXPECT_EQ(status, 200);
    server.Stop();
}

}  // namespace
}  // namespace pavewatch::http
