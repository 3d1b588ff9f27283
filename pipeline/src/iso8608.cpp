#include "pavewatch/pipeline/iso8608.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

namespace pavewatch::pipeline {
namespace {

std::uint64_t SplitMix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::uint64_t Rotl(std::uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/// In-place iterative radix-2 FFT, sign +1 (inverse direction, unnormalised).
void InverseFft(std::vector<std::complex<double>>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) {
            j ^= bit;
        }
        j ^= bit;
        if (i < j) {
            std::swap(a[i], a[j]);
        }
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const double angle = 2.0 * std::numbers::pi / static_cast<double>(len);
        for (std::size_t i = 0; i < n; i += len) {
            for (std::size_t k = 0; k < len / 2; ++k) {
                // Twiddles computed directly (not by recurrence) to keep rounding small.
                const std::complex<double> w(
                    std::cos(angle * static_cast<double>(k)),
                    std::sin(angle * static_cast<double>(k))
                );
                const std::complex<double> u = a[i + k];
                const std::complex<double> v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
            }
        }
    }
}

}  // namespace

Xoshiro256::Xoshiro256(std::uint64_t seed) {
    std::uint64_t state = seed;
    for (auto& s : s_) {
        s = SplitMix64(state);
    }
}

std::uint64_t Xoshiro256::Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
}

double Xoshiro256::Uniform() {
    return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

double Xoshiro256::Normal() {
    double u1 = Uniform();
    while (u1 <= 0.0) {
        u1 = Uniform();
    }
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Iso8608Gd0(Iso8608Class c) {
    return 16e-6 * std::pow(4.0, static_cast<double>(static_cast<int>(c)));
}

std::optional<Iso8608Class> Iso8608ClassFromChar(char c) {
    if (c >= 'a' && c <= 'h') {
        c = static_cast<char>(c - 'a' + 'A');
    }
    if (c < 'A' || c > 'H') {
        return std::nullopt;
    }
    return static_cast<Iso8608Class>(c - 'A');
}

char ToChar(Iso8608Class c) {
    return static_cast<char>('A' + static_cast<int>(c));
}

std::vector<double>
PsdProfile(double gd0_m3, double length_m, double spacing_m, std::uint64_t seed, double waviness) {
    if (!(length_m > 0.0) || !(spacing_m > 0.0) || !(gd0_m3 >= 0.0)) {
        return {};
    }
    const auto samples = static_cast<std::size_t>(std::floor(length_m / spacing_m)) + 1;
    std::size_t fft_size = 2;
    while (fft_size < samples) {
        fft_size <<= 1;
    }
    const double dn = 1.0 / (static_cast<double>(fft_size) * spacing_m);
    const double n_max = std::min(0.5 / spacing_m, kIso8608MaxN);
    Xoshiro256 rng(seed);
    std::vector<std::complex<double>> spectrum(fft_size);
    for (std::size_t k = 1; k < fft_size / 2; ++k) {
        const double n = static_cast<double>(k) * dn;
        // Draw the phase for every bin so that the phases do not depend on the band limits.
        const double phase = 2.0 * std::numbers::pi * rng.Uniform();
        if (n < kIso8608MinN || n > n_max) {
            continue;
        }
        const double gd = gd0_m3 * std::pow(n / kIso8608N0, -waviness);
        const double amplitude = std::sqrt(2.0 * gd * dn);
        spectrum[k] = std::polar(amplitude, phase);
    }
    // Only positive frequencies are filled: the real part of the inverse transform is the sum
    // of cosines sum_k A_k cos(2 pi n_k x + phi_k).
    InverseFft(spectrum);
    std::vector<double> profile(samples);
    for (std::size_t i = 0; i < samples; ++i) {
        profile[i] = spectrum[i].real();
    }
    return profile;
}

std::vector<double> Iso8608Profile(
    Iso8608Class c,
    double length_m,
    double spacing_m,
    std::uint64_t seed,
    double waviness
) {
    return PsdProfile(Iso8608Gd0(c), length_m, spacing_m, seed, waviness);
}

void AddPothole(
    std::span<double> elevation_m,
    double spacing_m,
    double at_m,
    double depth_m,
    double length_m
) {
    if (!(spacing_m > 0.0) || elevation_m.empty()) {
        return;
    }
    // The samples under the pothole, clamped to the profile (a NaN fails the test below).
    const double first = std::max(std::ceil(at_m / spacing_m), 0.0);
    const double last = std::min(
        std::floor((at_m + length_m) / spacing_m), static_cast<double>(elevation_m.size() - 1)
    );
    if (!(first <= last)) {
        return;  // no sample under the pothole
    }
    for (auto index = static_cast<std::size_t>(first); index <= static_cast<std::size_t>(last);
         ++index) {
        elevation_m[index] -= depth_m;
    }
}

}  // namespace pavewatch::pipeline
