#pragma once

#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/model_config.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace pavewatch::pipeline {

/// FHWA ride-quality rating of an IRI (23 CFR 490.313(b)(1)); thresholds from RoughnessConfig.
enum class RoughnessClass { kGood, kFair, kPoor };
/// "good", "fair", "poor".
const char* ToString(RoughnessClass c);
RoughnessClass ClassifyIri(double iri_m_per_km, const RoughnessConfig& config);

/// The per-segment roughness as reported.
struct RoughnessSummary {
    double iri_m_per_km = 0.0;
    double confidence = 0.0;        ///< [0, 1], see RoughnessAggregate::Summary
    std::size_t vehicles = 0;       ///< distinct vehicles counted
    std::uint64_t traversals = 0;   ///< traversals behind them
    double speed_spread_mps = 0.0;  ///< std of the vehicles' mean speeds
    RoughnessClass roughness_class = RoughnessClass::kGood;
};

/// A segment's robust running IRI across vehicles.
///
/// Keeps one entry per distinct vehicle (at most aggregate_max_vehicles; when full the entry
/// updated longest ago is evicted, ties by key): the running mean of log(IRI), of the estimates'
/// confidence and of speed (a mean over the first aggregate_vehicle_window traversals, then an
/// EWMA with that window). The segment value is a weighted Huber M-estimate of location over the
/// vehicles' log-IRI (start: weighted median; scale: 1.4826 x weighted MAD, at least 0.05),
/// weights confidence x sqrt(traversals): one vehicle cannot outvote the others however often it
/// passes, and an outlying vehicle is down-weighted. Logs because estimator errors are
/// multiplicative (calibration factors). Deterministic: the same inputs in the same order give
/// bit-identical state. Owned by the segment's state; not thread-safe.
class RoughnessAggregate {
public:
    /// Upper bound of entries accepted by Decode, whatever the configuration.
    static constexpr std::size_t kMaxEntries = 1024;
    static constexpr std::uint8_t kVersion = 1;

    struct Entry {
        std::uint64_t vehicle_key = 0;
        EpochMs last_ms = 0;
        double mean_log_iri = 0.0;  ///< mean of ln(IRI in m/km)
        double mean_confidence = 0.0;
        double mean_speed_mps = 0.0;
        std::uint32_t traversals = 0;
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    /// Adds one traversal's estimate (iri > 0, confidence in [0, 1]); ignores invalid values.
    void Add(
        std::uint64_t vehicle_key,
        EpochMs t_ms,
        double iri_m_per_km,
        double confidence,
        double mean_speed_mps,
        const RoughnessConfig& config
    );

    /// The segment's estimate from entries not older than aggregate_max_age before `now_ms`
    /// (event time), or std::nullopt without any. Confidence = (1 - e^(-V / V0)) x
    /// (1 - e^(-T / T0)) x (0.75 + 0.25 min(1, spread / S0)) x mean entry confidence, with V
    /// vehicles, T traversals, spread the std of the vehicles' mean speeds (RoughnessConfig).
    std::optional<RoughnessSummary> Summary(EpochMs now_ms, const RoughnessConfig& config) const;

    const std::vector<Entry>& entries() const { return entries_; }

    /// Layout v1: u8 version, u16 count, count x {u64 key, i64 last_ms, f64 mean_log_iri,
    /// f64 mean_confidence, f64 mean_speed_mps, u32 traversals}; little-endian.
    void Encode(ByteWriter& out) const;
    static tl::expected<RoughnessAggregate, Error> Decode(ByteReader& in);

    friend bool operator==(const RoughnessAggregate&, const RoughnessAggregate&) = default;

private:
    std::vector<Entry> entries_;
};

}  // namespace pavewatch::pipeline
