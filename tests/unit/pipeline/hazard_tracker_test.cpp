#include "pavewatch/pipeline/hazard_tracker.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pavewatch::pipeline {
namespace {

constexpr EpochMs kT0 = 1700000000000LL;
constexpr EpochMs kMinute = 60000;

HazardDetection Event(std::uint64_t vehicle, EpochMs t, double offset, double peak = 6.0) {
    return HazardDetection{vehicle, t, offset, 2.0, peak, 12.0};
}

HazardPass Pass(std::uint64_t vehicle, EpochMs t) {
    return HazardPass{vehicle, t, 0.0, 100.0, 12.0};
}

/// Confirms a hazard at 40 m with vehicles 1..3 and returns its id.
std::uint32_t Confirmed(HazardTracker& t, const HazardConfig& c) {
    std::optional<std::uint32_t> id;
    for (std::uint64_t v = 1; v <= 3; ++v) {
        id = t.OnEvent(
            Event(v, kT0 + static_cast<EpochMs>(v) * kMinute, 40.0 + 0.5 * static_cast<double>(v)),
            c
        );
    }
    return *id;
}

TEST(HazardTracker, ConfirmsAfterThreeDistinctVehicles) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = t.OnEvent(Event(1, kT0, 40.0), c);
    ASSERT_TRUE(id);
    EXPECT_EQ(t.Find(*id)->status, HazardStatus::kCandidate);
    // The same vehicle again does not count twice.
    EXPECT_EQ(t.OnEvent(Event(1, kT0 + kMinute, 41.0), c), id);
    EXPECT_EQ(t.OnEvent(Event(2, kT0 + 2 * kMinute, 39.0), c), id);
    EXPECT_EQ(t.Find(*id)->status, HazardStatus::kCandidate);
    EXPECT_EQ(t.OnEvent(Event(3, kT0 + 3 * kMinute, 40.5), c), id);
    const Hazard* h = t.Find(*id);
    EXPECT_EQ(h->status, HazardStatus::kConfirmed);
    EXPECT_EQ(h->confirmed_ms, kT0 + 3 * kMinute);
    EXPECT_EQ(h->first_seen_ms, kT0);
    EXPECT_NEAR(h->offset_m, 40.125, 1e-9);  // equal uncertainties: the plain mean
    EXPECT_EQ(t.hazards().size(), 1U);
}

TEST(HazardTracker, FarEventsStartSeparateHazards) {
    const HazardConfig c;
    HazardTracker t;
    const auto a = t.OnEvent(Event(1, kT0, 10.0), c);
    const auto b = t.OnEvent(Event(2, kT0, 60.0), c);
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(t.hazards().size(), 2U);
    // Larger uncertainty widens the radius: 8 m away with 5 m sigma joins.
    HazardDetection wide = Event(3, kT0, 18.0);
    wide.uncertainty_m = 5.0;
    EXPECT_EQ(t.OnEvent(wide, c), a);
}

TEST(HazardTracker, ResolvesAfterFiveCleanPasses) {
    HazardConfig c;
    c.resolve_miss_probability = 0.0;  // resolve_clean_passes alone (see the test below)
    HazardTracker t;
    const auto id = Confirmed(t, c);
    for (std::uint64_t v = 10; v < 14; ++v) {
        t.OnPass(Pass(v, kT0 + 100 * kMinute + static_cast<EpochMs>(v)), c);
    }
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed);
    t.OnPass(Pass(13, kT0 + 200 * kMinute), c);  // same vehicle again: still 4 distinct
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed);
    t.OnPass(Pass(14, kT0 + 201 * kMinute), c);
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kResolved);
    EXPECT_EQ(t.Find(id)->closed_ms, kT0 + 201 * kMinute);
    EXPECT_EQ(t.CountOpen().low + t.CountOpen().medium + t.CountOpen().high, 0);
}

TEST(HazardTracker, RarelyDetectedHazardsNeedMoreCleanPassesToResolve) {
    const HazardConfig c;  // resolve_miss_probability 0.01
    HazardTracker t;
    const auto id = Confirmed(t, c);
    // Twelve passes without a detection, one more detection, fifteen passes: 4 detections in
    // 27 passes (r = 0.15) would need n = ln 0.01 / ln 0.85 = 29 clean passes; at most
    // kMaxClean (16) are asked for.
    for (std::uint64_t v = 100; v < 112; ++v) {
        t.OnPass(Pass(v, kT0 + 4 * kMinute + static_cast<EpochMs>(v)), c);
    }
    t.OnEvent(Event(3, kT0 + 50 * kMinute, 40.0), c);  // seen again: clean passes restart
    for (std::uint64_t v = 10; v < 25; ++v) {
        t.OnPass(Pass(v, kT0 + 100 * kMinute + static_cast<EpochMs>(v)), c);
    }
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed);  // 15 clean passes: not enough
    t.OnPass(Pass(25, kT0 + 200 * kMinute), c);
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kResolved);  // the 16th
}

