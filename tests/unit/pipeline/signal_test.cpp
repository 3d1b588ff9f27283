#include "pavewatch/pipeline/signal.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

/// Steady-state amplitude ratio of a filter for a sine, measured by running it.
double MeasuredGain(IirFilter f, double frequency, double rate) {
    const auto n = static_cast<std::size_t>(rate * 60.0);
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(
            std::sin(2.0 * std::numbers::pi * frequency * static_cast<double>(i) / rate)
        );
    }
    f.Process(x);
    const std::size_t settled = n / 2;  // the second half, past the filter's transient
    double sum2 = 0.0;
    for (std::size_t i = settled; i < n; ++i) {
        sum2 += static_cast<double>(x[i]) * x[i];
    }
    return std::sqrt(2.0 * sum2 / static_cast<double>(n - settled));
}

TEST(Butterworth, LowPassIsMinus3DbAtCutoffAtEveryRate) {
    for (const double rate : {5.0, 10.0, 100.0, 400.0}) {
        const double fc = rate / 10.0;
        for (const int order : {2, 4}) {
            const double g = MeasuredGain(IirFilter::LowPass(order, fc, rate), fc, rate);
            EXPECT_NEAR(g, std::sqrt(0.5), 0.02) << rate << " Hz order " << order;
        }
        // Well inside the pass band ~1, well inside the stop band small.
        EXPECT_NEAR(MeasuredGain(IirFilter::LowPass(4, fc, rate), fc / 10.0, rate), 1.0, 0.02);
        EXPECT_LT(MeasuredGain(IirFilter::LowPass(4, fc, rate), fc * 4.0, rate), 0.01);
    }
}

TEST(Butterworth, HighPassRemovesDcAndPassesHighFrequencies) {
    const double rate = 400.0;
    IirFilter hp = IirFilter::HighPass(2, 0.5, rate);
    std::vector<float> dc(static_cast<std::size_t>(rate * 20.0), 9.81F);
    hp.Process(dc);
    EXPECT_NEAR(dc.back(), 0.0F, 1e-3F);
    EXPECT_NEAR(MeasuredGain(IirFilter::HighPass(2, 0.5, rate), 0.5, rate), std::sqrt(0.5), 0.02);
    EXPECT_NEAR(MeasuredGain(IirFilter::HighPass(2, 0.5, rate), 10.0, rate), 1.0, 0.01);
}

TEST(Butterworth, CutoffAboveNyquistIsClampedAndStable) {
    EXPECT_DOUBLE_EQ(ClampCutoffHz(20.0, 5.0), 0.45 * 5.0);
    IirFilter band = IirFilter::BandPass(4, 0.5, 20.0, 5.0);
    EXPECT_EQ(band.stages(), 4U);
    std::vector<float> x(1000);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = (i % 7 == 0) ? 5.0F : -1.0F;
    }
    band.Process(x);
    for (const float v : x) {
        ASSERT_TRUE(std::isfinite(v));
        ASSERT_LT(std::abs(v), 50.0F);
    }
    // Measured gain at the (clamped) edge agrees with the analytic PowerGain.
    const IirFilter lp = IirFilter::LowPass(2, 20.0, 5.0);
    EXPECT_NEAR(MeasuredGain(lp, 1.0, 5.0), std::sqrt(lp.PowerGain(1.0)), 0.01);
}

TEST(Butterworth, BlockSizeDoesNotChangeTheOutput) {
    std::vector<float> x(1000);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(
            std::sin(0.1 * static_cast<double>(i)) + static_cast<double>((i * 37) % 11) * 0.1
        );
    }
    auto whole = x;
    IirFilter a = IirFilter::BandPass(4, 0.5, 20.0, 100.0);
    a.Process(whole);
    auto pieces = x;
    IirFilter b = IirFilter::BandPass(4, 0.5, 20.0, 100.0);
    b.Process(std::span<float>(pieces).subspan(0, 333));
    b.Process(std::span<float>(pieces).subspan(333, 1));
    b.Process(std::span<float>(pieces).subspan(334));
    EXPECT_EQ(whole, pieces);
}

