#include "pavewatch/http/server.hpp"

#include "beast_request.hpp"
#include "pavewatch/http/upgrade.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <atomic>
#include <thread>

namespace pavewatch::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl {
    ServerOptions options;
    Handler handler;
    UpgradeHandler* upgrades = nullptr;
    Server* owner = nullptr;
    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> bad_requests{0};
    std::atomic<bool> stopped{false};
    std::uint16_t port = 0;
    // Declared last so that they are destroyed first: pending handlers (and the sessions they
    // own) go away while the counters above still exist.
    asio::io_context io;
    std::optional<tcp::acceptor> acceptor;
    /// Waits before the next accept after a failed one. Touched only by the accept chain (one
    /// accept or wait in flight at a time), as is accept_failures.
    asio::steady_timer accept_retry{io};
    std::uint64_t accept_failures = 0;  ///< in the current burst of failed accepts
    std::vector<std::thread> threads;

    explicit Impl(ServerOptions o) : options(std::move(o)) {}

    void Accept();
    void AcceptFailed(const beast::error_code& ec);
};

namespace {

/// One HTTP connection: read a request (bounded in size and time), answer it, repeat while
/// kept alive. Lives on its own strand; owned by the completion handlers in flight.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket&& socket, Server::Impl& server)
        : stream_(std::move(socket)), server_(server) {
        beast::error_code ec;
        const auto endpoint = stream_.socket().remote_endpoint(ec);
        remote_ = ec ? std::string("unknown") : endpoint.address().to_string();
    }
    ~HttpSession() {
        if (!handed_over_) {
            server_.open.fetch_sub(1);
        }
    }
    HttpSession(const HttpSession&) = delete;
    HttpSession& operator=(const HttpSession&) = delete;
    HttpSession(HttpSession&&) = delete;
    HttpSession& operator=(HttpSession&&) = delete;

    void Run() {
        asio::dispatch(
            stream_.get_executor(),
            beast::bind_front_handler(&HttpSession::Read, shared_from_this())
        );
    }

private:
    void Read() {
        parser_.emplace();
        detail::ApplyLimits(*parser_, server_.options.limits);
        // One deadline for the whole request: a client that trickles bytes (slow loris) is cut
        // off when it passes, however busy it keeps the socket. A kept-alive connection gets
        // the idle time plus the request time for its next request.
        stream_.expires_after(
            first_ ? server_.options.request_timeout
                   : server_.options.idle_timeout + server_.options.request_timeout
        );
        first_ = false;
        bhttp::async_read(
            stream_,
            buffer_,
            *parser_,
            beast::bind_front_handler(&HttpSession::OnRead, shared_from_this())
        );
    }

    void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
            ec == asio::error::eof) {
            return Close();
        }
        if (ec == beast::error::timeout) {
            server_.timeouts.fetch_add(1);
            return;  // the stream is closed by the timeout
        }
        if (ec) {
            server_.bad_requests.fetch_add(1);
            return Send(detail::ReadProblem(ec, server_.options.limits), false, 11);
        }
        auto req = parser_->release();
        server_.requests.fetch_add(1);
        const Request request = detail::ToRequest(req, remote_);
        if (beast::websocket::is_upgrade(req) && server_.upgrades != nullptr &&
            server_.upgrades->Wants(request)) {
            stream_.expires_never();
            handed_over_ = true;
            server_.upgrades->Upgrade(
                UpgradeContext{std::move(stream_), std::move(req), server_.owner}, request
            );
            return;
        }
        Response response;
        try {
            response = server_.handler(request);
        } catch (const std::exception& e) {
            response = Problem(500, "Internal Server Error", e.what());
        }
        Send(
            std::move(response), req.keep_alive(), req.version(), req.method() == bhttp::verb::head
        );
    }

    void Send(Response response, bool keep_alive, unsigned version, bool head = false) {
        auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
        res->version(version);
        res->result(response.status);
        res->set(bhttp::field::server, "pavewatch");
        res->set(bhttp::field::content_type, response.content_type);
        for (const auto& [k, v] : response.headers) {
            res->set(k, v);
        }
        if (response.shared_body) {
            res->body() = *response.shared_body;
        } else {
            res->body() = std::move(response.body);
        }
        res->keep_alive(keep_alive);
        res->prepare_payload();
        if (head) {
            // HEAD: the headers of the GET answer (Content-Length included), no body.
            const auto length = res->body().size();
            res->body().clear();
            res->content_length(length);
        }
        stream_.expires_after(server_.options.write_timeout);
        bhttp::async_write(
            stream_,
            *res,
            [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                self->OnWrite(ec, res->need_eof());
            }
        );
    }

    void OnWrite(beast::error_code ec, bool close) {
        if (ec) {
            return;
        }
        if (close) {
            return Close();
        }
        Read();
    }

    void Close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    Server::Impl& server_;
    std::string remote_;
    bool first_ = true;
    bool handed_over_ = false;
};

}  // namespace

