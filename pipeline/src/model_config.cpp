#include "pavewatch/pipeline/model_config.hpp"

#include "pavewatch/pipeline/hazard_tracker.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

namespace pavewatch::pipeline {
namespace {

// One list of fields per section, used by both the reader and the writer, so the two cannot
// disagree. `C` is the section type, const or not.
template <typename C, typename F>
void RoughnessFields(C& c, F&& f) {
    f("min_speed_kmh", c.min_speed_kmh);
    f("band_low_hz", c.band_low_hz);
    f("band_high_hz", c.band_high_hz);
    f("band_order", c.band_order);
    f("min_duration_s", c.min_duration_s);
    f("min_samples", c.min_samples);
    f("sensor_averages_over_sample", c.sensor_averages_over_sample);
    f("confidence_bandwidth_hz", c.confidence_bandwidth_hz);
    f("confidence_speed_cv", c.confidence_speed_cv);
    f("aggregate_max_vehicles", c.aggregate_max_vehicles);
    f("aggregate_huber_k", c.aggregate_huber_k);
    f("aggregate_max_age_days", c.aggregate_max_age);
    f("aggregate_vehicle_window", c.aggregate_vehicle_window);
    f("aggregate_confidence_vehicles", c.aggregate_confidence_vehicles);
    f("aggregate_confidence_traversals", c.aggregate_confidence_traversals);
    f("aggregate_confidence_speed_spread_mps", c.aggregate_confidence_speed_spread_mps);
    f("good_below_m_per_km", c.good_below_m_per_km);
    f("poor_above_m_per_km", c.poor_above_m_per_km);
    f("factor_car", c.factor_car);
    f("factor_suv", c.factor_suv);
    f("factor_van", c.factor_van);
    f("factor_bus", c.factor_bus);
    f("factor_truck", c.factor_truck);
    f("factor_motorcycle", c.factor_motorcycle);
    f("factor_unknown", c.factor_unknown);
}

template <typename C, typename F>
void HazardFields(C& c, F&& f) {
    f("detector_min_speed_kmh", c.detector_min_speed_kmh);
    f("detector_highpass_hz", c.detector_highpass_hz);
    f("detector_z_threshold_mps2", c.detector_z_threshold_mps2);
    f("detector_rate_exponent", c.detector_rate_exponent);
    f("detector_noise_factor", c.detector_noise_factor);
    f("detector_background_s", c.detector_background_s);
    f("detector_z_per_speed", c.detector_z_per_speed);
    f("detector_min_xz_ratio", c.detector_min_xz_ratio);
    f("detector_window_s", c.detector_window_s);
    f("detector_refractory_s", c.detector_refractory_s);
    f("detector_g_zero_fraction", c.detector_g_zero_fraction);
    f("detector_post_gap_s", c.detector_post_gap_s);
    f("detector_post_window_s", c.detector_post_window_s);
    f("detector_post_factor", c.detector_post_factor);
    f("confirm_vehicles", c.confirm_vehicles);
    f("confirm_detection_ratio", c.confirm_detection_ratio);
    f("min_radius_m", c.min_radius_m);
    f("radius_sigmas", c.radius_sigmas);
    f("radius_per_speed_s", c.radius_per_speed_s);
    f("resolve_clean_passes", c.resolve_clean_passes);
    f("resolve_miss_probability", c.resolve_miss_probability);
    f("verify_clean_passes", c.verify_clean_passes);
    f("pass_min_speed_kmh", c.pass_min_speed_kmh);
    f("pass_min_rate_hz", c.pass_min_rate_hz);
    f("pass_margin_m", c.pass_margin_m);
    f("same_traversal_ms", c.same_traversal);
    f("candidate_ttl_days", c.candidate_ttl);
    f("max_hazards", c.max_hazards);
    f("max_candidates", c.max_candidates);
    f("medium_peak_mps2", c.medium_peak_mps2);
    f("high_peak_mps2", c.high_peak_mps2);
}

template <typename C, typename F>
void StructuralFields(C& c, F&& f) {
    f("standard_axle_kn", c.standard_axle_kn);
    f("load_exponent", c.load_exponent);
    f("group_spacing_m", c.group_spacing_m);
    f("tandem_standard_kn", c.tandem_standard_kn);
    f("tridem_standard_kn", c.tridem_standard_kn);
    f("quad_standard_kn", c.quad_standard_kn);
    f("fatigue_a", c.fatigue_a);
    f("fatigue_b", c.fatigue_b);
    f("fatigue_c", c.fatigue_c);
    f("modulus_ref_mpa", c.modulus_ref_mpa);
    f("modulus_ref_temp_c", c.modulus_ref_temp_c);
    f("modulus_log_slope_per_c", c.modulus_log_slope_per_c);
    f("modulus_min_mpa", c.modulus_min_mpa);
    f("modulus_max_mpa", c.modulus_max_mpa);
    f("freeze_below_c", c.freeze_below_c);
    f("thaw_above_c", c.thaw_above_c);
    f("wet_threshold_vwc_percent", c.wet_threshold_vwc_percent);
    f("wet_fatigue_factor", c.wet_fatigue_factor);
    f("rate_window_days", c.rate_window);
}

template <typename C, typename F>
void ConditionFields(C& c, F&& f) {
    f("iri_deduct", c.iri_deduct);
    f("hazard_low_deduct", c.hazard_low_deduct);
    f("hazard_medium_deduct", c.hazard_medium_deduct);
    f("hazard_high_deduct", c.hazard_high_deduct);
    f("damage_deduct", c.damage_deduct);
    f("trend_min_span_days", c.trend_min_span_days);
    f("trend_window_days", c.trend_window_days);
}

template <typename C, typename F>
void Sections(C& c, F&& f) {
    f("roughness", [&](auto&& g) { RoughnessFields(c.roughness, g); });
    f("hazard", [&](auto&& g) { HazardFields(c.hazard, g); });
    f("structural", [&](auto&& g) { StructuralFields(c.structural, g); });
    f("condition", [&](auto&& g) { ConditionFields(c.condition, g); });
}

std::optional<double> AsNumber(const boost::json::value& v) {
    if (v.is_double()) {
        return v.get_double();
    }
    if (v.is_int64()) {
        return static_cast<double>(v.get_int64());
    }
    if (v.is_uint64()) {
        return static_cast<double>(v.get_uint64());
    }
    return std::nullopt;
}

/// Reads one value into a field; false on a type mismatch.
bool Read(const boost::json::value& v, double& out) {
    const auto n = AsNumber(v);
    if (n && std::isfinite(*n)) {
        out = *n;
    }
    return n && std::isfinite(*n);
}
bool Read(const boost::json::value& v, int& out) {
    if (!v.is_int64() || v.get_int64() < -1000000000 || v.get_int64() > 1000000000) {
        return false;
    }
    out = static_cast<int>(v.get_int64());
    return true;
}
bool Read(const boost::json::value& v, bool& out) {
    if (!v.is_bool()) {
        return false;
    }
    out = v.get_bool();
    return true;
}
bool Read(const boost::json::value& v, Days& out) {
    double d = 0.0;
    if (!Read(v, d)) {
        return false;
    }
    out = Days(d);
    return true;
}
bool Read(const boost::json::value& v, std::chrono::milliseconds& out) {
    if (!v.is_int64()) {
        return false;
    }
    out = std::chrono::milliseconds(v.get_int64());
    return true;
}
bool Read(const boost::json::value& v, std::vector<CurvePoint>& out) {
    if (!v.is_array()) {
        return false;
    }
    std::vector<CurvePoint> curve;
    for (const auto& p : v.get_array()) {
        if (!p.is_array() || p.get_array().size() != 2) {
            return false;
        }
        const auto x = AsNumber(p.get_array()[0]);
        const auto y = AsNumber(p.get_array()[1]);
        if (!x || !y) {
            return false;
        }
        curve.push_back({*x, *y});
    }
    out = std::move(curve);
    return true;
}

boost::json::value Write(double v) {
    return v;
}
boost::json::value Write(int v) {
    return v;
}
boost::json::value Write(bool v) {
    return v;
}
boost::json::value Write(Days v) {
    return v.count();
}
boost::json::value Write(std::chrono::milliseconds v) {
    return v.count();
}
boost::json::value Write(const std::vector<CurvePoint>& curve) {
    boost::json::array a;
    for (const auto& p : curve) {
        a.push_back(boost::json::array{p.x, p.y});
    }
    return a;
}

tl::unexpected<Error> Fail(ErrorCode code, std::string field, std::string message) {
    return tl::unexpected(Error{code, std::move(field), std::move(message)});
}

bool Ascending(const std::vector<CurvePoint>& c) {
    for (std::size_t i = 1; i < c.size(); ++i) {
        if (!(c[i].x > c[i - 1].x)) {
            return false;
        }
    }
    return true;
}

}  // namespace

double InterpolateCurve(const std::vector<CurvePoint>& curve, double x) {
    if (curve.empty()) {
        return 0.0;
    }
    if (x <= curve.front().x) {
        return curve.front().y;
    }
    if (x >= curve.back().x) {
        return curve.back().y;
    }
    for (std::size_t i = 1; i < curve.size(); ++i) {
        if (x <= curve[i].x) {
            const CurvePoint& a = curve[i - 1];
            const CurvePoint& b = curve[i];
            return a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x);
        }
    }
    return curve.back().y;
}