TEST(HazardTracker, PassesOfSlowDevicesAreNoEvidence) {
    const HazardConfig c;  // pass_min_rate_hz 20
    HazardTracker t;
    const auto id = Confirmed(t, c);
    for (std::uint64_t v = 10; v < 30; ++v) {
        HazardPass p = Pass(v, kT0 + 100 * kMinute + static_cast<EpochMs>(v));
        p.sample_rate_hz = 5.0;  // a 5 Hz device rarely sees an impact: says nothing
        t.OnPass(p, c);
    }
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed);
    EXPECT_EQ(t.Find(id)->passes, 0U);
    // 3 detections, then passes of 100 Hz devices: (1 - 3/k)^k stays above 0.01 until the
    // cap of 16 clean passes.
    for (std::uint64_t v = 40; v < 56; ++v) {
        EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed) << v;
        HazardPass p = Pass(v, kT0 + 200 * kMinute + static_cast<EpochMs>(v));
        p.sample_rate_hz = 100.0;
        t.OnPass(p, c);
    }
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kResolved);
}

TEST(HazardTracker, DetectionsOfSlowDevicesStayOutOfTheDetectionRatio) {
    // Passes of 10 Hz devices do not count, so neither do their detections: r = 3 detections
    // of 100 Hz devices / 15 passes of 100 Hz devices = 0.2, not (3 + 10) / 15. Counted in, the
    // ten 10 Hz detections confirmed the hazard on the second of them (3 detections >= 0.2 x 9
    // passes), and made r 0.87, so that 5 clean passes resolved it; at r = 0.2,
    // (1 - 0.2)^n <= 0.01 needs 21 clean passes, capped at the 16 a hazard keeps.
    const HazardConfig c;  // pass_min_rate_hz 20, confirm_detection_ratio 0.2
    HazardTracker t;
    EpochMs now = kT0;
    const auto detect = [&](std::uint64_t vehicle, double rate_hz) {
        now += kMinute;
        HazardDetection e = Event(vehicle, now, 40.0);
        e.sample_rate_hz = rate_hz;
        const auto id = t.OnEvent(e, c);
        HazardPass p = Pass(vehicle, now);  // its own pass: not clean
        p.sample_rate_hz = rate_hz;
        t.OnPass(p, c);
        return id;
    };
    std::uint64_t next_passer = 100;
    const auto pass_by = [&](int count) {
        for (int k = 0; k < count; ++k) {
            now += kMinute;
            HazardPass p = Pass(next_passer++, now);
            p.sample_rate_hz = 100.0;
            t.OnPass(p, c);
        }
    };
    const auto id = detect(1, 100.0);
    ASSERT_TRUE(id);
    pass_by(4);
    detect(2, 10.0);
    pass_by(4);
    detect(3, 10.0);  // three vehicles, but 1 counted detection < 0.2 x 9 passes
    EXPECT_EQ(t.Find(*id)->status, HazardStatus::kCandidate);
    pass_by(4);
    for (std::uint64_t v = 4; v < 12; ++v) {
        detect(v, 10.0);
    }
    EXPECT_EQ(t.Find(*id)->status, HazardStatus::kCandidate);
    detect(12, 100.0);
    detect(13, 100.0);  // 3 counted detections >= 0.2 x 14 passes
    const Hazard* h = t.Find(*id);
    EXPECT_EQ(h->status, HazardStatus::kConfirmed);
    EXPECT_EQ(h->detections, 13U);
    EXPECT_EQ(h->counted_detections, 3U);
    EXPECT_EQ(h->passes, 15U);
    for (int k = 1; k <= 16; ++k) {
        EXPECT_EQ(t.Find(*id)->status, HazardStatus::kConfirmed) << k - 1 << " clean passes";
        pass_by(1);
    }
    EXPECT_EQ(t.Find(*id)->status, HazardStatus::kResolved);
}

