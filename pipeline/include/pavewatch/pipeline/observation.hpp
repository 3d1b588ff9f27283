#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/ids.hpp"
#include "pavewatch/pipeline/raw_message.hpp"

#include <tl/expected.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pavewatch::pipeline {

// Observations: what ingest derives from raw messages, one per segment, keyed by segment id on
// `pavewatch.observations`. The wear processor folds them into segment state. Their wire form
// is the compact binary layout of EncodeObservation (docs/architecture.md, "Observation
// format"): the wear processor reads millions per second, which JSON would not allow.

/// One vehicle's pass over (part of) a segment, with the roughness measured on it.
struct Traversal {
    std::uint64_t vehicle_key = 0;  ///< VehicleKey(vehicle id)
    VehicleClass vehicle_class = VehicleClass::kUnknown;
    float speed_mps = 0.0F;         ///< mean over the pass
    float speed_spread_mps = 0.0F;  ///< max - min over the pass
    float from_m = 0.0F;            ///< covered part of the segment, metres from its start
    float to_m = 0.0F;
    float iri_m_per_km = -1.0F;  ///< estimated IRI; < 0 when no estimate (too slow, too short)
    std::uint32_t samples = 0;   ///< accelerometer samples behind the estimate
    float sample_rate_hz = 0.0F;
    float confidence = 0.0F;  ///< of the IRI estimate, [0, 1] (RoughnessEstimate::confidence)
};

/// A surface defect detected by one vehicle (a candidate pothole), placed on the segment.
struct HazardEvent {
    std::uint64_t vehicle_key = 0;
    float offset_m = 0.0F;       ///< from the segment's start
    float uncertainty_m = 0.0F;  ///< 1-sigma of the position: GPS error and timing
    float peak_ms2 = 0.0F;       ///< high-passed vertical peak brought to the 100 Hz scale, m/s^2
    float speed_mps = 0.0F;
    float score = 0.0F;  ///< detector's severity score (dimensionless)
    double lat = 0.0;
    double lon = 0.0;
    /// The detecting device's (mean) sample rate, Hz; 0 when unknown (a record of layout v1).
    /// The hazard tracker leaves detections of devices whose passes do not count
    /// (HazardConfig::pass_min_rate_hz) out of the detection ratio.
    float sample_rate_hz = 0.0F;
};

/// One vehicle over a weigh-in-motion station.
struct AxleLoads {
    std::uint8_t axles = 0;
    std::array<float, RawLimits::kMaxAxles> load_kn{};
    std::array<float, RawLimits::kMaxAxles> spacing_m{};  ///< spacing before axle i (i >= 1)
    float speed_mps = 0.0F;
};

/// Peak tensile strain at the bottom of the asphalt layer, one value per axle pass.
struct StrainPasses {
    std::uint8_t passes = 0;
    std::array<float, RawLimits::kMaxAxles> microstrain{};
    float depth_mm = 0.0F;
};

struct PavementTemperature {
    float celsius = 0.0F;
    float depth_mm = 0.0F;
};

struct SoilMoisture {
    float vwc_percent = 0.0F;
};

/// A contractor's action on a hazard, from the gateway through `pavewatch.hazard-actions`.
enum class HazardActionKind : std::uint8_t { kAcknowledge = 1, kReportRepaired = 2 };
struct HazardAction {
    std::uint64_t hazard_id = 0;
    HazardActionKind action = HazardActionKind::kAcknowledge;
    std::string actor;  ///< contractor name, at most 255 bytes
};

enum class ObservationKind : std::uint8_t {
    kTraversal = 1,
    kHazardEvent = 2,
    kAxleLoads = 3,
    kStrain = 4,
    kTemperature = 5,
    kMoisture = 6,
    kHazardAction = 7,
};

struct Observation {
    SegmentId segment;
    EpochMs t_ms = 0;  ///< event time
    std::variant<
        Traversal,
        HazardEvent,
        AxleLoads,
        StrainPasses,
        PavementTemperature,
        SoilMoisture,
        HazardAction>
        body;

    ObservationKind kind() const { return static_cast<ObservationKind>(body.index() + 1); }
};

const char* ToString(ObservationKind kind);

/// What DecodeObservation accepts of an observation's values besides RawLimits (event time,
/// speeds, loads, strain, temperature as a raw message may carry them): everything ingest
/// writes, nothing that would poison a segment's state. A record outside them (written by hand
/// or by a bug) is refused to the DLQ, naming the field, before it reaches a state: a segment
/// whose state held an IRI of 1e22 would write condition records no reader accepts.
struct ObservationLimits {
    /// A traversal's IRI estimate, m/km: a thousand times the worst roads' (the condition
    /// record's bound, docs/schemas/condition.schema.json). Ingest drops an estimate above it.
    static constexpr double kMaxIriMPerKm = 1000.0;
    /// Positions along a segment and their uncertainty, metres (the condition record's bound
    /// of a hazard's offset).
    static constexpr double kMaxOffsetM = 1000000.0;
    /// Axle spacing, metres (a raw message's axle_spacings_m, 0.3..30).
    static constexpr double kMaxAxleSpacingM = 30.0;
    /// Sensor depth, millimetres (the sensor registry's bound).
    static constexpr double kMaxDepthMm = 2000.0;
};

/// Appends the binary form of an observation to `out`.
void EncodeObservation(const Observation& observation, std::string& out);
std::string EncodeObservation(const Observation& observation);

/// Parses the binary form; refuses anything that is not exactly one well-formed observation
/// with its values within RawLimits and ObservationLimits.
tl::expected<Observation, Error> DecodeObservation(std::string_view bytes);

/// Parses a contractor's hazard action as the gateway writes it to `pavewatch.hazard-actions`:
/// `{"segment_id":"123","hazard_id":"456","action":"acknowledge"|"repaired","actor":"acme",
/// "t_ms":1763900000000}`.
tl::expected<Observation, Error> ParseHazardActionJson(std::string_view json);
std::string HazardActionToJson(const Observation& action);

/// Kafka key of an observation, a condition or a changelog record: the segment id in decimal.
std::string SegmentKey(SegmentId id);
/// Parses a key written by SegmentKey; nullopt when it is not one.
std::optional<SegmentId> ParseSegmentKey(std::string_view key);

}  // namespace pavewatch::pipeline
