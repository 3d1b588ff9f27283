#include "pavewatch/pipeline/ingest_processor.hpp"

#include "pavewatch/test_support/paths.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <set>

namespace pavewatch::pipeline {
namespace {

class IngestProcessorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        network_ = new RoadNetwork(*RoadNetwork::FromGeoJson(
            test_support::ReadFile(test_support::ProjectPath("data/almaty_roads.geojson"))
        ));
        matcher_ = new MapMatcher(*network_);
    }
    static void TearDownTestSuite() {
        delete matcher_;
        delete network_;
    }

    /// Index of the first segment of a road cut into at least `pieces` pieces.
    static std::size_t FirstOfLongRoad(int pieces) {
        for (std::size_t i = 0; i < network_->segments().size(); ++i) {
            if (network_->segments()[i].piece == 0 && network_->segments()[i].pieces >= pieces) {
                return i;
            }
        }
        return 0;
    }

    /// A drive along consecutive segments from `first`, at constant speed, 1 Hz GPS.
    static VehicleMessage
    Drive(std::size_t first, double speed_mps, double seconds, double rate_hz) {
        VehicleMessage m;
        m.vehicle_id = VehicleId{"car-1"};
        m.device_id = DeviceId{"dev-1"};
        m.vehicle_class = VehicleClass::kCar;
        m.accel.t0_ms = 1763900000000;
        m.accel.rate_hz = rate_hz;
        const auto n = static_cast<std::size_t>(seconds * rate_hz);
        for (std::size_t i = 0; i < n; ++i) {
            // Device lying on its side: gravity along x; a 2 Hz bump signal on it.
            const double t = static_cast<double>(i) / rate_hz;
            m.accel.x.push_back(static_cast<float>(9.81 + 0.8 * std::sin(2 * kPi * 2.0 * t)));
            m.accel.y.push_back(0.05F);
            m.accel.z.push_back(0.0F);
        }
        for (int s = 0; s <= static_cast<int>(seconds); ++s) {
            double along = speed_mps * s;
            std::size_t seg = first;
            while (along > network_->segments()[seg].length_m &&
                   seg + 1 < network_->segments().size()) {
                along -= network_->segments()[seg].length_m;
                ++seg;
            }
            const LonLat p =
                matcher_->PointAt(seg, std::min(along, network_->segments()[seg].length_m));
            const auto& sp = network_->segments()[seg].points;
            m.gps.push_back(
                {m.accel.t0_ms + std::int64_t{1000} * s,
                 p.lat,
                 p.lon,
                 speed_mps,
                 BearingDeg(sp.front(), sp.back()),
                 3.0}
            );
        }
        return m;
    }

    static RoadNetwork* network_;
    static MapMatcher* matcher_;
    ModelConfig config_;
    InMemoryCalibrationStore calibration_{config_.roughness};
};

RoadNetwork* IngestProcessorTest::network_ = nullptr;
MapMatcher* IngestProcessorTest::matcher_ = nullptr;

TEST_F(IngestProcessorTest, SplitsADriveIntoPassesOverConsecutiveSegments) {
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    const std::size_t first = FirstOfLongRoad(4);
    const auto obs = ingest.ProcessVehicle(ToJson(Drive(first, 12.0, 20.0, 100.0)));
    ASSERT_TRUE(obs) << obs.error().Describe();
    std::set<std::uint64_t> segments;
    for (const auto& o : *obs) {
        ASSERT_EQ(o.kind(), ObservationKind::kTraversal);
        const auto& t = std::get<Traversal>(o.body);
        segments.insert(o.segment.value());
        EXPECT_NEAR(t.speed_mps, 12.0, 0.01);
        EXPECT_GT(t.iri_m_per_km, 0.0F);
        EXPECT_EQ(t.vehicle_key, VehicleKey("car-1"));
        EXPECT_LE(t.from_m, t.to_m);
    }
    // 240 m of road: the first three segments of the road (each at most 100 m).
    EXPECT_TRUE(segments.contains(network_->segments()[first].id.value()));
    EXPECT_TRUE(segments.contains(network_->segments()[first + 1].id.value()));
    EXPECT_GE(segments.size(), 3U);
}

TEST_F(IngestProcessorTest, GivesNoRoughnessBelow20KmPerHour) {
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    const auto obs = ingest.ProcessVehicle(Drive(FirstOfLongRoad(2), 4.0, 10.0, 50.0));
    ASSERT_TRUE(obs);
    ASSERT_FALSE(obs->empty());
    for (const auto& o : *obs) {
        EXPECT_LT(std::get<Traversal>(o.body).iri_m_per_km, 0.0F);
    }
}

