#pragma once

#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/model_config.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::pipeline {

/// Lifecycle of a hazard:
///   candidate -> confirmed (confirm_vehicles distinct vehicles)
///   confirmed | acknowledged | disputed -> resolved (resolve_clean_passes clean passes, automatic)
///   confirmed -> acknowledged (contractor action)
///   confirmed | acknowledged | disputed -> repair_reported (contractor action)
///   repair_reported -> verified (verify_clean_passes clean passes after the report)
///   repair_reported -> disputed (a detection after the report)
/// A candidate with resolve_clean_passes clean passes is dropped (a one-off false alarm).
/// resolved and verified are final.
enum class HazardStatus {
    kCandidate,
    kConfirmed,
    kAcknowledged,
    kRepairReported,
    kVerified,
    kDisputed,
    kResolved
};
enum class HazardSeverity { kLow, kMedium, kHigh };
enum class ContractorAction { kAcknowledge, kReportRepair };

/// "candidate", "confirmed", "acknowledged", "repair_reported", "verified", "disputed", "resolved".
const char* ToString(HazardStatus s);
/// "low", "medium", "high".
const char* ToString(HazardSeverity s);
/// "acknowledge", "report_repair".
const char* ToString(ContractorAction a);
std::optional<ContractorAction> ContractorActionFromString(std::string_view text);

/// Open = counts against the road: confirmed, acknowledged, repair_reported, disputed.
bool IsOpen(HazardStatus s);

/// One vehicle's detection mapped onto the segment.
struct HazardDetection {
    std::uint64_t vehicle_key = 0;
    EpochMs t_ms = 0;
    double offset_m = 0.0;  ///< along the segment from its first point
    double uncertainty_m =
        5.0;            ///< 1-sigma: GPS and sampling (DetectedEvent::uncertainty_m) combined
    double peak = 0.0;  ///< DetectedEvent::normalised_peak_mps2, m/s^2
    double speed_mps = 0.0;
    /// The device's sample rate, Hz; 0 when unknown. A detection of a device below
    /// HazardConfig::pass_min_rate_hz places and confirms a hazard like any other, but is left
    /// out of its detection ratio, whose passes leave that device's passes out too.
    double sample_rate_hz = 0.0;
};

/// One vehicle's traversal of the segment covering [from_m, to_m], whether or not it detected
/// anything. t_ms is any time within the traversal (an event of the same vehicle within
/// `same_traversal` of it belongs to it).
struct HazardPass {
    std::uint64_t vehicle_key = 0;
    EpochMs t_ms = 0;
    double from_m = 0.0;
    double to_m = 0.0;
    double speed_mps = 0.0;
    /// The device's sample rate, Hz; 0 when unknown. A pass below
    /// HazardConfig::pass_min_rate_hz is no evidence either way (see there).
    double sample_rate_hz = 0.0;
};

/// A contractor's action on a hazard.
struct HazardActionRequest {
    std::uint32_t hazard_id = 0;
    ContractorAction action = ContractorAction::kAcknowledge;
    std::string actor;  ///< who (kept, at most 64 bytes)
    EpochMs t_ms = 0;
};

enum class ActionResult { kApplied, kUnknownHazard, kNotAllowed };

/// A hazard: a cluster of detections from distinct vehicles at one place of a segment.
struct Hazard {
    struct Detection {
        std::uint64_t vehicle_key = 0;
        EpochMs t_ms = 0;
        double peak = 0.0;
        friend bool operator==(const Detection&, const Detection&) = default;
    };
    struct CleanPass {
        std::uint64_t vehicle_key = 0;
        EpochMs t_ms = 0;
        friend bool operator==(const CleanPass&, const CleanPass&) = default;
    };
    static constexpr std::size_t kMaxRecent = 16;    ///< recent detections kept
    static constexpr std::size_t kMaxVehicles = 32;  ///< distinct detecting vehicles kept
    static constexpr std::size_t kMaxClean = 16;     ///< clean passes kept

