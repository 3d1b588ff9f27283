#pragma once

#include <tl/expected.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pavewatch::evaluate {

/// `pavewatch evaluate` settings: where the truth and the results are, and the matching rules.
/// Defaults are the documented ones (docs/accuracy.md, "How the figures are computed").
struct EvaluateOptions {
    std::string truth_file;   ///< truth.json of `pavewatch simulate --offline`
    std::string hits_file;    ///< hits.jsonl; default: beside truth_file
    std::string results_dir;  ///< output folder of `pavewatch replay`
    int min_traversals = 10;  ///< IRI is scored on segments with at least this many, count
    double good_below_m_per_km = 1.50;  ///< FHWA good/fair boundary (23 CFR 490.313), m/km
    double poor_above_m_per_km = 2.68;  ///< FHWA fair/poor boundary, m/km
    /// A confirmed hazard matches a pothole within this distance of the pothole's centre on
    /// the map (along the segment when positions are missing), m (half the least spacing of
    /// simulated potholes, 10 m, plus 1 m).
    double match_radius_m = 6.0;
    /// A pothole counts for recall when at least this many distinct vehicles hit it before its
    /// repair (the tracker cannot confirm with fewer: HazardConfig::confirm_vehicles).
    int min_hit_vehicles = 3;
    /// A detector event matches a hit of the same vehicle within this time, s.
    double event_time_tolerance_s = 0.5;
};

/// Precision, recall and F1 of one detection task with their counts.
struct Detection {
    std::uint64_t true_positives = 0;
    std::uint64_t false_positives = 0;
    std::uint64_t false_negatives = 0;
    std::optional<double> precision() const;
    std::optional<double> recall() const;
    std::optional<double> f1() const;
};

/// Everything `pavewatch evaluate` reports (docs/accuracy.md explains each figure).
struct Report {
    // Roughness.
    std::uint64_t segments = 0;                ///< in the truth (the driven subset)
    std::uint64_t segments_with_estimate = 0;  ///< with an IRI in conditions.jsonl
    std::uint64_t segments_scored = 0;         ///< with >= min_traversals traversals
    std::optional<double> iri_median_abs_rel_error;
    std::optional<double> iri_p90_abs_rel_error;
    std::optional<double> iri_median_rel_error;  ///< signed: estimate / truth - 1 (bias)
    std::optional<double> iri_class_agreement;
    /// [truth class][estimated class], classes good, fair, poor.
    std::array<std::array<std::uint64_t, 3>, 3> iri_confusion{};

    // Hazards (cross-vehicle).
    std::uint64_t potholes = 0;           ///< in the truth
    std::uint64_t potholes_hit = 0;       ///< hit by at least one vehicle (before any repair)
    std::uint64_t potholes_eligible = 0;  ///< hit by >= min_hit_vehicles distinct vehicles
    std::uint64_t confirmed_hazards = 0;  ///< hazards that reached "confirmed"
    std::uint64_t hazard_duplicates = 0;  ///< confirmed hazards on a pothole that had one already
    /// Matched hazards attributed to another segment than their pothole's (overlapping roads).
    std::uint64_t hazard_wrong_segment = 0;
    std::uint64_t false_resolutions = 0;  ///< matched hazards resolved while the pothole remained
    std::optional<double> hazard_precision;
    std::optional<double> hazard_recall;          ///< of eligible potholes
    std::optional<double> hazard_recall_any_hit;  ///< of potholes hit at least once
    std::optional<double> hazard_f1;
    std::optional<double> hazard_median_position_error_m;

    // Single pass, per device rate ("100", "50", "10", "5", ...).
    std::map<std::string, Detection> single_pass;

    // Repairs.
    std::uint64_t repairs = 0;           ///< potholes repaired during the run
    std::uint64_t repairs_tracked = 0;   ///< of which a matched hazard was open at the repair
    std::uint64_t repairs_detected = 0;  ///< of which the hazard closed after the repair
    std::optional<double> repair_detection_median_passes;
    std::optional<double> repair_detection_median_s;

    // Structural (instrumented segments).
    std::uint64_t structural_segments = 0;
    std::optional<double> esal_median_abs_rel_error;
    std::optional<double> fatigue_median_abs_rel_error;

    // Input.
    std::uint64_t vehicle_messages = 0;
    std::uint64_t refused_lines = 0;
};

/// Scores replay results against the simulator's truth. Pure apart from reading the files;
/// errors (as values) name the file and line that could not be read.
tl::expected<Report, std::string> Evaluate(const EvaluateOptions& options);

/// One JSON object with every figure (null where undefined). Keys include `segments`,
/// `iri_median_abs_rel_error`, `iri_class_agreement`, `hazard_precision`, `hazard_recall`,
/// `hazard_f1`, `single_pass_f1` {rate: f1}, `repair_detection_median_passes`.
std::string ReportToJson(const Report& report);

/// The same as a readable table.
std::string ReportToTable(const Report& report);

/// `pavewatch evaluate --truth TRUTH.json --results DIR [--hits FILE] [--json]`.
int Main(int argc, char** argv);

}  // namespace pavewatch::evaluate