TEST_F(IngestProcessorTest, RoughnessGrowsWithVibrationWhateverTheOrientation) {
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    auto calm = Drive(FirstOfLongRoad(2), 12.0, 8.0, 100.0);
    for (auto& x : calm.accel.x) {
        x = 9.81F + (x - 9.81F) * 0.3F;  // 0.24 m/s^2: below the defect detector's threshold
    }
    auto rough = calm;
    for (auto& x : rough.accel.x) {
        x = 9.81F + (x - 9.81F) * 3.0F;
    }
    // The same rough signal with the device upright (gravity on z).
    auto upright = rough;
    std::swap(upright.accel.x, upright.accel.z);
    const auto first_iri = [](const std::vector<Observation>& obs) {
        for (const auto& o : obs) {
            if (const auto* t = std::get_if<Traversal>(&o.body)) {
                return t->iri_m_per_km;
            }
        }
        return -1.0F;
    };
    const auto a = ingest.ProcessVehicle(calm);
    const auto b = ingest.ProcessVehicle(rough);
    const auto c = ingest.ProcessVehicle(upright);
    ASSERT_TRUE(a && b && c);
    const float iri_calm = first_iri(*a);
    const float iri_rough = first_iri(*b);
    ASSERT_GT(iri_calm, 0.0F);
    // IRI is proportional to the RMS of the band-passed vertical acceleration.
    EXPECT_NEAR(iri_rough / iri_calm, 3.0, 0.15);
    EXPECT_NEAR(first_iri(*c), iri_rough, iri_rough * 0.02);
}

TEST_F(IngestProcessorTest, DropsAnIriEstimateBeyondAnyRoads) {
    // A violent vibration (about 150 m/km as it is) through a device calibrated at the largest
    // factor a calibration may hold (10): an estimate above ObservationLimits::kMaxIriMPerKm,
    // which wear would refuse. The pass is kept without it.
    const SensorRegistry registry;
    auto shaken = Drive(FirstOfLongRoad(2), 8.0, 8.0, 100.0);
    for (auto& x : shaken.accel.x) {
        x = 9.81F + (x - 9.81F) * 20.0F;  // 16 m/s^2 at 2 Hz
    }
    const auto traversal_iri = [&](const CalibrationStore& calibration) {
        const IngestProcessor ingest(*matcher_, registry, config_, calibration);
        const auto obs = ingest.ProcessVehicle(shaken);
        EXPECT_TRUE(obs) << obs.error().Describe();
        for (const auto& o : obs ? *obs : std::vector<Observation>{}) {
            EXPECT_TRUE(DecodeObservation(EncodeObservation(o))) << "wear must accept it";
            if (const auto* t = std::get_if<Traversal>(&o.body)) {
                return t->iri_m_per_km;
            }
        }
        return -2.0F;
    };
    const float as_is = traversal_iri(calibration_);
    ASSERT_GT(as_is * 10.0F, ObservationLimits::kMaxIriMPerKm) << as_is;
    ASSERT_LE(as_is, ObservationLimits::kMaxIriMPerKm) << as_is;
    InMemoryCalibrationStore ten_times(config_.roughness);
    ten_times.Set(DeviceId{"dev-1"}, std::nullopt, 10.0);
    EXPECT_EQ(traversal_iri(ten_times), -1.0F);  // a traversal, without an estimate
}

TEST_F(IngestProcessorTest, PlacesADetectedImpactOnItsSegment) {
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    const std::size_t first = FirstOfLongRoad(3);
    auto drive = Drive(first, 12.0, 10.0, 100.0);
    for (auto& x : drive.accel.x) {
        x = 9.81F + (x - 9.81F) * 0.1F;  // smooth road
    }
    // A sharp 25 m/s^2 jolt 4.0 s in: 48 m from the start of the drive.
    for (int k = 0; k < 3; ++k) {
        drive.accel.x[400 + static_cast<std::size_t>(k)] += (k == 1 ? -25.0F : 12.0F);
    }
    const auto obs = ingest.ProcessVehicle(drive);
    ASSERT_TRUE(obs);
    std::vector<const Observation*> events;
    for (const auto& o : *obs) {
        if (o.kind() == ObservationKind::kHazardEvent) {
            events.push_back(&o);
        }
    }
    ASSERT_EQ(events.size(), 1U);
    const auto& e = std::get<HazardEvent>(events[0]->body);
    double along = 48.0;
    std::size_t seg = first;
    while (along > network_->segments()[seg].length_m) {
        along -= network_->segments()[seg].length_m;
        ++seg;
    }
    EXPECT_EQ(events[0]->segment, network_->segments()[seg].id);
    EXPECT_NEAR(e.offset_m, along, 6.0);
    EXPECT_GT(e.uncertainty_m, 2.9F);     // the fix's 3 m accuracy at least
    EXPECT_EQ(e.sample_rate_hz, 100.0F);  // for the tracker's detection ratio
    EXPECT_EQ(events[0]->t_ms, drive.accel.t0_ms + 4010);
}

