#include "pavewatch/pipeline/event_detector.hpp"

#include "pavewatch/pipeline/raw_message.hpp"

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {

EventDetector::EventDetector(const HazardConfig& config, double sample_rate_hz)
    : config_(config),
      rate_hz_(sample_rate_hz > 0.0 ? sample_rate_hz : 100.0),
      rate_factor_(std::pow(std::min(1.0, rate_hz_ / 100.0), config.detector_rate_exponent)),
      threshold_(static_cast<float>(config.detector_z_threshold_mps2 * rate_factor_)),
      z_per_speed_threshold_(static_cast<float>(config.detector_z_per_speed * rate_factor_)),
      min_speed_(static_cast<float>(config.detector_min_speed_kmh / 3.6)),
      background_alpha_(static_cast<float>(
          1.0 - std::exp(-1.0 / (rate_hz_ * std::max(0.01, config.detector_background_s)))
      )),
      window_samples_(std::max<std::uint64_t>(
          1,
          static_cast<std::uint64_t>(std::lround(config.detector_window_s * rate_hz_))
      )),
      refractory_samples_(
          static_cast<std::uint64_t>(std::lround(config.detector_refractory_s * rate_hz_))
      ),
      highpass_(IirFilter::HighPass(2, config.detector_highpass_hz, rate_hz_)) {}

void EventDetector::Process(
    std::span<const float> vertical_mps2,
    std::span<const float> horizontal_mps2,
    std::span<const float> speed_mps,
    std::vector<DetectedEvent>& out
) {
    const std::size_t n = std::min(vertical_mps2.size(), speed_mps.size());
    const bool has_x = horizontal_mps2.size() >= n;
    const float g_zero_level =
        static_cast<float>(-config_.detector_g_zero_fraction * kStandardGravity);
    const float noise_factor = static_cast<float>(config_.detector_noise_factor);
    for (std::size_t i = 0; i < n; ++i, ++index_) {
        const float raw = vertical_mps2[i];
        const float z = highpass_.Step(raw);
        const float mag = std::abs(z);
        if (!background_seeded_) {
            background_ms_ =
                std::min(z * z, threshold_ * threshold_ / (noise_factor * noise_factor));
            background_seeded_ = true;
        }
        const float background = std::sqrt(background_ms_);
        const float limit = std::max(threshold_, noise_factor * background);
        if (active_) {
            if (right_pending_) {
                peak_right_ = mag;
                right_pending_ = false;
            }
            if (mag > peak_) {
                peak_left_ = std::abs(previous_z_);
                peak_ = mag;
                peak_index_ = index_;
                peak_speed_ = speed_mps[i];
                right_pending_ = true;
            }
            z_diff_ = std::max(z_diff_, std::abs(z - previous_z_));
            if (has_x) {
                x_peak_ = std::max(x_peak_, horizontal_mps2[i]);
            }
            g_zero_ = g_zero_ || raw < g_zero_level;
            if (index_ >= window_end_ && !right_pending_) {
                Finish(out);
            }
        } else if (mag > limit && speed_mps[i] >= min_speed_ && index_ >= deaf_until_) {
            active_ = true;
            window_end_ = index_ + window_samples_;
            peak_ = mag;
            peak_index_ = index_;
            peak_left_ = std::abs(previous_z_);
            peak_right_ = 0.0F;
            right_pending_ = true;
            peak_speed_ = speed_mps[i];
            z_diff_ = std::abs(z - previous_z_);
            x_peak_ = has_x ? horizontal_mps2[i] : 0.0F;
            g_zero_ = raw < g_zero_level;
            event_background_ = background;
        }
        // The background learns from everything, clipped at the current limit, so one impact
        // cannot raise it much while a rough road still does.
        const float clipped = std::min(z * z, limit * limit);
        background_ms_ += background_alpha_ * (clipped - background_ms_);
        previous_z_ = z;
    }
}

void EventDetector::Flush(std::vector<DetectedEvent>& out) {
    if (active_) {
        right_pending_ = false;
        Finish(out);
    }
}

void EventDetector::Finish(std::vector<DetectedEvent>& out) {
    active_ = false;
    deaf_until_ = peak_index_ + refractory_samples_;
    const float speed = std::max(peak_speed_, 0.1F);
    const double z_per_speed = peak_ / speed;
    const double xz = peak_ > 0.0F ? x_peak_ / peak_ : 0.0;
    if (z_per_speed < z_per_speed_threshold_ || xz < config_.detector_min_xz_ratio) {
        return;
    }
    // Parabolic interpolation of the peak: offset in (-0.5, 0.5) samples.
    double offset = 0.0;
    const double denom = static_cast<double>(peak_left_) - 2.0 * peak_ + peak_right_;
    if (denom < 0.0) {
        offset =
            std::clamp(0.5 * (static_cast<double>(peak_left_) - peak_right_) / denom, -0.5, 0.5);
    }
    DetectedEvent e;
    e.sample_index = peak_index_;
    e.fractional_index = static_cast<double>(peak_index_) + offset;
    e.time_s = e.fractional_index / rate_hz_;
    e.speed_mps = peak_speed_;
    e.peak_mps2 = peak_;
    e.normalised_peak_mps2 = peak_ / rate_factor_;
    e.speed_normalised_peak = e.normalised_peak_mps2 / speed;
    e.severity_score = e.normalised_peak_mps2 / std::max(1e-9, config_.detector_z_threshold_mps2);
    e.uncertainty_m = speed / rate_hz_;
    e.features.z_peak_mps2 = peak_;
    e.features.z_diff_mps2 = z_diff_;
    e.features.background_rms_mps2 = event_background_;
    e.features.x_peak_mps2 = x_peak_;
    e.features.xz_ratio = xz;
    e.features.z_per_speed = z_per_speed;
    e.features.g_zero = g_zero_;
    out.push_back(e);
}

}  // namespace pavewatch::pipeline