/// An accept failed for another reason than the server stopping or one connection aborted
/// before it was taken: out of file descriptors (EMFILE, ENFILE) or of memory (ENOBUFS). The
/// pending connection stays in the backlog, so accepting again at once would fail again at
/// once: a busy loop that takes a core. Waits kAcceptRetry instead; warns once per burst.
void Server::Impl::AcceptFailed(const beast::error_code& ec) {
    static constexpr std::chrono::milliseconds kAcceptRetry{100};
    if (accept_failures++ == 0 && options.warn) {
        options.warn(
            "cannot accept connections: " + ec.message() +
            "; retrying every 100 ms (out of file descriptors? raise the limit, `ulimit -n`, "
            "or lower --http-max-connections)"
        );
    }
    accept_retry.expires_after(kAcceptRetry);
    accept_retry.async_wait([this](beast::error_code timer_ec) {
        if (!timer_ec && !stopped.load()) {
            Accept();
        }
    });
}

void Server::Impl::Accept() {
    acceptor->async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || stopped.load()) {
            return;
        }
        if (ec == asio::error::connection_aborted) {  // that one connection is gone: go on
            Accept();
            return;
        }
        if (ec) {
            AcceptFailed(ec);
            return;
        }
        if (accept_failures != 0) {
            if (options.warn) {
                options.warn(
                    "accepting connections again after " + std::to_string(accept_failures) +
                    " failed attempts"
                );
            }
            accept_failures = 0;
        }
        if (open.fetch_add(1) >= options.max_connections) {
            open.fetch_sub(1);
            rejected.fetch_add(1);
            // Over the limit: a short 503 (a problem document, RFC 9457) and close, without
            // reading the request.
            static const std::string kBody =
                R"({"type":"about:blank","title":"Service Unavailable","status":503,)"
                R"("detail":"too many connections; retry later"})";
            static const std::string kBusy =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
                "Retry-After: 1\r\nContent-Length: " +
                std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n" + kBody;
            beast::error_code ignored;
            socket.write_some(asio::buffer(kBusy), ignored);
            socket.close(ignored);
        } else {
            if (options.socket_send_buffer_bytes > 0) {
                beast::error_code ignored;  // a refused size leaves the kernel's own
                socket.set_option(
                    asio::socket_base::send_buffer_size(
                        static_cast<int>(options.socket_send_buffer_bytes)
                    ),
                    ignored
                );
            }
            std::make_shared<HttpSession>(std::move(socket), *this)->Run();
        }
        Accept();
    });
}

Server::Server(ServerOptions options, Handler handler, UpgradeHandler* upgrades)
    : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->handler = std::move(handler);
    impl_->upgrades = upgrades;
    impl_->owner = this;
}

Server::~Server() {
    Stop();
}

tl::expected<void, std::string> Server::Start() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(impl_->options.address, ec);
    if (ec) {
        return tl::unexpected(
            "bad listen address \"" + impl_->options.address + "\": " + ec.message()
        );
    }
    const tcp::endpoint endpoint(address, impl_->options.port);
    impl_->acceptor.emplace(impl_->io);
    impl_->acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
        impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        impl_->acceptor->bind(endpoint, ec);
    }
    if (!ec) {
        impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return tl::unexpected(
            "cannot listen on " + impl_->options.address + ":" +
            std::to_string(impl_->options.port) + ": " + ec.message()
        );
    }
    impl_->port = impl_->acceptor->local_endpoint().port();
    impl_->Accept();
    for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
        impl_->threads.emplace_back([this] { impl_->io.run(); });
    }
    return {};
}

void Server::Stop() {
    if (impl_ == nullptr || impl_->stopped.exchange(true)) {
        return;
    }
    impl_->io.stop();
    for (auto& t : impl_->threads) {
        if (t.joinable()) {
            t.join();
        }
    }
    impl_->threads.clear();
    beast::error_code ec;
    if (impl_->acceptor) {
        impl_->acceptor->close(ec);
    }
}

std::uint16_t Server::port() const {
    return impl_->port;
}

ServerStats Server::stats() const {
    return {
        impl_->requests.load(),
        impl_->rejected.load(),
        impl_->timeouts.load(),
        impl_->bad_requests.load(),
        impl_->open.load()};
}

bool Server::TryOpenConnection() {
    if (impl_->open.fetch_add(1) >= impl_->options.max_connections) {
        impl_->open.fetch_sub(1);
        return false;
    }
    return true;
}

void Server::CloseConnection() {
    impl_->open.fetch_sub(1);
}

}  // namespace pavewatch::http
