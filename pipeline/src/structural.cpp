#include "pavewatch/pipeline/structural.hpp"

#include "stored_values.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pavewatch::pipeline {
namespace {

constexpr double kPsiPerMpa = 145.0377377;  // 1 MPa = 145.0377 psi
constexpr double kMsPerDay = 86400000.0;

double GroupStandardKn(std::size_t axles, const StructuralConfig& c) {
    switch (axles) {
        case 1:
            return c.standard_axle_kn;
        case 2:
            return c.tandem_standard_kn;
        case 3:
            return c.tridem_standard_kn;
        default:
            return c.quad_standard_kn;
    }
}

double GroupEsal(double load_kn, std::size_t axles, const StructuralConfig& c) {
    return std::pow(std::max(0.0, load_kn) / GroupStandardKn(axles, c), c.load_exponent);
}

void AddDamage(StructuralState& s, EpochMs t_ms, double damage, const StructuralConfig& config) {
    if (!(damage > 0.0)) {
        return;
    }
    const double tau_ms = std::max(1.0, config.rate_window.count() * kMsPerDay);
    s.fatigue_damage += damage;
    if (!s.rate_first_ms) {
        s.rate_first_ms = t_ms;
        s.rate_last_ms = t_ms;
        s.rate_decayed_damage = damage;
        return;
    }
    s.rate_first_ms = std::min(*s.rate_first_ms, t_ms);
    if (t_ms >= s.rate_last_ms) {
        s.rate_decayed_damage =
            s.rate_decayed_damage * std::exp(-static_cast<double>(t_ms - s.rate_last_ms) / tau_ms) +
            damage;
        s.rate_last_ms = t_ms;
    } else {
        s.rate_decayed_damage +=
            damage * std::exp(-static_cast<double>(s.rate_last_ms - t_ms) / tau_ms);
    }
}

void PutOptional(ByteWriter& out, const std::optional<double>& v) {
    out.PutU8(v ? 1 : 0);
    out.Put(v.value_or(0.0));
}

}  // namespace

double VehicleEsal(
    std::span<const double> axle_loads_kn,
    std::span<const double> axle_spacings_m,
    const StructuralConfig& config
) {
    double esal = 0.0;
    std::size_t i = 0;
    while (i < axle_loads_kn.size()) {
        double load = axle_loads_kn[i];
        std::size_t axles = 1;
        while (i + axles < axle_loads_kn.size() && axles < 4 &&
               i + axles - 1 < axle_spacings_m.size() &&
               axle_spacings_m[i + axles - 1] < config.group_spacing_m) {
            load += axle_loads_kn[i + axles];
            ++axles;
        }
        esal += GroupEsal(load, axles, config);
        i += axles;
    }
    return esal;
}

double AsphaltModulusMpa(double temperature_c, const StructuralConfig& config) {
    const double log_e =
        std::log10(config.modulus_ref_mpa) -
        config.modulus_log_slope_per_c * (temperature_c - config.modulus_ref_temp_c);
    return std::clamp(std::pow(10.0, log_e), config.modulus_min_mpa, config.modulus_max_mpa);
}

double
AllowableRepetitions(double microstrain, double modulus_mpa, const StructuralConfig& config) {
    if (!(microstrain > 0.0) || !(modulus_mpa > 0.0)) {
        return std::numeric_limits<double>::infinity();
    }
    const double strain = microstrain * 1e-6;  // in/in = m/m
    const double modulus_psi = modulus_mpa * kPsiPerMpa;
    return config.fatigue_a * std::pow(strain, -config.fatigue_b) *
           std::pow(modulus_psi, -config.fatigue_c);
}

double ApplyWeighInMotion(
    StructuralState& state,
    EpochMs /*t_ms*/,
    std::span<const double> axle_loads_kn,
    std::span<const double> axle_spacings_m,
    const StructuralConfig& config
) {
    const double esal = VehicleEsal(axle_loads_kn, axle_spacings_m, config);
    state.esal_total += esal;
    state.axles += axle_loads_kn.size();
    return esal;
}

double ApplyStrain(
    StructuralState& state,
    EpochMs t_ms,
    std::span<const double> peak_microstrain,
    const StructuralConfig& config
) {
    const double modulus =
        AsphaltModulusMpa(state.temperature_c.value_or(config.modulus_ref_temp_c), config);
    const bool wet = state.moisture_vwc_percent &&
                     *state.moisture_vwc_percent > config.wet_threshold_vwc_percent;
    const double factor = wet ? config.wet_fatigue_factor : 1.0;
    double damage = 0.0;
    for (const double eps : peak_microstrain) {
        const double nf = AllowableRepetitions(eps, modulus, config) * factor;
        if (std::isfinite(nf) && nf > 0.0) {
            damage += 1.0 / nf;
        }
        ++state.strain_peaks;
    }
    AddDamage(state, t_ms, damage, config);
    return damage;
}

