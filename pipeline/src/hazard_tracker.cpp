#include "pavewatch/pipeline/hazard_tracker.hpp"

#include "json_fields.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "stored_values.hpp"

#include <algorithm>
#include <cmath>

namespace pavewatch::pipeline {
namespace {

constexpr double kMinUncertaintyM = 0.1;
constexpr std::size_t kMaxActorBytes = 64;

bool IsFinal(HazardStatus s) {
    return s == HazardStatus::kResolved || s == HazardStatus::kVerified;
}

/// A device's passes and detections count as evidence of the detection ratio (and its passes as
/// clean) only at or above pass_min_rate_hz; an unknown rate (0) counts.
bool RateCounts(double sample_rate_hz, const HazardConfig& config) {
    return !(sample_rate_hz > 0.0 && sample_rate_hz < config.pass_min_rate_hz);
}

EpochMs DaysToMs(Days d) {
    return static_cast<EpochMs>(d.count() * 86400000.0);
}

/// Clean passes that resolve a confirmed hazard: enough that a pothole still there would
/// most likely have been detected by one of them (HazardConfig::resolve_miss_probability).
int CleanPassesToResolve(const Hazard& h, const HazardConfig& config) {
    const int least = std::max(1, config.resolve_clean_passes);
    if (!(config.resolve_miss_probability > 0.0)) {
        return least;
    }
    const auto most = static_cast<int>(Hazard::kMaxClean);
    const double rate = std::min(
        0.99,
        static_cast<double>(h.counted_detections) /
            static_cast<double>(std::max<std::uint32_t>(1, h.passes))
    );
    if (!(rate > 0.0)) {
        return std::max(least, most);
    }
    const double needed = std::log(config.resolve_miss_probability) / std::log(1.0 - rate);
    return std::max(least, std::min(most, static_cast<int>(std::ceil(needed - 1e-9))));
}

void UpdateSeverity(Hazard& h, const HazardConfig& config) {
    const double peak = h.median_peak();
    h.severity = peak >= config.high_peak_mps2     ? HazardSeverity::kHigh
                 : peak >= config.medium_peak_mps2 ? HazardSeverity::kMedium
                                                   : HazardSeverity::kLow;
}

void PutOptional(ByteWriter& out, const std::optional<EpochMs>& v) {
    out.PutU8(v ? 1 : 0);
    out.Put(v.value_or(0));
}

std::optional<EpochMs> GetOptional(ByteReader& in, bool& ok) {
    const std::uint8_t present = in.GetU8();
    const auto value = in.Get<EpochMs>();
    if (present > 1) {
        ok = false;
    }
    return present == 1 ? std::optional<EpochMs>(value) : std::nullopt;
}

}  // namespace

const char* ToString(HazardStatus s) {
    switch (s) {
        case HazardStatus::kCandidate:
            return "candidate";
        case HazardStatus::kConfirmed:
            return "confirmed";
        case HazardStatus::kAcknowledged:
            return "acknowledged";
        case HazardStatus::kRepairReported:
            return "repair_reported";
        case HazardStatus::kVerified:
            return "verified";
        case HazardStatus::kDisputed:
            return "disputed";
        case HazardStatus::kResolved:
            return "resolved";
    }
    return "candidate";
}

const char* ToString(HazardSeverity s) {
    switch (s) {
        case HazardSeverity::kLow:
            return "low";
        case HazardSeverity::kMedium:
            return "medium";
        case HazardSeverity::kHigh:
            return "high";
    }
    return "low";
}

const char* ToString(ContractorAction a) {
    return a == ContractorAction::kAcknowledge ? "acknowledge" : "report_repair";
}

std::optional<ContractorAction> ContractorActionFromString(std::string_view text) {
    if (text == "acknowledge") {
        return ContractorAction::kAcknowledge;
    }
    if (text == "report_repair") {
        return ContractorAction::kReportRepair;
    }
    return std::nullopt;
}

bool IsOpen(HazardStatus s) {
    return s == HazardStatus::kConfirmed || s == HazardStatus::kAcknowledged ||
           s == HazardStatus::kRepairReported || s == HazardStatus::kDisputed;
}

double Hazard::uncertainty_m() const {
    return weight_sum > 0.0 ? 1.0 / std::sqrt(weight_sum) : 0.0;
}

double Hazard::median_peak() const {
    if (recent.empty()) {
        return 0.0;
    }
    std::vector<double> peaks;
    peaks.reserve(recent.size());
    for (const auto& d : recent) {
        peaks.push_back(d.peak);
    }
    std::sort(peaks.begin(), peaks.end());
    const std::size_t m = peaks.size() / 2;
    return peaks.size() % 2 == 1 ? peaks[m] : 0.5 * (peaks[m - 1] + peaks[m]);
}

void HazardTracker::Expire(EpochMs now_ms, const HazardConfig& config) {
    const EpochMs ttl = DaysToMs(config.candidate_ttl);
    std::erase_if(hazards_, [&](const Hazard& h) {
        return h.status == HazardStatus::kCandidate && now_ms - h.last_detection_ms > ttl;
    });
}

bool HazardTracker::MakeRoom(const HazardConfig& config) {
    const auto max_hazards = static_cast<std::size_t>(std::max(1, config.max_hazards));
    const auto max_candidates = static_cast<std::size_t>(
        std::clamp(config.max_candidates, 1, std::max(1, config.max_hazards))
    );
    auto oldest = [&](auto predicate) {
        auto best = hazards_.end();
        for (auto it = hazards_.begin(); it != hazards_.end(); ++it) {
            if (predicate(*it) &&
                (best == hazards_.end() || it->last_detection_ms < best->last_detection_ms)) {
                best = it;  // ties: the lower id (earlier in the vector) stays chosen
            }
        }
        return best;
    };
    auto is_candidate = [](const Hazard& h) { return h.status == HazardStatus::kCandidate; };
    const auto candidates =
        static_cast<std::size_t>(std::count_if(hazards_.begin(), hazards_.end(), is_candidate));
    if (candidates >= max_candidates) {
        hazards_.erase(oldest(is_candidate));
    }
    if (hazards_.size() < max_hazards) {
        return true;
    }
    auto victim = oldest([](const Hazard& h) { return IsFinal(h.status); });
    if (victim == hazards_.end()) {
        victim = oldest(is_candidate);
    }
    if (victim == hazards_.end()) {
        return false;
    }
    hazards_.erase(victim);
    return true;
}

std::optional<std::uint32_t>
HazardTracker::OnEvent(const HazardDetection& event, const HazardConfig& config) {
    if (!std::isfinite(event.offset_m) || !std::isfinite(event.peak)) {
        return std::nullopt;
    }
    Expire(event.t_ms, config);
    const double u_event =
        std::max(kMinUncertaintyM, std::isfinite(event.uncertainty_m) ? event.uncertainty_m : 0.0);
    Hazard* match = nullptr;
    double best = 0.0;
    for (Hazard& h : hazards_) {
        if (IsFinal(h.status)) {
            continue;
        }
        const double u_h = h.uncertainty_m();
        const double sigma = std::sqrt(u_event * u_event + u_h * u_h);
        const double radius = std::max(
            config.min_radius_m,
            config.radius_sigmas * sigma +
                config.radius_per_speed_s * std::max(0.0, event.speed_mps)
        );
        const double distance = std::abs(event.offset_m - h.offset_m);
        if (distance <= radius && (match == nullptr || distance / sigma < best)) {
            match = &h;
            best = distance / sigma;
        }
    }
    if (match == nullptr) {
        if (!MakeRoom(config)) {
            return std::nullopt;
        }
        Hazard h;
        h.id = next_id_++;
        h.first_seen_ms = event.t_ms;
        h.last_detection_ms = event.t_ms;
        hazards_.push_back(std::move(h));
        match = &hazards_.back();
    }
    Hazard& h = *match;
    const double w = 1.0 / (u_event * u_event);
    h.offset_m = (h.offset_m * h.weight_sum + event.offset_m * w) / (h.weight_sum + w);
    h.weight_sum += w;
    h.detections += 1;
    if (RateCounts(event.sample_rate_hz, config)) {
        h.counted_detections += 1;
    }
    h.recent.push_back({event.vehicle_key, event.t_ms, event.peak});
    if (h.recent.size() > Hazard::kMaxRecent) {
        h.recent.erase(h.recent.begin());
    }
    const auto pos = std::lower_bound(h.vehicles.begin(), h.vehicles.end(), event.vehicle_key);
    if ((pos == h.vehicles.end() || *pos != event.vehicle_key) &&
        h.vehicles.size() < Hazard::kMaxVehicles) {
        h.vehicles.insert(pos, event.vehicle_key);
    }
    h.first_seen_ms = std::min(h.first_seen_ms, event.t_ms);
    h.last_detection_ms = std::max(h.last_detection_ms, event.t_ms);
    const EpochMs same = config.same_traversal.count();
    std::erase_if(h.clean_passes, [&](const Hazard::CleanPass& p) {
        return p.t_ms <= h.last_detection_ms ||
               (p.vehicle_key == event.vehicle_key && std::abs(p.t_ms - event.t_ms) <= same);
    });
    UpdateSeverity(h, config);
    if (h.status == HazardStatus::kCandidate &&
        h.vehicles.size() >= static_cast<std::size_t>(std::max(1, config.confirm_vehicles)) &&
        static_cast<double>(h.counted_detections) >=
            config.confirm_detection_ratio * static_cast<double>(h.passes)) {
        h.status = HazardStatus::kConfirmed;
        h.confirmed_ms = event.t_ms;
    } else if (h.status == HazardStatus::kRepairReported && h.repair_reported_ms && event.t_ms > *h.repair_reported_ms) {
        h.status = HazardStatus::kDisputed;
        h.disputed_ms = event.t_ms;
    }
    return h.id;
}

void HazardTracker::OnPass(const HazardPass& pass, const HazardConfig& config) {
    Expire(pass.t_ms, config);
    if (pass.speed_mps < config.pass_min_speed_kmh / 3.6 ||
        !RateCounts(pass.sample_rate_hz, config)) {
        return;
    }
    const EpochMs same = config.same_traversal.count();
    // A pass that starts within the margin of the segment's start came in from the previous
    // segment: it covers the start too (hazards there would otherwise never see a pass).
    const double first = std::min(pass.from_m, pass.to_m);
    const double lo =
        first <= config.pass_margin_m ? -config.pass_margin_m : first + config.pass_margin_m;
    const double hi = std::max(pass.from_m, pass.to_m) - config.pass_margin_m;
    for (auto it = hazards_.begin(); it != hazards_.end();) {
        Hazard& h = *it;
        bool drop = false;
        const bool counts = !IsFinal(h.status) && h.offset_m >= lo && h.offset_m <= hi;
        if (counts) {
            h.passes += h.passes < UINT32_MAX ? 1 : 0;
        }
        // The detections are looked at only for a pass that may be clean (most passes cover
        // no hazard, and this runs for every pass).
        const auto detected_now = [&] {
            return std::any_of(h.recent.begin(), h.recent.end(), [&](const Hazard::Detection& d) {
                return d.vehicle_key == pass.vehicle_key && std::abs(d.t_ms - pass.t_ms) <= same;
            });
        };
        const bool after_repair = !h.repair_reported_ms || pass.t_ms > *h.repair_reported_ms;
        if (counts && pass.t_ms > h.last_detection_ms && after_repair && !detected_now()) {
            auto existing = std::find_if(
                h.clean_passes.begin(),
                h.clean_passes.end(),
                [&](const Hazard::CleanPass& p) { return p.vehicle_key == pass.vehicle_key; }
            );
            if (existing != h.clean_passes.end()) {
                existing->t_ms = std::max(existing->t_ms, pass.t_ms);
            } else {
                if (h.clean_passes.size() >= Hazard::kMaxClean) {
                    h.clean_passes.erase(std::min_element(
                        h.clean_passes.begin(),
                        h.clean_passes.end(),
                        [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; }
                    ));
                }
                h.clean_passes.push_back({pass.vehicle_key, pass.t_ms});
            }
            const auto clean = static_cast<int>(h.clean_passes.size());
            if (h.status == HazardStatus::kCandidate) {
                drop = clean >= config.resolve_clean_passes;
            } else if (h.status == HazardStatus::kRepairReported) {
                if (clean >= config.verify_clean_passes) {
                    h.status = HazardStatus::kVerified;
                    h.closed_ms = pass.t_ms;
                }
            } else if (clean >= CleanPassesToResolve(h, config)) {
                h.status = HazardStatus::kResolved;
                h.closed_ms = pass.t_ms;
            }
        }
        it = drop ? hazards_.erase(it) : it + 1;
    }
}

ActionResult
HazardTracker::OnAction(const HazardActionRequest& request, const HazardConfig& /*config*/) {
    auto it = std::find_if(hazards_.begin(), hazards_.end(), [&](const Hazard& h) {
        return h.id == request.hazard_id;
    });
    if (it == hazards_.end()) {
        return ActionResult::kUnknownHazard;
    }
    Hazard& h = *it;
    switch (request.action) {
        case ContractorAction::kAcknowledge:
            if (h.status != HazardStatus::kConfirmed) {
                return ActionResult::kNotAllowed;
            }
            h.status = HazardStatus::kAcknowledged;
            h.acknowledged_ms = request.t_ms;
            break;
        case ContractorAction::kReportRepair:
            if (h.status != HazardStatus::kConfirmed && h.status != HazardStatus::kAcknowledged &&
                h.status != HazardStatus::kDisputed) {
                return ActionResult::kNotAllowed;
            }
            h.status = HazardStatus::kRepairReported;
            h.repair_reported_ms = request.t_ms;
            h.clean_passes.clear();
            break;
    }
    h.last_actor = request.actor.substr(0, kMaxActorBytes);
    return ActionResult::kApplied;
}

const Hazard* HazardTracker::Find(std::uint32_t id) const {
    for (const Hazard& h : hazards_) {
        if (h.id == id) {
            return &h;
        }
    }
    return nullptr;
}

OpenHazardCounts HazardTracker::CountOpen() const {
    OpenHazardCounts counts;
    for (const Hazard& h : hazards_) {
        if (!IsOpen(h.status)) {
            continue;
        }
        switch (h.severity) {
            case HazardSeverity::kLow:
                ++counts.low;
                break;
            case HazardSeverity::kMedium:
                ++counts.medium;
                break;
            case HazardSeverity::kHigh:
                ++counts.high;
                break;
        }
    }
    return counts;
}

void HazardTracker::Encode(ByteWriter& out) const {
    out.PutU8(kVersion);
    out.Put(next_id_);
    out.Put(static_cast<std::uint16_t>(hazards_.size()));
    for (const Hazard& h : hazards_) {
        out.Put(h.id);
        out.PutU8(static_cast<std::uint8_t>(h.status));
        out.PutU8(static_cast<std::uint8_t>(h.severity));
        out.Put(h.offset_m);
        out.Put(h.weight_sum);
        out.Put(h.detections);
        out.Put(h.passes);
        out.Put(h.counted_detections);
        out.Put(h.first_seen_ms);
        out.Put(h.last_detection_ms);
        PutOptional(out, h.confirmed_ms);
        PutOptional(out, h.acknowledged_ms);
        PutOptional(out, h.repair_reported_ms);
        PutOptional(out, h.disputed_ms);
        PutOptional(out, h.closed_ms);
        out.PutShortString(h.last_actor);
        out.PutU8(static_cast<std::uint8_t>(h.recent.size()));
        for (const auto& d : h.recent) {
            out.Put(d.vehicle_key);
            out.Put(d.t_ms);
            out.Put(d.peak);
        }
        out.PutU8(static_cast<std::uint8_t>(h.vehicles.size()));
        for (const auto v : h.vehicles) {
            out.Put(v);
        }
        out.PutU8(static_cast<std::uint8_t>(h.clean_passes.size()));
        for (const auto& p : h.clean_passes) {
            out.Put(p.vehicle_key);
            out.Put(p.t_ms);
        }
    }
}

tl::expected<HazardTracker, Error> HazardTracker::Decode(ByteReader& in) {
    auto fail = [](ErrorCode code, const char* field, const char* message) {
        return tl::unexpected(Error{code, field, message});
    };
    const std::uint8_t version = in.GetU8();
    if (!in.ok()) {
        return fail(ErrorCode::kMalformed, "hazards", "truncated");
    }
    if (version != kVersion && version != 2 && version != 1) {
        return fail(ErrorCode::kUnsupportedVersion, "hazards.version", "unknown version");
    }
    HazardTracker t;
    t.next_id_ = in.Get<std::uint32_t>();
    const std::size_t count = in.Get<std::uint16_t>();
    if (count > kMaxDecodedHazards) {
        return fail(ErrorCode::kOutOfRange, "hazards.count", "too many hazards");
    }
    bool ok = true;
    for (std::size_t i = 0; i < count && in.ok(); ++i) {
        Hazard h;
        h.id = in.Get<std::uint32_t>();
        const std::uint8_t status = in.GetU8();
        const std::uint8_t severity = in.GetU8();
        if (status > static_cast<std::uint8_t>(HazardStatus::kResolved) ||
            severity > static_cast<std::uint8_t>(HazardSeverity::kHigh)) {
            ok = false;
        }
        h.status = static_cast<HazardStatus>(status);
        h.severity = static_cast<HazardSeverity>(severity);
        h.offset_m = in.Get<double>();
        h.weight_sum = in.Get<double>();
        h.detections = in.Get<std::uint32_t>();
        h.passes = version >= 2 ? in.Get<std::uint32_t>() : 0;
        h.counted_detections = version >= 3 ? in.Get<std::uint32_t>() : h.detections;
        h.first_seen_ms = in.Get<EpochMs>();
        h.last_detection_ms = in.Get<EpochMs>();
        h.confirmed_ms = GetOptional(in, ok);
        h.acknowledged_ms = GetOptional(in, ok);
        h.repair_reported_ms = GetOptional(in, ok);
        h.disputed_ms = GetOptional(in, ok);
        h.closed_ms = GetOptional(in, ok);
        h.last_actor = in.GetShortString();
        const std::size_t recent = in.GetU8();
        for (std::size_t k = 0; k < recent && in.ok(); ++k) {
            Hazard::Detection d;
            d.vehicle_key = in.Get<std::uint64_t>();
            d.t_ms = in.Get<EpochMs>();
            d.peak = in.Get<double>();
            h.recent.push_back(d);
        }
        const std::size_t vehicles = in.GetU8();
        for (std::size_t k = 0; k < vehicles && in.ok(); ++k) {
            h.vehicles.push_back(in.Get<std::uint64_t>());
        }
        const std::size_t clean = in.GetU8();
        for (std::size_t k = 0; k < clean && in.ok(); ++k) {
            Hazard::CleanPass p;
            p.vehicle_key = in.Get<std::uint64_t>();
            p.t_ms = in.Get<EpochMs>();
            h.clean_passes.push_back(p);
        }
        // The actor as a hazard action names it (an id), so that records quoting it stay JSON.
        bool values =
            h.last_actor.size() <= RawLimits::kMaxIdLength && detail::IsIdText(h.last_actor) &&
            // A weighted mean of offsets within the limit (a rounding's worth of slack above).
            h.offset_m >= 0 && h.offset_m <= ObservationLimits::kMaxOffsetM * (1 + 1e-12) &&
            detail::StoredNumber(h.weight_sum) && h.weight_sum >= 0 &&
            detail::StoredTime(h.first_seen_ms) && detail::StoredTime(h.last_detection_ms) &&
            detail::StoredTime(h.confirmed_ms) && detail::StoredTime(h.acknowledged_ms) &&
            detail::StoredTime(h.repair_reported_ms) && detail::StoredTime(h.disputed_ms) &&
            detail::StoredTime(h.closed_ms);
        for (const auto& d : h.recent) {
            values = values && detail::StoredTime(d.t_ms) && detail::StoredNumber(d.peak);
        }
        for (const auto& p : h.clean_passes) {
            values = values && detail::StoredTime(p.t_ms);
        }
        if (!values || h.counted_detections > h.detections || recent > Hazard::kMaxRecent ||
            vehicles > Hazard::kMaxVehicles || clean > Hazard::kMaxClean || h.id == 0 ||
            h.id >= t.next_id_ || (!t.hazards_.empty() && t.hazards_.back().id >= h.id)) {
            ok = false;
        }
        t.hazards_.push_back(std::move(h));
    }
    if (!in.ok()) {
        return fail(ErrorCode::kMalformed, "hazards", "truncated");
    }
    if (!ok) {
        return fail(ErrorCode::kInconsistent, "hazards", "invalid field values");
    }
    return t;
}

}  // namespace pavewatch::pipeline
