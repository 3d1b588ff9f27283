#include "pavewatch/pipeline/quarter_car.hpp"

#include "pavewatch/pipeline/iri.hpp"
#include "small_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pavewatch::pipeline {
namespace {

/// The road as the wheel centre sees it: for a rigid disc of radius r the contact point is the
/// highest of y(x + s) + sqrt(r^2 - s^2) - r over |s| <= r.
std::vector<double> TyreEnvelope(std::span<const double> y, double spacing_m, double radius_m) {
    std::vector<double> env(y.begin(), y.end());
    if (!(radius_m > 0.0)) {
        return env;
    }
    const auto reach = static_cast<std::ptrdiff_t>(std::floor(radius_m / spacing_m));
    if (reach < 1) {
        return env;
    }
    std::vector<double> drop(static_cast<std::size_t>(reach) + 1);
    for (std::ptrdiff_t k = 0; k <= reach; ++k) {
        const double s = static_cast<double>(k) * spacing_m;
        drop[static_cast<std::size_t>(k)] = std::sqrt(radius_m * radius_m - s * s) - radius_m;
    }
    const auto n = static_cast<std::ptrdiff_t>(y.size());
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        double best = y[static_cast<std::size_t>(i)];
        const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, i - reach);
        const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n - 1, i + reach);
        for (std::ptrdiff_t j = lo; j <= hi; ++j) {
            const std::ptrdiff_t k = j > i ? j - i : i - j;
            best =
                std::max(best, y[static_cast<std::size_t>(j)] + drop[static_cast<std::size_t>(k)]);
        }
        env[static_cast<std::size_t>(i)] = best;
    }
    return env;
}

struct TrackOutput {
    std::vector<double> accel;
    std::vector<double> zs;
    std::vector<double> position;
    std::vector<double> speed;
};

TrackOutput SimulateTrack(
    std::span<const double> elevation_m,
    double spacing_m,
    std::span<const double> speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& p,
    const SimulationOptions& options
) {
    TrackOutput out;
    if (elevation_m.size() < 2 || !(spacing_m > 0.0) || speed_mps.empty() ||
        !(sample_rate_hz > 0.0) || !(p.sprung_mass_kg > 0.0) || !(p.unsprung_mass_kg > 0.0)) {
        return out;
    }
    double max_speed = 0.0;
    for (const double v : speed_mps) {
        if (!(v > 0.0)) {
            return out;
        }
        max_speed = std::max(max_speed, v);
    }
    const std::vector<double> road = TyreEnvelope(elevation_m, spacing_m, p.tyre_radius_m);
    const double length_m = spacing_m * static_cast<double>(road.size() - 1);
    const double sample_s = 1.0 / sample_rate_hz;
    const double max_step = std::min(options.max_step_s, spacing_m / max_speed);
    const int substeps = std::max(1, static_cast<int>(std::ceil(sample_s / max_step)));
    const double h = sample_s / substeps;

    // x = [zs, vs, zu, vu]; augmented with the input u and its rate for the first-order hold.
    const double ms = p.sprung_mass_kg;
    const double mu = p.unsprung_mass_kg;
    const double ks = p.suspension_stiffness_n_m;
    const double cs = p.suspension_damping_ns_m;
    const double kt = p.tyre_stiffness_n_m;
    detail::Matrix<6> aug{};
    aug[0][1] = 1.0;
    aug[1][0] = -ks / ms;
    aug[1][1] = -cs / ms;
    aug[1][2] = ks / ms;
    aug[1][3] = cs / ms;
    aug[2][3] = 1.0;
    aug[3][0] = ks / mu;
    aug[3][1] = cs / mu;
    aug[3][2] = -(ks + kt) / mu;
    aug[3][3] = -cs / mu;
    aug[3][4] = kt / mu;
    aug[4][5] = 1.0;
    for (auto& row : aug) {
        for (double& v : row) {
            v *= h;
        }
    }
    const detail::Matrix<6> e = detail::Expm(aug);

    auto road_at = [&](double x) {
        const double pos = std::clamp(x / spacing_m, 0.0, static_cast<double>(road.size() - 1));
        const auto i = std::min(static_cast<std::size_t>(pos), road.size() - 2);
        const double f = pos - static_cast<double>(i);
        return road[i] + f * (road[i + 1] - road[i]);
    };
    auto accel_of = [&](const double* x) { return (ks * (x[2] - x[0]) + cs * (x[3] - x[1])) / ms; };

    const bool constant_speed = speed_mps.size() == 1;
    const std::size_t max_samples =
        constant_speed ? static_cast<std::size_t>(length_m / speed_mps[0] * sample_rate_hz)
                       : speed_mps.size();
    const double v0 = speed_mps[0];
    // Start half a sample early so that sample i is centred on t = i / rate.
    double position = 0.0;
    // The slope over the first 11 m, as the IRI's, over one interval at least (a spacing above
    // 22 m rounds 11 m to none: 0 / 0).
    const std::size_t init_index = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::lround(kIriInitLengthM / spacing_m)), 1, road.size() - 1
    );
    const double init_slope =
        (road[init_index] - road[0]) / (static_cast<double>(init_index) * spacing_m);
    double x[4] = {road[0], v0 * init_slope, road[0], v0 * init_slope};
    double u = road_at(position);
    out.accel.reserve(max_samples);
    out.zs.reserve(max_samples);
    for (std::size_t i = 0; i < max_samples; ++i) {
        const double v = constant_speed ? v0 : speed_mps[i];
        if (position + v * sample_s > length_m) {
            break;
        }
        double accel_sum = 0.0;
        double zs_sum = 0.0;
        double a_prev = accel_of(x);
        double zs_prev = x[0];
        const double position_mid = position + v * 0.5 * sample_s;
        double a_mid = a_prev;
        double zs_mid = zs_prev;
        for (int s = 0; s < substeps; ++s) {
            position += v * h;
            const double u_next = road_at(position);
            const double rate = (u_next - u) / h;
            double next[4];
            for (int r = 0; r < 4; ++r) {
                next[r] = e[r][0] * x[0] + e[r][1] * x[1] + e[r][2] * x[2] + e[r][3] * x[3] +
                          e[r][4] * u + e[r][5] * rate;
            }
            std::copy(next, next + 4, x);
            u = u_next;
            const double a_now = accel_of(x);
            accel_sum += 0.5 * (a_prev + a_now);
            zs_sum += 0.5 * (zs_prev + x[0]);
            a_prev = a_now;
            zs_prev = x[0];
            if (s + 1 == (substeps + 1) / 2) {
                a_mid = a_now;  // point sample: the sub-step end nearest the interval's centre
                zs_mid = x[0];
            }
        }
        if (!options.average_over_sample) {
            accel_sum = a_mid * substeps;
            zs_sum = zs_mid * substeps;
        }
        out.accel.push_back(accel_sum / substeps);
        out.zs.push_back(zs_sum / substeps);
        out.position.push_back(position_mid);
        out.speed.push_back(v);
    }
    return out;
}

}  // namespace

