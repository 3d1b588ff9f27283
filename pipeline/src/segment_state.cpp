#include "pavewatch/pipeline/segment_state.hpp"

#include "pavewatch/pipeline/bytes.hpp"
#include "stored_values.hpp"

#include <charconv>
#include <cmath>
#include <vector>

namespace pavewatch::pipeline {
namespace {

// Layout v2 (little-endian): u8 magic 0x5E, u8 version 2, u64 segment, u64 version,
// i64 first, i64 last, 7 x u64 counts, u64 iri_estimates, f64 iri_sum, f64 iri_sum_squares,
// u64 hazard_events, f64 hazard_peak_sum, u64 actions_refused, i32 open_day,
// f64 open_day_esal_start, then RoughnessAggregate, HazardTracker, StructuralState and
// DailyHistory, each in its own versioned layout.
constexpr std::uint8_t kStateMagic = 0x5E;
constexpr std::uint8_t kStateVersion = 2;

/// Closes the day of the latest observation into the history when an observation of a later
/// day arrives: one entry per day, computed once, from the state as it was at the day's end.
/// True when it added an entry.
bool RollDay(SegmentState& s, EpochMs t_ms, const ModelConfig& config) {
    const std::int32_t day = DayNumber(t_ms);
    bool closed = false;
    if (s.version > 0 && day > s.open_day) {
        const auto snapshot = Evaluate(s, config);
        if (snapshot.condition) {
            closed = true;
            s.history.Record(
                s.open_day,
                snapshot.roughness ? std::optional<double>(snapshot.roughness->iri_m_per_km)
                                   : std::nullopt,
                snapshot.condition->index,
                s.structural.esal_total - s.open_day_esal_start
            );
        }
        s.open_day = day;
        s.open_day_esal_start = s.structural.esal_total;
    } else if (s.version == 0) {
        s.open_day = day;
        s.open_day_esal_start = s.structural.esal_total;
    }
    return closed;
}

}  // namespace

bool Apply(SegmentState& s, const Observation& o, const ModelConfig& config) {
    const bool closed_day = RollDay(s, o.t_ms, config);
    if (s.version == 0) {
        s.segment = o.segment;
        s.first_event_ms = o.t_ms;
        s.last_event_ms = o.t_ms;
    }
    ++s.version;
    s.first_event_ms = std::min(s.first_event_ms, o.t_ms);
    s.last_event_ms = std::max(s.last_event_ms, o.t_ms);
    ++s.count_by_kind[static_cast<std::size_t>(o.kind()) - 1];
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, Traversal>) {
                if (body.iri_m_per_km >= 0.0F) {
                    ++s.iri_estimates;
                    s.iri_sum += body.iri_m_per_km;
                    s.iri_sum_squares += static_cast<double>(body.iri_m_per_km) * body.iri_m_per_km;
                    if (body.iri_m_per_km > 0.0F) {
                        s.roughness.Add(
                            body.vehicle_key,
                            o.t_ms,
                            body.iri_m_per_km,
                            body.confidence,
                            body.speed_mps,
                            config.roughness
                        );
                    }
                }
                s.hazards.OnPass(
                    {body.vehicle_key,
                     o.t_ms,
                     body.from_m,
                     body.to_m,
                     body.speed_mps,
                     body.sample_rate_hz},
                    config.hazard
                );
            } else if constexpr (std::is_same_v<T, HazardEvent>) {
                ++s.hazard_events;
                s.hazard_peak_sum_ms2 += body.peak_ms2;
                s.hazards.OnEvent(
                    {body.vehicle_key,
                     o.t_ms,
                     body.offset_m,
                     body.uncertainty_m,
                     body.peak_ms2,
                     body.speed_mps,
                     body.sample_rate_hz},
                    config.hazard
                );
            } else if constexpr (std::is_same_v<T, AxleLoads>) {
                std::array<double, RawLimits::kMaxAxles> loads{};
                std::array<double, RawLimits::kMaxAxles> spacings{};
                for (std::uint8_t i = 0; i < body.axles; ++i) {
                    loads[i] = body.load_kn[i];
                    if (i > 0) {
                        spacings[i - 1] = body.spacing_m[i];
                    }
                }
                const std::size_t n = body.axles;
                ApplyWeighInMotion(
                    s.structural,
                    o.t_ms,
                    std::span<const double>(loads.data(), n),
                    std::span<const double>(spacings.data(), n > 0 ? n - 1 : 0),
                    config.structural
                );
            } else if constexpr (std::is_same_v<T, StrainPasses>) {
                std::array<double, RawLimits::kMaxAxles> strain{};
                for (std::uint8_t i = 0; i < body.passes; ++i) {
                    strain[i] = body.microstrain[i];
                }
                ApplyStrain(
                    s.structural,
                    o.t_ms,
                    std::span<const double>(strain.data(), body.passes),
                    config.structural
                );
            } else if constexpr (std::is_same_v<T, PavementTemperature>) {
                ApplyTemperature(s.structural, o.t_ms, body.celsius, config.structural);
            } else if constexpr (std::is_same_v<T, SoilMoisture>) {
                ApplyMoisture(s.structural, o.t_ms, body.vwc_percent);
            } else if constexpr (std::is_same_v<T, HazardAction>) {
                HazardActionRequest request;
                request.hazard_id =
                    static_cast<std::uint32_t>(std::min<std::uint64_t>(body.hazard_id, UINT32_MAX));
                request.action = body.action == HazardActionKind::kAcknowledge
                                     ? ContractorAction::kAcknowledge
                                     : ContractorAction::kReportRepair;
                request.actor = body.actor;
                request.t_ms = o.t_ms;
                if (body.hazard_id > UINT32_MAX ||
                    s.hazards.OnAction(request, config.hazard) != ActionResult::kApplied) {
                    ++s.actions_refused;
                }
            }
        },
        o.body
    );
    return closed_day;
}