TEST_F(IngestProcessorTest, PlacesAnImpactByPerSampleTimesThatStartLate) {
    // One drive at 50 km/h with a jolt 4.0 s after t0, sent twice: at a declared 100 Hz from
    // t0, and with per-sample times from 500 ms after t0, one sample in ten missing (uneven
    // spacing, a mean rate of 90 Hz). Both put the event at the same time and place: they
    // differ only by the sub-sample interpolation of the peak, at most one 20 ms interval, 0.28 m
    // at 13.9 m/s (0.5 m allowed). Placed by sample index / mean rate, the second was 0.5 s
    // early (3512 ms after t0) and 6.8 m before.
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    const std::size_t first = FirstOfLongRoad(3);
    const double speed = 50.0 / 3.6;
    auto rated = Drive(first, speed, 10.0, 100.0);
    for (auto& x : rated.accel.x) {
        x = 9.81F + (x - 9.81F) * 0.1F;  // smooth road
    }
    for (int k = 0; k < 3; ++k) {
        rated.accel.x[400 + static_cast<std::size_t>(k)] += (k == 1 ? -25.0F : 12.0F);
    }
    VehicleMessage timed = rated;
    timed.accel.rate_hz = 0.0;
    timed.accel.x.clear();
    timed.accel.y.clear();
    timed.accel.z.clear();
    for (std::size_t i = 50; i < rated.accel.size(); ++i) {
        if (i % 10 == 5) {
            continue;  // a sample lost: the next one comes 20 ms later
        }
        timed.accel.offsets_s.push_back(static_cast<double>(i) / 100.0);
        timed.accel.x.push_back(rated.accel.x[i]);
        timed.accel.y.push_back(rated.accel.y[i]);
        timed.accel.z.push_back(rated.accel.z[i]);
    }
    ASSERT_DOUBLE_EQ(timed.accel.TimeOf(0), 0.5);
    // Through the JSON contract too: offsets_ms as a device sends them.
    const auto parsed = ParseVehicleMessage(ToJson(timed));
    ASSERT_TRUE(parsed) << parsed.error().Describe();
    const auto only_event = [&](const VehicleMessage& m) -> std::optional<Observation> {
        const auto obs = ingest.ProcessVehicle(m);
        EXPECT_TRUE(obs) << obs.error().Describe();
        std::vector<Observation> events;
        for (const auto& o : obs ? *obs : std::vector<Observation>{}) {
            if (o.kind() == ObservationKind::kHazardEvent) {
                events.push_back(o);
            }
        }
        EXPECT_EQ(events.size(), 1U);
        return events.size() == 1 ? std::optional(events[0]) : std::nullopt;
    };
    const auto by_rate = only_event(rated);
    const auto by_times = only_event(*parsed);
    ASSERT_TRUE(by_rate && by_times);
    EXPECT_EQ(by_times->segment, by_rate->segment);
    EXPECT_NEAR(
        std::get<HazardEvent>(by_times->body).offset_m,
        std::get<HazardEvent>(by_rate->body).offset_m,
        0.5
    );
    EXPECT_NEAR(static_cast<double>(by_times->t_ms - rated.accel.t0_ms), 4010.0, 20.0);
    EXPECT_NEAR(static_cast<double>(by_rate->t_ms - rated.accel.t0_ms), 4010.0, 10.0);
}

TEST_F(IngestProcessorTest, RefusesADriveOffTheNetwork) {
    const SensorRegistry registry;
    const IngestProcessor ingest(*matcher_, registry, config_, calibration_);
    auto m = Drive(FirstOfLongRoad(2), 12.0, 5.0, 50.0);
    for (auto& fix : m.gps) {
        fix.lat -= 1.0;  // 111 km south
    }
    const auto obs = ingest.ProcessVehicle(m);
    ASSERT_FALSE(obs);
    EXPECT_EQ(obs.error().code, ErrorCode::kNotOnNetwork);
}

