#include "pavewatch/pipeline/segment_state.hpp"

#include "pavewatch/pipeline/bytes.hpp"

#include <cmath>

namespace pavewatch::pipeline {
namespace {

constexpr std::uint8_t kStateMagic = 0x5E;
constexpr std::uint8_t kStateVersion = 1;

/// Load equivalency of one single axle: the AASHO Road Test's fourth-power law, 80 kN standard.
double LoadEquivalency(double load_kn) {
    return std::pow(load_kn / 80.0, 4.0);
}

}  // namespace

void Apply(SegmentState& s, const Observation& o) {
    if (s.version == 0) {
        s.segment = o.segment;
        s.first_event_ms = o.t_ms;
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
                }
            } else if constexpr (std::is_same_v<T, HazardEvent>) {
                ++s.hazard_events;
                s.hazard_peak_sum_ms2 += body.peak_ms2;
            } else if constexpr (std::is_same_v<T, AxleLoads>) {
                for (std::uint8_t i = 0; i < body.axles; ++i) {
                    s.esal += LoadEquivalency(body.load_kn[i]);
                }
            } else if constexpr (std::is_same_v<T, PavementTemperature>) {
                s.temperature_c = body.celsius;
            } else if constexpr (std::is_same_v<T, SoilMoisture>) {
                s.moisture_vwc_percent = body.vwc_percent;
            }
        },
        o.body
    );
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
    w.Put(s.esal);
    w.Put(s.fatigue_damage);
    w.Put(s.temperature_c);
    w.Put(s.moisture_vwc_percent);
}

std::string EncodeState(const SegmentState& s) {
    std::string out;
    out.reserve(160);
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
    s.esal = r.Get<double>();
    s.fatigue_damage = r.Get<double>();
    s.temperature_c = r.Get<float>();
    s.moisture_vwc_percent = r.Get<float>();
    if (!r.ok() || !r.AtEnd()) {
        return tl::unexpected(Error{ErrorCode::kMalformed, "state", "truncated or trailing bytes"});
    }
    return s;
}

}  // namespace pavewatch::pipeline
