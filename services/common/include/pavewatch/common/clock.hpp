#pragma once

#include "pavewatch/pipeline/clock.hpp"

#include <chrono>
#include <cstdint>

namespace pavewatch::common {

/// Wall-clock time in epoch milliseconds (UTC). The services' one way to read the clock; domain
/// code in pipeline/ never does (it takes time as an argument).
inline std::int64_t WallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

/// Wall-clock time in epoch microseconds (feed latency stamps).
inline std::int64_t WallUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

/// The system clock as a pipeline::Clock, for code that takes one.
class SystemClock final : public pipeline::Clock {
public:
    pipeline::EpochMs NowMs() const override { return WallMs(); }
};

}  // namespace pavewatch::common
