#include "pavewatch/pipeline/ingest_processor.hpp"

#include "pavewatch/pipeline/event_detector.hpp"
#include "pavewatch/pipeline/signal.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <string>

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
    /// The position ran off its segment and was clamped to its end (where exactly is unknown).
    bool clamped = false;
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

    // Distance driven since the first sample, at every sample (trapezoidal speed x time), and
    // at any time (extrapolated at the end speeds outside the batch). Times are the samples'
    // own (per-sample times need not start at 0 nor be evenly spaced), so a time is looked up
    // among them, not turned into an index by the mean rate.
    std::vector<double> times(n);
    for (std::size_t i = 0; i < n; ++i) {
        times[i] = m.accel.TimeOf(i);
    }
    std::vector<double> driven(n, 0.0);
    for (std::size_t i = 1; i < n; ++i) {
        driven[i] = driven[i - 1] + 0.5 * (speed[i - 1] + speed[i]) * (times[i] - times[i - 1]);
    }
    const auto driven_at = [&](double t) {
        if (t <= times.front()) {
            return (t - times.front()) * speed[0];
        }
        if (t >= times.back()) {
            return driven[n - 1] + (t - times.back()) * speed[n - 1];
        }
        // The last sample at or before t (times ascend strictly; t is inside them).
        const auto i = std::min<std::size_t>(
            n - 2,
            static_cast<std::size_t>(
                std::upper_bound(times.begin(), times.end(), t) - times.begin()
            ) - 1
        );
        const double t0 = times[i];
        const double t1 = times[i + 1];
        const double f = t1 > t0 ? std::clamp((t - t0) / (t1 - t0), 0.0, 1.0) : 0.0;
        return driven[i] + f * (driven[i + 1] - driven[i]);
    };
    // Where one fix puts the vehicle at time t on the fix's segment (unclamped), metres.
    const auto offset_from = [&](const MatchedFix& f, double t) {
        return f.match->offset_m + (driven_at(t) - driven_at(f.t_s)) * f.direction;
    };

    // The place at a time. The segment: from a matched fix within 3 s, moved by the distance
    // driven along its segment in the driving direction. The fixes just before and just after
    // the time are candidates; one that puts the place inside its own segment wins over one
    // that would run off its segment's end (a pothole 8 m into the next segment is not at the
    // end of this one), then the nearer in time. Without any inside, the nearest is clamped to
    // its segment. The offset: every fix of the batch matched to that segment within 5 s says
    // where the vehicle was at t; their weighted mean (weights 1 / (accuracy^2 + (0.3 m/s x
    // |dt|)^2), the second term for speed error accumulating over time) averages the GPS noise
    // of several fixes instead of trusting one.
    std::size_t place_hint = 0;  // first fix after the previous query's time (queries ascend)
    const auto place_at = [&](double t) -> std::optional<Place> {
        if (place_hint > 0 && fixes[place_hint - 1].t_s > t) {
            place_hint = 0;  // an earlier time than the previous query: search from the start
        }
        while (place_hint < fixes.size() && fixes[place_hint].t_s <= t) {
            ++place_hint;
        }
        const MatchedFix* before = nullptr;
        for (std::size_t k = place_hint; k-- > 0;) {
            if (fixes[k].match) {
                before = &fixes[k];
                break;
            }
        }
        const MatchedFix* after = nullptr;
        for (std::size_t k = place_hint; k < fixes.size(); ++k) {
            if (fixes[k].match) {
                after = &fixes[k];
                break;
            }
        }
        std::optional<Place> best;
        bool best_inside = false;
        double best_dt = 0.0;
        const MatchedFix* best_fix = nullptr;
        for (const MatchedFix* f : {before, after}) {
            if (f == nullptr || std::fabs(f->t_s - t) > 3.0) {
                continue;
            }
            const double length = segments[f->match->segment_index].length_m;
            const double offset = offset_from(*f, t);
            const bool inside = offset >= 0.0 && offset <= length;
            const double dt = std::fabs(f->t_s - t);
            if (!best || (inside && !best_inside) || (inside == best_inside && dt < best_dt)) {
                best = Place{
                    f->match->segment_index,
                    f->match->segment,
                    std::clamp(offset, 0.0, length),
                    f->accuracy_m,
                    !inside};
                best_inside = inside;
                best_dt = dt;
                best_fix = f;
            }
        }
        if (best && !best_inside) {
            // Dead reckoning past the segment's end (no fix yet on the next segment, e.g. at
            // the end of a message): move on from the end, along the road's bearing there, by
            // the distance overshot, and match that point.
            const double length = segments[best->segment_index].length_m;
            const double raw = offset_from(*best_fix, t);
            const double over = raw < 0.0 ? -raw : raw - length;
            if (over > 0.5 && over < 60.0) {
                const double end = raw < 0.0 ? 0.0 : length;
                const double back = raw < 0.0 ? std::min(length, 1.0) : std::max(0.0, length - 1.0);
                const LonLat a = matcher_->PointAt(best->segment_index, back);
                const LonLat b = matcher_->PointAt(best->segment_index, end);
                const double bearing = BearingDeg(a, b);
                const auto& projection = matcher_->network().projection();
                Xy xy = projection.Forward(b);
                xy.x += over * std::sin(DegToRad(bearing));
                xy.y += over * std::cos(DegToRad(bearing));
                const auto next = matcher_->Match(
                    projection.Inverse(xy), best_fix->accuracy_m, bearing, best_fix->speed_mps
                );
                if (next && next->segment_index != best->segment_index) {
                    best = Place{
                        next->segment_index,
                        next->segment,
                        next->offset_m,
                        best_fix->accuracy_m,
                        false};
                    best_inside = true;
                }
            }
        }
        if (best) {
            // The segment most of the nearby fixes agree on: single fixes matched to a
            // parallel road or a crossing street a few metres away are outvoted. Each fix
            // within 3 s that puts time t inside its own segment votes for it with weight
            // 1 / (accuracy^2 + (0.3 m/s x |dt|)^2).
            std::vector<std::pair<std::size_t, double>> votes;
            for (const auto& f : fixes) {
                const double dt = std::fabs(f.t_s - t);
                if (!f.match || dt > 3.0) {
                    continue;
                }
                const double offset = offset_from(f, t);
                if (offset < 0.0 || offset > segments[f.match->segment_index].length_m) {
                    continue;
                }
                const double w =
                    1.0 / (std::max(1.0, f.accuracy_m * f.accuracy_m) + 0.09 * dt * dt);
                auto v = std::find_if(votes.begin(), votes.end(), [&](const auto& e) {
                    return e.first == f.match->segment_index;
                });
                if (v == votes.end()) {
                    votes.emplace_back(f.match->segment_index, w);
                } else {
                    v->second += w;
                }
            }
            const auto winner =
                std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) {
                    return a.second < b.second;
                });
            if (winner != votes.end() && winner->first != best->segment_index) {
                best->segment_index = winner->first;
                best->segment = segments[winner->first].id;
                best->clamped = false;  // a fix puts the time inside this segment
            }
            const double length = segments[best->segment_index].length_m;
            double weight_sum = 0.0;
            double offset_sum = 0.0;
            for (const auto& f : fixes) {
                const double dt = std::fabs(f.t_s - t);
                if (!f.match || f.match->segment_index != best->segment_index || dt > 5.0) {
                    continue;
                }
                const double w =
                    1.0 / (std::max(1.0, f.accuracy_m * f.accuracy_m) + 0.09 * dt * dt);
                weight_sum += w;
                offset_sum += w * offset_from(f, t);
            }
            if (weight_sum > 0.0) {
                best->offset_m = std::clamp(offset_sum / weight_sum, 0.0, length);
            }
        }
        return best;
    };

    const std::uint64_t vehicle_key = VehicleKey(m.vehicle_id.value());
    // A message is a slice of a drive: the filters and the detector's background would start
    // from silence and ring for the first seconds (in development this made 60 % of all
    // detector events fall in a message's first 1.5 s). They are warmed on the mirror image of
    // the batch's first warm_s seconds, ending at its first sample.
    const auto warm = std::min(n, static_cast<std::size_t>(std::ceil(options_.warm_up_s * rate)));
    std::vector<float> mirror;
    mirror.reserve(warm);
    for (std::size_t k = warm; k-- > 1;) {
        mirror.push_back(vertical[k]);
    }
    RoughnessEstimator estimator = EstimatorFor(rate, m.vehicle_class);
    std::vector<float> band = mirror;
    estimator.Filter(band);
    band = vertical;
    estimator.Filter(band);
    const double factor = calibration_->Factor(m.device_id, m.vehicle_id, m.vehicle_class);

    std::vector<DetectedEvent> events;
    EventDetector detector(config_->hazard, rate);
    detector.Prime(mirror);
    detector.Process(vertical, horizontal, speed, events);
    detector.Flush(events);

    // An event's time after t0: its sub-sample peak position between the real times of the
    // samples around it (the detector counts samples at the mean rate; the batch's times may
    // start after t0 or be uneven, and 0.5 s at 50 km/h is 7 m of road).
    std::vector<double> event_times;
    event_times.reserve(events.size());
    for (const auto& e : events) {
        event_times.push_back(m.accel.TimeAt(e.fractional_index));
    }

    std::vector<Observation> out;
    const auto emit_events = [&](double from_s, double to_s) {
        for (std::size_t k = 0; k < events.size(); ++k) {
            const DetectedEvent& e = events[k];
            const double time_s = event_times[k];
            if (time_s < from_s || time_s >= to_s) {
                continue;
            }
            const auto place = place_at(time_s);
            if (!place || place->clamped) {
                continue;  // an event we cannot place on a segment is no evidence anywhere
            }
            HazardEvent h;
            h.vehicle_key = vehicle_key;
            h.offset_m = static_cast<float>(place->offset_m);
            h.uncertainty_m = static_cast<float>(std::hypot(e.uncertainty_m, place->accuracy_m));
            h.peak_ms2 = static_cast<float>(e.normalised_peak_mps2);
            h.speed_mps = static_cast<float>(e.speed_mps);
            h.score = static_cast<float>(e.severity_score);
            h.sample_rate_hz = static_cast<float>(rate);
            const LonLat at = matcher_->PointAt(place->segment_index, place->offset_m);
            h.lat = at.lat;
            h.lon = at.lon;
            const EpochMs t_ms =
                m.accel.t0_ms + static_cast<EpochMs>(std::llround(1000.0 * time_s));
            out.push_back(Observation{place->segment, t_ms, h});
        }
    };

    // Each sample belongs to the segment of its place (place_at); consecutive samples on the
    // same segment form one pass.
    std::vector<std::size_t> sample_segment(n, SIZE_MAX);
    std::vector<float> sample_offset(n, 0.0F);
    for (std::size_t i = 0; i < n; ++i) {
        if (const auto place = place_at(m.accel.TimeOf(i))) {
            sample_segment[i] = place->segment_index;
            sample_offset[i] = static_cast<float>(place->offset_m);
        }
    }
    const auto close_run = [&](std::size_t run_start, std::size_t end) {
        if (end <= run_start || sample_segment[run_start] == SIZE_MAX) {
            return;
        }
        const std::size_t segment_index = sample_segment[run_start];
        const SegmentId segment = segments[segment_index].id;
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
        // Covered part of the segment: where the vehicle was at the run's first and last sample.
        t.from_m = std::min(sample_offset[run_start], sample_offset[end - 1]);
        t.to_m = std::max(sample_offset[run_start], sample_offset[end - 1]);
        t.samples = static_cast<std::uint32_t>(run_speed.size());
        t.sample_rate_hz = static_cast<float>(rate);
        // A pass that begins mid-message is estimated without its first pass_trim_s.
        const std::size_t trim =
            run_start == 0 ? 0
                           : std::min(
                                 end - run_start,
                                 static_cast<std::size_t>(std::lround(options_.pass_trim_s * rate))
                             );
        const std::size_t est_start = run_start + trim;
        const auto estimate = estimator.EstimateFiltered(
            std::span<const float>(band.data() + est_start, end - est_start),
            std::span<const float>(speed.data() + est_start, end - est_start),
            factor
        );
        // An estimate beyond any road's (from accelerations no road makes) is no estimate:
        // the pass still counts, its IRI does not.
        if (estimate && estimate->iri_m_per_km <= ObservationLimits::kMaxIriMPerKm) {
            t.iri_m_per_km = static_cast<float>(estimate->iri_m_per_km);
            t.confidence = static_cast<float>(estimate->confidence);
            t.samples = static_cast<std::uint32_t>(estimate->samples);
        }
        const EpochMs t_ms = m.accel.t0_ms + static_cast<EpochMs>(std::llround(1000.0 * t_start));
        out.push_back(Observation{segment, t_ms, t});
    };
    std::size_t run_start = 0;
    for (std::size_t i = 1; i <= n; ++i) {
        if (i == n || sample_segment[i] != sample_segment[run_start]) {
            close_run(run_start, i);
            run_start = i;
        }
    }
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
    // A calibrated value outside what a raw message may carry (a gain or offset in the
    // registry that does not fit the sensor) is refused, naming the field, rather than folded.
    std::optional<Error> refused;
    // `field`, or field[i] when `i` is set: the name is built only for a refusal.
    const auto in_range =
        [&](const char* field, std::optional<std::size_t> i, float value, double min, double max) {
            if (!refused && !(value >= min && value <= max)) {
                std::ostringstream name;
                name << field;
                if (i) {
                    name << "[" << *i << "]";
                }
                std::ostringstream text;
                text << "is " << value << " after the sensor's calibration (gain " << sensor->gain
                     << ", offset " << sensor->offset << "), outside [" << min << ", " << max
                     << "]";
                refused = Error{ErrorCode::kOutOfRange, name.str(), text.str()};
            }
            return value;
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
                    a.load_kn[i] = in_range(
                        "axle_loads_kn",
                        i,
                        std::max(0.0F, calibrate(r.axle_loads_kn[i])),
                        0.0,
                        RawLimits::kMaxAxleLoadKn
                    );
                    a.spacing_m[i] = i == 0 ? 0.0F : static_cast<float>(r.axle_spacings_m[i - 1]);
                }
                a.speed_mps = static_cast<float>(r.speed_mps);
                o.body = a;
            } else if constexpr (std::is_same_v<T, StrainReading>) {
                StrainPasses s;
                s.passes = static_cast<std::uint8_t>(r.peak_microstrain.size());
                for (std::size_t i = 0; i < r.peak_microstrain.size(); ++i) {
                    s.microstrain[i] = in_range(
                        "peak_microstrain",
                        i,
                        std::max(0.0F, calibrate(r.peak_microstrain[i])),
                        0.0,
                        RawLimits::kMaxMicrostrain
                    );
                }
                s.depth_mm = static_cast<float>(sensor->depth_mm);
                o.body = s;
            } else if constexpr (std::is_same_v<T, TemperatureReading>) {
                o.body = PavementTemperature{
                    in_range(
                        "celsius",
                        std::nullopt,
                        calibrate(r.celsius),
                        RawLimits::kMinTemperatureC,
                        RawLimits::kMaxTemperatureC
                    ),
                    static_cast<float>(sensor->depth_mm)};
            } else {
                o.body = SoilMoisture{std::clamp(calibrate(r.vwc_percent), 0.0F, 100.0F)};
            }
        },
        *message
    );
    if (refused) {
        return tl::unexpected(std::move(*refused));
    }
    return std::vector<Observation>{o};
}

}  // namespace pavewatch::pipeline
