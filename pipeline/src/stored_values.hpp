#pragma once

// What a stored segment state may hold (private to pavewatch::pipeline): the decoders of a
// state's parts refuse values that folding accepted observations cannot produce, so that a
// state read back from RocksDB or the changelog, whoever wrote it, never makes the arithmetic
// of the models overflow (docs/architecture.md, "What is checked where").

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/condition_index.hpp"
#include "pavewatch/pipeline/raw_message.hpp"

#include <cmath>
#include <cstdint>
#include <optional>

namespace pavewatch::pipeline::detail {

/// A time a state can hold: 0 (not set yet) or within the times observations carry.
inline bool StoredTime(EpochMs t_ms) {
    return t_ms == 0 || (t_ms >= RawLimits::kMinTimeMs && t_ms <= RawLimits::kMaxTimeMs);
}

inline bool StoredTime(const std::optional<EpochMs>& t_ms) {
    return !t_ms || StoredTime(*t_ms);
}

/// A day number (days since 1970-01-01, UTC) a state can hold: 0 or a day of those times.
inline bool StoredDay(std::int32_t day) {
    return day == 0 ||
           (day >= DayNumber(RawLimits::kMinTimeMs) && day <= DayNumber(RawLimits::kMaxTimeMs));
}

/// A count a state can hold: at most 2^53, exact in a double and so in any JSON reader (a
/// segment would need 9 × 10^15 observations to pass it).
inline bool StoredCount(std::uint64_t n) {
    return n <= (std::uint64_t{1} << 53U);
}

/// A figure a state can hold: finite (sums and means of finite, bounded readings).
inline bool StoredNumber(double x) {
    return std::isfinite(x);
}

}  // namespace pavewatch::pipeline::detail
