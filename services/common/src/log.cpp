#include "pavewatch/common/log.hpp"

#include "pavewatch/pipeline/json_writer.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

namespace pavewatch::common {

bool ParseLogLevel(std::string_view text, LogLevel& level) {
    if (text == "debug") {
        level = LogLevel::kDebug;
    } else if (text == "info") {
        level = LogLevel::kInfo;
    } else if (text == "warn") {
        level = LogLevel::kWarn;
    } else if (text == "error") {
        level = LogLevel::kError;
    } else {
        return false;
    }
    return true;
}

Logger::Logger(std::string service, LogLevel level) : service_(std::move(service)), level_(level) {}

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    if (!Enabled(level)) {
        return;
    }
    static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const auto seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char time_text[64];
    std::snprintf(
        time_text,
        sizeof(time_text),
        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
        utc.tm_year + 1900,
        utc.tm_mon + 1,
        utc.tm_mday,
        utc.tm_hour,
        utc.tm_min,
        utc.tm_sec,
        static_cast<int>(ms % 1000)
    );
    std::string line;
    line.reserve(160);
    pipeline::JsonWriter w(line);
    w.BeginObject();
    w.Key("time").String(time_text);
    w.Key("level").String(kNames[static_cast<int>(level)]);
    w.Key("service").String(service_);
    w.Key("message").String(message);
    for (const auto& f : fields) {
        w.Key(f.key);
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string_view>) {
                    w.String(v);
                } else if constexpr (std::is_same_v<T, std::int64_t>) {
                    w.Int(v);
                } else if constexpr (std::is_same_v<T, double>) {
                    w.Number(v);
                } else {
                    w.Bool(v);
                }
            },
            f.value
        );
    }
    w.EndObject();
    line.push_back('\n');
    const std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

std::optional<std::uint64_t> LogThrottle::Admit(TimePoint now) {
    if (!window_start_ || now - *window_start_ >= interval_) {
        window_start_ = now;
        admitted_ = 0;
    }
    if (admitted_ >= burst_) {
        ++suppressed_;
        return std::nullopt;
    }
    ++admitted_;
    return std::exchange(suppressed_, 0);
}

}  // namespace pavewatch::common
