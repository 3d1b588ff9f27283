#pragma once

#include "pavewatch/pipeline/error.hpp"

#include <tl/expected.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pavewatch::pipeline {

// Every threshold and constant of the pavement models, in one place. Constants fixed by a
// standard (the Golden Car of ASTM E1926, the ISO 8608 classes) are not here: they live beside
// their code as `inline constexpr` and must not be tuned. Sources and the reasoning behind each
// default are in docs/condition-model.md; the comment on each field gives unit and source.
//
// Plain values: copy freely; read-only sharing between threads is safe.

/// A duration in days (event time), for the slow structural and trend windows.
using Days = std::chrono::duration<double, std::ratio<86400>>;

/// A point of a piecewise-linear curve (x ascending in a curve).
struct CurvePoint {
    double x = 0.0;
    double y = 0.0;
    friend bool operator==(const CurvePoint&, const CurvePoint&) = default;
};

/// Roughness from vehicle accelerometers (roughness_estimator.hpp) and its per-segment
/// aggregate (roughness_aggregate.hpp).
struct RoughnessConfig {
    /// No estimate from samples slower than this, km/h. Brief requirement; below ~20 km/h the
    /// profile excites the sprung mass too little for the w = 2 speed scaling to hold.
    double min_speed_kmh = 20.0;
    /// Band-pass of the vertical acceleration, Hz. 0.5 Hz removes gravity-estimate drift,
    /// pitch from braking and grades while keeping body bounce (1-1.5 Hz); the upper edge is
    /// clamped to 0.45 x the sample rate. PaveWatch choice (docs, "Roughness estimator").
    double band_low_hz = 0.5;
    double band_high_hz = 20.0;  ///< Hz, see band_low_hz
    int band_order = 4;          ///< Butterworth order per edge (2 or 4)
    /// Least time of usable (fast enough) samples in a window for an estimate, s.
    double min_duration_s = 1.0;
    /// Least usable samples in a window for an estimate (5 Hz x 1 s).
    int min_samples = 5;
    /// The device reports the mean acceleration over each sample interval (decimating MEMS)
    /// rather than point samples; enters the model gain (sinc^2 of the interval). Default true.
    bool sensor_averages_over_sample = true;
    /// Effective bandwidth of the sprung-mass response for the confidence, Hz: the relative
    /// standard error of a mean square over T s of a band of B Hz is 1/sqrt(B T) (Bendat & Piersol
    /// 2010, Random Data, eq. 8.128). Default 1 Hz (the body-bounce peak's width).
    double confidence_bandwidth_hz = 1.0;
    /// Speed coefficient of variation within a window at which the confidence falls to 1/e^(1/2)
    /// (speed changes mean braking pitch in the signal). PaveWatch heuristic.
    double confidence_speed_cv = 0.25;

    /// Aggregate: most distinct vehicles kept per segment (bounded state).
    int aggregate_max_vehicles = 32;
    /// Aggregate: Huber tuning constant on log(IRI), in robust sigmas (Huber 1964; 1.345 gives
    /// 95 % efficiency under normality).
    double aggregate_huber_k = 1.345;
    /// Aggregate: an entry older than this no longer counts (pavement changes), days.
    Days aggregate_max_age{180.0};
    /// Aggregate: traversals per vehicle after which its running mean becomes an EWMA (so a
    /// vehicle's entry follows change), count.
    int aggregate_vehicle_window = 10;
    /// Aggregate confidence: distinct vehicles at which the vehicle factor reaches 1 - 1/e.
    double aggregate_confidence_vehicles = 3.0;
    /// Aggregate confidence: traversals at which the sample factor reaches 1 - 1/e.
    double aggregate_confidence_traversals = 5.0;
    /// Aggregate confidence: spread (std) of mean speeds across vehicles at which the speed
    /// factor is full, m/s. A single speed leaves speed-dependent bias unaveraged.
    double aggregate_confidence_speed_spread_mps = 3.0;

