#pragma once

// Private to pavewatch::pipeline: reading validated fields out of a Boost.JSON object while
// remembering the first refusal, so that parsers read every field in a straight line and check
// once at the end.

#include "pavewatch/pipeline/error.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::pipeline::detail {

/// True when `d` is a whole number an int64 holds (so the conversion is defined): JSON writers
/// may write 1.5e3 for 1500, and anyone may write 1e42.
inline bool IsInt64(double d) {
    return d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d);
}

/// Only the characters an id may hold: ASCII letters, digits and . _ : - (so every id is
/// valid UTF-8 and needs no escaping in JSON, a header or a log line).
inline bool IsIdText(std::string_view s) {
    for (const char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

class FieldReader {
public:
    FieldReader(
        const boost::json::object& object,
        std::string path,
        std::optional<Error>& first_error
    )
        : object_(&object), path_(std::move(path)), error_(&first_error) {}

    std::string FieldPath(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

    bool Has(std::string_view key) const {
        const auto* v = object_->if_contains(key);
        return v != nullptr && !v->is_null();
    }

    const boost::json::value* Raw(std::string_view key) const { return object_->if_contains(key); }

    void Fail(ErrorCode code, std::string field, std::string message) const {
        if (!error_->has_value()) {
            *error_ = Error{code, std::move(field), std::move(message)};
        }
    }
    bool failed() const { return error_->has_value(); }

    /// A required (or, with `fallback`, optional) number within [min, max].
    double Number(std::string_view key, double min, double max, std::optional<double> fallback = {})
        const {
        const auto* v = object_->if_contains(key);
        if (v == nullptr || v->is_null()) {
            if (!fallback) {
                Fail(ErrorCode::kMissingField, FieldPath(key), "required number");
            }
            return fallback.value_or(0.0);
        }
        if (!v->is_number()) {
            Fail(ErrorCode::kWrongType, FieldPath(key), "must be a number");
            return 0.0;
        }
        const double x = v->to_number<double>();
        if (!(x >= min && x <= max)) {
            Fail(ErrorCode::kOutOfRange, FieldPath(key), RangeText(min, max));
            return 0.0;
        }
        return x;
    }

    std::int64_t Integer(
        std::string_view key,
        std::int64_t min,
        std::int64_t max,
        std::optional<std::int64_t> fallback = {}
    ) const {
        const auto* v = object_->if_contains(key);
        if (v == nullptr || v->is_null()) {
            if (!fallback) {
                Fail(ErrorCode::kMissingField, FieldPath(key), "required integer");
            }
            return fallback.value_or(0);
        }
        std::int64_t x = 0;
        if (v->is_int64()) {
            x = v->get_int64();
        } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
            x = static_cast<std::int64_t>(v->get_uint64());
        } else if (v->is_double() && IsInt64(v->get_double())) {
            x = static_cast<std::int64_t>(v->get_double());
        } else {
            Fail(ErrorCode::kWrongType, FieldPath(key), "must be an integer");
            return 0;
        }
        if (x < min || x > max) {
            Fail(
                ErrorCode::kOutOfRange,
                FieldPath(key),
                RangeText(static_cast<double>(min), static_cast<double>(max))
            );
            return 0;
        }
        return x;
    }

    /// A required string of 1..max_length characters from [A-Za-z0-9._:-] (ids).
    std::string Id(std::string_view key, std::size_t max_length) const {
        const auto* v = object_->if_contains(key);
        if (v == nullptr || v->is_null()) {
            Fail(ErrorCode::kMissingField, FieldPath(key), "required string");
            return {};
        }
        if (!v->is_string()) {
            Fail(ErrorCode::kWrongType, FieldPath(key), "must be a string");
            return {};
        }
        const auto& s = v->get_string();
        if (s.empty() || s.size() > max_length) {
            Fail(
                ErrorCode::kOutOfRange,
                FieldPath(key),
                "length must be 1.." + std::to_string(max_length)
            );
            return {};
        }
        if (!IsIdText(s)) {
            Fail(
                ErrorCode::kOutOfRange,
                FieldPath(key),
                "only letters, digits and . _ : - are allowed"
            );
            return {};
        }
        return std::string(s);
    }

    /// An optional string; nullopt when absent.
    std::optional<std::string> OptionalString(std::string_view key) const {
        const auto* v = object_->if_contains(key);
        if (v == nullptr || v->is_null()) {
            return std::nullopt;
        }
        if (!v->is_string()) {
            Fail(ErrorCode::kWrongType, FieldPath(key), "must be a string");
            return std::nullopt;
        }
        return std::string(v->get_string());
    }

    /// A required array of numbers, each within [min, max] after multiplying by `scale`,
    /// with a length in [min_size, max_size].
    template <typename T>
    std::vector<T> Numbers(
        std::string_view key,
        double min,
        double max,
        std::size_t min_size,
        std::size_t max_size,
        double scale = 1.0
    ) const {
        std::vector<T> out;
        const auto* v = object_->if_contains(key);
        if (v == nullptr || v->is_null()) {
            Fail(ErrorCode::kMissingField, FieldPath(key), "required array of numbers");
            return out;
        }
        if (!v->is_array()) {
            Fail(ErrorCode::kWrongType, FieldPath(key), "must be an array of numbers");
            return out;
        }
        const auto& array = v->get_array();
        if (array.size() < min_size || array.size() > max_size) {
            Fail(
                ErrorCode::kOutOfRange,
                FieldPath(key),
                "must hold " + std::to_string(min_size) + ".." + std::to_string(max_size) + " items"
            );
            return out;
        }
        out.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) {
            const auto& item = array[i];
            if (!item.is_number()) {
                Fail(
                    ErrorCode::kWrongType,
                    FieldPath(key) + "[" + std::to_string(i) + "]",
                    "must be a number"
                );
                return {};
            }
            const double x = item.to_number<double>() * scale;
            if (!(x >= min && x <= max)) {
                Fail(
                    ErrorCode::kOutOfRange,
                    FieldPath(key) + "[" + std::to_string(i) + "]",
                    RangeText(min, max)
                );
                return {};
            }
            out.push_back(static_cast<T>(x));
        }
        return out;
    }

    static std::string RangeText(double min, double max) {
        return "must be within [" + Trim(min) + ", " + Trim(max) + "]";
    }

private:
    static std::string Trim(double x) {
        std::string s = std::to_string(x);
        while (!s.empty() && s.back() == '0') {
            s.pop_back();
        }
        if (!s.empty() && s.back() == '.') {
            s.pop_back();
        }
        return s;
    }

    const boost::json::object* object_;
    std::string path_;
    std::optional<Error>* error_;
};

}  // namespace pavewatch::pipeline::detail