TEST(HazardTracker, FewDetectionsAmongManyPassesDoNotConfirm) {
    const HazardConfig c;  // confirm_detection_ratio 0.2
    const auto run = [&](int rounds) {
        HazardTracker t;
        const auto id = t.OnEvent(Event(1, kT0, 40.0), c);
        // Four regular vehicles drive over it `rounds` times each without noticing (four
        // distinct clean passes: not enough to drop the candidate).
        for (int r = 0; r < rounds; ++r) {
            for (std::uint64_t v = 100; v < 104; ++v) {
                t.OnPass(Pass(v, kT0 + (r + 1) * kMinute + static_cast<EpochMs>(v)), c);
            }
        }
        t.OnEvent(Event(2, kT0 + 50 * kMinute, 40.5), c);
        t.OnEvent(Event(3, kT0 + 51 * kMinute, 39.5), c);
        return *t.Find(*id);
    };
    const Hazard some = run(2);  // 3 detections in 8 passes
    EXPECT_EQ(some.passes, 8U);
    EXPECT_EQ(some.status, HazardStatus::kConfirmed);
    const Hazard many = run(6);  // 3 detections in 24 passes: below 0.2
    EXPECT_EQ(many.passes, 24U);
    EXPECT_EQ(many.vehicles.size(), 3U);
    EXPECT_EQ(many.status, HazardStatus::kCandidate);
}

TEST(HazardTracker, PassFromTheSegmentStartCoversHazardsThere) {
    const HazardConfig c;
    HazardTracker t;
    for (std::uint64_t v = 1; v <= 3; ++v) {
        t.OnEvent(Event(v, kT0 + static_cast<EpochMs>(v) * kMinute, 0.8), c);
    }
    ASSERT_EQ(t.hazards().size(), 1U);
    t.OnPass(HazardPass{50, kT0 + 100 * kMinute, 0.4, 60.0, 12.0, 100.0}, c);
    EXPECT_EQ(t.hazards()[0].clean_passes.size(), 1U);
    t.OnPass(HazardPass{51, kT0 + 100 * kMinute, 3.0, 60.0, 12.0, 100.0}, c);  // starts after it
    EXPECT_EQ(t.hazards()[0].clean_passes.size(), 1U);
}

TEST(HazardTracker, PassThatDetectedIsNotCleanInEitherOrder) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    const EpochMs t1 = kT0 + 100 * kMinute;
    // Vehicle 20's pass arrives before its event.
    t.OnPass(Pass(20, t1), c);
    EXPECT_EQ(t.Find(id)->clean_passes.size(), 1U);
    t.OnEvent(Event(20, t1 + 1000, 40.0), c);
    EXPECT_TRUE(t.Find(id)->clean_passes.empty());
    // Vehicle 21's event arrives before its pass.
    t.OnEvent(Event(21, t1 + 5000, 40.0), c);
    t.OnPass(Pass(21, t1 + 4000), c);
    EXPECT_TRUE(t.Find(id)->clean_passes.empty());
}

TEST(HazardTracker, DetectionResetsCleanPasses) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    for (std::uint64_t v = 10; v < 14; ++v) {
        t.OnPass(Pass(v, kT0 + 100 * kMinute), c);
    }
    t.OnEvent(Event(30, kT0 + 101 * kMinute, 40.0), c);
    EXPECT_TRUE(t.Find(id)->clean_passes.empty());
    t.OnPass(Pass(14, kT0 + 102 * kMinute), c);
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kConfirmed);
}

TEST(HazardTracker, PassesNotCoveringOrTooSlowDoNotCount) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    t.OnPass(HazardPass{40, kT0 + 100 * kMinute, 50.0, 100.0, 12.0}, c);  // starts after the hazard
    t.OnPass(HazardPass{41, kT0 + 100 * kMinute, 0.0, 100.0, 2.0}, c);    // too slow
    t.OnPass(Pass(42, kT0), c);  // before the last detection
    EXPECT_TRUE(t.Find(id)->clean_passes.empty());
}