    /// Class thresholds, m/km: good below, poor above (FHWA, 23 CFR 490.313 Table 1: 95 and 170
    /// in/mi).
    double good_below_m_per_km = 1.50;
    double poor_above_m_per_km = 2.68;

    /// Per vehicle-class calibration factors multiplying the model gain, dimensionless. 1.0
    /// means "the class's default quarter-car model as it is" (docs, "Calibration").
    double factor_car = 1.0;
    double factor_suv = 1.0;
    double factor_van = 1.0;
    double factor_bus = 1.0;
    double factor_truck = 1.0;
    double factor_motorcycle = 1.0;
    double factor_unknown = 1.0;
};

/// Pothole/defect events (event_detector.hpp) and their cross-vehicle tracking
/// (hazard_tracker.hpp).
struct HazardConfig {
    /// Detector: no events below this speed, km/h (Eriksson et al. 2008 speed filter).
    double detector_min_speed_kmh = 15.0;
    /// Detector: high-pass of the vertical acceleration, Hz (Eriksson et al. 2008 high-pass
    /// filter; removes body pitch and drift).
    double detector_highpass_hz = 0.5;
    /// Detector: absolute z-peak threshold at 100 Hz, m/s^2 (Mednis et al. 2011 Z-THRESH
    /// spirit; value tuned on the quarter-car scenarios, docs "Event detector").
    double detector_z_threshold_mps2 = 2.0;
    /// Detector: exponent of the rate adaptation, threshold(fs) = threshold_100 x
    /// min(1, fs / 100)^exponent; low rates average an impact over a longer interval.
    double detector_rate_exponent = 0.8;
    /// Detector: z-peak must also exceed this many background RMS (STDEV(Z) of Mednis et al.).
    double detector_noise_factor = 4.0;
    /// Detector: time constant of the background RMS, s.
    double detector_background_s = 2.0;
    /// Detector: speed-vs-z filter: z_peak / speed must exceed this, s^-1 (Eriksson et al.
    /// 2008 "speed vs z ratio"), at 100 Hz, adapted to the rate like the threshold.
    double detector_z_per_speed = 0.1;
    /// Detector: x/z filter: horizontal peak / z peak must exceed this; 0 disables (Eriksson
    /// et al. 2008 reject two-wheel impacts such as expansion joints this way; phones cannot
    /// separate lateral from longitudinal, so it is off by default).
    double detector_min_xz_ratio = 0.0;
    /// Detector: an event's peak is searched over this long after the first exceedance, s.
    double detector_window_s = 0.4;
    /// Detector: no new event within this time after one, s (one pothole, one event).
    double detector_refractory_s = 0.6;
    /// Detector: "free fall" G-ZERO flag when vertical acceleration falls below this fraction
    /// of -g (Mednis et al. 2011 G-ZERO).
    double detector_g_zero_fraction = 0.8;
    /// Detector: a pothole is an isolated impact, so the road on both sides of it must be
    /// quiet: the peak must exceed detector_post_factor x the RMS of the high-passed vertical
    /// over the detector_post_window_s that end detector_post_gap_s before the event starts,
    /// and over those that start detector_post_gap_s after its peak (past the wheel's own
    /// ringing). Rejects the first bumps of a rougher stretch, where the causal background
    /// still holds the smoother road behind, and peaks of a rough stretch generally (PaveWatch
    /// choice, docs "Event detector"). detector_post_factor 0 disables the check. Seconds,
    /// seconds, dimensionless.
    double detector_post_gap_s = 0.15;
    double detector_post_window_s = 0.45;
    double detector_post_factor = 5.0;

