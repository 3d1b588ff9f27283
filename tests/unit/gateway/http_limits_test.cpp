// The HTTP server's connection limits: above the connection limit a new connection gets a 503
// problem document and is closed, and the others keep being served; the kernel's send buffer of
// a connection is bounded when asked.

#include "pavewatch/http/server.hpp"
#include "pavewatch/test_support/net_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

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

/// CPU time this process has used so far.
std::chrono::nanoseconds ProcessCpuTime() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

TEST(HttpServer, OutOfFileDescriptorsItRetriesAcceptingAfterAPauseNotInABusyLoop) {
    ServerOptions options;
    options.address = "127.0.0.1";
    std::mutex warnings_mutex;
    std::vector<std::string> warnings;
    options.warn = [&](const std::string& w) {
        const std::lock_guard lock(warnings_mutex);
        warnings.push_back(w);
    };
    Server server(options, [](const Request&) {
        Response r;
        r.body = R"({"ok":true})";
        return r;
    });
    ASSERT_TRUE(server.Start());
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket client(io);
    client.open(boost::asio::ip::tcp::v4());  // its descriptor, while there are some

    // No descriptor left for the process: the lowest free one is at the limit.
    rlimit before{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
    const int lowest_free = dup(0);
    ASSERT_GE(lowest_free, 0);
    close(lowest_free);
    rlimit none = before;
    none.rlim_cur = static_cast<rlim_t>(lowest_free);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &none), 0);
    // The kernel completes the handshake; the server cannot accept the connection (EMFILE).
    client.connect(boost::asio::ip::tcp::endpoint(
        boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())
    ));
    const auto cpu_before = ProcessCpuTime();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto cpu = ProcessCpuTime() - cpu_before;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
    EXPECT_LT(cpu, std::chrono::milliseconds(300)) << "accept must not spin while it fails";

    // Descriptors again: the waiting connection is accepted and served.
    const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    boost::asio::write(client, boost::asio::buffer(request));
    std::string answer;
    boost::system::error_code ec;
    std::array<char, 4096> chunk{};
    while (!ec) {
        const std::size_t n = client.read_some(boost::asio::buffer(chunk), ec);
        answer.append(chunk.data(), n);
    }
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0U) << answer;
    server.Stop();
    const std::lock_guard lock(warnings_mutex);
    ASSERT_EQ(warnings.size(), 2U) << "one warning when accepting fails, one when it works again";
    EXPECT_NE(warnings[0].find("cannot accept connections"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[1].find("accepting connections again"), std::string::npos) << warnings[1];
}

/// The bytes the kernel holds unacknowledged for the IPv4 TCP connection from local port
/// `local` to remote port `remote` (tx_queue of /proc/net/tcp), if there is one.
std::optional<std::uint64_t> SendQueueBytes(int local, int remote) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local_address, remote_address, state, queues;
        fields >> slot >> local_address >> remote_address >> state >> queues;
        const auto port_of = [](const std::string& address) {
            return std::stoi(address.substr(address.find(':') + 1), nullptr, 16);
        };
        if (port_of(local_address) == local && port_of(remote_address) == remote) {
            return std::stoull(queues.substr(0, queues.find(':')), nullptr, 16);
        }
    }
    return std::nullopt;
}

/// Serves a 32 MiB response to a client that sends its request and then reads nothing; returns
/// the most the server's side of the connection held in the kernel within 2 s.
std::uint64_t HeldForAClientThatStopsReading(std::size_t send_buffer_bytes) {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.socket_send_buffer_bytes = send_buffer_bytes;
    Server server(options, [](const Request&) {
        Response r;
        r.content_type = "application/octet-stream";
        r.body = std::string(32U << 20, 'x');
        return r;
    });
    EXPECT_TRUE(server.Start());
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket client(io);
    client.open(boost::asio::ip::tcp::v4());
    // A small receive window, so that what piles up is on the server's side.
    client.set_option(boost::asio::socket_base::receive_buffer_size(16384));
    client.connect(boost::asio::ip::tcp::endpoint(
        boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())
    ));
    const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    boost::asio::write(client, boost::asio::buffer(request));
    std::uint64_t most = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (auto held = SendQueueBytes(server.port(), client.local_endpoint().port())) {
            most = std::max(most, *held);
        }
    }
    client.close();
    server.Stop();
    return most;
}

TEST(HttpServer, ASendBufferBoundsWhatAClientThatStopsReadingHoldsInTheKernel) {
    const std::uint64_t bounded = HeldForAClientThatStopsReading(64U << 10);
    const std::uint64_t autotuned = HeldForAClientThatStopsReading(0);
    // Linux doubles the size asked for; the payload queued stays within that.
    EXPECT_GT(bounded, 0U);
    EXPECT_LE(bounded, 2U * (64U << 10));
    // Left to the kernel, the same client makes it hold far more: the bound is what keeps it.
    EXPECT_GT(autotuned, 4U * bounded) << "bounded " << bounded << ", autotuned " << autotuned;
}

}  // namespace
}  // namespace pavewatch::http
