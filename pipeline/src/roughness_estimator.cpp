#include "pavewatch/pipeline/roughness_estimator.hpp"

#include "pavewatch/pipeline/iri.hpp"
#include "pavewatch/pipeline/iso8608.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace pavewatch::pipeline {
namespace {

constexpr double kPi = std::numbers::pi;

/// Sprung-mass displacement over road elevation of a quarter-car at angular frequency w.
std::complex<double> SprungOverRoad(const QuarterCarParams& p, double w) {
    const std::complex<double> s(0.0, w);
    const std::complex<double> suspension =
        p.suspension_damping_ns_m * s + p.suspension_stiffness_n_m;
    const std::complex<double> body = p.sprung_mass_kg * s * s + suspension;
    const std::complex<double> wheel =
        p.unsprung_mass_kg * s * s + suspension + p.tyre_stiffness_n_m;
    // body Zs = suspension Zu; wheel Zu - suspension Zs = kt Y
    const std::complex<double> zu_over_y =
        p.tyre_stiffness_n_m / (wheel - suspension * suspension / body);
    return suspension / body * zu_over_y;
}

double Sinc(double x) {
    return std::abs(x) < 1e-12 ? 1.0 : std::sin(x) / x;
}

}  // namespace

double IriPerSqrtGd0() {
    // Golden Car relative displacement (zs - zu) / y at the IRI speed; input slope white for
    // w = 2: Gs(n) = (2 pi n0)^2 Gd0. Integrate over n in the profiles' band on a log grid.
    QuarterCarParams golden;
    golden.sprung_mass_kg = 1.0;
    golden.unsprung_mass_kg = kGoldenCarMu;
    golden.suspension_stiffness_n_m = kGoldenCarK2;
    golden.suspension_damping_ns_m = kGoldenCarC;
    golden.tyre_stiffness_n_m = kGoldenCarK1;
    const int steps = 4000;
    const double lo = std::log(kIso8608MinN);
    const double hi = std::log(kIso8608MaxN);
    double integral = 0.0;
    for (int i = 0; i < steps; ++i) {
        const double n = std::exp(lo + (hi - lo) * (i + 0.5) / steps);
        const double dn = n * (hi - lo) / steps;
        const double w = 2.0 * kPi * n * kIriSpeedMps;
        const std::complex<double> zs = SprungOverRoad(golden, w);
        // zu / y from the body equation: zu = zs * body / suspension.
        const std::complex<double> s(0.0, w);
        const std::complex<double> suspension =
            golden.suspension_damping_ns_m * s + golden.suspension_stiffness_n_m;
        const std::complex<double> body = golden.sprung_mass_kg * s * s + suspension;
        const std::complex<double> zu = zs * body / suspension;
        const double ma = Sinc(kPi * n * kIriBaseLengthM);
        integral += std::norm(zs - zu) * ma * ma * dn;
    }
    const double slope_psd = std::pow(2.0 * kPi * kIso8608N0, 2.0);
    return 1000.0 * std::sqrt(2.0 / kPi) * std::sqrt(slope_psd * integral);
}

double BandPowerPerGdSpeed(
    const QuarterCarParams& vehicle,
    double sample_rate_hz,
    const RoughnessConfig& config
) {
    const IirFilter band = IirFilter::BandPass(
        config.band_order, config.band_low_hz, config.band_high_hz, sample_rate_hz
    );
    // Temporal elevation PSD at speed v for w = 2: Gd0 n0^2 v / f^2 (f = n v). Per Gd0 v: n0^2/f^2.
    const int steps = 6000;
    const double lo = std::log(0.02);
    const double hi = std::log(200.0);
    double power = 0.0;
    for (int i = 0; i < steps; ++i) {
        const double f = std::exp(lo + (hi - lo) * (i + 0.5) / steps);
        const double df = f * (hi - lo) / steps;
        const double w = 2.0 * kPi * f;
        const double accel_gain = std::norm(SprungOverRoad(vehicle, w)) * w * w * w * w;
        const double sampling = config.sensor_averages_over_sample
                                    ? std::pow(Sinc(kPi * f / sample_rate_hz), 2.0)
                                    : 1.0;
        double alias = std::fmod(f, sample_rate_hz);
        if (alias > 0.5 * sample_rate_hz) {
            alias = sample_rate_hz - alias;
        }
        const double road = kIso8608N0 * kIso8608N0 / (f * f);
        power += accel_gain * sampling * band.PowerGain(alias) * road * df;
    }
    return power;
}

