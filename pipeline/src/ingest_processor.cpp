#include "pavewatch/pipeline/ingest_processor.hpp"

#include "pavewatch/pipeline/event_detector.hpp"
#include "pavewatch/pipeline/signal.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace pavewatch::pipeline {
namespace {

/// Where the vehicle was at one GPS fix, on the network.
struct MatchedFix {
    double t_s = 0.0;  ///< seconds after the accelerometer batch's t0
    std::optional<MapMatch> match;
    double speed_mps = 0.0;
    double accuracy_m = 0.0;
    /// +1 when the vehicle drives in the segment's direction, -1 against it (a road drawn once
    /// for both directions).
    double direction = 1.0;
};

/// A position on the network at some time of the batch.
struct Place {
    std::size_t segment_index = 0;
    SegmentId segment;
    double offset_m = 0.0;
    double accuracy_m = 0.0;
};

}  // namespace

IngestProcessor::IngestProcessor(
    const MapMatcher& matcher,
    const SensorRegistry& registry,
    const ModelConfig& config,
    const CalibrationStore& calibration,
    IngestOptions options
)
    : matcher_(&matcher),
      registry_(&registry),
      config_(&config),
      calibration_(&calibration),
      options_(options) {}

RoughnessEstimator IngestProcessor::EstimatorFor(double rate_hz, VehicleClass vehicle_class) const {
    // Rates are keyed to 0.1 Hz: the model gain hardly moves within that.
    const std::pair<long, int> key{std::lround(rate_hz * 10.0), static_cast<int>(vehicle_class)};
    const std::lock_guard lock(cache_mutex_);
    auto it = prototypes_.find(key);
    if (it == prototypes_.end()) {
        it = prototypes_
                 .emplace(
                     key,
                     RoughnessEstimator(
                         config_->roughness,
                         static_cast<double>(key.first) / 10.0,
                         DefaultQuarterCar(vehicle_class)
                     )
                 )
                 .first;
    }
    return it->second;  // a copy: its filter state is fresh
}

tl::expected<std::vector<Observation>, Error> IngestProcessor::ProcessVehicle(std::string_view json
) const {
    auto message = ParseVehicleMessage(json);
    if (!message) {
        return tl::unexpected(message.error());
    }
    return ProcessVehicle(*message);
}

