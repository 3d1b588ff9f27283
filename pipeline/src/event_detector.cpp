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
      // At low rates the impact is averaged into the next sample too: at least 2 samples of
      // gap and 3 of window, so that the window holds road, not the impact.
      post_gap_samples_(std::max<std::uint64_t>(
          2,
          static_cast<std::uint64_t>(std::lround(config.detector_post_gap_s * rate_hz_))
      )),
      post_samples_(std::max<std::uint64_t>(
          3,
          static_cast<std::uint64_t>(std::lround(config.detector_post_window_s * rate_hz_))
      )),
      highpass_(IirFilter::HighPass(2, config.detector_highpass_hz, rate_hz_)),
      history_(post_gap_samples_ + post_samples_, 0.0F) {}

void EventDetector::Remember(float z) {
    history_[history_next_] = z * z;
    history_next_ = (history_next_ + 1) % history_.size();
    ++history_seen_;
}

double EventDetector::PreWindowMeanSquare() const {
    // The ring holds the newest post_gap + post_window samples; the window before the event is
    // the oldest post_window of them (those seen, early in a stream).
    const std::size_t size = history_.size();
    const auto seen = static_cast<std::size_t>(std::min<std::uint64_t>(history_seen_, size));
    if (seen <= post_gap_samples_) {
        return 0.0;
    }
    const std::size_t count = seen - post_gap_samples_;
    double sum = 0.0;
    for (std::size_t k = 0; k < count; ++k) {
        // k-th oldest of the seen samples.
        sum += history_[(history_next_ + size - seen + k) % size];
    }
    return sum / static_cast<double>(count);
}

void EventDetector::Process(
    std::span<const float> vertical_mps2,
    std::span<const float> horizontal_mps2,
    std::span<const float> speed_mps,
    std::vector<DetectedEvent>& out
) {
    const std::size_t n = std::min(vertical_mps2.size(), speed_mps.size());
    const bool has_x = horizontal_mps2.size() >= n;
    const auto g_zero_level =
        static_cast<float>(-config_.detector_g_zero_fraction * kStandardGravity);
    const auto noise_factor = static_cast<float>(config_.detector_noise_factor);
    for (std::size_t i = 0; i < n; ++i, ++index_) {
        const float raw = vertical_mps2[i];
        const float z = highpass_.Step(raw);
        const float mag = std::abs(z);
        if (pending_ && index_ >= post_start_ && !active_) {
            post_sum_ += static_cast<double>(z) * z;
            ++post_count_;
            if (index_ + 1 >= post_end_) {
                Decide(out);
            }
        }
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
                post_sum_ = 0.0;  // the post window follows the new peak
                post_count_ = 0;
            } else if (index_ >= peak_index_ + post_gap_samples_ && index_ < peak_index_ + post_gap_samples_ + post_samples_) {
                post_sum_ += static_cast<double>(z) * z;
                ++post_count_;
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
            post_sum_ = 0.0;
            post_count_ = 0;
            pre_ms_ = PreWindowMeanSquare();
        }
        Remember(z);
        // The background learns from everything, clipped at the current limit, so one impact
        // cannot raise it much while a rough road still does.
        const float clipped = std::min(z * z, limit * limit);
        background_ms_ += background_alpha_ * (clipped - background_ms_);
        previous_z_ = z;
    }
}

void EventDetector::Prime(std::span<const float> vertical_mps2) {
    const auto noise_factor = static_cast<float>(config_.detector_noise_factor);
    for (const float raw : vertical_mps2) {
        const float z = highpass_.Step(raw);
        if (!background_seeded_) {
            background_ms_ =
                std::min(z * z, threshold_ * threshold_ / (noise_factor * noise_factor));
            background_seeded_ = true;
        }
        const float limit = std::max(threshold_, noise_factor * std::sqrt(background_ms_));
        background_ms_ += background_alpha_ * (std::min(z * z, limit * limit) - background_ms_);
        previous_z_ = z;
        Remember(z);
    }
}

void EventDetector::Flush(std::vector<DetectedEvent>& out) {
    if (active_) {
        right_pending_ = false;
        Finish(out);
    }
    if (pending_) {
        Decide(out);
    }
}

void EventDetector::Decide(std::vector<DetectedEvent>& out) {
    pending_ = false;
    // At the end of a stream the post window is cut short. With less than half of it seen the
    // event cannot be told from the first bump of a rougher stretch and is not reported (in
    // development, the last 0.5 s of 5 s messages held half of all false events); otherwise
    // the missing part is taken to be like the window before the event.
    if (2 * post_count_ < post_samples_) {
        return;
    }
    const auto missing = static_cast<double>(post_samples_ - std::min(post_samples_, post_count_));
    const double post_ms = (post_sum_ + missing * pre_ms_) / static_cast<double>(post_samples_);
    if (pending_event_.peak_mps2 <
        config_.detector_post_factor * std::sqrt(std::max(post_ms, pre_ms_))) {
        return;
    }
    out.push_back(pending_event_);
}

void EventDetector::Finish(std::vector<DetectedEvent>& out) {
    active_ = false;
    deaf_until_ = peak_index_ + refractory_samples_;
    if (config_.detector_post_factor > 0.0) {
        // No new event before this one is decided (one pending event at a time).
        deaf_until_ = std::max(deaf_until_, peak_index_ + post_gap_samples_ + post_samples_);
    }
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
    if (config_.detector_post_factor <= 0.0) {
        out.push_back(e);
        return;
    }
    // Samples of the post window seen while the peak was searched are already summed.
    pending_ = true;
    pending_event_ = e;
    post_start_ = peak_index_ + post_gap_samples_;
    post_end_ = post_start_ + post_samples_;
    if (index_ + 1 >= post_end_) {
        Decide(out);
    }
}

}  // namespace pavewatch::pipeline
