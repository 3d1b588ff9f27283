#pragma once

#include <span>
#include <vector>

namespace pavewatch::pipeline {

/// A value with a non-negative weight.
struct WeightedValue {
    double x = 0.0;
    double w = 0.0;
};

/// Weighted median of values sorted by x (not empty): the smallest x whose cumulative weight
/// reaches half the total. Tied values give the same x in any order among themselves.
double WeightedMedianOfSorted(std::span<const WeightedValue> sorted);

/// Weighted median of the absolute deviations |x - median| of values sorted by x (not empty),
/// in O(n): those below the median, read backwards, and those from it on are each already in
/// order of deviation, so one merge sorts them (into `scratch`, reused by the caller).
double WeightedMedianDeviation(
    std::span<const WeightedValue> sorted,
    double median,
    std::vector<WeightedValue>& scratch
);

/// Huber's M-estimate of location for a fixed scale (> 0) and tuning constant k (> 0): a root
/// of f(mu) = sum w psi((x - mu) / scale), psi(r) = clamp(r, -k, k), searched from `start`.
/// Values not empty, total weight > 0.
///
/// f is continuous, piecewise linear and non-increasing, so on the set of values inside the
/// band |r| <= k (the others contributing w k sign(r)) the root is exact:
/// mu = (sum_in w x + scale sum_out w k sign(r)) / sum_in w. Each step solves for the current
/// set (a Newton step); when a step lands where the set is the same, the next step gives the
/// same value bit for bit and the root is found, in one to four steps from a median start.
/// When no value lies in the band (a start far from the values), or the steps do not settle,
/// bisection between the smallest and the largest value, where f changes sign, finishes the
/// work to the last bit. (Reweighted least squares, tried first for this, can stall far from
/// the root within any fixed number of iterations: the unit tests caught it.)
/// Where f is zero on a whole interval (a gap between values wider than 2 k scale) any point of
/// it is a root; which one is returned depends on `start`.
double HuberLocation(std::span<const WeightedValue> values, double start, double scale, double k);

}  // namespace pavewatch::pipeline