TEST(HazardTracker, RepairReportedThenVerified) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    EXPECT_EQ(
        t.OnAction({id, ContractorAction::kAcknowledge, "crew-7", kT0 + 10 * kMinute}, c),
        ActionResult::kApplied
    );
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kAcknowledged);
    EXPECT_EQ(t.Find(id)->acknowledged_ms, kT0 + 10 * kMinute);
    EXPECT_EQ(
        t.OnAction({id, ContractorAction::kAcknowledge, "crew-7", kT0}, c),
        ActionResult::kNotAllowed
    );
    t.OnPass(
        Pass(50, kT0 + 15 * kMinute), c
    );  // before the repair: does not count for verification
    EXPECT_EQ(
        t.OnAction({id, ContractorAction::kReportRepair, "crew-7", kT0 + 20 * kMinute}, c),
        ActionResult::kApplied
    );
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kRepairReported);
    EXPECT_TRUE(t.Find(id)->clean_passes.empty());
    for (std::uint64_t v = 60; v < 65; ++v) {
        t.OnPass(Pass(v, kT0 + 30 * kMinute), c);
    }
    const Hazard* h = t.Find(id);
    EXPECT_EQ(h->status, HazardStatus::kVerified);
    EXPECT_EQ(h->closed_ms, kT0 + 30 * kMinute);
    EXPECT_EQ(h->last_actor, "crew-7");
    // Time from confirmation to verified repair is computable.
    EXPECT_EQ(*h->closed_ms - *h->confirmed_ms, 27 * kMinute);
    EXPECT_EQ(
        t.OnAction({id, ContractorAction::kReportRepair, "x", kT0}, c), ActionResult::kNotAllowed
    );
}

TEST(HazardTracker, DetectionAfterRepairReportDisputes) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    t.OnAction({id, ContractorAction::kReportRepair, "crew", kT0 + 20 * kMinute}, c);
    t.OnEvent(Event(70, kT0 + 30 * kMinute, 40.0), c);
    EXPECT_EQ(t.Find(id)->status, HazardStatus::kDisputed);
    EXPECT_EQ(t.Find(id)->disputed_ms, kT0 + 30 * kMinute);
    // A disputed hazard can be reported repaired again.
    EXPECT_EQ(
        t.OnAction({id, ContractorAction::kReportRepair, "crew", kT0 + 40 * kMinute}, c),
        ActionResult::kApplied
    );
    EXPECT_EQ(
        t.OnAction({999, ContractorAction::kAcknowledge, "crew", kT0}, c),
        ActionResult::kUnknownHazard
    );
}

TEST(HazardTracker, CandidateWithCleanPassesIsDroppedAndOldCandidatesExpire) {
    const HazardConfig c;
    HazardTracker t;
    t.OnEvent(Event(1, kT0, 40.0), c);
    for (std::uint64_t v = 10; v < 15; ++v) {
        t.OnPass(Pass(v, kT0 + kMinute), c);
    }
    EXPECT_TRUE(t.hazards().empty());
    t.OnEvent(Event(1, kT0, 40.0), c);
    t.OnEvent(Event(2, kT0 + 31LL * 86400000LL, 80.0), c);  // 31 days later: the first expired
    ASSERT_EQ(t.hazards().size(), 1U);
    EXPECT_NEAR(t.hazards()[0].offset_m, 80.0, 1e-9);
}

TEST(HazardTracker, BoundedCandidatesAndHazards) {
    HazardConfig c;
    c.max_hazards = 6;
    c.max_candidates = 3;
    HazardTracker t;
    for (int i = 0; i < 20; ++i) {
        t.OnEvent(Event(static_cast<std::uint64_t>(i), kT0 + i, 20.0 * i), c);
        ASSERT_LE(t.hazards().size(), 3U);
    }
    // Ids are never reused and the newest candidates survive.
    EXPECT_EQ(t.hazards().back().id, 20U);
    EXPECT_EQ(t.hazards().front().id, 18U);
}

TEST(HazardTracker, SeverityFromMedianPeak) {
    const HazardConfig c;  // medium >= 5, high >= 10 (normalised m/s^2)
    HazardTracker t;
    const auto id = t.OnEvent(Event(1, kT0, 40.0, 20.0), c);
    EXPECT_EQ(t.Find(*id)->severity, HazardSeverity::kHigh);
    t.OnEvent(Event(2, kT0, 40.0, 9.0), c);
    t.OnEvent(Event(3, kT0, 40.0, 9.5), c);
    EXPECT_EQ(t.Find(*id)->severity, HazardSeverity::kMedium);
    EXPECT_EQ(t.CountOpen().medium, 1);
}

