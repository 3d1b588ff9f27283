#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pavewatch::pipeline {

/// Road roughness classes of ISO 8608:2016 (Table 1), from A (very good) to H (very poor).
enum class Iso8608Class { kA, kB, kC, kD, kE, kF, kG, kH };

/// Geometric-mean displacement PSD Gd(n0) of a class at n0 = 0.1 cycles/m, m^3
/// (A = 16e-6 m^3, times 4 per class; ISO 8608:2016 Table 1).
double Iso8608Gd0(Iso8608Class c);

/// 'A'..'H' (upper or lower case); std::nullopt for anything else.
std::optional<Iso8608Class> Iso8608ClassFromChar(char c);
/// 'A'..'H'.
char ToChar(Iso8608Class c);

/// Reference spatial frequency of ISO 8608, cycles/m.
inline constexpr double kIso8608N0 = 0.1;
/// Lowest spatial frequency generated, cycles/m: the lower end of ISO 8608's range (0.011).
inline constexpr double kIso8608MinN = 0.011;
/// Highest spatial frequency generated, cycles/m (ISO 8608's upper end is 2.83; we go to 10 so
/// that short-wave content under the IRI's 250 mm filter is present), capped at Nyquist.
inline constexpr double kIso8608MaxN = 10.0;

/// A synthetic longitudinal profile of an ISO 8608 class: elevations in metres, one every
/// `spacing_m`, `floor(length_m / spacing_m) + 1` samples.
///
/// Spectral synthesis (a sum of sinusoids on the FFT grid with random phases and amplitudes
/// sqrt(2 Gd(n) dn), Gd(n) = Gd(n0) (n / n0)^-waviness, for kIso8608MinN <= n <= min(Nyquist,
/// kIso8608MaxN); ISO 8608:2016 Annex; Agostinacchio et al. 2014), so the profile has exactly
/// the class's PSD. Deterministic for a seed on every platform with IEEE doubles (own xoshiro256**
/// generator, own FFT). Pure; thread-safe. Returns an empty vector for non-positive inputs.
std::vector<double> Iso8608Profile(
    Iso8608Class c,
    double length_m,
    double spacing_m,
    std::uint64_t seed,
    double waviness = 2.0
);

/// Same with an explicit Gd(n0) (m^3) instead of a class.
std::vector<double> PsdProfile(
    double gd0_m3,
    double length_m,
    double spacing_m,
    std::uint64_t seed,
    double waviness = 2.0
);

/// Adds a pothole to a profile in place: a flat-bottomed depression `depth_m` deep and
/// `length_m` long starting `at_m` from the first sample, with vertical edges (the tyre
/// envelope of the vehicle model decides how much of it a wheel feels). Samples outside the
/// profile are ignored.
void AddPothole(
    std::span<double> elevation_m,
    double spacing_m,
    double at_m,
    double depth_m,
    double length_m
);

/// Small deterministic PRNG (xoshiro256**, Blackman & Vigna 2018), seeded by splitmix64.
/// Used for profiles and test scenarios so that results do not depend on the standard library.
/// Not thread-safe (one per thread).
class Xoshiro256 {
public:
    explicit Xoshiro256(std::uint64_t seed);
    std::uint64_t Next();
    /// Uniform in [0, 1).
    double Uniform();
    /// Uniform in [lo, hi).
    double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
    /// Standard normal (Box-Muller with std::log/std::sqrt/std::cos).
    double Normal();

private:
    std::uint64_t s_[4] = {};
};

}  // namespace pavewatch::pipeline
