#include "pavewatch/simulate/synthetic_load.hpp"

#include "pavewatch/pipeline/iso8608.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pavewatch::simulate {
namespace {

constexpr pipeline::EpochMs kStart = 1763856000000;  // 2025-11-23T00:00:00Z
constexpr std::uint64_t kFirstSegment = 5'000'000'000ULL;

/// A segment index in [0, segments) whose popularity rank follows a power law of exponent
/// `s`: a draw of the continuous density x^-s on [1, segments + 1) by inversion, its integer
/// part the rank. Ranks are scattered over the indices by a multiplication modulo `segments`
/// (a bijection when the factor is coprime with it).
std::uint64_t PowerLawIndex(double u, std::uint64_t segments, double s) {
    const double n = static_cast<double>(segments) + 1.0;
    double x = 0.0;
    if (std::abs(s - 1.0) < 1e-9) {
        x = std::pow(n, u);
    } else {
        const double a = 1.0 - s;
        x = std::pow((std::pow(n, a) - 1.0) * u + 1.0, 1.0 / a);
    }
    const std::uint64_t rank =
        std::clamp<std::uint64_t>(static_cast<std::uint64_t>(x), 1, segments) - 1;
    constexpr std::uint64_t kScatter = 2654435761ULL;  // a prime below 2^32
    if (segments > (1ULL << 32) || std::gcd(kScatter, segments) != 1) {
        return rank;  // rank * kScatter would overflow, or would not be a bijection
    }
    return rank * kScatter % segments;
}

}  // namespace

pipeline::Observation SyntheticObservation(
    std::uint64_t i,
    std::uint64_t segments,
    std::uint64_t seed,
    std::int64_t step_ms,
    double zipf
) {
    pipeline::Xoshiro256 rng(seed * 0x9E3779B97F4A7C15ULL + i);
    pipeline::Observation o;
    const std::uint64_t index =
        zipf > 0.0 ? PowerLawIndex(rng.Uniform(), segments, zipf) : rng.Next() % segments;
    o.segment = pipeline::SegmentId{kFirstSegment + index};
    o.t_ms = kStart + static_cast<pipeline::EpochMs>(i) * step_ms;
    const double u = rng.Uniform();
    const std::uint64_t vehicle = 1 + rng.Next() % 200;
    if (u < 0.70) {
        pipeline::Traversal t;
        t.vehicle_key = vehicle;
        t.vehicle_class = pipeline::VehicleClass::kCar;
        t.speed_mps = static_cast<float>(rng.Uniform(6.0, 20.0));
        t.speed_spread_mps = static_cast<float>(rng.Uniform(0.0, 2.0));
        t.from_m = 0.0F;
        t.to_m = 100.0F;
        t.iri_m_per_km = rng.Uniform() < 0.1 ? -1.0F : static_cast<float>(rng.Uniform(1.0, 6.0));
        t.samples = 500;
        t.sample_rate_hz = 100.0F;
        t.confidence = static_cast<float>(rng.Uniform(0.3, 1.0));
        o.body = t;
    } else if (u < 0.80) {
        pipeline::HazardEvent e;
        e.vehicle_key = vehicle;
        e.offset_m = static_cast<float>(40.0 + 3.0 * rng.Normal());
        e.uncertainty_m = 4.0F;
        e.peak_ms2 = static_cast<float>(rng.Uniform(3.0, 15.0));
        e.speed_mps = 12.0F;
        o.body = e;
    } else if (u < 0.90) {
        pipeline::AxleLoads a;
        a.axles = static_cast<std::uint8_t>(2 + rng.Next() % 4);
        for (std::uint8_t k = 0; k < a.axles; ++k) {
            a.load_kn[k] = static_cast<float>(rng.Uniform(30.0, 110.0));
            a.spacing_m[k] = k == 0 ? 0.0F : static_cast<float>(rng.Uniform() < 0.5 ? 1.3 : 4.5);
        }
        a.speed_mps = 15.0F;
        o.body = a;
    } else if (u < 0.94) {
        pipeline::StrainPasses s;
        s.passes = static_cast<std::uint8_t>(2 + rng.Next() % 3);
        for (std::uint8_t k = 0; k < s.passes; ++k) {
            s.microstrain[k] = static_cast<float>(rng.Uniform(40.0, 250.0));
        }
        s.depth_mm = 100.0F;
        o.body = s;
    } else if (u < 0.97) {
        o.body = pipeline::PavementTemperature{static_cast<float>(rng.Uniform(-15.0, 35.0)), 50.0F};
    } else {
        o.body = pipeline::SoilMoisture{static_cast<float>(rng.Uniform(10.0, 40.0))};
    }
    return o;
}

}  // namespace pavewatch::simulate
