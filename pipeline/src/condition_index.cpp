#include "pavewatch/pipeline/condition_index.hpp"

#include "stored_values.hpp"

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {

namespace {
constexpr PciClass kAllPciClasses[] = {
    PciClass::kGood,
    PciClass::kSatisfactory,
    PciClass::kFair,
    PciClass::kPoor,
    PciClass::kVeryPoor,
    PciClass::kSerious,
    PciClass::kFailed};
}

const char* ToString(PciClass c) {
    switch (c) {
        case PciClass::kGood:
            return "good";
        case PciClass::kSatisfactory:
            return "satisfactory";
        case PciClass::kFair:
            return "fair";
        case PciClass::kPoor:
            return "poor";
        case PciClass::kVeryPoor:
            return "very_poor";
        case PciClass::kSerious:
            return "serious";
        case PciClass::kFailed:
            return "failed";
    }
    return "failed";
}

std::optional<PciClass> PciClassFromString(std::string_view text) {
    for (const PciClass c : kAllPciClasses) {
        if (text == ToString(c)) {
            return c;
        }
    }
    return std::nullopt;
}

PciClass ClassifyPci(double index) {
    // The tenth first, as JsonWriter::Decimal(index, 1) writes it: the class of what a record
    // shows, whoever reads it.
    const double r = std::round(std::round(std::clamp(index, 0.0, 100.0) * 10.0) / 10.0);
    if (r >= 86) {
        return PciClass::kGood;
    }
    if (r >= 71) {
        return PciClass::kSatisfactory;
    }
    if (r >= 56) {
        return PciClass::kFair;
    }
    if (r >= 41) {
        return PciClass::kPoor;
    }
    if (r >= 26) {
        return PciClass::kVeryPoor;
    }
    if (r >= 11) {
        return PciClass::kSerious;
    }
    return PciClass::kFailed;
}

ConditionResult ComputeCondition(const ConditionInputs& inputs, const ConditionConfig& config) {
    ConditionResult r;
    auto clamp100 = [](double d) { return std::clamp(d, 0.0, 100.0); };
    if (inputs.iri_m_per_km && std::isfinite(*inputs.iri_m_per_km)) {
        r.roughness_deduct = clamp100(InterpolateCurve(config.iri_deduct, *inputs.iri_m_per_km));
    }
    double hazard_keep = 1.0;
    const auto apply = [&](int count, double deduct) {
        for (int i = 0; i < count; ++i) {
            hazard_keep *= 1.0 - clamp100(deduct) / 100.0;
        }
    };
    apply(inputs.hazards.low, config.hazard_low_deduct);
    apply(inputs.hazards.medium, config.hazard_medium_deduct);
    apply(inputs.hazards.high, config.hazard_high_deduct);
    r.hazard_deduct = 100.0 * (1.0 - hazard_keep);
    if (inputs.fatigue_damage && std::isfinite(*inputs.fatigue_damage)) {
        r.structural_deduct =
            clamp100(InterpolateCurve(config.damage_deduct, *inputs.fatigue_damage));
    }
    r.index = 100.0 * (1.0 - r.roughness_deduct / 100.0) * hazard_keep *
              (1.0 - r.structural_deduct / 100.0);
    r.index = std::clamp(r.index, 0.0, 100.0);
    r.pci_class = ClassifyPci(r.index);
    return r;
}

std::int32_t DayNumber(EpochMs t_ms) {
    constexpr EpochMs kDay = 86400000;
    const EpochMs q = t_ms / kDay;
    return static_cast<std::int32_t>((t_ms % kDay != 0 && t_ms < 0) ? q - 1 : q);
}

void DailyHistory::Record(
    std::int32_t day,
    std::optional<double> iri_m_per_km,
    double index,
    double esal
) {
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), day, [](const Entry& e, std::int32_t d) {
            return e.day < d;
        });
    if (it != entries_.end() && it->day == day) {
        it->iri_m_per_km = iri_m_per_km;
        it->index = index;
        it->esal = esal;
        return;
    }
    if (entries_.size() >= kMaxDays && it == entries_.begin()) {
        return;  // older than everything kept, and no room
    }
    entries_.insert(it, Entry{day, iri_m_per_km, index, esal});
    if (entries_.size() > kMaxDays) {
        entries_.erase(entries_.begin());
    }
}

std::optional<double> DailyHistory::TrendPer30Days(const ConditionConfig& config) const {
    if (entries_.size() < 2) {
        return std::nullopt;
    }
    const std::int32_t newest = entries_.back().day;
    const std::int32_t oldest_allowed = newest - std::max(1, config.trend_window_days) + 1;
    double sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
    double n = 0.0;
    std::int32_t first = newest;
    for (const Entry& e : entries_) {
        if (e.day < oldest_allowed) {
            continue;
        }
        first = std::min(first, e.day);
        const double x = e.day - newest;  // small numbers: no cancellation
        sx += x;
        sy += e.index;
        sxx += x * x;
        sxy += x * e.index;
        n += 1.0;
    }
    if (n < 2.0 || static_cast<double>(newest - first) < config.trend_min_span_days) {
        return std::nullopt;
    }
    const double denom = n * sxx - sx * sx;
    if (!(denom > 0.0)) {
        return std::nullopt;
    }
    return 30.0 * (n * sxy - sx * sy) / denom;
}

void DailyHistory::Encode(ByteWriter& out) const {
    out.PutU8(kVersion);
    out.PutU8(static_cast<std::uint8_t>(entries_.size()));
    for (const Entry& e : entries_) {
        out.Put(e.day);
        out.PutU8(e.iri_m_per_km ? 1 : 0);
        out.Put(e.iri_m_per_km.value_or(0.0));
        out.Put(e.index);
        out.Put(e.esal);
    }
}

tl::expected<DailyHistory, Error> DailyHistory::Decode(ByteReader& in) {
    const std::uint8_t version = in.GetU8();
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "history", "truncated"});
    }
    if (version != kVersion) {
        return tl::unexpected(Error{
            ErrorCode::kUnsupportedVersion, "history.version", "unknown version"});
    }
    const std::size_t count = in.GetU8();
    if (count > kMaxDays) {
        return tl::unexpected(Error{ErrorCode::kOutOfRange, "history.count", "more than 90 days"});
    }
    DailyHistory h;
    bool ok = true;
    for (std::size_t i = 0; i < count && in.ok(); ++i) {
        Entry e;
        e.day = in.Get<std::int32_t>();
        const std::uint8_t has_iri = in.GetU8();
        const auto iri = in.Get<double>();
        e.index = in.Get<double>();
        e.esal = in.Get<double>();
        if (has_iri > 1 || (!h.entries_.empty() && h.entries_.back().day >= e.day) ||
            !detail::StoredDay(e.day) || !detail::StoredNumber(iri) ||
            !detail::StoredNumber(e.index) || !detail::StoredNumber(e.esal)) {
            ok = false;
        }
        if (has_iri == 1) {
            e.iri_m_per_km = iri;
        }
        h.entries_.push_back(e);
    }
    if (!in.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "history", "truncated"});
    }
    if (!ok) {
        return tl::unexpected(Error{
            ErrorCode::kInconsistent, "history", "days not ascending or bad flag"});
    }
    return h;
}

}  // namespace pavewatch::pipeline