tl::expected<void, Error> ValidateModelConfig(const ModelConfig& c) {
    const RoughnessConfig& r = c.roughness;
    if (!(r.min_speed_kmh >= 0.0)) {
        return Fail(ErrorCode::kOutOfRange, "roughness.min_speed_kmh", "must be >= 0");
    }
    if (!(r.band_low_hz > 0.0) || !(r.band_high_hz > r.band_low_hz)) {
        return Fail(
            ErrorCode::kOutOfRange, "roughness.band_high_hz", "need 0 < band_low_hz < band_high_hz"
        );
    }
    if (r.band_order != 2 && r.band_order != 4) {
        return Fail(ErrorCode::kOutOfRange, "roughness.band_order", "must be 2 or 4");
    }
    if (r.aggregate_max_vehicles < 1 || r.aggregate_max_vehicles > 1024) {
        return Fail(
            ErrorCode::kOutOfRange, "roughness.aggregate_max_vehicles", "must be in [1, 1024]"
        );
    }
    if (!(r.good_below_m_per_km > 0.0) || !(r.poor_above_m_per_km >= r.good_below_m_per_km)) {
        return Fail(
            ErrorCode::kOutOfRange,
            "roughness.poor_above_m_per_km",
            "need 0 < good_below <= poor_above"
        );
    }
    for (const double f :
         {r.factor_car,
          r.factor_suv,
          r.factor_van,
          r.factor_bus,
          r.factor_truck,
          r.factor_motorcycle,
          r.factor_unknown}) {
        if (!(f > 0.0 && f <= 10.0)) {
            return Fail(
                ErrorCode::kOutOfRange,
                "roughness.factor_*",
                "calibration factors must be in (0, 10]"
            );
        }
    }
    const HazardConfig& h = c.hazard;
    if (!(h.detector_z_threshold_mps2 > 0.0)) {
        return Fail(ErrorCode::kOutOfRange, "hazard.detector_z_threshold_mps2", "must be > 0");
    }
    if (!(h.detector_window_s > 0.0) || !(h.detector_refractory_s >= 0.0) ||
        !(h.detector_background_s > 0.0) || !(h.detector_post_gap_s >= 0.0) ||
        !(h.detector_post_window_s > 0.0) || !(h.detector_post_factor >= 0.0)) {
        return Fail(
            ErrorCode::kOutOfRange, "hazard.detector_window_s", "detector times must be positive"
        );
    }
    if (h.confirm_vehicles < 1 || h.resolve_clean_passes < 1 || h.verify_clean_passes < 1 ||
        !(h.confirm_detection_ratio >= 0.0 && h.confirm_detection_ratio <= 1.0) ||
        !(h.resolve_miss_probability >= 0.0 && h.resolve_miss_probability < 1.0)) {
        return Fail(
            ErrorCode::kOutOfRange,
            "hazard.confirm_vehicles",
            "vehicle and pass counts must be >= 1"
        );
    }
    // The tracker keeps at most Hazard::kMaxClean clean passes per hazard: a count above it
    // would never be reached, so no repair would be verified (or hazard resolved or candidate
    // dropped).
    for (const auto& [field, value] :
         {std::pair{"hazard.resolve_clean_passes", h.resolve_clean_passes},
          std::pair{"hazard.verify_clean_passes", h.verify_clean_passes}}) {
        if (value > static_cast<int>(Hazard::kMaxClean)) {
            return Fail(
                ErrorCode::kOutOfRange,
                field,
                "must be at most " + std::to_string(Hazard::kMaxClean) +
                    ", the clean passes a hazard keeps"
            );
        }
    }
    if (h.max_hazards < 1 || h.max_hazards > 1024 || h.max_candidates < 1 ||
        h.max_candidates > h.max_hazards) {
        return Fail(
            ErrorCode::kOutOfRange,
            "hazard.max_candidates",
            "need 1 <= max_candidates <= max_hazards <= 1024"
        );
    }
    if (!(h.medium_peak_mps2 < h.high_peak_mps2)) {
        return Fail(
            ErrorCode::kOutOfRange, "hazard.high_peak_mps2", "must be above medium_peak_mps2"
        );
    }
    const StructuralConfig& s = c.structural;
    if (!(s.standard_axle_kn > 0.0) || !(s.tandem_standard_kn > 0.0) ||
        !(s.tridem_standard_kn > 0.0) || !(s.quad_standard_kn > 0.0)) {
        return Fail(
            ErrorCode::kOutOfRange, "structural.standard_axle_kn", "standard loads must be > 0"
        );
    }
    if (!(s.modulus_min_mpa > 0.0) || !(s.modulus_max_mpa >= s.modulus_min_mpa) ||
        !(s.modulus_ref_mpa > 0.0)) {
        return Fail(
            ErrorCode::kOutOfRange, "structural.modulus_min_mpa", "need 0 < min <= max and ref > 0"
        );
    }
    if (!(s.freeze_below_c < s.thaw_above_c)) {
        return Fail(
            ErrorCode::kOutOfRange, "structural.thaw_above_c", "must be above freeze_below_c"
        );
    }
    if (!(s.wet_fatigue_factor > 0.0) || !(s.rate_window.count() > 0.0)) {
        return Fail(
            ErrorCode::kOutOfRange, "structural.rate_window_days", "factors and windows must be > 0"
        );
    }
    const ConditionConfig& k = c.condition;
    if (!Ascending(k.iri_deduct) || k.iri_deduct.empty()) {
        return Fail(
            ErrorCode::kOutOfRange, "condition.iri_deduct", "needs points with ascending x"
        );
    }
    if (!Ascending(k.damage_deduct) || k.damage_deduct.empty()) {
        return Fail(
            ErrorCode::kOutOfRange, "condition.damage_deduct", "needs points with ascending x"
        );
    }
    if (k.trend_window_days < 2 || k.trend_window_days > 90) {
        return Fail(ErrorCode::kOutOfRange, "condition.trend_window_days", "must be in [2, 90]");
    }
    return {};
}

