#include "pavewatch/pipeline/roughness_aggregate.hpp"

#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/robust.hpp"
#include "stored_values.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace pavewatch::pipeline {

const char* ToString(RoughnessClass c) {
    switch (c) {
        case RoughnessClass::kGood:
            return "good";
        case RoughnessClass::kFair:
            return "fair";
        case RoughnessClass::kPoor:
            return "poor";
    }
    return "good";
}

RoughnessClass ClassifyIri(double iri_m_per_km, const RoughnessConfig& config) {
    if (iri_m_per_km < config.good_below_m_per_km) {
        return RoughnessClass::kGood;
    }
    if (iri_m_per_km > config.poor_above_m_per_km) {
        return RoughnessClass::kPoor;
    }
    return RoughnessClass::kFair;
}

void RoughnessAggregate::Add(
    std::uint64_t vehicle_key,
    EpochMs t_ms,
    double iri_m_per_km,
    double confidence,
    double mean_speed_mps,
    const RoughnessConfig& config
) {
    if (!(iri_m_per_km > 0.0) || !std::isfinite(iri_m_per_km) || !(confidence >= 0.0) ||
        confidence > 1.0 || !std::isfinite(mean_speed_mps)) {
        return;
    }
    const auto by_key = [](const Entry& a, std::uint64_t k) { return a.vehicle_key < k; };
    auto it = std::lower_bound(entries_.begin(), entries_.end(), vehicle_key, by_key);
    if (it == entries_.end() || it->vehicle_key != vehicle_key) {
        const auto capacity = static_cast<std::size_t>(
            std::clamp<int>(config.aggregate_max_vehicles, 1, static_cast<int>(kMaxEntries))
        );
        while (entries_.size() >= capacity) {
            const auto oldest = std::min_element(
                entries_.begin(),
                entries_.end(),
                [](const Entry& a, const Entry& b) {
                    return a.last_ms != b.last_ms ? a.last_ms < b.last_ms
                                                  : a.vehicle_key < b.vehicle_key;
                }
            );
            entries_.erase(oldest);
        }
        Entry e;
        e.vehicle_key = vehicle_key;
        // Keep entries sorted by key: the order (and so every sum) does not depend on arrival.
        it = entries_.insert(
            std::lower_bound(entries_.begin(), entries_.end(), vehicle_key, by_key), e
        );
    }
    Entry& e = *it;
    const double window = std::max(1, config.aggregate_vehicle_window);
    e.traversals += 1;
    const double alpha = 1.0 / std::min(static_cast<double>(e.traversals), window);
    e.mean_log_iri += alpha * (std::log(iri_m_per_km) - e.mean_log_iri);
    e.mean_confidence += alpha * (confidence - e.mean_confidence);
    e.mean_speed_mps += alpha * (mean_speed_mps - e.mean_speed_mps);
    e.last_ms = std::max(e.last_ms, t_ms);
}

