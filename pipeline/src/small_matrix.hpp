#pragma once

// Private helper of the science core: tiny dense matrices and the matrix exponential, used to
// discretise the linear vehicle models exactly (IRI Golden Car, quarter-car simulator).

#include <array>
#include <cmath>
#include <cstddef>

namespace pavewatch::pipeline::detail {

template <std::size_t N>
using Matrix = std::array<std::array<double, N>, N>;

template <std::size_t N>
Matrix<N> Identity() {
    Matrix<N> m{};
    for (std::size_t i = 0; i < N; ++i) {
        m[i][i] = 1.0;
    }
    return m;
}

template <std::size_t N>
Matrix<N> Multiply(const Matrix<N>& a, const Matrix<N>& b) {
    Matrix<N> c{};
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = 0; k < N; ++k) {
            for (std::size_t j = 0; j < N; ++j) {
                c[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    return c;
}

/// e^A by scaling and squaring with a Taylor series (Moler & Van Loan 2003, "Nineteen dubious
/// ways", method 3). Accurate to ~1e-15 for the well-scaled, small matrices used here.
template <std::size_t N>
Matrix<N> Expm(const Matrix<N>& a) {
    double norm = 0.0;
    for (std::size_t i = 0; i < N; ++i) {
        double row = 0.0;
        for (std::size_t j = 0; j < N; ++j) {
            row += std::abs(a[i][j]);
        }
        norm = norm > row ? norm : row;
    }
    int squarings = 0;
    if (norm > 0.5) {
        squarings = static_cast<int>(std::ceil(std::log2(norm / 0.5)));
    }
    const double scale = std::ldexp(1.0, -squarings);
    Matrix<N> scaled{};
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t j = 0; j < N; ++j) {
            scaled[i][j] = a[i][j] * scale;
        }
    }
    Matrix<N> result = Identity<N>();
    Matrix<N> term = Identity<N>();
    for (int k = 1; k <= 20; ++k) {
        term = Multiply(term, scaled);
        for (std::size_t i = 0; i < N; ++i) {
            for (std::size_t j = 0; j < N; ++j) {
                term[i][j] /= static_cast<double>(k);
                result[i][j] += term[i][j];
            }
        }
    }
    for (int s = 0; s < squarings; ++s) {
        result = Multiply(result, result);
    }
    return result;
}

}  // namespace pavewatch::pipeline::detail
