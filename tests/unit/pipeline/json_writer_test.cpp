// JsonWriter: whatever the bytes of a string, the JSON it writes reads back to the same string.

#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
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

/// The JSON text of `s` as the writer must produce it, one character at a time.
std::string QuotedByHand(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            const std::string named = c == '\n'   ? "\\n"
                                      : c == '\r' ? "\\r"
                                      : c == '\t' ? "\\t"
                                                  : "";
            if (!named.empty()) {
                out += named;
            } else {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", u);
                out += buf;
            }
        } else {
            out += c;
        }
    }
    return out + "\"";
}

TEST(JsonWriter, FindsACharacterToEscapeAtEveryPositionOfALongString) {
    // Strings are scanned eight bytes at a time: an escape at any offset within a word or in
    // the tail, and bytes that sit next to the escaped ones in value (0x1f and 0x20, '!' and
    // '#' beside '"', '[' and ']' beside '\\', 0x7f, UTF-8 bytes), must all come out right.
    const std::string specials = std::string("\"\\\x1f\x00\n\x01", 6);
    const std::string neighbours = std::string(" !#[]\x7f") + "ж";
    for (std::size_t length = 1; length <= 40; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            for (const char special : specials + neighbours) {
                std::string s(length, 'k');
                s[at] = special;
                std::string out;
                JsonWriter w(out);
                w.BeginObject();
                w.Key(s).String(s);
                w.EndObject();
                const std::string q = QuotedByHand(s);
                std::string want = "{";
                want.append(q).append(":").append(q).append("}");
                ASSERT_EQ(out, want) << "length " << length << " at " << at;
            }
        }
    }
}

TEST(JsonWriter, WritesRoundedDecimalsShort) {
    const auto text = [](double v, int decimals) {
        std::string out;
        JsonWriter(out).Decimal(v, decimals);
        return out;
    };
    EXPECT_EQ(text(39.94, 1), "39.9");
    EXPECT_EQ(text(39.96, 1), "40");
    EXPECT_EQ(text(2.0, 3), "2");
    EXPECT_EQ(text(0.001, 3), "0.001");
    EXPECT_EQ(text(0.05, 2), "0.05");
    EXPECT_EQ(text(-1.25, 1), "-1.3");  // half away from zero, as std::round
    EXPECT_EQ(text(-0.04, 1), "0");     // no "-0"
    EXPECT_EQ(text(1234567.891, 3), "1234567.891");
    EXPECT_EQ(text(7.5, 0), "8");
    EXPECT_EQ(text(std::nan(""), 2), "null");
    EXPECT_EQ(text(1e300, 2), "1e+300");  // beyond exact integers: as Number writes it
}

// Whatever the value, the text reads back to the double nearest the rounded decimal, the same
// value as round(v * 10^d) / 10^d, and carries at most d decimals.
TEST(JsonWriter, DecimalsReadBackToTheRoundedValue) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
    for (int c = 0; c < 20000; ++c) {
        const double v = mantissa(rng) * std::pow(10.0, static_cast<double>(rng() % 12) - 3.0);
        const int d = static_cast<int>(rng() % 7);
        std::string out;
        JsonWriter(out).Decimal(v, d);
        const double scale = std::pow(10.0, d);
        EXPECT_EQ(std::stod(out), std::round(v * scale) / scale) << v << " " << d << " " << out;
        const auto dot = out.find('.');
        if (dot != std::string::npos) {
            EXPECT_LE(out.size() - dot - 1, static_cast<std::size_t>(d)) << out;
            EXPECT_NE(out.back(), '0') << out;
        }
    }
}

}  // namespace
}  // namespace pavewatch::pipeline
