#include "pavewatch/pipeline/signal.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

namespace pavewatch::pipeline {

double ClampCutoffHz(double cutoff_hz, double sample_rate_hz) {
    return std::clamp(
        cutoff_hz, kMinCutoffFraction * sample_rate_hz, kMaxCutoffFraction * sample_rate_hz
    );
}

BiquadCoefficients
DesignBiquad(FilterType type, double cutoff_hz, double sample_rate_hz, double q) {
    const double f = ClampCutoffHz(cutoff_hz, sample_rate_hz);
    const double w0 = 2.0 * std::numbers::pi * f / sample_rate_hz;
    const double cw = std::cos(w0);
    const double alpha = std::sin(w0) / (2.0 * q);
    const double a0 = 1.0 + alpha;
    BiquadCoefficients c;
    if (type == FilterType::kLowPass) {
        c.b0 = (1.0 - cw) / 2.0 / a0;
        c.b1 = (1.0 - cw) / a0;
        c.b2 = c.b0;
    } else {
        c.b0 = (1.0 + cw) / 2.0 / a0;
        c.b1 = -(1.0 + cw) / a0;
        c.b2 = c.b0;
    }
    c.a1 = -2.0 * cw / a0;
    c.a2 = (1.0 - alpha) / a0;
    return c;
}

void Biquad::Process(std::span<float> inout) {
    const BiquadCoefficients c = c_;
    double s1 = s1_;
    double s2 = s2_;
    for (float& v : inout) {
        const double in = v;
        const double y = c.b0 * in + s1;
        s1 = c.b1 * in - c.a1 * y + s2;
        s2 = c.b2 * in - c.a2 * y;
        v = static_cast<float>(y);
    }
    s1_ = s1;
    s2_ = s2;
}

void Biquad::Settle(float x) {
    const double in = x;
    const double dc_gain = (c_.b0 + c_.b1 + c_.b2) / (1.0 + c_.a1 + c_.a2);
    const double y = dc_gain * in;
    s2_ = c_.b2 * in - c_.a2 * y;
    s1_ = c_.b1 * in - c_.a1 * y + s2_;
}

namespace {

/// Q of each biquad of a Butterworth of even order (1 / (2 cos(theta_k))).
void ButterworthQs(int order, double* qs, int& count) {
    count = 0;
    const int sections = std::max(1, order / 2);
    for (int k = 0; k < sections; ++k) {
        const double theta = std::numbers::pi * (2.0 * k + 1.0) / (2.0 * 2.0 * sections);
        qs[count++] = 1.0 / (2.0 * std::cos(theta));
    }
}

}  // namespace

void IirFilter::Add(FilterType type, int order, double cutoff_hz) {
    double qs[2];
    int count = 0;
    ButterworthQs(std::clamp(order, 2, 4), qs, count);
    for (int i = 0; i < count && count_ < stages_.size(); ++i) {
        stages_[count_++] = Biquad(DesignBiquad(type, cutoff_hz, sample_rate_hz_, qs[i]));
    }
}

IirFilter IirFilter::LowPass(int order, double cutoff_hz, double sample_rate_hz) {
    IirFilter f;
    f.sample_rate_hz_ = sample_rate_hz;
    f.Add(FilterType::kLowPass, order, cutoff_hz);
    return f;
}

IirFilter IirFilter::HighPass(int order, double cutoff_hz, double sample_rate_hz) {
    IirFilter f;
    f.sample_rate_hz_ = sample_rate_hz;
    f.Add(FilterType::kHighPass, order, cutoff_hz);
    return f;
}

IirFilter IirFilter::BandPass(int order, double low_hz, double high_hz, double sample_rate_hz) {
    IirFilter f;
    f.sample_rate_hz_ = sample_rate_hz;
    f.Add(FilterType::kHighPass, order, low_hz);
    const double lo = ClampCutoffHz(low_hz, sample_rate_hz);
    const double hi = ClampCutoffHz(high_hz, sample_rate_hz);
    if (hi > lo) {
        f.Add(FilterType::kLowPass, order, high_hz);
    }
    return f;
}

void IirFilter::Process(std::span<float> inout) {
    for (std::size_t i = 0; i < count_; ++i) {
        stages_[i].Process(inout);
    }
}

void IirFilter::Process(std::span<const float> in, std::span<float> out) {
    const std::size_t n = std::min(in.size(), out.size());
    std::copy_n(in.begin(), n, out.begin());
    Process(out.first(n));
}

void IirFilter::Reset() {
    for (auto& s : stages_) {
        s.Reset();
    }
}

double IirFilter::PowerGain(double frequency_hz) const {
    const double w = 2.0 * std::numbers::pi * frequency_hz / sample_rate_hz_;
    const std::complex<double> z1 = std::polar(1.0, -w);
    const std::complex<double> z2 = z1 * z1;
    double gain = 1.0;
    for (std::size_t i = 0; i < count_; ++i) {
        const BiquadCoefficients& c = stages_[i].coefficients();
        const std::complex<double> h =
            (c.b0 + c.b1 * z1 + c.b2 * z2) / (1.0 + c.a1 * z1 + c.a2 * z2);
        gain *= std::norm(h);
    }
    return gain;
}

GravityReorienter::GravityReorienter(double sample_rate_hz, double time_constant_s) {
    const double rate = sample_rate_hz > 0.0 ? sample_rate_hz : 1.0;
    const double tau = time_constant_s > 0.0 ? time_constant_s : 1.0;
    alpha_ = static_cast<float>(1.0 - std::exp(-1.0 / (rate * tau)));
    seed_samples_ = std::max<std::size_t>(1, static_cast<std::size_t>(rate * tau));
}

void GravityReorienter::Refresh() {
    const float norm2 = gx_ * gx_ + gy_ * gy_ + gz_ * gz_;
    if (norm2 > 1e-12F) {
        g_norm_ = std::sqrt(norm2);
        const float inv = 1.0F / g_norm_;
        ux_ = gx_ * inv;
        uy_ = gy_ * inv;
        uz_ = gz_ * inv;
    }
}

void GravityReorienter::Process(
    std::span<const float> x,
    std::span<const float> y,
    std::span<const float> z,
    std::span<float> vertical,
    std::span<float> horizontal
) {
    const std::size_t n =
        std::min({x.size(), y.size(), z.size(), vertical.size(), horizontal.size()});
    if (n == 0) {
        return;
    }
    if (!seeded_) {
        const std::size_t m = std::min(n, seed_samples_);
        double sx = 0.0, sy = 0.0, sz = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            sx += x[i];
            sy += y[i];
            sz += z[i];
        }
        gx_ = static_cast<float>(sx / static_cast<double>(m));
        gy_ = static_cast<float>(sy / static_cast<double>(m));
        gz_ = static_cast<float>(sz / static_cast<double>(m));
        Refresh();
        seeded_ = true;
        phase_ = 0;
    }
    const float alpha = alpha_;
    std::size_t i = 0;
    while (i < n) {
        // Samples until the next refresh of the unit vector; within the run u is constant, so
        // the projection loop vectorises and the EMA is a plain recurrence.
        const std::size_t run = std::min(n - i, kRefreshSamples - phase_);
        const float ux = ux_, uy = uy_, uz = uz_, gn = g_norm_;
        for (std::size_t k = i; k < i + run; ++k) {
            const float ax = x[k], ay = y[k], az = z[k];
            const float along = ax * ux + ay * uy + az * uz;
            const float total2 = ax * ax + ay * ay + az * az;
            vertical[k] = along - gn;
            horizontal[k] = std::sqrt(std::max(0.0F, total2 - along * along));
        }
        float gx = gx_, gy = gy_, gz = gz_;
        for (std::size_t k = i; k < i + run; ++k) {
            gx += alpha * (x[k] - gx);
            gy += alpha * (y[k] - gy);
            gz += alpha * (z[k] - gz);
        }
        gx_ = gx;
        gy_ = gy;
        gz_ = gz;
        i += run;
        phase_ += run;
        if (phase_ == kRefreshSamples) {
            phase_ = 0;
            Refresh();
        }
    }
}

}  // namespace pavewatch::pipeline