double RoughnessModelGain(
    const QuarterCarParams& vehicle,
    double sample_rate_hz,
    const RoughnessConfig& config
) {
    const double power = BandPowerPerGdSpeed(vehicle, sample_rate_hz, config);
    return power > 0.0 ? IriPerSqrtGd0() / std::sqrt(power) : 0.0;
}

RoughnessEstimator::RoughnessEstimator(
    const RoughnessConfig& config,
    double sample_rate_hz,
    const QuarterCarParams& vehicle_model
)
    : config_(config),
      rate_hz_(sample_rate_hz),
      gain_(RoughnessModelGain(vehicle_model, sample_rate_hz, config)),
      filter_(IirFilter::BandPass(
          config.band_order,
          config.band_low_hz,
          config.band_high_hz,
          sample_rate_hz
      )) {}

std::optional<RoughnessEstimate> RoughnessEstimator::EstimateFiltered(
    std::span<const float> band_mps2,
    std::span<const float> speed_mps,
    double calibration_factor
) const {
    const std::size_t n = std::min(band_mps2.size(), speed_mps.size());
    const auto min_speed = static_cast<float>(config_.min_speed_kmh / 3.6);
    double sum_a2 = 0.0;
    double sum_v = 0.0;
    double sum_v2 = 0.0;
    std::size_t used = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float v = speed_mps[i];
        if (v >= min_speed) {
            const double a = band_mps2[i];
            sum_a2 += a * a;
            sum_v += v;
            sum_v2 += static_cast<double>(v) * v;
            ++used;
        }
    }
    const double duration_s = static_cast<double>(used) / rate_hz_;
    if (used == 0 || used < static_cast<std::size_t>(std::max(config_.min_samples, 1)) ||
        duration_s < config_.min_duration_s || !(sum_v > 0.0)) {
        return std::nullopt;
    }
    RoughnessEstimate e;
    e.samples = used;
    e.duration_s = duration_s;
    e.mean_speed_mps = sum_v / static_cast<double>(used);
    e.speed_stddev_mps = std::sqrt(
        std::max(0.0, sum_v2 / static_cast<double>(used) - e.mean_speed_mps * e.mean_speed_mps)
    );
    e.rms_accel_mps2 = std::sqrt(sum_a2 / static_cast<double>(used));
    e.model_gain = gain_;
    e.calibration_factor = calibration_factor;
    e.iri_m_per_km = gain_ * calibration_factor * std::sqrt(sum_a2 / sum_v);
    const double bt = config_.confidence_bandwidth_hz * duration_s;
    const double cv = e.speed_stddev_mps / e.mean_speed_mps;
    const double cv0 = config_.confidence_speed_cv > 0.0 ? config_.confidence_speed_cv : 1.0;
    e.confidence = (1.0 - 1.0 / std::sqrt(1.0 + bt)) * std::exp(-cv * cv / (2.0 * cv0 * cv0));
    return e;
}

std::optional<RoughnessEstimate> RoughnessEstimator::Estimate(
    std::span<const float> vertical_mps2,
    std::span<const float> speed_mps,
    double calibration_factor
) const {
    const std::size_t n = std::min(vertical_mps2.size(), speed_mps.size());
    IirFilter filter = IirFilter::BandPass(
        config_.band_order, config_.band_low_hz, config_.band_high_hz, rate_hz_
    );
    // Warm-up on the mirror image of the window's first second (ends at the first sample).
    const std::size_t warm = std::min(
        n, static_cast<std::size_t>(std::ceil(rate_hz_ / std::max(config_.band_low_hz, 0.1)))
    );
    for (std::size_t k = warm; k-- > 1;) {
        filter.Step(vertical_mps2[k]);
    }
    std::vector<float> band(
        vertical_mps2.begin(), vertical_mps2.begin() + static_cast<std::ptrdiff_t>(n)
    );
    filter.Process(band);
    return EstimateFiltered(band, speed_mps.first(n), calibration_factor);
}

}  // namespace pavewatch::pipeline
