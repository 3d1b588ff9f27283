#include "pavewatch/common/log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace pavewatch::common {
namespace {

using std::chrono::milliseconds;
using TimePoint = LogThrottle::TimePoint;

TimePoint At(std::int64_t ms) {
    return TimePoint{} + milliseconds(ms);
}

TEST(LogThrottle, LetsTheBurstThroughThenHoldsBackTheRestOfTheInterval) {
    LogThrottle throttle(3, milliseconds(1000));
    std::vector<std::optional<std::uint64_t>> seen;
    seen.reserve(6);
    for (std::int64_t i = 0; i < 6; ++i) {
        seen.push_back(throttle.Admit(At(10 * i)));
    }
    const std::vector<std::optional<std::uint64_t>> expected{0, 0, 0, {}, {}, {}};
    EXPECT_EQ(seen, expected);
}

TEST(LogThrottle, TheFirstLineOfTheNextIntervalCountsTheLinesHeldBack) {
    LogThrottle throttle(2, milliseconds(1000));
    for (int i = 0; i < 7; ++i) {
        (void)throttle.Admit(At(i));  // 2 through, 5 held back
    }
    EXPECT_EQ(throttle.Admit(At(999)), std::nullopt);  // still the first interval: 6 held back
    EXPECT_EQ(throttle.Admit(At(1000)), std::optional<std::uint64_t>(6));
    EXPECT_EQ(throttle.Admit(At(1001)), std::optional<std::uint64_t>(0));
    EXPECT_EQ(throttle.Admit(At(1002)), std::nullopt);
}

TEST(LogThrottle, AQuietSpellStartsAFreshInterval) {
    LogThrottle throttle(1, milliseconds(1000));
    EXPECT_EQ(throttle.Admit(At(0)), std::optional<std::uint64_t>(0));
    EXPECT_EQ(throttle.Admit(At(500)), std::nullopt);
    // Long after: the interval starts at this line, not on a fixed grid from the first.
    EXPECT_EQ(throttle.Admit(At(10'500)), std::optional<std::uint64_t>(1));
    EXPECT_EQ(throttle.Admit(At(11'400)), std::nullopt);
    EXPECT_EQ(throttle.Admit(At(11'500)), std::optional<std::uint64_t>(1));
}

TEST(LogThrottle, AZeroBurstHoldsEverythingBack) {
    LogThrottle throttle(0, milliseconds(1000));
    EXPECT_EQ(throttle.Admit(At(0)), std::nullopt);
    EXPECT_EQ(throttle.Admit(At(5000)), std::nullopt);
}

}  // namespace
}  // namespace pavewatch::common
