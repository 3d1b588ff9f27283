#include "pavewatch/test_support/net_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <thread>

namespace pavewatch::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

HttpResult HttpRequest(
    int port,
    const std::string& method,
    const std::string& target,
    const std::map<std::string, std::string>& headers,
    const std::string& body,
    std::chrono::milliseconds timeout
) {
    HttpResult result;
    try {
        asio::io_context io;
        beast::tcp_stream stream(io);
        stream.expires_after(timeout);
        stream.connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port))
        );
        bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
        req.set(bhttp::field::host, "127.0.0.1");
        for (const auto& [k, v] : headers) {
            req.set(k, v);
        }
        req.body() = body;
        req.prepare_payload();
        bhttp::write(stream, req);
        beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(256U << 20);
        bhttp::read(stream, buffer, parser);
        const auto& res = parser.get();
        result.status = static_cast<int>(res.result_int());
        result.body = res.body();
        for (const auto& f : res) {
            std::string name(f.name_string());
            for (auto& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            result.headers[name] = std::string(f.value());
        }
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    return result;
}

std::chrono::milliseconds TrickleUntilClosed(
    int port,
    const std::string& head,
    const std::string& trickle,
    std::chrono::milliseconds interval,
    std::chrono::milliseconds limit
) {
    const auto started = std::chrono::steady_clock::now();
    asio::io_context io;
    tcp::socket socket(io);
    beast::error_code ec;
    socket.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec
    );
    if (ec) {
        return std::chrono::milliseconds(0);
    }
    asio::write(socket, asio::buffer(head), ec);
    std::size_t next = 0;
    while (!ec && std::chrono::steady_clock::now() - started < limit) {
        std::this_thread::sleep_for(interval);
        const char byte = trickle.empty() ? 'x' : trickle[next++ % trickle.size()];
        asio::write(socket, asio::buffer(&byte, 1), ec);
        if (!ec) {
            // A closed connection shows up as a failed write or as end of stream on a read.
            socket.non_blocking(true);
            char buffer[512];
            beast::error_code read_ec;
            const auto n = socket.read_some(asio::buffer(buffer), read_ec);
            (void)n;
            if (read_ec == asio::error::eof || read_ec == asio::error::connection_reset) {
                break;
            }
            socket.non_blocking(false);
        }
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started
    );
}

struct WsClient::Impl {
    asio::io_context io;
    websocket::stream<beast::tcp_stream> ws{io};
    beast::flat_buffer buffer;
    bool connected = false;
    std::string error;
    int handshake_status = 0;
    std::string protocol;
    int close_code = 0;
};

WsClient::WsClient(
    int port,
    const std::string& target,
    const std::vector<std::string>& protocols,
    std::chrono::milliseconds timeout,
    int receive_buffer_bytes
)
    : impl_(std::make_unique<Impl>()) {
    try {
        auto& stream = beast::get_lowest_layer(impl_->ws);
        stream.expires_after(timeout);
        if (receive_buffer_bytes > 0) {
            stream.socket().open(tcp::v4());  // the option must be set before connecting
            stream.socket().set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes)
            );
        }
        stream.connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port))
        );
        std::string joined;
        for (const auto& p : protocols) {
            joined += (joined.empty() ? "" : ", ") + p;
        }
        impl_->ws.set_option(websocket::stream_base::decorator([joined](websocket::request_type& req
                                                               ) {
            if (!joined.empty()) {
                req.set(bhttp::field::sec_websocket_protocol, joined);
            }
        }));
        websocket::response_type res;
        beast::error_code ec;
        impl_->ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
        impl_->handshake_status = static_cast<int>(res.result_int());
        if (ec) {
            impl_->error = ec.message();
            return;
        }
        impl_->protocol = std::string(res[bhttp::field::sec_websocket_protocol]);
        stream.expires_never();
        impl_->connected = true;
    } catch (const std::exception& e) {
        impl_->error = e.what();
    }
}

WsClient::~WsClient() {
    Close();
}

bool WsClient::connected() const {
    return impl_->connected;
}
const std::string& WsClient::error() const {
    return impl_->error;
}
int WsClient::handshake_status() const {
    return impl_->handshake_status;
}
std::string WsClient::accepted_protocol() const {
    return impl_->protocol;
}
int WsClient::close_code() const {
    return impl_->close_code;
}

std::optional<std::string> WsClient::Read(std::chrono::milliseconds timeout) {
    if (!impl_->connected) {
        return std::nullopt;
    }
    beast::error_code result = asio::error::would_block;
    std::optional<std::string> text;
    impl_->buffer.clear();
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) { result = ec; });
    impl_->io.restart();
    impl_->io.run_for(timeout);
    if (result == asio::error::would_block) {
        // Timed out: cancel the read and let it finish.
        beast::get_lowest_layer(impl_->ws).cancel();
        impl_->io.restart();
        impl_->io.run_for(std::chrono::seconds(1));
        if (result == asio::error::operation_aborted || result == asio::error::would_block) {
            // A cancelled read leaves a websocket stream unusable in Beast; reconnect in tests
            // that need more after a timeout.
            impl_->connected = false;
        }
        return std::nullopt;
    }
    if (result) {
        if (result == websocket::error::closed) {
            impl_->close_code = impl_->ws.reason().code;
        }
        impl_->connected = false;
        return std::nullopt;
    }
    text = beast::buffers_to_string(impl_->buffer.data());
    return text;
}

bool WsClient::Send(const std::string& text) {
    if (!impl_->connected) {
        return false;
    }
    beast::error_code ec;
    impl_->ws.text(true);
    impl_->ws.write(asio::buffer(text), ec);
    return !ec;
}

bool WsClient::SendBinary(const std::string& bytes) {
    if (!impl_->connected) {
        return false;
    }
    beast::error_code ec;
    impl_->ws.binary(true);
    impl_->ws.write(asio::buffer(bytes), ec);
    return !ec;
}

void WsClient::Abort() {
    beast::error_code ec;
    beast::get_lowest_layer(impl_->ws).socket().close(ec);
    impl_->connected = false;
}

void WsClient::Close() {
    if (!impl_->connected) {
        return;
    }
    beast::error_code ec;
    beast::get_lowest_layer(impl_->ws).expires_after(std::chrono::seconds(2));
    impl_->ws.close(websocket::close_code::normal, ec);
    impl_->connected = false;
}

double MetricValue(const std::string& page, const std::string& sample) {
    const auto at = page.find("\n" + sample + " ");
    return at == std::string::npos ? -1.0 : std::stod(page.substr(at + sample.size() + 2));
}

}  // namespace pavewatch::test_support