QuarterCarParams DefaultQuarterCar(VehicleClass vehicle_class) {
    QuarterCarParams p;  // car
    switch (vehicle_class) {
        case VehicleClass::kUnknown:
        case VehicleClass::kCar:
            break;
        case VehicleClass::kSuv:
            p = {550.0, 55.0, 27000.0, 2200.0, 220000.0, 0.35, 1.6, 0.6};
            break;
        case VehicleClass::kVan:
            p = {700.0, 70.0, 35000.0, 2800.0, 300000.0, 0.35, 1.7, 0.7};
            break;
        case VehicleClass::kBus:
            p = {3000.0, 400.0, 180000.0, 15000.0, 1600000.0, 0.5, 2.0, 1.2};
            break;
        case VehicleClass::kTruck:
            p = {4000.0, 500.0, 400000.0, 20000.0, 2000000.0, 0.5, 2.0, 1.5};
            break;
        case VehicleClass::kMotorcycle:
            p = {120.0, 20.0, 12000.0, 900.0, 120000.0, 0.3, 0.2, 0.6};
            break;
    }
    return p;
}

double BodyBounceHz(const QuarterCarParams& p) {
    return std::sqrt(p.suspension_stiffness_n_m / p.sprung_mass_kg) / (2.0 * std::numbers::pi);
}

VehicleResponse SimulateQuarterCar(
    std::span<const double> elevation_m,
    double spacing_m,
    std::span<const double> speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params,
    const SimulationOptions& options
) {
    TrackOutput track =
        SimulateTrack(elevation_m, spacing_m, speed_mps, sample_rate_hz, params, options);
    VehicleResponse response;
    response.accel_vertical_mps2 = std::move(track.accel);
    response.position_m = std::move(track.position);
    response.speed_mps = std::move(track.speed);
    return response;
}

std::vector<double> SimulateSprungAcceleration(
    std::span<const double> elevation_m,
    double spacing_m,
    double speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params
) {
    const double speed[1] = {speed_mps};
    return SimulateQuarterCar(elevation_m, spacing_m, speed, sample_rate_hz, params)
        .accel_vertical_mps2;
}

VehicleResponse SimulateTwoTrack(
    std::span<const double> left_elevation_m,
    std::span<const double> right_elevation_m,
    double spacing_m,
    std::span<const double> speed_mps,
    double sample_rate_hz,
    const QuarterCarParams& params,
    const SimulationOptions& options
) {
    const std::size_t n = std::min(left_elevation_m.size(), right_elevation_m.size());
    TrackOutput left = SimulateTrack(
        left_elevation_m.first(n), spacing_m, speed_mps, sample_rate_hz, params, options
    );
    TrackOutput right = SimulateTrack(
        right_elevation_m.first(n), spacing_m, speed_mps, sample_rate_hz, params, options
    );
    VehicleResponse response;
    const std::size_t samples = std::min(left.accel.size(), right.accel.size());
    const double track = params.track_width_m > 0.0 ? params.track_width_m : 1.0;
    response.accel_vertical_mps2.resize(samples);
    response.accel_lateral_mps2.resize(samples);
    for (std::size_t i = 0; i < samples; ++i) {
        response.accel_vertical_mps2[i] = 0.5 * (left.accel[i] + right.accel[i]);
        const double roll = (left.zs[i] - right.zs[i]) / track;
        const double roll_accel = (left.accel[i] - right.accel[i]) / track;
        response.accel_lateral_mps2[i] =
            params.sensor_height_m * roll_accel + kStandardGravity * roll;
    }
    left.position.resize(samples);
    left.speed.resize(samples);
    response.position_m = std::move(left.position);
    response.speed_mps = std::move(left.speed);
    return response;
}

}  // namespace pavewatch::pipeline
