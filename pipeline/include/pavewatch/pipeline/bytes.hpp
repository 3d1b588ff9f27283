#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace pavewatch::pipeline {

static_assert(
    std::endian::native == std::endian::little,
    "binary codecs assume a little-endian host"
);

/// Appends fixed-width little-endian values to a byte string. The building block of the binary
/// formats (observations, segment state); each format documents its own layout.
/// Not thread-safe; cheap to create.
class ByteWriter {
public:
    explicit ByteWriter(std::string& out) : out_(&out) {}

    template <typename T>
    requires std::is_arithmetic_v<T>
    void Put(T value) {
        char raw[sizeof(T)];
        std::memcpy(raw, &value, sizeof(T));
        out_->append(raw, sizeof(T));
    }
    void PutU8(std::uint8_t v) { Put(v); }
    /// A string of at most 255 bytes, length first (longer input is cut at 255 bytes).
    void PutShortString(std::string_view s) {
        const auto n = static_cast<std::uint8_t>(s.size() > 255 ? 255 : s.size());
        PutU8(n);
        out_->append(s.data(), n);
    }

private:
    std::string* out_;
};

/// Reads what ByteWriter wrote. Every read checks the remaining length; after the first
/// failed read `ok()` is false and every later read returns zero, so a decoder reads all
/// fields and checks `ok()` once at the end.
class ByteReader {
public:
    explicit ByteReader(std::string_view in) : in_(in) {}

    template <typename T>
    requires std::is_arithmetic_v<T> T Get() {
        if (!ok_ || in_.size() - pos_ < sizeof(T)) {
            ok_ = false;
            return T{};
        }
        T value;
        std::memcpy(&value, in_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }
    std::uint8_t GetU8() { return Get<std::uint8_t>(); }
    std::string GetShortString() {
        const std::size_t n = GetU8();
        if (!ok_ || in_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }

    bool ok() const { return ok_; }
    bool AtEnd() const { return pos_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - pos_; }

private:
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace pavewatch::pipeline