tl::expected<std::vector<Observation>, Error> IngestProcessor::ProcessVehicle(
    const VehicleMessage& m
) const {
    const auto& segments = matcher_->network().segments();
    std::vector<MatchedFix> fixes;
    fixes.reserve(m.gps.size());
    bool any_match = false;
    for (const auto& fix : m.gps) {
        MatchedFix f;
        f.t_s = static_cast<double>(fix.t_ms - m.accel.t0_ms) / 1000.0;
        f.match =
            matcher_->Match({fix.lon, fix.lat}, fix.accuracy_m, fix.heading_deg, fix.speed_mps);
        f.speed_mps = fix.speed_mps;
        f.accuracy_m = fix.accuracy_m;
        if (f.match && fix.heading_deg >= 0) {
            f.direction =
                BearingDiffDeg(fix.heading_deg, f.match->segment_bearing_deg) <= 90.0 ? 1.0 : -1.0;
        }
        any_match = any_match || f.match.has_value();
        fixes.push_back(f);
    }
    if (!any_match) {
        return tl::unexpected(Error{
            ErrorCode::kNotOnNetwork, "gps", "no fix lies near a road of the network"});
    }
    const std::size_t n = m.accel.size();
    const double rate = m.accel.EffectiveRateHz();
    if (n < 2 || !(rate > 0)) {
        return std::vector<Observation>{};
    }

    // Gravity out, whatever the device's orientation; speed at every sample from the GPS.
    std::vector<float> vertical(n);
    std::vector<float> horizontal(n);
    GravityReorienter(rate).Process(m.accel.x, m.accel.y, m.accel.z, vertical, horizontal);
    std::vector<float> speed(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = m.accel.TimeOf(i);
        auto hi = std::lower_bound(
            fixes.begin(), fixes.end(), t, [](const MatchedFix& f, double x) { return f.t_s < x; }
        );
        if (hi == fixes.begin()) {
            speed[i] = static_cast<float>(hi->speed_mps);
        } else if (hi == fixes.end()) {
            speed[i] = static_cast<float>(fixes.back().speed_mps);
        } else {
            const auto lo = hi - 1;
            const double span = hi->t_s - lo->t_s;
            const double f = span > 0 ? (t - lo->t_s) / span : 0.0;
            speed[i] = static_cast<float>(lo->speed_mps + f * (hi->speed_mps - lo->speed_mps));
        }
    }

    // The place at a time: from the nearest matched fix, moved by speed x time along the
    // segment in the driving direction.
    const auto place_at = [&](double t) -> std::optional<Place> {
        const MatchedFix* best = nullptr;
        for (const auto& f : fixes) {
            if (f.match && (best == nullptr || std::fabs(f.t_s - t) < std::fabs(best->t_s - t))) {
                best = &f;
            }
        }
        if (best == nullptr || std::fabs(best->t_s - t) > 3.0) {
            return std::nullopt;
        }
        const double length = segments[best->match->segment_index].length_m;
        const double moved =
            0.5 *
            (best->speed_mps +
             speed[std::min(n - 1, static_cast<std::size_t>(std::max(0.0, t) * rate))]) *
            (t - best->t_s) * best->direction;
        return Place{
            best->match->segment_index,
            best->match->segment,
            std::clamp(best->match->offset_m + moved, 0.0, length),
            best->accuracy_m};
    };

    const std::uint64_t vehicle_key = VehicleKey(m.vehicle_id.value());
    RoughnessEstimator estimator = EstimatorFor(rate, m.vehicle_class);
    std::vector<float> band = vertical;
    estimator.Filter(band);
    const double factor = calibration_->Factor(m.device_id, m.vehicle_id, m.vehicle_class);

    std::vector<DetectedEvent> events;
    EventDetector detector(config_->hazard, rate);
    detector.Process(vertical, horizontal, speed, events);
    detector.Flush(events);

    std::vector<Observation> out;
    const auto emit_events = [&](double from_s, double to_s) {
        for (const auto& e : events) {
            if (e.time_s < from_s || e.time_s >= to_s) {
                continue;
            }
            const auto place = place_at(e.time_s);
            if (!place) {
                continue;
            }
            HazardEvent h;
            h.vehicle_key = vehicle_key;
            h.offset_m = static_cast<float>(place->offset_m);
            h.uncertainty_m = static_cast<float>(std::hypot(e.uncertainty_m, place->accuracy_m));
            h.peak_ms2 = static_cast<float>(e.normalised_peak_mps2);
            h.speed_mps = static_cast<float>(e.speed_mps);
            h.score = static_cast<float>(e.severity_score);
            const LonLat at = matcher_->PointAt(place->segment_index, place->offset_m);
            h.lat = at.lat;
            h.lon = at.lon;
            const EpochMs t_ms =
                m.accel.t0_ms + static_cast<EpochMs>(std::llround(1000.0 * e.time_s));
            out.push_back(Observation{place->segment, t_ms, h});
        }
    };

    // Each sample belongs to the segment of the nearest fix in time; consecutive samples on the
    // same segment form one pass.
    std::size_t fix_index = 0;
    std::size_t run_start = 0;
    std::optional<std::size_t> run_fix;  // index of the fix whose segment the run is on
    const auto nearest_fix = [&](double t) {
        while (fix_index + 1 < fixes.size() &&
               std::fabs(fixes[fix_index + 1].t_s - t) <= std::fabs(fixes[fix_index].t_s - t)) {
            ++fix_index;
        }
        return fix_index;
    };
    const auto close_run = [&](std::size_t end) {
        if (!run_fix || end <= run_start) {
            return;
        }
        const auto& match = *fixes[*run_fix].match;
        const double t_start = m.accel.TimeOf(run_start);
        const double t_end = m.accel.TimeOf(end - 1);
        emit_events(t_start, end == n ? 1e18 : m.accel.TimeOf(end));
        if (t_end - t_start < options_.min_pass_s) {
            return;
        }
        const std::span<const float> run_speed(speed.data() + run_start, end - run_start);
        double speed_sum = 0;
        float speed_min = run_speed.front();
        float speed_max = run_speed.front();
        for (const float v : run_speed) {
            speed_sum += v;
            speed_min = std::min(speed_min, v);
            speed_max = std::max(speed_max, v);
        }
        Traversal t;
        t.vehicle_key = vehicle_key;
        t.vehicle_class = m.vehicle_class;
        t.speed_mps = static_cast<float>(speed_sum / static_cast<double>(run_speed.size()));
        t.speed_spread_mps = speed_max - speed_min;
        // Covered part of the segment: where the vehicle was at the run's first and last sample
        // (the segment's ends when the run crosses them).
        const double length = segments[match.segment_index].length_m;
        double from = length;
        double to = 0.0;
        for (const double at : {t_start, t_end}) {
            const auto place = place_at(at);
            if (place && place->segment == match.segment) {
                from = std::min(from, place->offset_m);
                to = std::max(to, place->offset_m);
            }
        }
        if (from > to) {
            from = to = match.offset_m;
        }
        t.from_m = static_cast<float>(from);
        t.to_m = static_cast<float>(to);
        t.samples = static_cast<std::uint32_t>(run_speed.size());
        t.sample_rate_hz = static_cast<float>(rate);
        const auto estimate = estimator.EstimateFiltered(
            std::span<const float>(band.data() + run_start, end - run_start), run_speed, factor
        );
        if (estimate) {
            t.iri_m_per_km = static_cast<float>(estimate->iri_m_per_km);
            t.confidence = static_cast<float>(estimate->confidence);
            t.samples = static_cast<std::uint32_t>(estimate->samples);
        }
        const EpochMs t_ms = m.accel.t0_ms + static_cast<EpochMs>(std::llround(1000.0 * t_start));
        out.push_back(Observation{match.segment, t_ms, t});
    };

    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t f = nearest_fix(m.accel.TimeOf(i));
        const bool same = run_fix && fixes[f].match && fixes[*run_fix].match &&
                          fixes[f].match->segment == fixes[*run_fix].match->segment;
        if (!same) {
            close_run(i);
            run_start = i;
            run_fix = fixes[f].match ? std::optional<std::size_t>(f) : std::nullopt;
        }
    }
    close_run(n);
    return out;
}