struct Rotation {
    double m[3][3];
};

Rotation FromEuler(double roll, double pitch, double yaw) {
    const double cr = std::cos(roll), sr = std::sin(roll), cp = std::cos(pitch),
                 sp = std::sin(pitch), cy = std::cos(yaw), sy = std::sin(yaw);
    return {
        {{cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr},
         {sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr},
         {-sp, cp * sr, cp * cr}}};
}

TEST(GravityReorienter, RecoversVerticalAndHorizontalInAnyOrientation) {
    const double rate = 100.0;
    const std::size_t n = 3000;
    for (const auto& angles :
         {std::array{0.0, 0.0, 0.0},
          std::array{1.2, -0.7, 2.5},
          std::array{3.0, 1.4, -1.0},
          std::array{-1.57, 0.0, 0.3}}) {
        const Rotation r = FromEuler(angles[0], angles[1], angles[2]);
        std::vector<float> x(n), y(n), z(n), vertical(n), horizontal(n);
        std::vector<double> true_vertical(n), true_horizontal(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double t = static_cast<double>(i) / rate;
            const double av = 1.5 * std::sin(2.0 * std::numbers::pi * 1.3 * t);  // body bounce
            const double ah = 0.8 * std::sin(2.0 * std::numbers::pi * 2.1 * t);  // lateral sway
            true_vertical[i] = av;
            true_horizontal[i] = std::abs(ah);
            const double world[3] = {ah, 0.0, 9.80665 + av};  // specific force, z up
            double dev[3];
            for (int k = 0; k < 3; ++k) {  // device = R^T world
                dev[k] = r.m[0][k] * world[0] + r.m[1][k] * world[1] + r.m[2][k] * world[2];
            }
            x[i] = static_cast<float>(dev[0]);
            y[i] = static_cast<float>(dev[1]);
            z[i] = static_cast<float>(dev[2]);
        }
        GravityReorienter reorienter(rate, 2.0);
        reorienter.Process(x, y, z, vertical, horizontal);
        double err_v = 0.0, err_h = 0.0;
        for (std::size_t i = n / 3; i < n; ++i) {
            err_v = std::max(err_v, std::abs(vertical[i] - true_vertical[i]));
            err_h = std::max(err_h, std::abs(horizontal[i] - true_horizontal[i]));
        }
        EXPECT_LT(err_v, 0.1) << angles[0] << "," << angles[1];
        EXPECT_LT(err_h, 0.15) << angles[0] << "," << angles[1];
    }
}

TEST(GravityReorienter, BlockSizeDoesNotChangeTheOutput) {
    const std::size_t n = 500;
    std::vector<float> x(n), y(n), z(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(3.0 + std::sin(0.3 * static_cast<double>(i)));
        y[i] = -4.0F;
        z[i] = static_cast<float>(8.0 + std::cos(0.2 * static_cast<double>(i)));
    }
    std::vector<float> v1(n), h1(n), v2(n), h2(n);
    GravityReorienter a(100.0);
    a.Process(x, y, z, v1, h1);
    GravityReorienter b(100.0);
    // First block longer than the 1 s seed, then odd-sized blocks.
    for (std::size_t start = 0, len = 150; start < n; start += len, len = 37) {
        len = std::min(len, n - start);
        b.Process(
            std::span(x).subspan(start, len),
            std::span(y).subspan(start, len),
            std::span(z).subspan(start, len),
            std::span(v2).subspan(start, len),
            std::span(h2).subspan(start, len)
        );
    }
    EXPECT_EQ(v1, v2);
    EXPECT_EQ(h1, h2);
}

}  // namespace
}  // namespace pavewatch::pipeline
