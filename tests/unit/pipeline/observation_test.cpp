#include "pavewatch/pipeline/observation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pavewatch::pipeline {
namespace {

std::vector<Observation> OneOfEachKind() {
    std::vector<Observation> all;
    Traversal t{
        .vehicle_key = 42,
        .vehicle_class = VehicleClass::kTruck,
        .speed_mps = 13.5F,
        .speed_spread_mps = 1.5F,
        .from_m = 3.0F,
        .to_m = 97.0F,
        .iri_m_per_km = 2.5F,
        .samples = 700,
        .sample_rate_hz = 100.0F};
    all.push_back({SegmentId{1}, 1763900000000, t});
    HazardEvent e{
        .vehicle_key = 43,
        .offset_m = 41.0F,
        .uncertainty_m = 4.5F,
        .peak_ms2 = 12.0F,
        .speed_mps = 10.0F,
        .score = 3.0F,
        .lat = 43.2512345,
        .lon = 76.9012345,
        .sample_rate_hz = 10.0F};
    all.push_back({SegmentId{2}, 1763900000001, e});
    AxleLoads a;
    a.axles = 3;
    a.load_kn = {50.0F, 80.0F, 81.0F};
    a.spacing_m = {0.0F, 4.5F, 1.3F};
    a.speed_mps = 22.0F;
    all.push_back({SegmentId{3}, 1763900000002, a});
    StrainPasses s;
    s.passes = 2;
    s.microstrain = {110.0F, 95.0F};
    s.depth_mm = 100.0F;
    all.push_back({SegmentId{4}, 1763900000003, s});
    all.push_back({SegmentId{5}, 1763900000004, PavementTemperature{-7.5F, 50.0F}});
    all.push_back({SegmentId{6}, 1763900000005, SoilMoisture{28.0F}});
    all.push_back(
        {SegmentId{7},
         1763900000006,
         HazardAction{99, HazardActionKind::kReportRepaired, "acme-roads"}}
    );
    return all;
}

TEST(ObservationCodec, RoundTripsEveryKindExactly) {
    for (const auto& o : OneOfEachKind()) {
        const std::string bytes = EncodeObservation(o);
        const auto back = DecodeObservation(bytes);
        ASSERT_TRUE(back) << ToString(o.kind()) << ": " << back.error().Describe();
        EXPECT_EQ(back->kind(), o.kind());
        EXPECT_EQ(back->segment, o.segment);
        EXPECT_EQ(back->t_ms, o.t_ms);
        EXPECT_EQ(EncodeObservation(*back), bytes) << ToString(o.kind());
    }
    const auto action = DecodeObservation(EncodeObservation(OneOfEachKind().back()));
    EXPECT_EQ(std::get<HazardAction>(action->body).actor, "acme-roads");
}

TEST(ObservationCodec, RefusesEveryTruncationAndTrailingBytes) {
    for (const auto& o : OneOfEachKind()) {
        const std::string bytes = EncodeObservation(o);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            EXPECT_FALSE(DecodeObservation(std::string_view(bytes).substr(0, n)))
                << ToString(o.kind()) << " cut at " << n;
        }
        EXPECT_FALSE(DecodeObservation(bytes + "x"));
    }
}

TEST(ObservationCodec, RefusesForeignBytesAndNonFiniteNumbers) {
    EXPECT_EQ(DecodeObservation("{\"json\":true}").error().code, ErrorCode::kMalformed);
    std::string bytes = EncodeObservation(OneOfEachKind()[0]);
    bytes[1] = 9;  // version
    EXPECT_EQ(DecodeObservation(bytes).error().code, ErrorCode::kUnsupportedVersion);
    bytes = EncodeObservation(OneOfEachKind()[0]);
    bytes[2] = 77;  // kind
    EXPECT_FALSE(DecodeObservation(bytes));
    Observation nan = OneOfEachKind()[4];
    std::get<PavementTemperature>(nan.body).celsius = std::numeric_limits<float>::quiet_NaN();
    EXPECT_FALSE(DecodeObservation(EncodeObservation(nan)));
}