ConditionSnapshot Evaluate(const SegmentState& s, const ModelConfig& config) {
    ConditionSnapshot out;
    const EpochMs now = s.last_event_ms;
    out.roughness = s.roughness.Summary(now, config.roughness);
    out.open_hazards = s.hazards.CountOpen();
    const bool has_damage = s.structural.strain_peaks > 0;
    const int open = out.open_hazards.low + out.open_hazards.medium + out.open_hazards.high;
    if (out.roughness || open > 0 || has_damage) {
        ConditionInputs inputs;
        if (out.roughness) {
            inputs.iri_m_per_km = out.roughness->iri_m_per_km;
        }
        inputs.hazards = out.open_hazards;
        if (has_damage) {
            inputs.fatigue_damage = s.structural.fatigue_damage;
        }
        out.condition = ComputeCondition(inputs, config.condition);
        // The trend includes today's value beside the closed days. A copy per call (once per
        // changed segment per commit): reusing one buffer spares its allocation.
        thread_local DailyHistory with_today;
        with_today = s.history;
        with_today.Record(s.open_day, inputs.iri_m_per_km, out.condition->index, 0.0);
        out.trend_per_30d = with_today.TrendPer30Days(config.condition);
    }
    out.damage_rate_per_day = DamageRatePerDay(s.structural, now, config.structural);
    out.remaining_life_days = RemainingLifeDays(s.structural, now, config.structural);
    return out;
}

void EncodeState(const SegmentState& s, std::string& out) {
    ByteWriter w(out);
    w.PutU8(kStateMagic);
    w.PutU8(kStateVersion);
    w.Put(s.segment.value());
    w.Put(s.version);
    w.Put(s.first_event_ms);
    w.Put(s.last_event_ms);
    for (const auto c : s.count_by_kind) {
        w.Put(c);
    }
    w.Put(s.iri_estimates);
    w.Put(s.iri_sum);
    w.Put(s.iri_sum_squares);
    w.Put(s.hazard_events);
    w.Put(s.hazard_peak_sum_ms2);
    w.Put(s.actions_refused);
    w.Put(s.open_day);
    w.Put(s.open_day_esal_start);
    s.roughness.Encode(w);
    s.hazards.Encode(w);
    s.structural.Encode(w);
    s.history.Encode(w);
}