    std::uint32_t id = 0;  ///< segment-local, from 1, never reused
    HazardStatus status = HazardStatus::kCandidate;
    HazardSeverity severity = HazardSeverity::kLow;
    double offset_m = 0.0;    ///< inverse-variance weighted mean of the detections
    double weight_sum = 0.0;  ///< sum of 1 / uncertainty^2, m^-2
    std::uint32_t detections = 0;
    /// Passes (any vehicle, fast enough, from a device fast enough) that covered the hazard's
    /// position since it was first seen, detecting or not (HazardConfig::confirm_detection_ratio).
    std::uint32_t passes = 0;
    /// Detections from devices whose passes count in `passes` (sample rate unknown or at least
    /// HazardConfig::pass_min_rate_hz): the detection ratio is counted_detections / passes, so
    /// that a 5 Hz device's detection does not count where its passes do not. At most
    /// `detections`.
    std::uint32_t counted_detections = 0;
    std::vector<Detection> recent;        ///< newest last
    std::vector<std::uint64_t> vehicles;  ///< distinct detecting vehicles, ascending
    std::vector<CleanPass> clean_passes;  ///< distinct vehicles, after the last detection
    EpochMs first_seen_ms = 0;
    EpochMs last_detection_ms = 0;
    std::optional<EpochMs> confirmed_ms;
    std::optional<EpochMs> acknowledged_ms;
    std::optional<EpochMs> repair_reported_ms;
    std::optional<EpochMs> disputed_ms;
    std::optional<EpochMs> closed_ms;  ///< resolved or verified
    std::string last_actor;

    /// 1-sigma position uncertainty of the cluster, m.
    double uncertainty_m() const;
    /// Median peak of the recent detections, m/s^2.
    double median_peak() const;

    friend bool operator==(const Hazard&, const Hazard&) = default;
};

/// Open confirmed hazards by severity (for the condition index).
struct OpenHazardCounts {
    int low = 0;
    int medium = 0;
    int high = 0;
};

/// Cross-vehicle confirmation and lifecycle of the hazards of one segment.
///
/// A candidate is confirmed when confirm_vehicles distinct vehicles detected it and its
/// counted detections (of devices whose passes count, HazardConfig::pass_min_rate_hz) are at
/// least confirm_detection_ratio of the passes that counted and covered it.
/// Events join the open (non-final) hazard whose position is nearest in standard units within
/// max(min_radius_m, radius_sigmas x sqrt(u_event^2 + u_hazard^2) + radius_per_speed_s x speed),
/// else start a candidate. A pass is clean for a hazard when it covers its position (with
/// pass_margin_m), is fast enough, is later than the last detection (and than a reported repair)
/// and the same vehicle has no detection of this hazard within `same_traversal` of it; an event
/// arriving after its vehicle's pass removes that pass from the clean ones, so the order in
/// which a traversal's pass and events arrive does not matter.
/// Bounded: at most max_hazards hazards and max_candidates candidates; a new candidate evicts
/// the oldest candidate when candidates are full, and when all slots are full the oldest final
/// hazard, else the oldest candidate; if every slot holds an open hazard the event is dropped.
/// Candidates without detections for candidate_ttl are dropped. Ids are a segment-local
/// counter: deterministic for the same inputs. Owned by the segment's state; not thread-safe.
class HazardTracker {
public:
    static constexpr std::uint8_t kVersion = 3;
    static constexpr std::size_t kMaxDecodedHazards = 1024;

    /// The hazard the event joined or started, or std::nullopt when it was dropped.
    std::optional<std::uint32_t> OnEvent(const HazardDetection& event, const HazardConfig& config);
    void OnPass(const HazardPass& pass, const HazardConfig& config);
    ActionResult OnAction(const HazardActionRequest& request, const HazardConfig& config);

    const std::vector<Hazard>& hazards() const { return hazards_; }
    const Hazard* Find(std::uint32_t id) const;
    OpenHazardCounts CountOpen() const;

    /// Layout v3 (little-endian): u8 version, u32 next_id, u16 count, then per hazard: u32 id,
    /// u8 status, u8 severity, f64 offset, f64 weight_sum, u32 detections, u32 passes (not in
    /// v1, which Decode still reads with passes = 0), u32 counted_detections (not in v1 or v2,
    /// which Decode reads with counted_detections = detections, their ratio as it was),
    /// i64 first_seen,
    /// i64 last_detection, 5 x {u8 present, i64 value} (confirmed, acknowledged,
    /// repair_reported, disputed, closed), short string actor, u8 n + n x {u64 vehicle, i64 t,
    /// f64 peak} recent, u8 n + n x u64 vehicles, u8 n + n x {u64 vehicle, i64 t} clean passes.
    void Encode(ByteWriter& out) const;
    static tl::expected<HazardTracker, Error> Decode(ByteReader& in);

    friend bool operator==(const HazardTracker&, const HazardTracker&) = default;

private:
    void Expire(EpochMs now_ms, const HazardConfig& config);
    bool MakeRoom(const HazardConfig& config);

    std::vector<Hazard> hazards_;  ///< ascending id
    std::uint32_t next_id_ = 1;
};

}  // namespace pavewatch::pipeline