TEST(ObservationCodec, HazardEventsCarryTheirRateAndOldEventsStillDecode) {
    const Observation event = OneOfEachKind()[1];
    const std::string v2 = EncodeObservation(event);
    ASSERT_EQ(v2[1], 2);  // a hazard event's layout v2: v1's body and an f32 rate
    const auto back = DecodeObservation(v2);
    ASSERT_TRUE(back) << back.error().Describe();
    EXPECT_EQ(std::get<HazardEvent>(back->body).sample_rate_hz, 10.0F);
    // A record written before the rate was added (v1, without its 4 bytes) decodes, rate 0
    // (unknown), which the hazard tracker counts as before.
    std::string v1 = v2.substr(0, v2.size() - 4);
    v1[1] = 1;
    const auto old = DecodeObservation(v1);
    ASSERT_TRUE(old) << old.error().Describe();
    EXPECT_EQ(std::get<HazardEvent>(old->body).sample_rate_hz, 0.0F);
    EXPECT_EQ(std::get<HazardEvent>(old->body).offset_m, 41.0F);
    // Every other kind keeps layout v1, so a reader of v1 still reads it; v2 is only a hazard
    // event's.
    const std::string traversal = EncodeObservation(OneOfEachKind()[0]);
    EXPECT_EQ(traversal[1], 1);
    std::string as_v2 = traversal;
    as_v2[1] = 2;
    EXPECT_EQ(DecodeObservation(as_v2).error().code, ErrorCode::kUnsupportedVersion);
    // A rate no device sends is refused like any other value ingest never writes.
    Observation fast = event;
    std::get<HazardEvent>(fast.body).sample_rate_hz = 4000.0F;
    EXPECT_EQ(
        DecodeObservation(EncodeObservation(fast)).error().field, "observation.sample_rate_hz"
    );
}

/// `o` with one value changed by `edit`, encoded: what a hand-written or buggy record may hold.
template <typename Body, typename Edit>
std::string Edited(std::size_t kind_index, Edit edit) {
    Observation o = OneOfEachKind()[kind_index];
    edit(o, std::get<Body>(o.body));
    return EncodeObservation(o);
}

// Found by tests/fuzz (observation_fold): a well-formed record with a traversal IRI of 5.6e22
// was folded, and from then on every condition record of its segment was refused by the
// gateway's reader. Values outside what ingest writes are refused, naming the field.
TEST(ObservationCodec, RefusesValuesIngestNeverWritesNamingTheField) {
    const auto refused = [](const std::string& bytes, const std::string& field) {
        const auto back = DecodeObservation(bytes);
        ASSERT_FALSE(back) << field;
        EXPECT_EQ(back.error().code, ErrorCode::kOutOfRange) << field;
        EXPECT_EQ(back.error().field, "observation." + field);
        EXPECT_NE(back.error().Describe().find("must be"), std::string::npos);
    };
    refused(Edited<Traversal>(0, [](auto&, auto& t) { t.iri_m_per_km = 5.6e22F; }), "iri_m_per_km");
    refused(Edited<Traversal>(0, [](auto& o, auto&) { o.t_ms = 115816896954368008; }), "t_ms");
    refused(Edited<Traversal>(0, [](auto& o, auto&) { o.t_ms = -1; }), "t_ms");
    refused(Edited<Traversal>(0, [](auto&, auto& t) { t.confidence = 1.5F; }), "confidence");
    refused(Edited<Traversal>(0, [](auto&, auto& t) { t.to_m = 1.0F; }), "to_m");  // before from_m
    refused(Edited<HazardEvent>(1, [](auto&, auto& e) { e.lat = 91.0; }), "lat");
    refused(Edited<HazardEvent>(1, [](auto&, auto& e) { e.offset_m = -2.0F; }), "offset_m");
    refused(Edited<AxleLoads>(2, [](auto&, auto& a) { a.load_kn[1] = 4000.0F; }), "load_kn[1]");
    refused(Edited<AxleLoads>(2, [](auto&, auto& a) { a.axles = 0; }), "axles");
    refused(
        Edited<StrainPasses>(3, [](auto&, auto& s) { s.microstrain[0] = -5.0F; }), "microstrain[0]"
    );
    refused(Edited<PavementTemperature>(4, [](auto&, auto& t) { t.celsius = 400.0F; }), "celsius");
    refused(Edited<SoilMoisture>(5, [](auto&, auto& m) { m.vwc_percent = 120.0F; }), "vwc_percent");
    // Found by tests/fuzz (observation_fold): an actor that is not UTF-8 made the segment's
    // condition records invalid JSON. The actor is an id, as ParseHazardActionJson reads it.
    refused(Edited<HazardAction>(6, [](auto&, auto& a) { a.actor = "asm\xff"; }), "actor");
    refused(Edited<HazardAction>(6, [](auto&, auto& a) { a.actor = "acme roads"; }), "actor");
    refused(Edited<HazardAction>(6, [](auto&, auto& a) { a.actor.clear(); }), "actor");
    // A traversal without an estimate (negative IRI) is one ingest writes.
    EXPECT_TRUE(DecodeObservation(Edited<Traversal>(0, [](auto&, auto& t) {
        t.iri_m_per_km = -1.0F;
    })));
}

}  // namespace
}  // namespace pavewatch::pipeline
