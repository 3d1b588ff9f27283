#pragma once

#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/quarter_car.hpp"
#include "pavewatch/pipeline/signal.hpp"

#include <cstddef>
#include <optional>
#include <span>

namespace pavewatch::pipeline {

/// IRI (m/km) of a w = 2 ISO 8608 road per sqrt(Gd(n0)) (sqrt(m^3)), from the Golden Car's
/// transfer function and the 250 mm moving average (Gaussian slope: E|x| = sqrt(2/pi) sigma).
/// ~539 m/km per sqrt(m^3): class A (16e-6 m^3) gives ~2.16 m/km.
double IriPerSqrtGd0();

/// Mean square of the estimator's band-passed vertical acceleration per unit Gd(n0) x speed
/// for a w = 2 road, (m/s^2)^2 / (m^3 x m/s), for a vehicle model and sample rate: the integral
/// of |H_accel(f)|^2 x |H_band(f_alias)|^2 x sinc^2(f / fs) (when the sensor averages) over
/// the road's temporal PSD Gd0 n0^2 v / f^2, with aliasing folded in.
double BandPowerPerGdSpeed(
    const QuarterCarParams& vehicle,
    double sample_rate_hz,
    const RoughnessConfig& config
);

/// The model gain K with IRI = K x RMS(a_band) / sqrt(v), (m/km) / ((m/s^2) / sqrt(m/s)):
/// IriPerSqrtGd0() / sqrt(BandPowerPerGdSpeed(...)). On a w = 2 road RMS^2 ~ Gd v and IRI ~
/// sqrt(Gd), so K does not depend on speed or roughness; it depends on the vehicle and rate.
double RoughnessModelGain(
    const QuarterCarParams& vehicle,
    double sample_rate_hz,
    const RoughnessConfig& config
);

/// One roughness estimate and what its confidence is made of.
struct RoughnessEstimate {
    double iri_m_per_km = 0.0;
    double rms_accel_mps2 = 0.0;      ///< RMS of the band-passed vertical acceleration used
    std::size_t samples = 0;          ///< usable samples (speed >= minimum)
    double duration_s = 0.0;          ///< usable samples / rate
    double mean_speed_mps = 0.0;      ///< over usable samples
    double speed_stddev_mps = 0.0;    ///< over usable samples
    double model_gain = 0.0;          ///< K used
    double calibration_factor = 1.0;  ///< multiplier used
    /// In [0, 1]: (1 - 1/sqrt(1 + B T)) x exp(-cv^2 / (2 cv0^2)), B = confidence_bandwidth_hz,
    /// T = duration_s, cv = speed_stddev / mean_speed, cv0 = confidence_speed_cv.
    double confidence = 0.0;
};

/// Estimates IRI from a vehicle's vertical acceleration and speed.
///
/// One instance per vehicle stream (it owns the stream's band-pass state); not thread-safe.
/// The estimate is K x calibration_factor x sqrt(sum a^2 / sum v) over the usable samples (speed
/// >= min_speed_kmh), i.e. RMS / sqrt(mean speed) with time weighting; K comes from the
/// vehicle's quarter-car model (RoughnessModelGain). Returns std::nullopt when fewer than
/// min_samples or min_duration_s of usable samples remain (in particular below 20 km/h).
class RoughnessEstimator {
public:
    RoughnessEstimator(
        const RoughnessConfig& config,
        double sample_rate_hz,
        const QuarterCarParams& vehicle_model = DefaultQuarterCar(VehicleClass::kCar)
    );

    /// Band-passes a block of the stream's vertical acceleration in place (state is kept, so
    /// consecutive blocks filter as one signal).
    void Filter(std::span<float> vertical_mps2) { filter_.Process(vertical_mps2); }

    /// Estimate over a window of already band-passed samples and their speeds (same length).
    std::optional<RoughnessEstimate> EstimateFiltered(
        std::span<const float> band_mps2,
        std::span<const float> speed_mps,
        double calibration_factor = 1.0
    ) const;

    /// One-shot estimate of a stand-alone window: a fresh filter is warmed on the mirrored first
    /// second of the window (no start-up transient), then the window is filtered and estimated.
    /// Allocates one copy of the window.
    std::optional<RoughnessEstimate> Estimate(
        std::span<const float> vertical_mps2,
        std::span<const float> speed_mps,
        double calibration_factor = 1.0
    ) const;

    double model_gain() const { return gain_; }
    double sample_rate_hz() const { return rate_hz_; }

private:
    RoughnessConfig config_;
    double rate_hz_;
    double gain_;
    IirFilter filter_;
};

}  // namespace pavewatch::pipeline
