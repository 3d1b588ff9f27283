#include "pavewatch/pipeline/quarter_car.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

/// |sprung acceleration / road elevation| of a quarter-car, written out for the test.
double AccelGain(const QuarterCarParams& p, double f) {
    const double w = 2.0 * std::numbers::pi * f;
    const std::complex<double> s(0.0, w);
    const std::complex<double> sus = p.suspension_damping_ns_m * s + p.suspension_stiffness_n_m;
    const std::complex<double> zs_per_zu = sus / (p.sprung_mass_kg * s * s + sus);
    const std::complex<double> zu_per_y =
        p.tyre_stiffness_n_m /
        (p.unsprung_mass_kg * s * s + p.tyre_stiffness_n_m + sus * (1.0 - zs_per_zu));
    return std::abs(zu_per_y * zs_per_zu) * w * w;
}

double SteadyAmplitude(const std::vector<double>& a) {
    // Second half only (transient gone): the peak magnitude.
    double peak = 0.0;
    for (std::size_t i = a.size() / 2; i < a.size(); ++i) {
        peak = std::max(peak, std::abs(a[i]));
    }
    return peak;
}

TEST(QuarterCar, SineRoadMatchesAnalyticResponse) {
    QuarterCarParams p = DefaultQuarterCar(VehicleClass::kCar);
    p.tyre_radius_m = 0.0;  // point contact, as the analytic model
    SimulationOptions point;
    point.average_over_sample = false;
    const double speed = 20.0;
    const double spacing = 0.01;
    for (const double f : {0.8, 1.2, 3.0, 11.0}) {
        const double wavelength = speed / f;
        const double amplitude = 0.002;
        std::vector<double> road(static_cast<std::size_t>(600.0 / spacing) + 1);
        for (std::size_t i = 0; i < road.size(); ++i) {
            road[i] =
                amplitude *
                std::sin(2.0 * std::numbers::pi * static_cast<double>(i) * spacing / wavelength);
        }
        const double v[1] = {speed};
        const auto r = SimulateQuarterCar(road, spacing, v, 1000.0, p, point);
        ASSERT_GT(r.accel_vertical_mps2.size(), 20000U);
        const double expected = AccelGain(p, f) * amplitude;
        EXPECT_NEAR(SteadyAmplitude(r.accel_vertical_mps2), expected, 0.02 * expected)
            << f << " Hz";
    }
}

TEST(QuarterCar, FlatRoadGivesNoAcceleration) {
    std::vector<double> road(5001, 0.2);
    const auto a =
        SimulateSprungAcceleration(road, 0.02, 15.0, 100.0, DefaultQuarterCar(VehicleClass::kBus));
    ASSERT_FALSE(a.empty());
    for (const double x : a) {
        ASSERT_NEAR(x, 0.0, 1e-9);
    }
}

TEST(QuarterCar, SpacingAbove22MetresStartsOnTheFirstIntervalsSlope) {
    // At 25 m, 11 m rounds to no interval: the initial slope was 0 / 0 and every output NaN.
    // On a 3 % grade the car starts on its slope and stays there: no acceleration.
    std::vector<double> road(41);
    for (std::size_t i = 0; i < road.size(); ++i) {
        road[i] = 0.03 * 25.0 * static_cast<double>(i);
    }
    QuarterCarParams p = DefaultQuarterCar(VehicleClass::kCar);
    p.tyre_radius_m = 0.0;
    const auto a = SimulateSprungAcceleration(road, 25.0, 15.0, 100.0, p);
    ASSERT_FALSE(a.empty());
    for (const double x : a) {
        ASSERT_NEAR(x, 0.0, 1e-6);
    }
}

TEST(QuarterCar, ClassDefaultsHaveTypicalBodyBounce) {
    for (const auto c :
         {VehicleClass::kCar,
          VehicleClass::kSuv,
          VehicleClass::kVan,
          VehicleClass::kBus,
          VehicleClass::kTruck,
          VehicleClass::kMotorcycle}) {
        const double f = BodyBounceHz(DefaultQuarterCar(c));
        EXPECT_GT(f, 0.9);
        EXPECT_LT(f, 1.8);
    }
}

TEST(QuarterCar, VariableSpeedGivesOneSamplePerSpeedAndIntegratesPosition) {
    std::vector<double> road(20001, 0.0);  // 400 m at 0.02 m
    std::vector<double> speed(1000);
    for (std::size_t i = 0; i < speed.size(); ++i) {
        speed[i] = 10.0 + 0.01 * static_cast<double>(i);  // 10 -> 20 m/s over 10 s at 100 Hz
    }
    const auto r =
        SimulateQuarterCar(road, 0.02, speed, 100.0, DefaultQuarterCar(VehicleClass::kCar));
    ASSERT_EQ(r.position_m.size(), speed.size());
    double expected = 0.0;
    for (const double v : speed) {
        expected += v * 0.01;
    }
    EXPECT_NEAR(r.position_m.back(), expected - speed.back() * 0.005, 0.05);
}

TEST(QuarterCar, TwoTrackWithEqualTracksHasNoLateral) {
    std::vector<double> road(10001);
    for (std::size_t i = 0; i < road.size(); ++i) {
        road[i] = 0.01 * std::sin(0.02 * static_cast<double>(i));
    }
    const double v[1] = {15.0};
    const auto r =
        SimulateTwoTrack(road, road, 0.02, v, 50.0, DefaultQuarterCar(VehicleClass::kCar));
    ASSERT_FALSE(r.accel_lateral_mps2.empty());
    for (const double x : r.accel_lateral_mps2) {
        ASSERT_NEAR(x, 0.0, 1e-12);
    }
    auto left = road;
    for (std::size_t i = 5000; i < 5030; ++i) {
        left[i] -= 0.05;  // a pothole on the left only rolls the body
    }
    const auto rolled =
        SimulateTwoTrack(left, road, 0.02, v, 50.0, DefaultQuarterCar(VehicleClass::kCar));
    double peak = 0.0;
    for (const double x : rolled.accel_lateral_mps2) {
        peak = std::max(peak, std::abs(x));
    }
    EXPECT_GT(peak, 0.1);
}

TEST(QuarterCar, InvalidInputGivesEmpty) {
    std::vector<double> road(100, 0.0);
    const double zero[1] = {0.0};
    EXPECT_TRUE(SimulateQuarterCar(road, 0.1, zero, 100.0, {}).accel_vertical_mps2.empty());
    const double v[1] = {10.0};
    EXPECT_TRUE(SimulateQuarterCar(road, 0.0, v, 100.0, {}).accel_vertical_mps2.empty());
}

}  // namespace
}  // namespace pavewatch::pipeline
