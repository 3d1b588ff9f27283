#include "pavewatch/pipeline/event_detector.hpp"

#include "pavewatch/pipeline/iso8608.hpp"
#include "pavewatch/pipeline/quarter_car.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace pavewatch::pipeline {
namespace {

constexpr double kSpacing = 0.02;

struct Score {
    int tp = 0;
    int fp = 0;
    int fn = 0;
    double Precision() const { return tp / static_cast<double>(std::max(1, tp + fp)); }
    double Recall() const { return tp / static_cast<double>(std::max(1, tp + fn)); }
    double F1() const {
        const double p = Precision(), r = Recall();
        return p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
    }
};

/// Single-pass scenario: 400 m roads of ISO classes A-C (independent left/right tracks),
/// potholes 3-8 cm deep and 0.3-1.0 m long on the left wheel path every 50-90 m (one road in
/// five without any), a car with +-15 % parameters at 30-70 km/h. An event matches a pothole
/// within 3 m + its own uncertainty; each pothole matches once; other events are false.
Score RunScenario(double rate, int trials) {
    const HazardConfig config;
    Xoshiro256 rng(7);
    Score score;
    for (int trial = 0; trial < trials; ++trial) {
        const auto cls = static_cast<Iso8608Class>(trial % 3 == 2 ? 2 : trial % 2);
        auto left = Iso8608Profile(cls, 400.0, kSpacing, 100 + trial);
        const auto right = Iso8608Profile(cls, 400.0, kSpacing, 5000 + trial);
        std::vector<double> holes;
        if (trial % 5 != 4) {
            for (double at = 60.0; at < 360.0; at += rng.Uniform(50.0, 90.0)) {
                const double depth = rng.Uniform(0.03, 0.08);
                const double length = rng.Uniform(0.3, 1.0);
                AddPothole(left, kSpacing, at, depth, length);
                holes.push_back(at + 0.5 * length);
            }
        }
        QuarterCarParams p = DefaultQuarterCar(VehicleClass::kCar);
        p.sprung_mass_kg *= rng.Uniform(0.85, 1.15);
        p.suspension_stiffness_n_m *= rng.Uniform(0.85, 1.15);
        p.suspension_damping_ns_m *= rng.Uniform(0.85, 1.15);
        p.tyre_stiffness_n_m *= rng.Uniform(0.85, 1.15);
        const double v[1] = {rng.Uniform(30.0, 70.0) / 3.6};
        const auto r = SimulateTwoTrack(left, right, kSpacing, v, rate, p);
        std::vector<float> z(r.accel_vertical_mps2.begin(), r.accel_vertical_mps2.end());
        std::vector<float> x(r.accel_lateral_mps2.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] = static_cast<float>(std::abs(r.accel_lateral_mps2[i]));
        }
        std::vector<float> s(r.speed_mps.begin(), r.speed_mps.end());
        EventDetector detector(config, rate);
        std::vector<DetectedEvent> events;
        detector.Process(z, x, s, events);
        detector.Flush(events);
        std::vector<bool> found(holes.size(), false);
        for (const auto& e : events) {
            const auto i0 =
                std::min(static_cast<std::size_t>(e.fractional_index), r.position_m.size() - 2);
            const double f = e.fractional_index - static_cast<double>(i0);
            const double pos = r.position_m[i0] + f * (r.position_m[i0 + 1] - r.position_m[i0]);
            if (pos < 20.0) {
                continue;  // start-up
            }
            int best = -1;
            double best_d = 1e9;
            for (std::size_t h = 0; h < holes.size(); ++h) {
                if (!found[h] && std::abs(pos - holes[h]) < best_d) {
                    best_d = std::abs(pos - holes[h]);
                    best = static_cast<int>(h);
                }
            }
            if (best >= 0 && best_d <= 3.0 + e.uncertainty_m) {
                found[static_cast<std::size_t>(best)] = true;
                ++score.tp;
            } else {
                ++score.fp;
            }
        }
        score.fn += static_cast<int>(std::count(found.begin(), found.end(), false));
    }
    return score;
}

TEST(EventDetector, SinglePassF1AtLeast0Point7At100Hz) {
    const Score s = RunScenario(100.0, 30);
    std::printf(
        "[ detector ] 100 Hz: P %.2f R %.2f F1 %.2f (tp %d fp %d fn %d)\n",
        s.Precision(),
        s.Recall(),
        s.F1(),
        s.tp,
        s.fp,
        s.fn
    );
    EXPECT_GE(s.F1(), 0.7);
}

