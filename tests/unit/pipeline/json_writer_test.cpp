// JsonWriter: whatever the bytes of a string, the JSON it writes reads back to the same string.

#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace pavewatch::pipeline {
namespace {

TEST(JsonWriter, EscapesWhatJsonRequiresAndNothingElse) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    w.Key("a\"b").String("line\none\ttab\\slash\x01 end");
    w.Key("plain").String("Абай ave. 12");
    w.EndObject();
    EXPECT_EQ(out, R"({"a\"b":"line\none\ttab\\slash\u0001 end","plain":"Абай ave. 12"})");
}

TEST(JsonWriter, AnyStringReadsBackTheSame) {
    std::mt19937_64 rng(7);
    // Characters that need escaping, plain ASCII and UTF-8 (two-byte Cyrillic).
    const std::string alphabet = std::string("\"\\\n\r\t\x01\x1f abcXYZ019.-_") + "жә";
    for (int c = 0; c < 2000; ++c) {
        std::string s;
        const auto n = rng() % 40;
        for (std::size_t i = 0; i < n; ++i) {
            const auto k = rng() % (alphabet.size() - 4);
            if (k + 1 == alphabet.size() - 4) {  // a whole UTF-8 character
                s += alphabet.substr(alphabet.size() - 4, 2 * (1 + rng() % 2));
            } else {
                s.push_back(alphabet[k]);
            }
        }
        std::string out;
        JsonWriter w(out);
        w.BeginObject();
        w.Key(s).String(s);
        w.EndObject();
        boost::json::error_code ec;
        const auto v = boost::json::parse(out, ec);
        ASSERT_FALSE(ec) << out;
        const auto& o = v.as_object();
        ASSERT_EQ(o.size(), 1U);
        EXPECT_EQ(std::string(o.begin()->key()), s) << out;
        EXPECT_EQ(std::string(o.begin()->value().as_string()), s) << out;
    }
}

}  // namespace
}  // namespace pavewatch::pipeline
