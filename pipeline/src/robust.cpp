#include "pavewatch/pipeline/robust.hpp"

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {

double WeightedMedianOfSorted(std::span<const WeightedValue> sorted) {
    double total = 0.0;
    for (const auto& e : sorted) {
        total += e.w;
    }
    double acc = 0.0;
    for (const auto& e : sorted) {
        acc += e.w;
        if (acc >= 0.5 * total) {
            return e.x;
        }
    }
    return sorted.back().x;
}

double WeightedMedianDeviation(
    std::span<const WeightedValue> sorted,
    double median,
    std::vector<WeightedValue>& scratch
) {
    scratch.clear();
    const auto split = std::partition_point(
        sorted.begin(), sorted.end(), [&](const WeightedValue& e) { return e.x < median; }
    );
    auto below = split;  // walks down from the split
    auto above = split;  // walks up from it
    while (below != sorted.begin() || above != sorted.end()) {
        if (above == sorted.end() ||
            (below != sorted.begin() && median - (below - 1)->x <= above->x - median)) {
            --below;
            scratch.push_back({median - below->x, below->w});
        } else {
            scratch.push_back({above->x - median, above->w});
            ++above;
        }
    }
    return WeightedMedianOfSorted(scratch);
}

double HuberLocation(std::span<const WeightedValue> values, double start, double scale, double k) {
    double mu = start;
    for (int step = 0; step < 16; ++step) {
        double in_w = 0.0;
        double in_wx = 0.0;
        double out = 0.0;
        for (const auto& v : values) {
            const double r = (v.x - mu) / scale;
            if (std::abs(r) <= k) {
                in_w += v.w;
                in_wx += v.w * v.x;
            } else {
                out += v.w * (r > 0.0 ? k : -k);
            }
        }
        if (!(in_w > 0.0)) {
            break;  // every value outside the band: no linear piece to solve on
        }
        const double next = (in_wx + scale * out) / in_w;
        if (next == mu) {
            return mu;
        }
        mu = next;
    }
    // f(min x) >= 0 >= f(max x): bisection keeps a root inside [lo, hi] until the two are
    // adjacent doubles.
    const auto [first, last] = std::minmax_element(
        values.begin(),
        values.end(),
        [](const WeightedValue& a, const WeightedValue& b) { return a.x < b.x; }
    );
    double lo = first->x;
    double hi = last->x;
    for (int iter = 0; iter < 2100; ++iter) {  // 2100 halvings span any two finite doubles
        const double mid = lo + 0.5 * (hi - lo);
        if (!(mid > lo && mid < hi)) {
            break;
        }
        double f = 0.0;
        for (const auto& v : values) {
            f += v.w * std::clamp((v.x - mid) / scale, -k, k);
        }
        if (f > 0.0) {
            lo = mid;
        } else if (f < 0.0) {
            hi = mid;
        } else {
            return mid;
        }
    }
    return lo + 0.5 * (hi - lo);
}

}  // namespace pavewatch::pipeline