TEST(HazardTracker, EncodeDecodeRoundTripsExactly) {
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    t.OnEvent(Event(9, kT0, 80.0, 3.3), c);
    t.OnAction({id, ContractorAction::kAcknowledge, "crew-1", kT0 + kMinute}, c);
    t.OnPass(Pass(77, kT0 + 500 * kMinute), c);
    std::string bytes;
    ByteWriter w(bytes);
    t.Encode(w);
    ByteReader r(bytes);
    const auto back = HazardTracker::Decode(r);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(*back, t);
    // The decoded tracker continues identically (ids included).
    HazardTracker a = t;
    HazardTracker b = *back;
    EXPECT_EQ(
        a.OnEvent(Event(5, kT0 + 600 * kMinute, 20.0), c),
        b.OnEvent(Event(5, kT0 + 600 * kMinute, 20.0), c)
    );
    EXPECT_EQ(a, b);
    ByteReader cut(std::string_view(bytes).substr(0, bytes.size() - 1));
    EXPECT_FALSE(HazardTracker::Decode(cut).has_value());
}

TEST(HazardTracker, DecodesVersionOneStatesWithoutPassCounts) {
    // A state written before layout v2 (no covering-pass count) still loads, with passes 0.
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    t.OnPass(Pass(77, kT0 + 500 * kMinute), c);
    ASSERT_EQ(t.hazards().size(), 1U);
    ASSERT_EQ(t.Find(id)->passes, 1U);
    std::string v2;
    ByteWriter w(v2);
    t.Encode(w);
    // v1: version byte 1, and neither u32 passes nor u32 counted detections after the
    // hazard's detections (version, next id, count, then id, status, severity, offset, weight
    // sum, detections: 7 + 26 bytes).
    std::string v1 = v2;
    v1[0] = 1;
    v1.erase(7 + 26, 8);
    ByteReader r(v1);
    const auto back = HazardTracker::Decode(r);
    ASSERT_TRUE(back.has_value()) << back.error().Describe();
    EXPECT_TRUE(r.AtEnd());
    ASSERT_EQ(back->hazards().size(), 1U);
    EXPECT_EQ(back->hazards()[0].passes, 0U);
    EXPECT_EQ(back->hazards()[0].status, HazardStatus::kConfirmed);
    EXPECT_EQ(back->hazards()[0].detections, t.hazards()[0].detections);
    EXPECT_EQ(back->hazards()[0].counted_detections, t.hazards()[0].detections);
    EXPECT_EQ(back->hazards()[0].clean_passes, t.hazards()[0].clean_passes);
    v1[0] = 4;  // an unknown version is refused
    ByteReader unknown(v1);
    EXPECT_FALSE(HazardTracker::Decode(unknown).has_value());
}

TEST(HazardTracker, DecodesVersionTwoStatesCountingEveryDetection) {
    // A state written before layout v3 (no counted detections) loads with all its detections
    // counted, its detection ratio as it was; a v3 state with more counted detections than
    // detections is refused.
    const HazardConfig c;
    HazardTracker t;
    const auto id = Confirmed(t, c);
    HazardDetection slow = Event(9, kT0 + 10 * kMinute, 40.0);
    slow.sample_rate_hz = 5.0;
    t.OnEvent(slow, c);
    t.OnPass(Pass(77, kT0 + 500 * kMinute), c);
    ASSERT_EQ(t.Find(id)->detections, 4U);
    ASSERT_EQ(t.Find(id)->counted_detections, 3U);
    std::string v3;
    ByteWriter w(v3);
    t.Encode(w);
    ASSERT_EQ(v3[0], 3);
    ByteReader same(v3);
    const auto again = HazardTracker::Decode(same);
    ASSERT_TRUE(again.has_value()) << again.error().Describe();
    EXPECT_EQ(*again, t);
    // v2: no u32 counted detections after the passes (7 + 26 + 4 bytes in).
    std::string v2 = v3;
    v2[0] = 2;
    v2.erase(7 + 26 + 4, 4);
    ByteReader r(v2);
    const auto back = HazardTracker::Decode(r);
    ASSERT_TRUE(back.has_value()) << back.error().Describe();
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(back->hazards()[0].passes, 1U);
    EXPECT_EQ(back->hazards()[0].counted_detections, 4U);
    std::string more = v3;
    more[7 + 26 + 4] = 5;  // counted detections 5 of 4 (little-endian low byte)
    ByteReader bad(more);
    EXPECT_FALSE(HazardTracker::Decode(bad).has_value());
}

TEST(HazardTracker, NamesAreStable) {
    EXPECT_STREQ(ToString(HazardStatus::kRepairReported), "repair_reported");
    EXPECT_STREQ(ToString(HazardSeverity::kHigh), "high");
    EXPECT_EQ(ContractorActionFromString("report_repair"), ContractorAction::kReportRepair);
    EXPECT_FALSE(ContractorActionFromString("fix").has_value());
}

}  // namespace
}  // namespace pavewatch::pipeline