    /// Tracker: distinct vehicles to confirm a hazard (brief default 3).
    int confirm_vehicles = 3;
    /// Tracker: confirmation also needs detections >= this share of the passes that covered
    /// the hazard since it was first seen (a pothole is detected by a fair share of the
    /// vehicles driving over it; a chance cluster of false events, or a mild bump that a few
    /// stiff vehicles notice, by few of many). 0 disables. PaveWatch choice, docs "Hazard
    /// tracker".
    double confirm_detection_ratio = 0.2;
    /// Tracker: least match radius, m.
    double min_radius_m = 3.0;
    /// Tracker: radius in standard uncertainties of the combined event and hazard positions.
    double radius_sigmas = 2.0;
    /// Tracker: radius added per m/s of the event's speed (timing latency of the response), s.
    double radius_per_speed_s = 0.05;
    /// Tracker: clean passes (distinct vehicles) after the last detection that resolve a hazard
    /// (at least; see resolve_miss_probability). 1 to Hazard::kMaxClean (16).
    int resolve_clean_passes = 5;
    /// Tracker: a confirmed hazard needs as many clean passes n that (1 - r)^n <= this, r its
    /// detections per covering pass so far (at most Hazard::kMaxClean): a pothole that only
    /// half the wheels hit is not resolved by five vehicles that drove beside it. 0 disables
    /// (resolve_clean_passes alone). PaveWatch choice, docs "Hazard tracker".
    double resolve_miss_probability = 0.01;
    /// Tracker: clean passes after a reported repair that verify it. 1 to Hazard::kMaxClean
    /// (16): a hazard keeps no more, so a larger count would never verify a repair.
    int verify_clean_passes = 5;
    /// Tracker: a pass counts only at or above this speed, km/h.
    double pass_min_speed_kmh = 15.0;
    /// Tracker: a pass counts (as clean, or toward confirm_detection_ratio) only from a device
    /// sampling at least this fast, Hz (0: every pass counts); so does a detection toward the
    /// detection ratio (Hazard::counted_detections), else r could exceed 1. A device that rarely
    /// sees an impact says little by not seeing one: single-pass recall was ~0.3 at 10 Hz and ~0.05
    /// at 5 Hz in the accuracy runs (docs/accuracy.md), so their passes resolved real potholes.
    double pass_min_rate_hz = 20.0;
    /// Tracker: a pass counts for a hazard only if it covers the hazard's position with this
    /// margin on both sides, m.
    double pass_margin_m = 2.0;
    /// Tracker: an event and a pass of the same vehicle this close in time are one traversal.
    std::chrono::milliseconds same_traversal{120000};
    /// Tracker: candidates with no detection for this long are dropped, days.
    Days candidate_ttl{30.0};
    /// Tracker: most hazards per segment (all statuses), count.
    int max_hazards = 32;
    /// Tracker: most candidate hazards per segment (within max_hazards), count.
    int max_candidates = 16;
    /// Tracker: severity thresholds on the median rate-normalised peak, m/s^2 (3-8 cm potholes
    /// at 30-70 km/h give a median ~4.6 and a 90th percentile ~7.5 in the quarter-car scenario).
    double medium_peak_mps2 = 5.0;
    double high_peak_mps2 = 10.0;
};

/// Structural wear from embedded sensors (structural.hpp).
struct StructuralConfig {
    /// Standard single axle load, kN (AASHO Road Test 18 kip = 80 kN).
    double standard_axle_kn = 80.0;
    /// Load-equivalency exponent (the fourth-power law, AASHO Road Test, HRB SR 61E 1962).
    double load_exponent = 4.0;
    /// Axles closer than this to the previous one form a group, m (typical tandem spacing
    /// 1.2-1.8 m; 2.4 m = 8 ft is a common grouping limit).
    double group_spacing_m = 2.4;
    /// Standard loads of axle groups with the same damage as one standard axle, kN
    /// (Austroads, Guide to Pavement Technology Part 2, Table 7.7 dual-tyre groups).
    double tandem_standard_kn = 135.0;
    double tridem_standard_kn = 181.0;
    double quad_standard_kn = 221.0;

    /// Asphalt Institute bottom-up fatigue: Nf = a x eps^-b x E^-c, eps in in/in, E in psi
    /// (Asphalt Institute MS-1 1981; Huang 2004 eq. 7.6).
    double fatigue_a = 0.0796;
    double fatigue_b = 3.291;
    double fatigue_c = 0.854;

