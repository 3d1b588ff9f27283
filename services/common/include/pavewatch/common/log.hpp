#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pavewatch::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
/// "debug" | "info" | "warn" | "error"; nullopt-like false on anything else.
bool ParseLogLevel(std::string_view text, LogLevel& level);

/// One key/value of a structured log line.
struct LogField {
    std::string_view key;
    std::variant<std::string_view, std::int64_t, double, bool> value;

    LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
    LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    LogField(std::string_view k, std::int64_t v) : key(k), value(v) {}
    LogField(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
    LogField(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
    LogField(std::string_view k, double v) : key(k), value(v) {}
    LogField(std::string_view k, bool v) : key(k), value(v) {}
};

/// Structured logs: one JSON object per line on stderr, with time (ISO 8601 UTC, ms), level,
/// service, message and the given fields (by convention `topic`, `partition`, `offset` for
/// Kafka positions). One per process, made in main and passed by reference.
/// Thread-safe: lines from different threads never interleave.
class Logger {
public:
    explicit Logger(std::string service, LogLevel level = LogLevel::kInfo);

    void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
    void Debug(std::string_view m, std::initializer_list<LogField> f = {}) {
        Log(LogLevel::kDebug, m, f);
    }
    void Info(std::string_view m, std::initializer_list<LogField> f = {}) {
        Log(LogLevel::kInfo, m, f);
    }
    void Warn(std::string_view m, std::initializer_list<LogField> f = {}) {
        Log(LogLevel::kWarn, m, f);
    }
    void Error(std::string_view m, std::initializer_list<LogField> f = {}) {
        Log(LogLevel::kError, m, f);
    }

    bool Enabled(LogLevel level) const { return level >= level_; }
    const std::string& service() const { return service_; }

private:
    std::string service_;
    LogLevel level_;
    std::mutex mutex_;
};

/// Keeps a warning that can fire once per record from flooding the log: lets `burst` lines
/// through per `interval` and counts the ones it holds back, so the next line let through can
/// say how many were suppressed (a metric counts every one of them anyway). Time is passed in,
/// so tests drive it. Not thread-safe: one per owner thread and kind of line.
class LogThrottle {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    LogThrottle(std::uint32_t burst, std::chrono::milliseconds interval)
        : burst_(burst), interval_(interval) {}

    /// nullopt: hold this line back. Otherwise write it, with the number of lines held back
    /// since the last one let through.
    std::optional<std::uint64_t> Admit(TimePoint now);

private:
    std::uint32_t burst_;
    std::chrono::milliseconds interval_;
    std::optional<TimePoint> window_start_;
    std::uint32_t admitted_ = 0;
    std::uint64_t suppressed_ = 0;
};

}  // namespace pavewatch::common