tl::expected<std::vector<Observation>, Error> IngestProcessor::ProcessEmbedded(std::string_view json
) const {
    auto message = ParseEmbeddedMessage(json);
    if (!message) {
        return tl::unexpected(message.error());
    }
    const auto& sensor_id =
        std::visit([](const auto& r) -> const SensorId& { return r.sensor_id; }, *message);
    const SensorRegistration* sensor = registry_->Find(sensor_id);
    if (sensor == nullptr) {
        return tl::unexpected(Error{
            ErrorCode::kUnknownSensor,
            "sensor_id",
            "\"" + sensor_id.value() + "\" is not in the sensor registry"});
    }
    const SensorKind expected = std::visit(
        [](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, WimReading>) {
                return SensorKind::kWim;
            } else if constexpr (std::is_same_v<T, StrainReading>) {
                return SensorKind::kStrain;
            } else if constexpr (std::is_same_v<T, TemperatureReading>) {
                return SensorKind::kTemperature;
            } else {
                return SensorKind::kMoisture;
            }
        },
        *message
    );
    if (sensor->kind != expected) {
        return tl::unexpected(Error{
            ErrorCode::kInconsistent,
            "kind",
            std::string("sensor is registered as ") + ToString(sensor->kind)});
    }
    const auto calibrate = [&](double raw) {
        return static_cast<float>(sensor->gain * raw + sensor->offset);
    };
    Observation o;
    o.segment = sensor->segment;
    std::visit(
        [&](const auto& r) {
            using T = std::decay_t<decltype(r)>;
            o.t_ms = r.t_ms;
            if constexpr (std::is_same_v<T, WimReading>) {
                AxleLoads a;
                a.axles = static_cast<std::uint8_t>(r.axle_loads_kn.size());
                for (std::size_t i = 0; i < r.axle_loads_kn.size(); ++i) {
                    a.load_kn[i] = std::max(0.0F, calibrate(r.axle_loads_kn[i]));
                    a.spacing_m[i] = i == 0 ? 0.0F : static_cast<float>(r.axle_spacings_m[i - 1]);
                }
                a.speed_mps = static_cast<float>(r.speed_mps);
                o.body = a;
            } else if constexpr (std::is_same_v<T, StrainReading>) {
                StrainPasses s;
                s.passes = static_cast<std::uint8_t>(r.peak_microstrain.size());
                for (std::size_t i = 0; i < r.peak_microstrain.size(); ++i) {
                    s.microstrain[i] = std::max(0.0F, calibrate(r.peak_microstrain[i]));
                }
                s.depth_mm = static_cast<float>(sensor->depth_mm);
                o.body = s;
            } else if constexpr (std::is_same_v<T, TemperatureReading>) {
                o.body =
                    PavementTemperature{calibrate(r.celsius), static_cast<float>(sensor->depth_mm)};
            } else {
                o.body = SoilMoisture{std::clamp(calibrate(r.vwc_percent), 0.0F, 100.0F)};
            }
        },
        *message
    );
    return std::vector<Observation>{o};
}

}  // namespace pavewatch::pipeline