    /// Asphalt modulus vs temperature: log10 E = log10 E_ref - slope x (T - T_ref), clamped.
    /// Reference modulus at 20 degC and ~10 Hz, MPa (typical dense asphalt; docs).
    double modulus_ref_mpa = 5000.0;
    double modulus_ref_temp_c = 20.0;       ///< degC
    double modulus_log_slope_per_c = 0.03;  ///< log10 units per degC (modulus halves per +10 degC)
    double modulus_min_mpa = 300.0;         ///< high-temperature floor, MPa
    double modulus_max_mpa = 25000.0;       ///< glassy ceiling, MPa

    /// Freeze-thaw: a cycle is counted when the pavement goes below freeze_below_c and then
    /// rises above thaw_above_c (hysteresis against sensor noise around 0 degC).
    double freeze_below_c = -1.0;
    double thaw_above_c = 1.0;

    /// Moisture: above this volumetric water content, %, the allowable fatigue repetitions are
    /// multiplied by wet_fatigue_factor (PaveWatch assumption, docs "Structural").
    double wet_threshold_vwc_percent = 30.0;
    double wet_fatigue_factor = 0.7;

    /// Damage-rate window (EWMA time constant of event time), days.
    Days rate_window{30.0};
};

/// The 0-100 condition index (condition_index.hpp).
struct ConditionConfig {
    /// IRI (m/km) -> deduct points, piecewise linear, flat beyond the ends (docs).
    std::vector<CurvePoint> iri_deduct = {
        {1.0, 0.0},
        {1.5, 14.0},
        {2.68, 29.5},
        {4.0, 45.0},
        {6.0, 65.0},
        {8.0, 82.0},
        {12.0, 100.0}};
    /// Deduct per open confirmed hazard by severity, points (ASTM D6433 pothole deduct curves,
    /// order of magnitude; docs).
    double hazard_low_deduct = 8.0;
    double hazard_medium_deduct = 18.0;
    double hazard_high_deduct = 35.0;
    /// Fatigue damage (Miner sum) -> deduct points, piecewise linear (docs).
    std::vector<CurvePoint> damage_deduct =
        {{0.0, 0.0}, {0.2, 5.0}, {0.5, 15.0}, {1.0, 40.0}, {2.0, 70.0}};
    /// Trend: least days of history between first and last entry for a trend, days.
    double trend_min_span_days = 7.0;
    /// Trend: days of history used (the newest), days (at most the 90 kept).
    int trend_window_days = 90;
};

/// Every model parameter. Defaults are the documented ones; a deployment overrides a subset
/// from JSON at start-up (ModelConfigFromJson).
struct ModelConfig {
    RoughnessConfig roughness;
    HazardConfig hazard;
    StructuralConfig structural;
    ConditionConfig condition;
};

/// Parses a JSON object overriding any subset of fields, e.g.
/// {"roughness": {"min_speed_kmh": 25}, "condition": {"iri_deduct": [[1, 0], [10, 100]]}}.
/// Durations are numbers in the unit named by the key suffix (`_ms`, `_days`); curves are
/// arrays of [x, y] pairs with x ascending. Errors (as values): kMalformed (not JSON / not an
/// object), kUnknownKind (an unknown key; `field` names it, e.g. "roughness.foo"), kWrongType,
/// kOutOfRange (a value that fails ValidateModelConfig; `field` names it).
tl::expected<ModelConfig, Error> ModelConfigFromJson(std::string_view json);

/// Every field as JSON (the same keys ModelConfigFromJson reads).
std::string ModelConfigToJson(const ModelConfig& config);

/// Checks ranges and orderings (positive rates, ascending curves, thresholds in order).
tl::expected<void, Error> ValidateModelConfig(const ModelConfig& config);

/// Linear interpolation on a curve, flat beyond its ends; 0 for an empty curve.
double InterpolateCurve(const std::vector<CurvePoint>& curve, double x);

}  // namespace pavewatch::pipeline
