// How the bytes of a request become what a handler sees (http::ParseRequest, the server's own
// reading): path and query percent-decoded, header names lower-cased, the limits answered with
// their documented status, and problem documents valid JSON whatever a client sent.

#include "pavewatch/http/request.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace pavewatch::http {
namespace {

std::string Body(const Response& r) {
    return r.shared_body ? *r.shared_body : r.body;
}

TEST(ParseRequest, DecodesThePathAndQueryAndLowerCasesHeaderNames) {
    const auto r = ParseRequest(
        "GET /api/v1/segments%2Fx?bbox=76.9%2C43.2%2C77%2C43.3&class=poor&class=fair&flag "
        "HTTP/1.1\r\n"
        "Host: localhost\r\nAuthorization: Bearer abc\r\n\r\n",
        {},
        "127.0.0.1"
    );
    ASSERT_TRUE(r) << Body(r.error());
    EXPECT_EQ(r->method, "GET");
    EXPECT_EQ(r->path, "/api/v1/segments/x");
    EXPECT_EQ(r->query.at("bbox"), "76.9,43.2,77,43.3");
    EXPECT_EQ(r->query.at("class"), "fair");  // the last value wins
    EXPECT_EQ(r->query.at("flag"), "");
    EXPECT_EQ(r->Header("authorization"), "Bearer abc");
    EXPECT_EQ(r->remote, "127.0.0.1");
}

TEST(ParseRequest, ReadsABodyByContentLengthAndByChunks) {
    const auto sized =
        ParseRequest("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello and more", {});
    ASSERT_TRUE(sized);
    EXPECT_EQ(sized->body, "hello");
    const auto chunked = ParseRequest(
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
        {}
    );
    ASSERT_TRUE(chunked);
    EXPECT_EQ(chunked->body, "hello");
}

void ExpectProblem(const tl::expected<Request, Response>& r, unsigned status) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, status);
    EXPECT_EQ(r.error().content_type, "application/problem+json");
    const auto problem = boost::json::parse(Body(r.error())).as_object();
    EXPECT_EQ(problem.at("status").as_int64(), status);
}

TEST(ParseRequest, AnswersTheLimitsAndMalformedRequestsAsTheServerDoes) {
    const RequestLimits limits{.max_header_bytes = 256, .max_body_bytes = 16};
    ExpectProblem(
        ParseRequest("GET / HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", limits), 431
    );
    ExpectProblem(
        ParseRequest(
            "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'b'), limits
        ),
        413
    );
    ExpectProblem(ParseRequest("GET / HTTP/1.1\r\nHost a\r\n\r\n", limits), 400);  // no colon
    ExpectProblem(ParseRequest("GET / HTTP/1.1\r\nHost: a\r\n", limits), 400);     // cut short
    ExpectProblem(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc", limits), 400);
    ExpectProblem(ParseRequest("", limits), 400);
    // Just within the limits is read.
    EXPECT_TRUE(
        ParseRequest("POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\n" + std::string(16, 'b'), limits)
    );
}

TEST(Problem, IsValidJsonWhenTheDetailQuotesBytesThatAreNotUtf8) {
    // What a client can send percent-encoded: a lone continuation byte, a cut sequence, an
    // overlong form, a surrogate, a code point above U+10FFFF; valid text stays as it is.
    const std::string detail = std::string("no resource at /\x80/\xC3/\xC0\xAF/") +
                               "\xED\xA0\x80/\xF4\x90\x80\x80/" +
                               "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x97";
    const auto r = Problem(404, "Not Found", detail);
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    const std::string text(parsed.as_object().at("detail").as_string());
    EXPECT_EQ(text.find('\x80'), std::string::npos);
    EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);
    EXPECT_NE(text.find("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x97"), std::string::npos);  // é€🚗
}

}  // namespace
}  // namespace pavewatch::http