TEST(EventDetector, ReportsF1AtLowRates) {
    // Reported, not a target: at 10 and 5 Hz an impact is averaged into the body response.
    // Asserted only to stay precise-ish when it fires (no flood of false events).
    for (const double rate : {10.0, 5.0}) {
        const Score s = RunScenario(rate, 30);
        std::printf(
            "[ detector ] %4.0f Hz: P %.2f R %.2f F1 %.2f (tp %d fp %d fn %d)\n",
            rate,
            s.Precision(),
            s.Recall(),
            s.F1(),
            s.tp,
            s.fp,
            s.fn
        );
        EXPECT_LT(s.fp, 30) << rate;
        EXPECT_GT(s.tp, 0) << rate;
    }
}

TEST(EventDetector, SmoothRoadGivesNoEvents) {
    const HazardConfig config;
    const auto road = Iso8608Profile(Iso8608Class::kA, 600.0, kSpacing, 3);
    const double v[1] = {15.0};
    const auto r =
        SimulateQuarterCar(road, kSpacing, v, 100.0, DefaultQuarterCar(VehicleClass::kCar));
    std::vector<float> z(r.accel_vertical_mps2.begin(), r.accel_vertical_mps2.end());
    std::vector<float> s(z.size(), 15.0F);
    EventDetector detector(config, 100.0);
    std::vector<DetectedEvent> events;
    detector.Process(z, {}, s, events);
    EXPECT_TRUE(events.empty());
}

TEST(EventDetector, ImpulseGivesOneEventWithSubSampleTimeAndUncertainty) {
    const HazardConfig config;
    const double rate = 100.0;
    std::vector<float> z(1000, 0.0F);
    // A symmetric spike centred between samples 500 and 501 (peak at 500.5 after interpolation
    // would need equal neighbours; make 501 a bit lower so the peak is in [500, 500.5)).
    z[499] = 3.0F;
    z[500] = 12.0F;
    z[501] = 10.0F;
    z[502] = 2.0F;
    std::vector<float> s(1000, 10.0F);
    EventDetector detector(config, rate);
    std::vector<DetectedEvent> events;
    detector.Process(std::span(z).first(500), {}, std::span(s).first(500), events);  // split block
    detector.Process(std::span(z).subspan(500), {}, std::span(s).subspan(500), events);
    detector.Flush(events);
    ASSERT_EQ(events.size(), 1U);
    const auto& e = events[0];
    EXPECT_EQ(e.sample_index, 500U);
    EXPECT_GT(e.fractional_index, 500.0);
    EXPECT_LT(e.fractional_index, 500.5);
    EXPECT_NEAR(e.time_s, e.fractional_index / rate, 1e-12);
    EXPECT_NEAR(e.uncertainty_m, 10.0 / rate, 1e-6);
    EXPECT_GT(e.features.z_diff_mps2, 5.0);
    EXPECT_FALSE(e.features.g_zero);
}

TEST(EventDetector, SlowVehiclesAreIgnored) {
    const HazardConfig config;  // 15 km/h
    std::vector<float> z(500, 0.0F);
    z[250] = 20.0F;
    std::vector<float> slow(500, 3.0F);
    EventDetector detector(config, 100.0);
    std::vector<DetectedEvent> events;
    detector.Process(z, {}, slow, events);
    detector.Flush(events);
    EXPECT_TRUE(events.empty());
}

/// Events of a car at 12 m/s, 100 Hz, over `road`; positions of the events, m.
std::vector<double> EventPositions(const std::vector<double>& road, const HazardConfig& config) {
    const double v[1] = {12.0};
    const auto r =
        SimulateQuarterCar(road, kSpacing, v, 100.0, DefaultQuarterCar(VehicleClass::kCar));
    std::vector<float> z(r.accel_vertical_mps2.begin(), r.accel_vertical_mps2.end());
    std::vector<float> s(z.size(), 12.0F);
    EventDetector detector(config, 100.0);
    std::vector<DetectedEvent> events;
    detector.Process(z, {}, s, events);
    detector.Flush(events);
    std::vector<double> at;
    at.reserve(events.size());
    for (const auto& e : events) {
        at.push_back(r.position_m[std::min(r.position_m.size() - 1, e.sample_index)]);
    }
    return at;
}

