#pragma once

#include <cstdint>
#include <initializer_list>
#include <mutex>
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

}  // namespace pavewatch::common
