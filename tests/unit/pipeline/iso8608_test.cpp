#include "pavewatch/pipeline/iso8608.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

TEST(Iso8608, ClassGeometricMeansFollowTheStandard) {
    // ISO 8608:2016 Table 1: A 16e-6 m^3, each class 4 times the previous.
    EXPECT_DOUBLE_EQ(Iso8608Gd0(Iso8608Class::kA), 16e-6);
    EXPECT_DOUBLE_EQ(Iso8608Gd0(Iso8608Class::kC), 256e-6);
    EXPECT_DOUBLE_EQ(Iso8608Gd0(Iso8608Class::kH), 16e-6 * 16384.0);
}

TEST(Iso8608, ClassCharsRoundTrip) {
    for (char c = 'A'; c <= 'H'; ++c) {
        const auto cls = Iso8608ClassFromChar(c);
        ASSERT_TRUE(cls.has_value());
        EXPECT_EQ(ToChar(*cls), c);
    }
    EXPECT_EQ(Iso8608ClassFromChar('c'), Iso8608Class::kC);
    EXPECT_FALSE(Iso8608ClassFromChar('I').has_value());
    EXPECT_FALSE(Iso8608ClassFromChar('1').has_value());
}

TEST(Iso8608, SameSeedSameProfileOtherSeedOtherProfile) {
    const auto a = Iso8608Profile(Iso8608Class::kB, 200.0, 0.1, 7);
    const auto b = Iso8608Profile(Iso8608Class::kB, 200.0, 0.1, 7);
    const auto c = Iso8608Profile(Iso8608Class::kB, 200.0, 0.1, 8);
    ASSERT_EQ(a.size(), 2001U);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
}

TEST(Iso8608, SlopeVarianceMatchesThePsd) {
    // For w = 2 the slope PSD is flat, (2 pi n0)^2 Gd0, so the slope variance over the band is
    // (2 pi n0)^2 Gd0 (n_max - n_min). Finite differences at 0.02 m barely attenuate 10 c/m.
    const double spacing = 0.02;
    const auto p = Iso8608Profile(Iso8608Class::kC, 2000.0, spacing, 3);
    double sum = 0.0;
    double sum2 = 0.0;
    for (std::size_t i = 1; i < p.size(); ++i) {
        const double s = (p[i] - p[i - 1]) / spacing;
        sum += s;
        sum2 += s * s;
    }
    const auto n = static_cast<double>(p.size() - 1);
    const double variance = sum2 / n - (sum / n) * (sum / n);
    const double sinc =
        std::sin(std::numbers::pi * 10.0 * spacing) / (std::numbers::pi * 10.0 * spacing);
    // Average finite-difference attenuation over the band is between sinc^2(n_max) and 1.
    const double expected =
        std::pow(2.0 * std::numbers::pi * kIso8608N0, 2.0) * 256e-6 * (kIso8608MaxN - kIso8608MinN);
    EXPECT_GT(variance, expected * sinc * sinc * 0.95);
    EXPECT_LT(variance, expected * 1.05);
}

TEST(Iso8608, AddPotholeLowersOnlyItsSpan) {
    std::vector<double> p(101, 0.0);  // 10 m at 0.1 m
    AddPothole(p, 0.1, 2.0, 0.05, 0.5);
    EXPECT_DOUBLE_EQ(p[19], 0.0);
    EXPECT_DOUBLE_EQ(p[20], -0.05);
    EXPECT_DOUBLE_EQ(p[25], -0.05);
    EXPECT_DOUBLE_EQ(p[26], 0.0);
    AddPothole(p, 0.1, 9.9, 0.05, 5.0);  // runs off the end: no crash
    EXPECT_DOUBLE_EQ(p[100], -0.05);
}

TEST(Iso8608, AddPotholeOutsideTheProfileChangesNothing) {
    const std::vector<double> flat(101, 0.0);
    std::vector<double> p = flat;
    AddPothole(p, 0.1, -3.0, 0.05, 1.0);          // ends before the start
    AddPothole(p, 0.1, 12.0, 0.05, 1.0);          // starts past the end
    AddPothole(p, 0.1, std::nan(""), 0.05, 1.0);  // no position
    AddPothole(p, 0.1, 2.0, 0.05, -1.0);          // negative length
    AddPothole(p, 0.1, 1e300, 0.05, 1.0);         // far beyond any index
    EXPECT_EQ(p, flat);
    AddPothole(p, 0.1, -0.25, 0.05, 0.5);  // straddles the start: samples 0..2
    EXPECT_DOUBLE_EQ(p[0], -0.05);
    EXPECT_DOUBLE_EQ(p[2], -0.05);
    EXPECT_DOUBLE_EQ(p[3], 0.0);
}

TEST(Iso8608, Xoshiro256IsDeterministicAndUniform) {
    Xoshiro256 a(42);
    Xoshiro256 b(42);
    double sum = 0.0;
    for (int i = 0; i < 10000; ++i) {
        const double u = a.Uniform();
        ASSERT_EQ(u, b.Uniform());
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        sum += u;
    }
    EXPECT_NEAR(sum / 10000.0, 0.5, 0.01);
}

}  // namespace
}  // namespace pavewatch::pipeline