std::optional<RoughnessSummary>
RoughnessAggregate::Summary(EpochMs now_ms, const RoughnessConfig& config) const {
    const auto max_age_ms = static_cast<EpochMs>(config.aggregate_max_age.count() * 86400000.0);
    // Buffers reused across calls (once per changed segment per commit): no allocation each.
    thread_local std::vector<WeightedValue> values;
    thread_local std::vector<WeightedValue> sorted;
    thread_local std::vector<WeightedValue> deviations;
    values.clear();
    std::uint64_t traversals = 0;
    double sum_conf = 0.0;
    double sum_speed = 0.0;
    double sum_speed2 = 0.0;
    const double window = std::max(1, config.aggregate_vehicle_window);
    for (const Entry& e : entries_) {
        if (now_ms - e.last_ms > max_age_ms) {
            continue;
        }
        const double n = std::min(static_cast<double>(e.traversals), window);
        values.push_back({e.mean_log_iri, std::max(1e-3, e.mean_confidence) * std::sqrt(n)});
        traversals += e.traversals;
        sum_conf += e.mean_confidence;
        sum_speed += e.mean_speed_mps;
        sum_speed2 += e.mean_speed_mps * e.mean_speed_mps;
    }
    if (values.empty()) {
        return std::nullopt;
    }
    sorted.assign(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end(), [](const WeightedValue& a, const WeightedValue& b) {
        return a.x < b.x;
    });
    const double median = WeightedMedianOfSorted(sorted);
    const double scale =
        std::max(0.05, 1.4826 * WeightedMedianDeviation(sorted, median, deviations));
    const double k = config.aggregate_huber_k > 0.0 ? config.aggregate_huber_k : 1.345;
    const double mu = HuberLocation(values, median, scale, k);
    RoughnessSummary s;
    const auto n = static_cast<double>(values.size());
    s.iri_m_per_km = std::exp(mu);
    s.vehicles = values.size();
    s.traversals = traversals;
    const double mean_speed = sum_speed / n;
    s.speed_spread_mps = std::sqrt(std::max(0.0, sum_speed2 / n - mean_speed * mean_speed));
    const double v0 = std::max(1e-9, config.aggregate_confidence_vehicles);
    const double t0 = std::max(1e-9, config.aggregate_confidence_traversals);
    const double s0 = std::max(1e-9, config.aggregate_confidence_speed_spread_mps);
    s.confidence = (1.0 - std::exp(-n / v0)) *
                   (1.0 - std::exp(-static_cast<double>(traversals) / t0)) *
                   (0.75 + 0.25 * std::min(1.0, s.speed_spread_mps / s0)) * (sum_conf / n);
    s.confidence = std::clamp(s.confidence, 0.0, 1.0);
    s.roughness_class = ClassifyIri(s.iri_m_per_km, config);
    return s;
}

void RoughnessAggregate::Encode(ByteWriter& out) const {
    out.PutU8(kVersion);
    out.Put(static_cast<std::uint16_t>(entries_.size()));
    for (const Entry& e : entries_) {
        out.Put(e.vehicle_key);
        out.Put(e.last_ms);
        out.Put(e.mean_log_iri);
        out.Put(e.mean_confidence);
        out.Put(e.mean_speed_mps);
        out.Put(e.traversals);
    }
}

tl::expected<RoughnessAggregate, Error> RoughnessAggregate::Decode(ByteReader& in) {
    const std::uint8_t version = in.GetU8();
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "roughness", "truncated"});
    }
    if (version != kVersion) {
        return tl::unexpected(Error{
            ErrorCode::kUnsupportedVersion,
            "roughness.version",
            "unknown version " + std::to_string(version)});
    }
    const std::size_t count = in.Get<std::uint16_t>();
    if (count > kMaxEntries) {
        return tl::unexpected(Error{ErrorCode::kOutOfRange, "roughness.count", "too many entries"});
    }
    RoughnessAggregate a;
    a.entries_.resize(count);
    for (Entry& e : a.entries_) {
        e.vehicle_key = in.Get<std::uint64_t>();
        e.last_ms = in.Get<EpochMs>();
        e.mean_log_iri = in.Get<double>();
        e.mean_confidence = in.Get<double>();
        e.mean_speed_mps = in.Get<double>();
        e.traversals = in.Get<std::uint32_t>();
    }
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "roughness", "truncated"});
    }
    // Running means of what Add takes: the log of a positive float IRI of at most the
    // observations' limit, a confidence in [0, 1] (a rounding's worth of slack each).
    constexpr double kSlack = 1e-9;
    static const double kMinLogIri = std::log(static_cast<double>(FLT_TRUE_MIN)) - kSlack;
    static const double kMaxLogIri = std::log(ObservationLimits::kMaxIriMPerKm) + kSlack;
    for (const Entry& e : a.entries_) {
        if (!detail::StoredTime(e.last_ms) || !(e.mean_log_iri >= kMinLogIri) ||
            !(e.mean_log_iri <= kMaxLogIri) || !(e.mean_confidence >= -kSlack) ||
            !(e.mean_confidence <= 1 + kSlack) || !detail::StoredNumber(e.mean_speed_mps)) {
            return tl::unexpected(Error{
                ErrorCode::kOutOfRange, "roughness.entries", "a time or figure out of range"});
        }
    }
    for (std::size_t i = 1; i < a.entries_.size(); ++i) {
        if (a.entries_[i - 1].vehicle_key >= a.entries_[i].vehicle_key) {
            return tl::unexpected(Error{
                ErrorCode::kInconsistent, "roughness.entries", "keys not ascending"});
        }
    }
    return a;
}

}  // namespace pavewatch::pipeline