tl::expected<ModelConfig, Error> ModelConfigFromJson(std::string_view json) {
    boost::system::error_code ec;
    const boost::json::value root = boost::json::parse(json, ec);
    if (ec) {
        return Fail(ErrorCode::kMalformed, "", "model config is not JSON: " + ec.message());
    }
    if (!root.is_object()) {
        return Fail(ErrorCode::kMalformed, "", "model config must be a JSON object");
    }
    ModelConfig config;
    std::optional<Error> error;
    // Named references rather than structured bindings: lambdas capture them (clang before 16
    // cannot capture a structured binding, and clang-tidy runs on clang).
    for (const auto& section : root.get_object()) {
        const std::string_view section_key = section.key();
        const boost::json::value& section_value = section.value();
        bool section_found = false;
        Sections(config, [&](std::string_view name, auto&& visit) {
            if (error || name != section_key) {
                return;
            }
            section_found = true;
            if (!section_value.is_object()) {
                error = Error{ErrorCode::kWrongType, std::string(name), "must be an object"};
                return;
            }
            for (const auto& entry : section_value.get_object()) {
                const std::string_view key = entry.key();
                const boost::json::value& value = entry.value();
                bool found = false;
                const std::string path = std::string(name) + "." + std::string(key);
                visit([&](std::string_view field, auto& target) {
                    if (error || found || field != key) {
                        return;
                    }
                    found = true;
                    if (!Read(value, target)) {
                        error = Error{ErrorCode::kWrongType, path, "wrong type"};
                    }
                });
                if (!found && !error) {
                    error = Error{ErrorCode::kUnknownKind, path, "unknown key"};
                }
                if (error) {
                    return;
                }
            }
        });
        if (!section_found && !error) {
            error = Error{ErrorCode::kUnknownKind, std::string(section_key), "unknown section"};
        }
        if (error) {
            return tl::unexpected(*error);
        }
    }
    if (auto valid = ValidateModelConfig(config); !valid) {
        return tl::unexpected(valid.error());
    }
    return config;
}

std::string ModelConfigToJson(const ModelConfig& config) {
    boost::json::object root;
    Sections(config, [&](std::string_view name, auto&& visit) {
        boost::json::object section;
        visit([&](std::string_view field, const auto& value) { section[field] = Write(value); });
        root[name] = std::move(section);
    });
    return boost::json::serialize(root);
}

}  // namespace pavewatch::pipeline