TEST_F(IngestProcessorTest, PlacesEmbeddedReadingsOnTheirSensorsSegment) {
    const auto& seg = network_->segments()[FirstOfLongRoad(2)];
    const LonLat at = matcher_->PointAt(FirstOfLongRoad(2), seg.length_m / 2);
    const std::string registry_json =
        R"({"sensors":[{"sensor_id":"wim-1","kind":"wim","segment_id":")" + ToString(seg.id) +
        R"(","calibration":{"gain":1.1}},{"sensor_id":"t-1","kind":"temperature","lat":)" +
        std::to_string(at.lat) + R"(,"lon":)" + std::to_string(at.lon) + R"(,"depth_mm":50}]})";
    const auto registry = SensorRegistry::FromJson(registry_json, *matcher_);
    ASSERT_TRUE(registry) << registry.error().Describe();
    const IngestProcessor ingest(*matcher_, *registry, config_, calibration_);

    const auto wim = ingest.ProcessEmbedded(
        R"({"kind":"wim","sensor_id":"wim-1","t_ms":1763900000000,"speed_mps":20,"axle_loads_kn":[50,100],"axle_spacings_m":[5]})"
    );
    ASSERT_TRUE(wim) << wim.error().Describe();
    ASSERT_EQ(wim->size(), 1U);
    EXPECT_EQ(wim->front().segment, seg.id);
    EXPECT_FLOAT_EQ(std::get<AxleLoads>(wim->front().body).load_kn[1], 110.0F);  // gain 1.1

    const auto temp = ingest.ProcessEmbedded(
        R"({"kind":"temperature","sensor_id":"t-1","t_ms":1763900000000,"celsius":-3})"
    );
    ASSERT_TRUE(temp);
    EXPECT_EQ(temp->front().segment, seg.id);
    EXPECT_FLOAT_EQ(std::get<PavementTemperature>(temp->front().body).depth_mm, 50.0F);

    const auto unknown = ingest.ProcessEmbedded(
        R"({"kind":"moisture","sensor_id":"nope","t_ms":1763900000000,"vwc_percent":3})"
    );
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::kUnknownSensor);
    const auto mismatch = ingest.ProcessEmbedded(
        R"({"kind":"moisture","sensor_id":"wim-1","t_ms":1763900000000,"vwc_percent":3})"
    );
    ASSERT_FALSE(mismatch);
    EXPECT_EQ(mismatch.error().code, ErrorCode::kInconsistent);
}

TEST_F(IngestProcessorTest, RefusesAReadingItsCalibrationTakesOutOfRange) {
    const auto& seg = network_->segments()[FirstOfLongRoad(2)];
    const std::string registry_json =
        R"({"sensors":[{"sensor_id":"wim-1","kind":"wim","segment_id":")" + ToString(seg.id) +
        R"(","calibration":{"gain":2}},{"sensor_id":"t-1","kind":"temperature","segment_id":")" +
        ToString(seg.id) + R"(","calibration":{"offset":100}}]})";
    const auto registry = SensorRegistry::FromJson(registry_json, *matcher_);
    ASSERT_TRUE(registry) << registry.error().Describe();
    const IngestProcessor ingest(*matcher_, *registry, config_, calibration_);

    // 150 kN is a valid raw load; twice that is still within 400 kN, 250 kN twice is not.
    EXPECT_TRUE(ingest.ProcessEmbedded(
        R"({"kind":"wim","sensor_id":"wim-1","t_ms":1763900000000,"speed_mps":20,"axle_loads_kn":[150]})"
    ));
    const auto heavy = ingest.ProcessEmbedded(
        R"({"kind":"wim","sensor_id":"wim-1","t_ms":1763900000000,"speed_mps":20,"axle_loads_kn":[150,250],"axle_spacings_m":[5]})"
    );
    ASSERT_FALSE(heavy);
    EXPECT_EQ(heavy.error().code, ErrorCode::kOutOfRange);
    EXPECT_EQ(heavy.error().field, "axle_loads_kn[1]");
    EXPECT_NE(heavy.error().Describe().find("calibration"), std::string::npos)
        << heavy.error().Describe();
    const auto hot = ingest.ProcessEmbedded(
        R"({"kind":"temperature","sensor_id":"t-1","t_ms":1763900000000,"celsius":-3})"
    );
    ASSERT_FALSE(hot);
    EXPECT_EQ(hot.error().field, "celsius");
}

}  // namespace
}  // namespace pavewatch::pipeline
