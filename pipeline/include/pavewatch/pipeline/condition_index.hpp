#pragma once

#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/hazard_tracker.hpp"
#include "pavewatch/pipeline/model_config.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pavewatch::pipeline {

/// The ASTM D6433 PCI rating scale: good 86-100, satisfactory 71-85, fair 56-70, poor 41-55,
/// very poor 26-40, serious 11-25, failed 0-10.
enum class PciClass { kGood, kSatisfactory, kFair, kPoor, kVeryPoor, kSerious, kFailed };
/// "good", "satisfactory", "fair", "poor", "very_poor", "serious", "failed".
const char* ToString(PciClass c);
std::optional<PciClass> PciClassFromString(std::string_view text);
/// Class of an index in [0, 100], rounded as records write it (one decimal) and then to the
/// nearest integer: a reader that classes the written index gets the writer's class (85.46 is
/// written 85.5, and is good).
PciClass ClassifyPci(double index);

/// What the index is computed from; a missing part contributes no deduct.
struct ConditionInputs {
    std::optional<double> iri_m_per_km;    ///< segment roughness
    OpenHazardCounts hazards;              ///< open confirmed hazards by severity
    std::optional<double> fatigue_damage;  ///< Miner sum (structural sensors only)
};

struct ConditionResult {
    double index = 100.0;  ///< 0-100
    PciClass pci_class = PciClass::kGood;
    double roughness_deduct = 0.0;   ///< points
    double hazard_deduct = 0.0;      ///< points, the hazards combined among themselves
    double structural_deduct = 0.0;  ///< points
};

/// index = 100 x prod(1 - d_i / 100) over the deducts d_i: roughness (iri_deduct curve),
/// one per open hazard (by severity), structural (damage_deduct curve). The product keeps the
/// total within 0-100 and makes each further deduct count less, as PCI's corrected deduct
/// value does. Pure.
ConditionResult ComputeCondition(const ConditionInputs& inputs, const ConditionConfig& config);

/// Day number of an event time: floor(ms / 86 400 000) (UTC days since 1970-01-01).
std::int32_t DayNumber(EpochMs t_ms);

/// A segment's condition per day, the newest kMaxDays days with data.
///
/// Record() overwrites the entry of its day (the latest value of the day wins) or inserts it in
/// day order; the oldest days fall out. Not thread-safe; a plain value.
class DailyHistory {
public:
    static constexpr std::size_t kMaxDays = 90;
    static constexpr std::uint8_t kVersion = 1;

    struct Entry {
        std::int32_t day = 0;
        std::optional<double> iri_m_per_km;
        double index = 100.0;
        double esal = 0.0;  ///< ESAL of that day
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    void Record(std::int32_t day, std::optional<double> iri_m_per_km, double index, double esal);

    /// Least-squares slope of the index over the newest trend_window_days, x 30: index points
    /// per 30 days (negative = deteriorating). std::nullopt with fewer than 2 days or a span
    /// below trend_min_span_days.
    std::optional<double> TrendPer30Days(const ConditionConfig& config) const;

    const std::vector<Entry>& entries() const { return entries_; }

    /// Layout v1 (little-endian): u8 version, u8 count, count x {i32 day, u8 has_iri, f64 iri,
    /// f64 index, f64 esal}.
    void Encode(ByteWriter& out) const;
    static tl::expected<DailyHistory, Error> Decode(ByteReader& in);

    friend bool operator==(const DailyHistory&, const DailyHistory&) = default;

private:
    std::vector<Entry> entries_;  ///< ascending day
};

}  // namespace pavewatch::pipeline
