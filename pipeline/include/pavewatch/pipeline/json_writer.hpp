#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::pipeline {

/// Builds compact JSON text by appending to a string, with commas placed automatically.
/// Faster than building a DOM and serialising it, which matters for the simulator and for the
/// condition records the wear processor writes at every commit. Non-finite numbers are written
/// as null (JSON has no NaN). Not thread-safe; the caller keeps Begin/End balanced.
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(&out) {}

    JsonWriter& BeginObject() {
        Separate();
        out_->push_back('{');
        first_.push_back(true);
        return *this;
    }
    JsonWriter& EndObject() {
        out_->push_back('}');
        first_.pop_back();
        return *this;
    }
    JsonWriter& BeginArray() {
        Separate();
        out_->push_back('[');
        first_.push_back(true);
        return *this;
    }
    JsonWriter& EndArray() {
        out_->push_back(']');
        first_.pop_back();
        return *this;
    }
    /// The next value is this key's; call a value method right after.
    JsonWriter& Key(std::string_view key) {
        Separate();
        after_key_ = true;
        if (PlainUntil(key, 0) == key.size()) {
            // `"key":` in one copy: keys are ours and plain, and records have hundreds.
            const std::size_t at = out_->size();
            out_->resize(at + key.size() + 3);
            char* p = out_->data() + at;
            *p = '"';
            std::copy(key.begin(), key.end(), p + 1);
            p[key.size() + 1] = '"';
            p[key.size() + 2] = ':';
            return *this;
        }
        AppendQuoted(key);
        out_->push_back(':');
        return *this;
    }
    JsonWriter& String(std::string_view value) {
        Separate();
        AppendQuoted(value);
        return *this;
    }
    JsonWriter& Int(std::int64_t value) {
        Separate();
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof(buf), value);
        out_->append(buf, r.ptr);
        return *this;
    }
    JsonWriter& UInt(std::uint64_t value) {
        Separate();
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof(buf), value);
        out_->append(buf, r.ptr);
        return *this;
    }
    /// Shortest text that reads back to the same double.
    JsonWriter& Number(double value) {
        Separate();
        if (!std::isfinite(value)) {
            out_->append("null");
            return *this;
        }
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof(buf), value);
        out_->append(buf, r.ptr);
        return *this;
    }
    /// Shortest text that reads back to the same float (compact sample arrays).
    JsonWriter& Number(float value) {
        Separate();
        if (!std::isfinite(value)) {
            out_->append("null");
            return *this;
        }
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof(buf), value);
        out_->append(buf, r.ptr);
        return *this;
    }
    /// `value` rounded to `decimals` (0 to 6) decimal places, written as that decimal with its
    /// trailing zeros dropped (39.9, 2.548, 0, -1.5): the text a reader expects of a rounded
    /// figure, at a fraction of the cost of the shortest round-trip text. Magnitudes of 9e15
    /// units of the last place and more are written as Number writes them.
    JsonWriter& Decimal(double value, int decimals) {
        static constexpr std::int64_t kScale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
        decimals = decimals < 0 ? 0 : (decimals > 6 ? 6 : decimals);
        const std::int64_t scale = kScale[decimals];
        const double scaled = std::round(value * static_cast<double>(scale));
        if (!std::isfinite(scaled) || std::abs(scaled) >= 9e15) {
            return Number(value);
        }
        Separate();
        auto units = static_cast<std::int64_t>(scaled);
        char buf[40];
        char* p = buf;
        if (units < 0) {
            *p++ = '-';
            units = -units;
        }
        p = std::to_chars(p, buf + sizeof(buf), units / scale).ptr;
        std::int64_t fraction = units % scale;
        if (fraction != 0) {
            int digits = decimals;
            while (fraction % 10 == 0) {
                fraction /= 10;
                --digits;
            }
            *p++ = '.';
            for (int i = digits - 1; i >= 0; --i) {
                p[i] = static_cast<char>('0' + fraction % 10);
                fraction /= 10;
            }
            p += digits;
        }
        out_->append(buf, p);
        return *this;
    }
    /// Fixed number of decimals (coordinates: 7 decimals is 1 cm).
    JsonWriter& Fixed(double value, int decimals) {
        Separate();
        if (!std::isfinite(value)) {
            out_->append("null");
            return *this;
        }
        char buf[48];
        const auto r =
            std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed, decimals);
        out_->append(buf, r.ptr);
        return *this;
    }
    JsonWriter& Bool(bool value) {
        Separate();
        out_->append(value ? "true" : "false");
        return *this;
    }
    JsonWriter& Null() {
        Separate();
        out_->append("null");
        return *this;
    }
    /// Inserts already-serialised JSON as one value.
    JsonWriter& Raw(std::string_view json) {
        Separate();
        out_->append(json);
        return *this;
    }

private:
    static bool NeedsEscape(char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == '"' || u == '\\';
    }
    void Separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) {
                out_->push_back(',');
            }
            first_.back() = false;
        }
    }
    /// The index of the first character at or after `from` that JSON requires escaped (a
    /// control character, `"` or `\\`), or s.size(). Eight bytes per step: keys and strings
    /// have none mostly, and a byte-by-byte scan was the larger part of writing a key.
    static std::size_t PlainUntil(std::string_view s, std::size_t from) {
        constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
        constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
        std::size_t i = from;
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t x;
            std::memcpy(&x, s.data() + i, 8);
            // A byte below 0x20, or equal to '"' or '\\' (a zero byte after the xor): the
            // high bit of that byte is set in the result, and in no other case.
            const std::uint64_t quote = x ^ (kOnes * '"');
            const std::uint64_t slash = x ^ (kOnes * '\\');
            const std::uint64_t found = (((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) |
                                         ((slash - kOnes) & ~slash)) &
                                        kHighs;
            if (found != 0) {
                break;  // the byte loop below finds which
            }
        }
        for (; i < s.size(); ++i) {
            if (NeedsEscape(s[i])) {
                return i;
            }
        }
        return s.size();
    }
    /// Runs of characters that need no escape are appended whole: most strings are ids and
    /// names without any, and appending character by character costs a capacity check each.
    void AppendQuoted(std::string_view s) {
        out_->push_back('"');
        std::size_t plain = 0;  // start of the run not appended yet
        for (std::size_t i = PlainUntil(s, 0); i < s.size(); i = PlainUntil(s, plain)) {
            out_->append(s.data() + plain, i - plain);
            AppendEscaped(s[i]);
            plain = i + 1;
        }
        out_->append(s.data() + plain, s.size() - plain);
        out_->push_back('"');
    }
    void AppendEscaped(char c) {
        switch (c) {
            case '"':
                out_->append("\\\"");
                break;
            case '\\':
                out_->append("\\\\");
                break;
            case '\n':
                out_->append("\\n");
                break;
            case '\r':
                out_->append("\\r");
                break;
            case '\t':
                out_->append("\\t");
                break;
            default: {
                static constexpr char kHex[] = "0123456789abcdef";
                out_->append("\\u00");
                out_->push_back(kHex[(c >> 4) & 0xF]);
                out_->push_back(kHex[c & 0xF]);
            }
        }
    }

    std::string* out_;
    std::vector<bool> first_;
    bool after_key_ = false;
};

}  // namespace pavewatch::pipeline
