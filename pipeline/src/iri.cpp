#include "pavewatch/pipeline/iri.hpp"

#include "small_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pavewatch::pipeline {

double ReferenceIriMPerKm(std::span<const double> elevation_m, double spacing_m) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (!(spacing_m > 0.0)) {
        return nan;
    }
    const std::size_t base =
        spacing_m < kIriBaseLengthM
            ? std::max<std::size_t>(1, std::lround(kIriBaseLengthM / spacing_m))
            : 1;
    const std::size_t n = elevation_m.size();
    if (n < base + 2) {
        return nan;
    }
    const double base_length_m = static_cast<double>(base) * spacing_m;

    // State x = [zs', zs'' , zu', zu''] / V (derivatives along the road) driven by the slope.
    // Augmented [[A, B], [0, 0]] * dt gives the transition matrix and the input vector at once.
    detail::Matrix<5> aug{};
    aug[0][1] = 1.0;
    aug[1][0] = -kGoldenCarK2;
    aug[1][1] = -kGoldenCarC;
    aug[1][2] = kGoldenCarK2;
    aug[1][3] = kGoldenCarC;
    aug[2][3] = 1.0;
    aug[3][0] = kGoldenCarK2 / kGoldenCarMu;
    aug[3][1] = kGoldenCarC / kGoldenCarMu;
    aug[3][2] = -(kGoldenCarK1 + kGoldenCarK2) / kGoldenCarMu;
    aug[3][3] = -kGoldenCarC / kGoldenCarMu;
    aug[3][4] = kGoldenCarK1 / kGoldenCarMu;
    const double dt = spacing_m / kIriSpeedMps;
    for (auto& row : aug) {
        for (double& v : row) {
            v *= dt;
        }
    }
    const detail::Matrix<5> e = detail::Expm(aug);

    // Initialisation: the slope over the first 11 m (or the whole profile when shorter), over
    // one interval at least (a spacing above 22 m rounds 11 m to none: 0 / 0).
    const std::size_t init = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::lround(kIriInitLengthM / spacing_m)), 1, n - 1
    );
    const double init_slope =
        (elevation_m[init] - elevation_m[0]) / (static_cast<double>(init) * spacing_m);
    double z[4] = {init_slope, 0.0, init_slope, 0.0};

    double sum = 0.0;
    const std::size_t steps = n - base;
    for (std::size_t i = 0; i < steps; ++i) {
        const double slope = (elevation_m[i + base] - elevation_m[i]) / base_length_m;
        double next[4];
        for (int r = 0; r < 4; ++r) {
            next[r] =
                e[r][0] * z[0] + e[r][1] * z[1] + e[r][2] * z[2] + e[r][3] * z[3] + e[r][4] * slope;
        }
        std::copy(next, next + 4, z);
        sum += std::abs(z[0] - z[2]);
    }
    return 1000.0 * sum / static_cast<double>(steps);
}

}  // namespace pavewatch::pipeline
