#include "pavewatch/http/request.hpp"

#include "beast_request.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

namespace pavewatch::http {

namespace bhttp = boost::beast::http;

namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// The length of the valid UTF-8 sequence at the start of `s` (1-4), or 0 when it does not
/// start with one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;  // the range of the second byte, narrowed for some lead bytes
    unsigned char high = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        length = 3;
        low = b0 == 0xE0 ? 0xA0 : 0x80;
        high = b0 == 0xED ? 0x9F : 0xBF;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        length = 4;
        low = b0 == 0xF0 ? 0x90 : 0x80;
        high = b0 == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (s.size() < length || byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xBF) {
            return 0;
        }
    }
    return length;
}

/// `text` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t length = Utf8SequenceLength(text);
        if (length == 0) {
            out += "\xEF\xBF\xBD";
            text.remove_prefix(1);
        } else {
            out.append(text.substr(0, length));
            text.remove_prefix(length);
        }
    }
    return out;
}

}  // namespace

std::string PercentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = HexValue(text[i + 1]);
            const int lo = HexValue(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

Response
Problem(unsigned status, std::string_view title, std::string_view detail, std::string_view type) {
    Response r;
    r.status = status;
    r.content_type = "application/problem+json";
    pipeline::JsonWriter w(r.body);
    w.BeginObject();
    w.Key("type").String(type);
    w.Key("title").String(ValidUtf8(title));
    w.Key("status").Int(status);
    w.Key("detail").String(ValidUtf8(detail));
    w.EndObject();
    return r;
}

tl::expected<Request, Response>
ParseRequest(std::string_view bytes, const RequestLimits& limits, std::string remote) {
    bhttp::request_parser<bhttp::string_body> parser;
    detail::ApplyLimits(parser, limits);
    boost::beast::error_code ec;
    while (!ec && !parser.is_done()) {
        if (bytes.empty()) {
            if (!parser.got_some()) {
                ec = bhttp::error::end_of_stream;  // closed before a request began
                break;
            }
            parser.put_eof(ec);  // the connection closes here
            if (!ec && !parser.is_done()) {
                ec = bhttp::error::partial_message;
            }
            break;
        }
        const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
        if (ec == bhttp::error::need_more) {
            ec = {};
            if (used == 0) {
                bytes = {};  // nothing more can be read from what is left: it ends here
            }
        }
        bytes.remove_prefix(std::min(used, bytes.size()));
    }
    if (ec) {
        return tl::unexpected(detail::ReadProblem(ec, limits));
    }
    return detail::ToRequest(parser.get(), std::move(remote));
}

namespace detail {

void ApplyLimits(bhttp::request_parser<bhttp::string_body>& parser, const RequestLimits& limits) {
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
}

Request ToRequest(const bhttp::request<bhttp::string_body>& message, std::string remote) {
    Request r;
    r.method = std::string(message.method_string());
    r.target = std::string(message.target());
    const auto q = r.target.find('?');
    r.path = PercentDecode(std::string_view(r.target).substr(0, q));
    if (q != std::string::npos) {
        std::string_view rest = std::string_view(r.target).substr(q + 1);
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            const auto eq = pair.find('=');
            if (!pair.empty()) {
                r.query[PercentDecode(pair.substr(0, eq))] =
                    eq == std::string_view::npos ? std::string{}
                                                 : PercentDecode(pair.substr(eq + 1));
            }
            if (amp == std::string_view::npos) {
                break;
            }
            rest = rest.substr(amp + 1);
        }
    }
    for (const auto& field : message) {
        std::string name(field.name_string());
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        r.headers[name] = std::string(field.value());
    }
    r.body = message.body();
    r.remote = std::move(remote);
    return r;
}

Response ReadProblem(const boost::beast::error_code& error, const RequestLimits& limits) {
    if (error == bhttp::error::header_limit) {
        return Problem(
            431,
            "Request Header Fields Too Large",
            "request headers exceed " + std::to_string(limits.max_header_bytes) + " bytes"
        );
    }
    if (error == bhttp::error::body_limit) {
        return Problem(
            413,
            "Content Too Large",
            "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes"
        );
    }
    return Problem(400, "Bad Request", error.message());
}

}  // namespace detail
}  // namespace pavewatch::http
