#pragma once

#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/signal.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace pavewatch::pipeline {

/// The features an event was judged by (Eriksson et al. 2008; Mednis et al. 2011).
struct EventFeatures {
    double z_peak_mps2 = 0.0;          ///< max |high-passed vertical| in the event window
    double z_diff_mps2 = 0.0;          ///< max |z[i] - z[i-1]| in the window (Mednis Z-DIFF)
    double background_rms_mps2 = 0.0;  ///< running RMS before the event (Mednis STDEV(Z))
    double x_peak_mps2 = 0.0;          ///< max horizontal magnitude in the window (0 if none given)
    double xz_ratio = 0.0;             ///< x_peak / z_peak (Eriksson x/z)
    double z_per_speed = 0.0;          ///< z_peak / speed, s^-1 (Eriksson speed vs z)
    bool g_zero = false;  ///< vertical reached -fraction x g (Mednis G-ZERO, free fall)
};

/// One detected pothole/defect impact of one vehicle.
struct DetectedEvent {
    std::uint64_t sample_index =
        0;  ///< stream index of the peak sample (from the first sample processed)
    /// Sub-sample peak position (parabolic interpolation of |z| around the peak), stream index.
    /// A stream with per-sample times places the event by them (AccelBatch::TimeAt), not by
    /// time_s: those need not start at 0 nor be evenly spaced.
    double fractional_index = 0.0;
    /// fractional_index / the detector's (mean) sample rate, s after the stream's first sample;
    /// the event's time only for a stream sampled evenly from its first sample.
    double time_s = 0.0;
    double speed_mps = 0.0;  ///< speed at the peak
    double peak_mps2 = 0.0;  ///< z peak as measured at this rate
    /// Peak brought to the 100 Hz scale: peak / min(1, rate / 100)^rate_exponent, m/s^2. The
    /// value to compare across devices (HazardDetection::peak).
    double normalised_peak_mps2 = 0.0;
    double speed_normalised_peak = 0.0;  ///< normalised_peak / speed, s^-1
    /// normalised_peak / detector_z_threshold_mps2: 1 = just detected.
    double severity_score = 0.0;
    /// Position uncertainty from sampling: speed x sample interval, m (1 sample either way).
    /// The caller adds GPS error (in quadrature).
    double uncertainty_m = 0.0;
    EventFeatures features;
};

/// Streaming per-vehicle pothole detector over gravity-removed vertical acceleration (and,
/// optionally, the horizontal magnitude) at any rate from 5 to 400 Hz.
///
/// Per sample: a 2nd-order Butterworth high-pass of the vertical; a background RMS (EMA of the
/// square, clipped at the threshold so events do not inflate it). An event starts when
/// |z| exceeds max(threshold(rate), noise_factor x background) at a speed >= the minimum; its
/// peak is searched for detector_window_s; it is kept if z_peak / speed and x/z pass their
/// filters and the road after it is quiet (peak >= detector_post_factor x the RMS over the post
/// window, see HazardConfig); the detector is deaf for detector_refractory_s after the peak (and
/// until the post window ends). Thresholds adapt to the rate as min(1, rate / 100)^rate_exponent
/// (an impact's peak is averaged down at low rates). An event is appended once its post window
/// has passed (or at Flush, judged on the part of the window seen).
/// Owns its filter state; one per vehicle stream; not thread-safe. Allocation-free per sample
/// (events are appended to the caller's vector).
class EventDetector {
public:
    EventDetector(const HazardConfig& config, double sample_rate_hz);

    /// `vertical_mps2` and `speed_mps` are required (same length); `horizontal_mps2` may be
    /// empty or the same length. Events whose post window closed in this block are appended to
    /// `out`.
    void Process(
        std::span<const float> vertical_mps2,
        std::span<const float> horizontal_mps2,
        std::span<const float> speed_mps,
        std::vector<DetectedEvent>& out
    );
    /// Emits an event whose window or post window is still open (end of stream).
    void Flush(std::vector<DetectedEvent>& out);

    /// Warms the high-pass filter and the background RMS on samples that come before the
    /// stream (no events, no index advance): a stream that starts mid-drive (one message of a
    /// vehicle) then starts with the background of the road it is on, not with silence. The
    /// caller passes the mirror image of the stream's first seconds, ending at its first
    /// sample, as RoughnessEstimator::Estimate does for its filter.
    void Prime(std::span<const float> vertical_mps2);

    double rate_factor() const { return rate_factor_; }
    std::uint64_t samples_seen() const { return index_; }

private:
    void Finish(std::vector<DetectedEvent>& out);
    void Decide(std::vector<DetectedEvent>& out);
    void Remember(float z);
    double PreWindowMeanSquare() const;

    HazardConfig config_;
    double rate_hz_;
    double rate_factor_;
    float threshold_;
    float z_per_speed_threshold_;
    float min_speed_;
    float background_alpha_;
    std::uint64_t window_samples_;
    std::uint64_t refractory_samples_;
    std::uint64_t post_gap_samples_;
    std::uint64_t post_samples_;
    IirFilter highpass_;

    std::uint64_t index_ = 0;
    float background_ms_ = 0.0F;
    float previous_z_ = 0.0F;
    bool background_seeded_ = false;
    std::uint64_t deaf_until_ = 0;

    // The open event, if any.
    bool active_ = false;
    std::uint64_t window_end_ = 0;
    std::uint64_t peak_index_ = 0;
    float peak_ = 0.0F;
    float peak_left_ = 0.0F;
    float peak_right_ = 0.0F;
    bool right_pending_ = false;
    float peak_speed_ = 0.0F;
    float z_diff_ = 0.0F;
    float x_peak_ = 0.0F;
    bool g_zero_ = false;
    float event_background_ = 0.0F;

    // The last post_gap + post_window squared samples (a ring), for the window before an
    // event; how many were seen.
    std::vector<float> history_;
    std::size_t history_next_ = 0;
    std::uint64_t history_seen_ = 0;
    double pre_ms_ = 0.0;  ///< mean square of the window before the open event

    // The event waiting for its post window, if any.
    bool pending_ = false;
    DetectedEvent pending_event_;
    std::uint64_t post_start_ = 0;
    std::uint64_t post_end_ = 0;
    double post_sum_ = 0.0;
    std::uint64_t post_count_ = 0;
};

}  // namespace pavewatch::pipeline
