#include "pavewatch/pipeline/structural.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace pavewatch::pipeline {
namespace {

constexpr EpochMs kDay = 86400000;
constexpr EpochMs kT0 = 1700000000000LL;

TEST(Structural, StandardAxleIsOneEsalAndFourthPowerHolds) {
    const StructuralConfig c;
    const std::vector<double> one{80.0};
    EXPECT_DOUBLE_EQ(VehicleEsal(one, {}, c), 1.0);
    const std::vector<double> doubled{160.0};
    EXPECT_DOUBLE_EQ(VehicleEsal(doubled, {}, c), 16.0);
    // Two 80 kN axles 5 m apart: two singles.
    const std::vector<double> two{80.0, 80.0};
    const std::vector<double> far{5.0};
    EXPECT_DOUBLE_EQ(VehicleEsal(two, far, c), 2.0);
}

TEST(Structural, CloseAxlesFormGroupsWithTheirOwnStandardLoads) {
    const StructuralConfig c;
    // A 135 kN tandem (1.3 m apart) is one ESAL; a 181 kN tridem too.
    const std::vector<double> tandem{67.5, 67.5};
    const std::vector<double> close{1.3};
    EXPECT_NEAR(VehicleEsal(tandem, close, c), 1.0, 1e-12);
    const std::vector<double> tridem{60.0, 61.0, 60.0};
    const std::vector<double> close2{1.3, 1.3};
    EXPECT_NEAR(VehicleEsal(tridem, close2, c), 1.0, 1e-12);
    // A 5-axle semi: steer 50 kN, tandem 2 x 70, tridem 3 x 60, 3-6 m between groups.
    const std::vector<double> semi{50.0, 70.0, 70.0, 60.0, 60.0, 60.0};
    const std::vector<double> spacing{3.6, 1.3, 6.0, 1.3, 1.3};
    const double expected =
        std::pow(50.0 / 80.0, 4) + std::pow(140.0 / 135.0, 4) + std::pow(180.0 / 181.0, 4);
    EXPECT_NEAR(VehicleEsal(semi, spacing, c), expected, 1e-12);
}

TEST(Structural, AsphaltInstituteFatigueByHand) {
    const StructuralConfig c;
    // eps = 1e-4 in/in, E = 1e6 psi (6894.757 MPa): Nf = 0.0796 x 10^(4 x 3.291) x 10^(-6 x 0.854)
    //   = 0.0796 x 10^8.04 = 8.728e6.
    const double nf = AllowableRepetitions(100.0, 1e6 / 145.0377377, c);
    EXPECT_NEAR(nf, 0.0796 * std::pow(10.0, 8.04), 1e3);
    EXPECT_NEAR(nf / 8.728e6, 1.0, 1e-3);
    // Doubling the strain divides life by 2^3.291.
    EXPECT_NEAR(
        AllowableRepetitions(100.0, 5000.0, c) / AllowableRepetitions(200.0, 5000.0, c),
        std::pow(2.0, 3.291),
        1e-9
    );
    EXPECT_TRUE(std::isinf(AllowableRepetitions(0.0, 5000.0, c)));
}

TEST(Structural, ModulusHalvesPerTenDegreesAndIsClamped) {
    const StructuralConfig c;
    EXPECT_NEAR(AsphaltModulusMpa(20.0, c), 5000.0, 1e-9);
    EXPECT_NEAR(
        AsphaltModulusMpa(30.0, c) / AsphaltModulusMpa(20.0, c), std::pow(10.0, -0.3), 1e-12
    );
    EXPECT_DOUBLE_EQ(AsphaltModulusMpa(90.0, c), c.modulus_min_mpa);
    EXPECT_DOUBLE_EQ(AsphaltModulusMpa(-60.0, c), c.modulus_max_mpa);
}

TEST(Structural, SameStrainCountsMoreOnStifferColdPavement) {
    // The gauge measures the strain, which already carries the temperature's effect on the
    // structure; the AI law adds E^-0.854: at equal strain a stiffer (cold) layer has a smaller
    // Nf, i.e. takes more damage per pass.
    const StructuralConfig c;
    StructuralState cold, hot;
    ApplyTemperature(cold, kT0, 5.0, c);
    ApplyTemperature(hot, kT0, 35.0, c);
    const std::vector<double> peaks{150.0, 150.0};
    const double d_cold = ApplyStrain(cold, kT0, peaks, c);
    const double d_hot = ApplyStrain(hot, kT0, peaks, c);
    EXPECT_NEAR(
        d_cold / d_hot,
        std::pow(AsphaltModulusMpa(5.0, c) / AsphaltModulusMpa(35.0, c), 0.854),
        1e-9
    );
    EXPECT_EQ(cold.strain_peaks, 2U);
}

TEST(Structural, WetPavementDamagesFaster) {
    const StructuralConfig c;
    StructuralState dry, wet;
    ApplyMoisture(dry, kT0, 20.0);
    ApplyMoisture(wet, kT0, 35.0);
    const std::vector<double> peaks{200.0};
    EXPECT_NEAR(
        ApplyStrain(wet, kT0, peaks, c) / ApplyStrain(dry, kT0, peaks, c),
        1.0 / c.wet_fatigue_factor,
        1e-12
    );
}

TEST(Structural, FreezeThawNeedsBothThresholds) {
    const StructuralConfig c;
    StructuralState s;
    EpochMs t = kT0;
    // Noise around 0 degC: never below -1 then above +1.
    for (const double temp : {2.0, -0.5, 0.5, -0.9, 0.9, 3.0}) {
        ApplyTemperature(s, t += 3600000, temp, c);
    }
    EXPECT_EQ(s.freeze_thaw_cycles, 0U);
    for (const double temp : {-3.0, 0.5, -2.0, 1.5, 4.0, -1.5, 2.0}) {
        ApplyTemperature(s, t += 3600000, temp, c);
    }
    EXPECT_EQ(s.freeze_thaw_cycles, 2U);
    EXPECT_EQ(s.freeze_state, FreezeState::kThawed);
    ApplyTemperature(s, kT0, -10.0, c);  // older than the latest: ignored
    EXPECT_EQ(s.freeze_state, FreezeState::kThawed);
}

TEST(Structural, RemainingLifeFromSteadyDamageRate) {
    const StructuralConfig c;  // 30-day window
    StructuralState s;
    // 0.001 damage per day for 60 days, delivered hourly.
    const StructuralConfig& cfg = c;
    const double per_hour = 0.001 / 24.0;
    const double eps = 150.0;
    const double d_one = 1.0 / AllowableRepetitions(eps, cfg.modulus_ref_mpa, cfg);
    const auto peaks_per_hour = static_cast<std::size_t>(std::round(per_hour / d_one));
    const std::vector<double> peaks(peaks_per_hour, eps);
    const double rate = static_cast<double>(peaks_per_hour) * d_one * 24.0;
    for (int h = 0; h < 60 * 24; ++h) {
        ApplyStrain(s, kT0 + static_cast<EpochMs>(h) * 3600000, peaks, cfg);
    }
    const EpochMs now = kT0 + 60 * kDay;
    EXPECT_NEAR(DamageRatePerDay(s, now, cfg), rate, 0.03 * rate);
    const auto life = RemainingLifeDays(s, now, cfg);
    ASSERT_TRUE(life.has_value());
    EXPECT_NEAR(*life, (1.0 - s.fatigue_damage) / rate, 0.03 * (1.0 - s.fatigue_damage) / rate);
    // Early on the bias correction keeps the rate right after only 3 days.
    StructuralState early;
    for (int h = 0; h < 3 * 24; ++h) {
        ApplyStrain(early, kT0 + static_cast<EpochMs>(h) * 3600000, peaks, cfg);
    }
    EXPECT_NEAR(DamageRatePerDay(early, kT0 + 3 * kDay, cfg), rate, 0.05 * rate);
    EXPECT_FALSE(RemainingLifeDays(StructuralState{}, now, cfg).has_value());
}

TEST(Structural, EncodeDecodeRoundTripsExactly) {
    const StructuralConfig c;
    StructuralState s;
    const std::vector<double> loads{55.0, 90.0, 88.0};
    const std::vector<double> spacing{4.0, 1.3};
    ApplyWeighInMotion(s, kT0, loads, spacing, c);
    ApplyTemperature(s, kT0, -4.0, c);
    ApplyMoisture(s, kT0, 27.5);
    const std::vector<double> peaks{123.0, 99.0};
    ApplyStrain(s, kT0 + 5, peaks, c);
    std::string bytes;
    ByteWriter w(bytes);
    s.Encode(w);
    ByteReader r(bytes);
    const auto back = StructuralState::Decode(r);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(*back, s);
    ByteReader cut(std::string_view(bytes).substr(0, 10));
    EXPECT_FALSE(StructuralState::Decode(cut).has_value());
}

}  // namespace
}  // namespace pavewatch::pipeline
