#include "pavewatch/pipeline/ingest_processor.hpp"

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
};

/// Vertical acceleration with gravity removed: the batch's mean acceleration vector is
/// gravity (the vehicle's own accelerations average out over a batch of seconds); each sample
/// is projected on its direction. Works for any device orientation.
std::vector<float> VerticalAcceleration(const AccelBatch& a) {
    double gx = 0;
    double gy = 0;
    double gz = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        gx += a.x[i];
        gy += a.y[i];
        gz += a.z[i];
    }
    const double n = static_cast<double>(std::max<std::size_t>(1, a.size()));
    gx /= n;
    gy /= n;
    gz /= n;
    const double g = std::sqrt(gx * gx + gy * gy + gz * gz);
    std::vector<float> vertical(a.size(), 0.0F);
    if (g < 1e-6) {
        return vertical;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        vertical[i] = static_cast<float>((a.x[i] * gx + a.y[i] * gy + a.z[i] * gz) / g - g);
    }
    return vertical;
}

}  // namespace

IngestProcessor::IngestProcessor(
    const MapMatcher& matcher,
    const SensorRegistry& registry,
    IngestOptions options
)
    : matcher_(&matcher), registry_(&registry), options_(options) {}

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
        any_match = any_match || f.match.has_value();
        fixes.push_back(f);
    }
    if (!any_match) {
        return tl::unexpected(Error{
            ErrorCode::kNotOnNetwork, "gps", "no fix lies near a road of the network"});
    }

    const std::vector<float> vertical = VerticalAcceleration(m.accel);
    const std::uint64_t vehicle_key = VehicleKey(m.vehicle_id.value());

    // Each sample belongs to the segment of the nearest fix in time; consecutive samples on the
    // same segment form one pass.
    std::vector<Observation> out;
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
    const auto speed_at = [&](double t) {
        auto hi = std::lower_bound(
            fixes.begin(), fixes.end(), t, [](const MatchedFix& f, double x) { return f.t_s < x; }
        );
        if (hi == fixes.begin()) {
            return hi->speed_mps;
        }
        if (hi == fixes.end()) {
            return fixes.back().speed_mps;
        }
        const auto lo = hi - 1;
        const double span = hi->t_s - lo->t_s;
        const double f = span > 0 ? (t - lo->t_s) / span : 0.0;
        return lo->speed_mps + f * (hi->speed_mps - lo->speed_mps);
    };
    const auto close_run = [&](std::size_t end) {
        if (!run_fix || end <= run_start) {
            return;
        }
        const auto& first_fix = fixes[*run_fix];
        const double duration = m.accel.TimeOf(end - 1) - m.accel.TimeOf(run_start);
        if (duration < options_.min_pass_s) {
            return;
        }
        double speed_sum = 0;
        double speed_min = 1e9;
        double speed_max = 0;
        double square_sum = 0;
        for (std::size_t i = run_start; i < end; ++i) {
            const double v = speed_at(m.accel.TimeOf(i));
            speed_sum += v;
            speed_min = std::min(speed_min, v);
            speed_max = std::max(speed_max, v);
            square_sum += static_cast<double>(vertical[i]) * vertical[i];
        }
        const double count = static_cast<double>(end - run_start);
        const double speed = speed_sum / count;
        Traversal t;
        t.vehicle_key = vehicle_key;
        t.vehicle_class = m.vehicle_class;
        t.speed_mps = static_cast<float>(speed);
        t.speed_spread_mps = static_cast<float>(speed_max - speed_min);
        // Covered part: from the matched offsets of the run's fixes, widened by the distance
        // driven before the first and after the last of them.
        double from = 1e9;
        double to = -1e9;
        for (const auto& f : fixes) {
            if (f.match && f.match->segment == first_fix.match->segment &&
                f.t_s >= m.accel.TimeOf(run_start) - 1.0 &&
                f.t_s <= m.accel.TimeOf(end - 1) + 1.0) {
                from = std::min(from, f.match->offset_m);
                to = std::max(to, f.match->offset_m);
            }
        }
        const double length =
            matcher_->network().segments()[first_fix.match->segment_index].length_m;
        t.from_m = static_cast<float>(std::clamp(from, 0.0, length));
        t.to_m = static_cast<float>(std::clamp(to, 0.0, length));
        t.samples = static_cast<std::uint32_t>(end - run_start);
        t.sample_rate_hz = static_cast<float>(m.accel.EffectiveRateHz());
        if (speed >= options_.min_iri_speed_mps) {
            t.iri_m_per_km = static_cast<float>(
                options_.iri_gain * std::sqrt(square_sum / count) / std::sqrt(speed)
            );
        }
        const EpochMs t_ms =
            m.accel.t0_ms + static_cast<EpochMs>(std::llround(1000.0 * m.accel.TimeOf(run_start)));
        out.push_back(Observation{first_fix.match->segment, t_ms, t});
    };

    for (std::size_t i = 0; i < m.accel.size(); ++i) {
        const std::size_t f = nearest_fix(m.accel.TimeOf(i));
        const bool same = run_fix && fixes[f].match && fixes[*run_fix].match &&
                          fixes[f].match->segment == fixes[*run_fix].match->segment;
        if (!same) {
            close_run(i);
            run_start = i;
            run_fix = fixes[f].match ? std::optional<std::size_t>(f) : std::nullopt;
        }
    }
    close_run(m.accel.size());
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
