#pragma once

// The contract of an observation as the ingest path writes it to `pavewatch.observations`,
// checked on every observation a fuzzed raw message produced.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <cmath>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace pavewatch::fuzz {

inline bool Finite(double v) {
    return std::isfinite(v);
}

/// On a segment of `network`, finite, within the documented ranges, and the same after its
/// binary encoding is decoded and encoded again.
inline void
CheckIngestObservation(const pipeline::Observation& o, const pipeline::RoadNetwork& network) {
    const pipeline::Segment* segment = network.Find(o.segment);
    Check(segment != nullptr, "an observation's segment is on the network");
    // Positions along the segment: within it, give or take the rounding of its length.
    const double length = segment->length_m + 0.5;
    std::visit(
        [&](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, pipeline::Traversal>) {
                Check(Finite(b.speed_mps) && b.speed_mps >= 0, "traversal speed");
                Check(
                    Finite(b.speed_spread_mps) && b.speed_spread_mps >= 0, "traversal speed spread"
                );
                Check(
                    b.from_m >= 0 && b.from_m <= b.to_m && b.to_m <= length,
                    "traversal covers part of its segment"
                );
                Check(Finite(b.iri_m_per_km), "traversal IRI is a number (negative: none)");
                Check(b.confidence >= 0 && b.confidence <= 1, "traversal confidence in [0, 1]");
                Check(Finite(b.sample_rate_hz) && b.sample_rate_hz > 0, "traversal sample rate");
            } else if constexpr (std::is_same_v<T, pipeline::HazardEvent>) {
                Check(b.offset_m >= 0 && b.offset_m <= length, "hazard event on its segment");
                Check(Finite(b.uncertainty_m) && b.uncertainty_m >= 0, "hazard event uncertainty");
                Check(
                    Finite(b.peak_ms2) && Finite(b.speed_mps) && Finite(b.score),
                    "hazard event values"
                );
                Check(
                    b.lat >= -90 && b.lat <= 90 && b.lon >= -180 && b.lon <= 180,
                    "hazard event position"
                );
            } else if constexpr (std::is_same_v<T, pipeline::AxleLoads>) {
                Check(b.axles >= 1 && b.axles <= pipeline::RawLimits::kMaxAxles, "axle count");
                for (int i = 0; i < b.axles; ++i) {
                    Check(Finite(b.load_kn[i]) && b.load_kn[i] >= 0, "axle load");
                    Check(Finite(b.spacing_m[i]) && b.spacing_m[i] >= 0, "axle spacing");
                }
                Check(Finite(b.speed_mps) && b.speed_mps >= 0, "axle loads speed");
            } else if constexpr (std::is_same_v<T, pipeline::StrainPasses>) {
                Check(b.passes >= 1 && b.passes <= pipeline::RawLimits::kMaxAxles, "strain passes");
                for (int i = 0; i < b.passes; ++i) {
                    Check(Finite(b.microstrain[i]), "microstrain");
                }
                Check(Finite(b.depth_mm) && b.depth_mm >= 0, "strain depth");
            } else if constexpr (std::is_same_v<T, pipeline::PavementTemperature>) {
                Check(Finite(b.celsius) && Finite(b.depth_mm), "temperature");
            } else if constexpr (std::is_same_v<T, pipeline::SoilMoisture>) {
                Check(b.vwc_percent >= 0 && b.vwc_percent <= 100, "moisture in [0, 100] %");
            }
        },
        o.body
    );
    const std::string bytes = pipeline::EncodeObservation(o);
    const auto decoded = pipeline::DecodeObservation(bytes);
    Check(decoded.has_value(), "an ingested observation decodes");
    Check(
        pipeline::EncodeObservation(*decoded) == bytes,
        "an observation encodes the same after a decode"
    );
}

/// What ingest made of one raw message: a refusal that describes itself, or observations each
/// as CheckIngestObservation wants them.
inline void CheckIngestResult(
    const tl::expected<std::vector<pipeline::Observation>, pipeline::Error>& result,
    const pipeline::RoadNetwork& network
) {
    if (!result) {
        Check(!result.error().Describe().empty(), "a refusal describes itself");
        return;
    }
    for (const auto& o : *result) {
        CheckIngestObservation(o, network);
    }
}

}  // namespace pavewatch::fuzz
