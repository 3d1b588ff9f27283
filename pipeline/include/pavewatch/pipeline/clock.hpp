#pragma once

#include <chrono>
#include <cstdint>

namespace pavewatch::pipeline {

/// Milliseconds since the Unix epoch, UTC: the time unit of every message and state field.
using EpochMs = std::int64_t;

/// The source of "now" for code that needs wall time (freshness, event age). Injected so that
/// domain code never reads the system clock and tests drive time by hand.
/// Thread-safety: implementations must be safe to call from any thread.
class Clock {
public:
    virtual ~Clock() = default;
    Clock() = default;
    Clock(const Clock&) = delete;
    Clock& operator=(const Clock&) = delete;
    Clock(Clock&&) = delete;
    Clock& operator=(Clock&&) = delete;

    virtual EpochMs NowMs() const = 0;
};

/// A clock that only moves when told to. For tests and offline replay (where "now" is the
/// event time of the latest input).
class ManualClock final : public Clock {
public:
    explicit ManualClock(EpochMs start = 0) : now_(start) {}
    EpochMs NowMs() const override { return now_; }
    void Set(EpochMs now) { now_ = now; }
    void Advance(std::chrono::milliseconds by) { now_ += by.count(); }

private:
    EpochMs now_;
};

}  // namespace pavewatch::pipeline