std::string EncodeState(const SegmentState& s) {
    std::string out;
    out.reserve(256);
    EncodeState(s, out);
    return out;
}

tl::expected<SegmentState, Error> DecodeState(std::string_view bytes) {
    ByteReader r(bytes);
    if (r.GetU8() != kStateMagic) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed, "state", "not a segment state (bad magic byte)"});
    }
    if (r.GetU8() != kStateVersion) {
        return tl::unexpected(Error{
            ErrorCode::kUnsupportedVersion, "state", "unknown state version"});
    }
    SegmentState s;
    s.segment = SegmentId{r.Get<std::uint64_t>()};
    s.version = r.Get<std::uint64_t>();
    s.first_event_ms = r.Get<std::int64_t>();
    s.last_event_ms = r.Get<std::int64_t>();
    for (auto& c : s.count_by_kind) {
        c = r.Get<std::uint64_t>();
    }
    s.iri_estimates = r.Get<std::uint64_t>();
    s.iri_sum = r.Get<double>();
    s.iri_sum_squares = r.Get<double>();
    s.hazard_events = r.Get<std::uint64_t>();
    s.hazard_peak_sum_ms2 = r.Get<double>();
    s.actions_refused = r.Get<std::uint64_t>();
    s.open_day = r.Get<std::int32_t>();
    s.open_day_esal_start = r.Get<double>();
    if (!r.ok()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "state", "truncated"});
    }
    bool counts = detail::StoredCount(s.version) && detail::StoredCount(s.iri_estimates) &&
                  detail::StoredCount(s.hazard_events) && detail::StoredCount(s.actions_refused);
    for (const auto c : s.count_by_kind) {
        counts = counts && detail::StoredCount(c);
    }
    if (!counts || !detail::StoredTime(s.first_event_ms) || !detail::StoredTime(s.last_event_ms) ||
        !detail::StoredDay(s.open_day) || !detail::StoredNumber(s.iri_sum) ||
        !detail::StoredNumber(s.iri_sum_squares) || !detail::StoredNumber(s.hazard_peak_sum_ms2) ||
        !detail::StoredNumber(s.open_day_esal_start)) {
        return tl::unexpected(Error{
            ErrorCode::kOutOfRange, "state", "a time or figure out of range"});
    }
    auto roughness = RoughnessAggregate::Decode(r);
    if (!roughness) {
        return tl::unexpected(roughness.error());
    }
    s.roughness = std::move(*roughness);
    auto hazards = HazardTracker::Decode(r);
    if (!hazards) {
        return tl::unexpected(hazards.error());
    }
    s.hazards = std::move(*hazards);
    auto structural = StructuralState::Decode(r);
    if (!structural) {
        return tl::unexpected(structural.error());
    }
    s.structural = *structural;
    auto history = DailyHistory::Decode(r);
    if (!history) {
        return tl::unexpected(history.error());
    }
    s.history = std::move(*history);
    if (!r.ok() || !r.AtEnd()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "state", "truncated or trailing bytes"});
    }
    return s;
}

std::string EncodePositions(const InputPositions& positions) {
    return "observations=" + std::to_string(positions.observations) +
           ",actions=" + std::to_string(positions.actions);
}

namespace {

/// The value of `text` when it is exactly `name=<integer >= -1>`.
std::optional<std::int64_t> PositionField(std::string_view text, std::string_view name) {
    if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != '=') {
        return std::nullopt;
    }
    text.remove_prefix(name.size() + 1);
    std::int64_t value = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || value < -1) {
        return std::nullopt;
    }
    // Only the form EncodePositions writes: no "-0", no leading zeros.
    if (std::to_string(value) != text) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<InputPositions> DecodePositions(std::string_view bytes) {
    const auto comma = bytes.find(',');
    if (comma == std::string_view::npos) {
        return std::nullopt;
    }
    const auto observations = PositionField(bytes.substr(0, comma), "observations");
    const auto actions = PositionField(bytes.substr(comma + 1), "actions");
    if (!observations || !actions) {
        return std::nullopt;
    }
    return InputPositions{*observations, *actions};
}

}  // namespace pavewatch::pipeline
