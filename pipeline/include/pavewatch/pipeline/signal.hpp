#pragma once

#include <array>
#include <cstddef>
#include <span>

namespace pavewatch::pipeline {

// Signal conditioning for vehicle accelerometers at 5-400 Hz: Butterworth IIR filters and
// re-orientation by gravity. Everything here works on caller-owned spans, allocates nothing
// per sample and keeps its state between calls, so a stream can be processed in blocks of any
// size with the same result. Not thread-safe: one instance per stream.

/// Cut-offs are clamped into [kMinCutoffFraction, kMaxCutoffFraction] x sample rate, so a
/// filter designed for 100 Hz stays stable and meaningful at 5 Hz (0.45 x rate keeps the
/// bilinear pre-warp, tan(pi f / fs), finite).
inline constexpr double kMinCutoffFraction = 1e-4;
inline constexpr double kMaxCutoffFraction = 0.45;

/// A cut-off clamped as above, Hz.
double ClampCutoffHz(double cutoff_hz, double sample_rate_hz);

enum class FilterType { kLowPass, kHighPass };

/// Normalised biquad coefficients (a0 = 1): y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2.
struct BiquadCoefficients {
    double b0 = 1.0;
    double b1 = 0.0;
    double b2 = 0.0;
    double a1 = 0.0;
    double a2 = 0.0;
};

/// Second-order low- or high-pass section by the bilinear transform with pre-warping
/// (RBJ Audio EQ Cookbook form). `q` = 1/sqrt(2) gives a 2nd-order Butterworth.
BiquadCoefficients DesignBiquad(FilterType type, double cutoff_hz, double sample_rate_hz, double q);

/// One biquad in transposed direct form II. Double-precision state: at 0.5 Hz / 400 Hz the
/// poles sit within 1e-2 of z = 1, where float coefficients would move the cut-off by several %.
class Biquad {
public:
    Biquad() = default;
    explicit Biquad(const BiquadCoefficients& c) : c_(c) {}

    float Step(float x) {
        const double in = x;
        const double y = c_.b0 * in + s1_;
        s1_ = c_.b1 * in - c_.a1 * y + s2_;
        s2_ = c_.b2 * in - c_.a2 * y;
        return static_cast<float>(y);
    }
    void Process(std::span<float> inout);
    void Reset() { s1_ = s2_ = 0.0; }
    /// Sets the state to the steady state for a constant input `x` (no start-up transient).
    void Settle(float x);
    const BiquadCoefficients& coefficients() const { return c_; }

private:
    BiquadCoefficients c_;
    double s1_ = 0.0;
    double s2_ = 0.0;
};

/// A Butterworth low-, high- or band-pass of order 2 or 4 (per edge) as cascaded biquads.
/// A band-pass is a high-pass followed by a low-pass; when the clamped low-pass edge is not above
/// the high-pass edge, the low-pass is dropped (the band is then "everything above low_hz").
class IirFilter {
public:
    IirFilter() = default;
    static IirFilter LowPass(int order, double cutoff_hz, double sample_rate_hz);
    static IirFilter HighPass(int order, double cutoff_hz, double sample_rate_hz);
    static IirFilter BandPass(int order, double low_hz, double high_hz, double sample_rate_hz);

    float Step(float x) {
        for (std::size_t i = 0; i < count_; ++i) {
            x = stages_[i].Step(x);
        }
        return x;
    }
    /// Filters in place, one stage at a time over the block (better pipelining than per sample).
    void Process(std::span<float> inout);
    /// Filters `in` into `out` (same size).
    void Process(std::span<const float> in, std::span<float> out);
    void Reset();
    std::size_t stages() const { return count_; }
    /// Power gain |H(f)|^2 of the cascade at `frequency_hz` (for tests and calibration).
    double PowerGain(double frequency_hz) const;

private:
    void Add(FilterType type, int order, double cutoff_hz);

    std::array<Biquad, 4> stages_{};
    std::size_t count_ = 0;
    double sample_rate_hz_ = 1.0;
};

/// Re-orients device-frame acceleration (any mounting) to the road's vertical.
///
/// Gravity is tracked as an exponential moving average of the acceleration vector (time
/// constant `time_constant_s`); its direction is the local "up" (an accelerometer at rest reads
/// +g upwards). Output per sample: the vertical component with gravity removed, (a - g).u,
/// positive up, and the horizontal magnitude |a - (a.u) u| (braking, cornering, roll), m/s^2.
/// The unit vector is refreshed every kRefreshSamples samples (the EMA moves < 0.2 % in that
/// time at 400 Hz with a 1 s constant). The first call seeds the gravity estimate with the mean
/// of its first time_constant_s of samples, so there is no start-up transient.
class GravityReorienter {
public:
    static constexpr std::size_t kRefreshSamples = 8;

    explicit GravityReorienter(double sample_rate_hz, double time_constant_s = 1.0);

    /// All spans the same length (extra output is left untouched). m/s^2 in and out.
    void Process(
        std::span<const float> x,
        std::span<const float> y,
        std::span<const float> z,
        std::span<float> vertical,
        std::span<float> horizontal
    );
    /// Current gravity estimate in device axes, m/s^2.
    std::array<float, 3> gravity() const { return {gx_, gy_, gz_}; }
    void Reset() { seeded_ = false; }

private:
    void Refresh();

    float alpha_;
    std::size_t seed_samples_;
    bool seeded_ = false;
    float gx_ = 0.0F, gy_ = 0.0F, gz_ = 0.0F;
    float ux_ = 0.0F, uy_ = 0.0F, uz_ = 1.0F;
    float g_norm_ = 0.0F;
    std::size_t phase_ = 0;
};

}  // namespace pavewatch::pipeline