TEST(EventDetector, RougherStretchAfterASmoothOneIsNoPothole) {
    // 150 m of class A, then 150 m of class D: the causal background still holds the smooth
    // road when the first bumps of the rough one come. Only the quiet-road check (post window)
    // tells them from a pothole.
    HazardConfig without_check;
    without_check.detector_post_factor = 0.0;
    int near_change_default = 0;
    int near_change_without = 0;
    for (int seed = 1; seed <= 12; ++seed) {
        auto road = Iso8608Profile(Iso8608Class::kA, 150.0, kSpacing, 300 + seed);
        const auto rough = Iso8608Profile(Iso8608Class::kD, 150.0, kSpacing, 600 + seed);
        const double join = road.back() - rough.front();
        for (std::size_t i = 1; i < rough.size(); ++i) {
            road.push_back(rough[i] + join);
        }
        for (const double at : EventPositions(road, HazardConfig{})) {
            near_change_default += at > 148.0 && at < 165.0 ? 1 : 0;
        }
        for (const double at : EventPositions(road, without_check)) {
            near_change_without += at > 148.0 && at < 165.0 ? 1 : 0;
        }
    }
    std::printf(
        "[ detector ] events at a smooth-to-rough change (12 roads): %d with the quiet-road "
        "check, %d without\n",
        near_change_default,
        near_change_without
    );
    EXPECT_GE(near_change_without, 4);
    EXPECT_LE(near_change_default, near_change_without / 4);
}

TEST(EventDetector, PotholeOnAQuietRoadPassesTheQuietRoadCheck) {
    int found = 0;
    for (int seed = 1; seed <= 10; ++seed) {
        auto road = Iso8608Profile(Iso8608Class::kB, 200.0, kSpacing, 900 + seed);
        AddPothole(road, kSpacing, 100.0, 0.05, 0.6);
        for (const double at : EventPositions(road, HazardConfig{})) {
            found += std::abs(at - 100.3) < 3.0 ? 1 : 0;
        }
    }
    EXPECT_GE(found, 9);
}

TEST(EventDetector, ImpactAtTheVeryEndOfAStreamIsNotReported) {
    // Its post window is not seen: it cannot be told from the start of a rough stretch.
    const HazardConfig config;
    for (const std::size_t at : {std::size_t{990}, std::size_t{900}}) {
        std::vector<float> z(1000, 0.0F);
        z[at] = 12.0F;
        std::vector<float> s(1000, 10.0F);
        EventDetector detector(config, 100.0);
        std::vector<DetectedEvent> events;
        detector.Process(z, {}, s, events);
        detector.Flush(events);
        EXPECT_EQ(events.size(), at == 990 ? 0U : 1U) << at;
    }
}

TEST(EventDetector, PrimingMakesAStartMidDriveQuiet) {
    // A stream that starts on a rough road: unprimed, the filter and the background start
    // from silence and the first bumps pass for impacts; primed with the mirror image of its
    // first seconds, they start as if the drive had gone on.
    int unprimed = 0;
    int primed = 0;
    for (int seed = 1; seed <= 20; ++seed) {
        const auto road = Iso8608Profile(Iso8608Class::kD, 120.0, kSpacing, 1200 + seed);
        const double v[1] = {12.0};
        const auto r =
            SimulateQuarterCar(road, kSpacing, v, 100.0, DefaultQuarterCar(VehicleClass::kCar));
        // Drop the first 30 m: the stream begins mid-drive.
        std::vector<float> z(r.accel_vertical_mps2.begin() + 250, r.accel_vertical_mps2.end());
        std::vector<float> s(z.size(), 12.0F);
        std::vector<float> mirror(z.rend() - 200, z.rend() - 1);
        HazardConfig config;
        config.detector_post_factor = 0.0;  // the background alone (the quiet-road check
                                            // would hide most of these as well)
        for (const bool prime : {false, true}) {
            EventDetector detector(config, 100.0);
            if (prime) {
                detector.Prime(mirror);
            }
            std::vector<DetectedEvent> events;
            detector.Process(z, {}, s, events);
            detector.Flush(events);
            for (const auto& e : events) {
                (prime ? primed : unprimed) += e.time_s < 1.5 ? 1 : 0;
            }
        }
    }
    std::printf(
        "[ detector ] events in the first 1.5 s: %d unprimed, %d primed\n", unprimed, primed
    );
    EXPECT_GE(unprimed, 3);
    EXPECT_LE(primed * 3, unprimed);
}

TEST(EventDetector, ThresholdAdaptsToRate) {
    const HazardConfig config;
    EXPECT_DOUBLE_EQ(EventDetector(config, 200.0).rate_factor(), 1.0);
    EXPECT_NEAR(
        EventDetector(config, 25.0).rate_factor(),
        std::pow(0.25, config.detector_rate_exponent),
        1e-12
    );
}

}  // namespace
}  // namespace pavewatch::pipeline