void ApplyTemperature(
    StructuralState& state,
    EpochMs t_ms,
    double celsius,
    const StructuralConfig& config
) {
    if (!std::isfinite(celsius) || (state.temperature_c && t_ms < state.temperature_ms)) {
        return;
    }
    state.temperature_c = celsius;
    state.temperature_ms = t_ms;
    if (celsius < config.freeze_below_c) {
        state.freeze_state = FreezeState::kFrozen;
    } else if (celsius > config.thaw_above_c) {
        if (state.freeze_state == FreezeState::kFrozen) {
            ++state.freeze_thaw_cycles;
        }
        state.freeze_state = FreezeState::kThawed;
    }
}

void ApplyMoisture(StructuralState& state, EpochMs t_ms, double vwc_percent) {
    if (!std::isfinite(vwc_percent) || (state.moisture_vwc_percent && t_ms < state.moisture_ms)) {
        return;
    }
    state.moisture_vwc_percent = vwc_percent;
    state.moisture_ms = t_ms;
}

double
DamageRatePerDay(const StructuralState& state, EpochMs now_ms, const StructuralConfig& config) {
    if (!state.rate_first_ms || !(state.rate_decayed_damage > 0.0)) {
        return 0.0;
    }
    const double tau_days = std::max(1e-6, config.rate_window.count());
    const double since_last =
        std::max(0.0, static_cast<double>(now_ms - state.rate_last_ms) / kMsPerDay);
    const double elapsed =
        std::max(1.0 / 24.0, static_cast<double>(now_ms - *state.rate_first_ms) / kMsPerDay);
    const double effective = tau_days * (1.0 - std::exp(-elapsed / tau_days));
    return state.rate_decayed_damage * std::exp(-since_last / tau_days) / effective;
}

std::optional<double>
RemainingLifeDays(const StructuralState& state, EpochMs now_ms, const StructuralConfig& config) {
    if (state.fatigue_damage >= 1.0) {
        return 0.0;
    }
    const double rate = DamageRatePerDay(state, now_ms, config);
    if (!(rate > 0.0)) {
        return std::nullopt;
    }
    return (1.0 - state.fatigue_damage) / rate;
}

void StructuralState::Encode(ByteWriter& out) const {
    out.PutU8(kVersion);
    out.Put(esal_total);
    out.Put(axles);
    out.Put(fatigue_damage);
    out.Put(strain_peaks);
    out.Put(freeze_thaw_cycles);
    out.PutU8(static_cast<std::uint8_t>(freeze_state));
    PutOptional(out, temperature_c);
    out.Put(temperature_ms);
    PutOptional(out, moisture_vwc_percent);
    out.Put(moisture_ms);
    out.Put(rate_decayed_damage);
    out.Put(rate_last_ms);
    out.PutU8(rate_first_ms ? 1 : 0);
    out.Put(rate_first_ms.value_or(0));
}

tl::expected<StructuralState, Error> StructuralState::Decode(ByteReader& in) {
    const std::uint8_t version = in.GetU8();
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "structural", "truncated"});
    }
    if (version != kVersion) {
        return tl::unexpected(Error{
            ErrorCode::kUnsupportedVersion, "structural.version", "unknown version"});
    }
    StructuralState s;
    s.esal_total = in.Get<double>();
    s.axles = in.Get<std::uint64_t>();
    s.fatigue_damage = in.Get<double>();
    s.strain_peaks = in.Get<std::uint64_t>();
    s.freeze_thaw_cycles = in.Get<std::uint32_t>();
    const std::uint8_t freeze = in.GetU8();
    const std::uint8_t has_temp = in.GetU8();
    const auto temp = in.Get<double>();
    s.temperature_ms = in.Get<EpochMs>();
    const std::uint8_t has_moist = in.GetU8();
    const auto moist = in.Get<double>();
    s.moisture_ms = in.Get<EpochMs>();
    s.rate_decayed_damage = in.Get<double>();
    s.rate_last_ms = in.Get<EpochMs>();
    const std::uint8_t has_first = in.GetU8();
    const auto first = in.Get<EpochMs>();
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "structural", "truncated"});
    }
    if (freeze > 2 || has_temp > 1 || has_moist > 1 || has_first > 1) {
        return tl::unexpected(Error{ErrorCode::kInconsistent, "structural", "invalid flag"});
    }
    if (!detail::StoredCount(s.axles) || !detail::StoredCount(s.strain_peaks) ||
        !detail::StoredNumber(s.esal_total) || !detail::StoredNumber(s.fatigue_damage) ||
        !detail::StoredNumber(temp) || !detail::StoredNumber(moist) ||
        !detail::StoredNumber(s.rate_decayed_damage) || !detail::StoredTime(s.temperature_ms) ||
        !detail::StoredTime(s.moisture_ms) || !detail::StoredTime(s.rate_last_ms) ||
        (has_first == 1 && !detail::StoredTime(first))) {
        return tl::unexpected(Error{
            ErrorCode::kOutOfRange, "structural", "a time or figure out of range"});
    }
    s.freeze_state = static_cast<FreezeState>(freeze);
    if (has_temp) {
        s.temperature_c = temp;
    }
    if (has_moist) {
        s.moisture_vwc_percent = moist;
    }
    if (has_first) {
        s.rate_first_ms = first;
    }
    return s;
}

}  // namespace pavewatch::pipeline
