#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
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
        AppendQuoted(key);
        out_->push_back(':');
        after_key_ = true;
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
    /// Runs of characters that need no escape are appended whole: most strings are ids and
    /// names without any, and appending character by character costs a capacity check each.
    void AppendQuoted(std::string_view s) {
        out_->push_back('"');
        std::size_t plain = 0;  // start of the run not appended yet
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
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
