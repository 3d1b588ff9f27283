#pragma once

#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/model_config.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <span>

namespace pavewatch::pipeline {

/// Equivalent standard axles of one vehicle from weigh-in-motion: axles closer than
/// group_spacing_m to the previous one form a group; a single axle counts (P / 80 kN)^4, a
/// tandem (sum P / 135 kN)^4, a tridem (sum P / 181 kN)^4, a quad (sum P / 221 kN)^4; longer
/// runs are split into quads from the front. `axle_spacings_m` has one entry fewer than
/// `axle_loads_kn` (missing spacings mean "not grouped"). kN and m. Pure.
double VehicleEsal(
    std::span<const double> axle_loads_kn,
    std::span<const double> axle_spacings_m,
    const StructuralConfig& config
);

/// Asphalt layer modulus at a pavement temperature, MPa: log10 E = log10 E_ref - slope x
/// (T - T_ref), clamped to [modulus_min_mpa, modulus_max_mpa] (loading frequency fixed ~10 Hz).
double AsphaltModulusMpa(double temperature_c, const StructuralConfig& config);

/// Allowable load repetitions to fatigue failure, Asphalt Institute: Nf = 0.0796 eps^-3.291
/// E^-0.854 with eps the tensile strain in in/in (= microstrain x 1e-6) and E in psi
/// (= MPa x 145.0377). Returns +inf for non-positive strain.
double AllowableRepetitions(double microstrain, double modulus_mpa, const StructuralConfig& config);

enum class FreezeState : std::uint8_t { kUnknown, kThawed, kFrozen };

/// Structural wear of one instrumented segment. A plain value owned by the segment's state;
/// not thread-safe. Times are event times (epoch ms); the apply functions accept readings out of
/// order (each updates only what its own time allows).
struct StructuralState {
    static constexpr std::uint8_t kVersion = 1;

    double esal_total = 0.0;      ///< equivalent standard axles since tracking began
    std::uint64_t axles = 0;      ///< axles weighed
    double fatigue_damage = 0.0;  ///< Miner's sum of 1 / Nf over strain peaks (1 = design failure)
    std::uint64_t strain_peaks = 0;
    std::uint32_t freeze_thaw_cycles = 0;
    FreezeState freeze_state = FreezeState::kUnknown;
    std::optional<double> temperature_c;  ///< latest pavement temperature, degC
    EpochMs temperature_ms = 0;
    std::optional<double> moisture_vwc_percent;  ///< latest volumetric water content, %
    EpochMs moisture_ms = 0;
    /// Damage-rate estimator: exponentially decayed damage sum (time constant rate_window) at
    /// rate_last_ms, and the time of the first damage (bias correction of the early rate).
    double rate_decayed_damage = 0.0;
    EpochMs rate_last_ms = 0;
    std::optional<EpochMs> rate_first_ms;

    /// Layout v1 (little-endian): u8 version, f64 esal, u64 axles, f64 damage, u64 peaks,
    /// u32 cycles, u8 freeze state, {u8 present, f64} temperature, i64 temperature_ms,
    /// {u8 present, f64} moisture, i64 moisture_ms, f64 rate_decayed_damage, i64 rate_last_ms,
    /// {u8 present, i64} rate_first_ms.
    void Encode(ByteWriter& out) const;
    static tl::expected<StructuralState, Error> Decode(ByteReader& in);

    friend bool operator==(const StructuralState&, const StructuralState&) = default;
};

/// Adds one weighed vehicle; returns its ESAL.
double ApplyWeighInMotion(
    StructuralState& state,
    EpochMs t_ms,
    std::span<const double> axle_loads_kn,
    std::span<const double> axle_spacings_m,
    const StructuralConfig& config
);

/// Adds strain peaks (tensile microstrain at the bottom of the asphalt, one per axle pass) with
/// the modulus at the latest temperature (the reference modulus when none is known) and the
/// moisture penalty when the latest moisture is above the threshold; returns the damage added.
double ApplyStrain(
    StructuralState& state,
    EpochMs t_ms,
    std::span<const double> peak_microstrain,
    const StructuralConfig& config
);

/// Updates the temperature and counts freeze-thaw cycles: below freeze_below_c -> frozen;
/// frozen and then above thaw_above_c -> thawed and one cycle. Readings older than the latest
/// are ignored (the cycle count needs order).
void ApplyTemperature(
    StructuralState& state,
    EpochMs t_ms,
    double celsius,
    const StructuralConfig& config
);

/// Updates the latest moisture (older readings ignored).
void ApplyMoisture(StructuralState& state, EpochMs t_ms, double vwc_percent);

/// Recent fatigue damage rate, damage per day, at `now_ms`: the decayed damage divided by the
/// window's effective length tau (1 - e^(-elapsed / tau)), elapsed since the first damage
/// (at least one hour). 0 without damage.
double
DamageRatePerDay(const StructuralState& state, EpochMs now_ms, const StructuralConfig& config);

/// Days until the Miner sum reaches 1 at the recent rate; 0 when already >= 1; std::nullopt
/// when the rate is 0 (no strain data).
std::optional<double>
RemainingLifeDays(const StructuralState& state, EpochMs now_ms, const StructuralConfig& config);

}  // namespace pavewatch::pipeline
