#include "pavewatch/pipeline/iri.hpp"

#include "pavewatch/pipeline/iso8608.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

double MeanIri(Iso8608Class c, int seeds) {
    double sum = 0.0;
    for (int s = 1; s <= seeds; ++s) {
        const auto p = Iso8608Profile(c, 1000.0, 0.05, 100 + s);
        sum += ReferenceIriMPerKm(p, 0.05);
    }
    return sum / seeds;
}

// Expected values: IRI of w = 2 ISO 8608 roads, 2.16 m/km for class A doubling per class
// (values given in the brief; consistent with the Golden Car's response to white slope).
TEST(ReferenceIri, IsoClassAGivesAbout2Point16) {
    EXPECT_NEAR(MeanIri(Iso8608Class::kA, 4), 2.16, 0.216);
}
TEST(ReferenceIri, IsoClassBGivesAbout4Point31) {
    EXPECT_NEAR(MeanIri(Iso8608Class::kB, 4), 4.31, 0.431);
}
TEST(ReferenceIri, IsoClassCGivesAbout8Point6) {
    EXPECT_NEAR(MeanIri(Iso8608Class::kC, 4), 8.62, 0.862);
}
TEST(ReferenceIri, IsoClassDGivesAbout17Point3) {
    EXPECT_NEAR(MeanIri(Iso8608Class::kD, 4), 17.3, 1.73);
}
TEST(ReferenceIri, IsoClassEGivesAbout34Point5) {
    EXPECT_NEAR(MeanIri(Iso8608Class::kE, 4), 34.5, 3.45);
}

/// |(zs - zu) / y| of the Golden Car at wavelength lambda, written out independently of the
/// implementation (complex transfer functions of the two-mass model).
double GoldenCarGain(double wavelength_m) {
    const double w = 2.0 * std::numbers::pi * kIriSpeedMps / wavelength_m;
    const std::complex<double> s(0.0, w);
    const std::complex<double> k2cs = kGoldenCarC * s + kGoldenCarK2;
    // s^2 zs = k2cs (zu - zs); mu s^2 zu = k1 (y - zu) - k2cs (zu - zs)
    const std::complex<double> zs_per_zu = k2cs / (s * s + k2cs);
    const std::complex<double> zu_per_y =
        kGoldenCarK1 / (kGoldenCarMu * s * s + kGoldenCarK1 + k2cs * (1.0 - zs_per_zu));
    return std::abs(zu_per_y * (zs_per_zu - 1.0));
}

TEST(ReferenceIri, SineProfileMatchesGoldenCarAnalyticGain) {
    const double spacing = 0.05;
    for (const double wavelength : {2.0, 5.0, 15.0, 25.0}) {
        const double amplitude = 0.005;
        std::vector<double> p(static_cast<std::size_t>(3000.0 / spacing) + 1);
        for (std::size_t i = 0; i < p.size(); ++i) {
            p[i] = amplitude *
                   std::sin(2.0 * std::numbers::pi * static_cast<double>(i) * spacing / wavelength);
        }
        // Steady state: mean |rectified slope| = (2 / pi) x gain x slope amplitude x MA gain.
        const double x = std::numbers::pi * kIriBaseLengthM / wavelength;
        const double ma = std::sin(x) / x;
        const double expected = 1000.0 * (2.0 / std::numbers::pi) * GoldenCarGain(wavelength) *
                                amplitude * 2.0 * std::numbers::pi / wavelength * ma;
        EXPECT_NEAR(ReferenceIriMPerKm(p, spacing), expected, 0.02 * expected)
            << "wavelength " << wavelength;
    }
}

TEST(ReferenceIri, FlatAndConstantGradeGiveZero) {
    std::vector<double> flat(2001, 1.0);
    EXPECT_NEAR(ReferenceIriMPerKm(flat, 0.1), 0.0, 1e-9);
    std::vector<double> grade(2001);
    for (std::size_t i = 0; i < grade.size(); ++i) {
        grade[i] =
            0.03 * 0.1 * static_cast<double>(i);  // 3 % grade: initialised on it, no response
    }
    EXPECT_NEAR(ReferenceIriMPerKm(grade, 0.1), 0.0, 1e-6);
}

TEST(ReferenceIri, TooShortOrBadSpacingIsNan) {
    std::vector<double> p(3, 0.0);
    EXPECT_TRUE(std::isnan(ReferenceIriMPerKm(p, 0.1)));
    EXPECT_TRUE(std::isnan(ReferenceIriMPerKm(p, 0.0)));
}

TEST(ReferenceIri, SpacingAbove22MetresInitialisesOnOneInterval) {
    // At 25 m, 11 m rounds to no interval: the initial slope was 0 / 0 and the IRI NaN. A 3 %
    // grade initialised on its first interval gives no response; a bumpy road a finite IRI.
    std::vector<double> grade(41);
    std::vector<double> bumpy(41);
    for (std::size_t i = 0; i < grade.size(); ++i) {
        grade[i] = 0.03 * 25.0 * static_cast<double>(i);
        bumpy[i] = grade[i] + (i % 2 == 0 ? 0.0 : 0.05);
    }
    EXPECT_NEAR(ReferenceIriMPerKm(grade, 25.0), 0.0, 1e-6);
    const double iri = ReferenceIriMPerKm(bumpy, 25.0);
    EXPECT_TRUE(std::isfinite(iri) && iri > 0.0) << iri;
}

TEST(ReferenceIri, SpacingDoesNotChangeTheAnswerMuch) {
    // The same road sampled at 25 mm and 250 mm (decimated): E1926's smoothing makes them agree.
    const auto fine = Iso8608Profile(Iso8608Class::kB, 500.0, 0.025, 5);
    std::vector<double> coarse;
    for (std::size_t i = 0; i < fine.size(); i += 10) {
        coarse.push_back(fine[i]);
    }
    const double a = ReferenceIriMPerKm(fine, 0.025);
    const double b = ReferenceIriMPerKm(coarse, 0.25);
    EXPECT_NEAR(a, b, 0.05 * a);
}

}  // namespace
}  // namespace pavewatch::pipeline
