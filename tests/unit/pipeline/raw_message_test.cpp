#include "pavewatch/pipeline/raw_message.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace pavewatch::pipeline {
namespace {

namespace json = boost::json;

json::object ValidVehicle() {
    json::object m;
    m["kind"] = "vehicle";
    m["schema_version"] = 1;
    m["vehicle_id"] = "bus-042";
    m["device_id"] = "phone-7f3a";
    m["vehicle_class"] = "bus";
    json::object accel;
    accel["t0_ms"] = 1763900000000LL;
    accel["rate_hz"] = 100;
    accel["unit"] = "m/s2";
    json::array x;
    json::array y;
    json::array z;
    for (int i = 0; i < 200; ++i) {
        x.push_back(0.1);
        y.push_back(-0.2);
        z.push_back(9.8);
    }
    accel["x"] = x;
    accel["y"] = y;
    accel["z"] = z;
    m["accel"] = accel;
    json::array gps;
    for (int i = 0; i < 2; ++i) {
        gps.push_back(json::object{
            {"t_ms", 1763900000000LL + 1000LL * i},
            {"lat", 43.25},
            {"lon", 76.9},
            {"speed_mps", 12.5},
            {"heading_deg", 90.0},
            {"accuracy_m", 4.0}});
    }
    m["gps"] = gps;
    return m;
}

tl::expected<VehicleMessage, Error> Parse(const json::object& o) {
    return ParseVehicleMessage(json::serialize(o));
}

TEST(ParseVehicleMessage, AcceptsAValidMessage) {
    const auto m = Parse(ValidVehicle());
    ASSERT_TRUE(m) << m.error().Describe();
    EXPECT_EQ(m->vehicle_id.value(), "bus-042");
    EXPECT_EQ(m->vehicle_class, VehicleClass::kBus);
    EXPECT_EQ(m->accel.size(), 200U);
    EXPECT_DOUBLE_EQ(m->accel.rate_hz, 100.0);
    EXPECT_FLOAT_EQ(m->accel.z[0], 9.8F);
    ASSERT_EQ(m->gps.size(), 2U);
    EXPECT_DOUBLE_EQ(m->gps[1].accuracy_m, 4.0);
}

TEST(ParseVehicleMessage, ConvertsGToMetresPerSecondSquared) {
    auto o = ValidVehicle();
    o["accel"].as_object()["unit"] = "g";
    o["accel"].as_object()["z"].as_array()[0] = 1.0;
    const auto m = Parse(o);
    ASSERT_TRUE(m);
    EXPECT_NEAR(m->accel.z[0], 9.80665, 1e-5);
}

TEST(ParseVehicleMessage, AcceptsPerSampleTimesInsteadOfARate) {
    auto o = ValidVehicle();
    auto& a = o["accel"].as_object();
    a.erase("rate_hz");
    json::array offsets;
    for (int i = 0; i < 200; ++i) {
        offsets.push_back(i * 10.0 + (i % 2));  // jittered 100 Hz
    }
    a["offsets_ms"] = offsets;
    const auto m = Parse(o);
    ASSERT_TRUE(m) << m.error().Describe();
    EXPECT_NEAR(m->accel.EffectiveRateHz(), 100.0, 1.0);
    EXPECT_NEAR(m->accel.TimeOf(3), 0.031, 1e-9);
}

TEST(AccelBatch, TimesAFractionalSampleByTheSamplesOwnTimes) {
    AccelBatch a;
    a.offsets_s = {0.5, 0.51, 0.53, 0.54};  // from 500 ms, uneven
    EXPECT_DOUBLE_EQ(a.TimeAt(0.0), 0.5);
    EXPECT_DOUBLE_EQ(a.TimeAt(1.5), 0.52);
    EXPECT_DOUBLE_EQ(a.TimeAt(3.0), 0.54);
    // Outside the samples: along the first or last interval.
    EXPECT_DOUBLE_EQ(a.TimeAt(-0.5), 0.495);
    EXPECT_DOUBLE_EQ(a.TimeAt(3.5), 0.545);
    AccelBatch rated;
    rated.rate_hz = 50.0;
    EXPECT_DOUBLE_EQ(rated.TimeAt(2.5), 0.05);
}

struct Refusal {
    const char* name;
    void (*mutate)(json::object&);
    ErrorCode code;
    const char* field;
};

class VehicleRefusals : public ::testing::TestWithParam<Refusal> {};

TEST_P(VehicleRefusals, NameTheFieldAndTheReason) {
    auto o = ValidVehicle();
    GetParam().mutate(o);
    const auto m = Parse(o);
    ASSERT_FALSE(m) << GetParam().name;
    EXPECT_EQ(m.error().code, GetParam().code) << m.error().Describe();
    EXPECT_EQ(m.error().field, GetParam().field) << m.error().Describe();
    EXPECT_FALSE(m.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases,
    VehicleRefusals,
    ::testing::Values(
        Refusal{
            "no kind",
            [](json::object& o) { o.erase("kind"); },
            ErrorCode::kMissingField,
            "kind"},
        Refusal{
            "wrong kind",
            [](json::object& o) { o["kind"] = "wim"; },
            ErrorCode::kUnknownKind,
            "kind"},
        Refusal{
            "no vehicle",
            [](json::object& o) { o.erase("vehicle_id"); },
            ErrorCode::kMissingField,
            "vehicle_id"},
        Refusal{
            "id type",
            [](json::object& o) { o["device_id"] = 5; },
            ErrorCode::kWrongType,
            "device_id"},
        Refusal{
            "id chars",
            [](json::object& o) { o["device_id"] = "a b"; },
            ErrorCode::kOutOfRange,
            "device_id"},
        Refusal{
            "class",
            [](json::object& o) { o["vehicle_class"] = "tank"; },
            ErrorCode::kUnknownKind,
            "vehicle_class"},
        Refusal{
            "version",
            [](json::object& o) { o["schema_version"] = 2; },
            ErrorCode::kUnsupportedVersion,
            "schema_version"},
        Refusal{
            "rate low",
            [](json::object& o) { o["accel"].as_object()["rate_hz"] = 4; },
            ErrorCode::kOutOfRange,
            "accel.rate_hz"},
        Refusal{
            "rate high",
            [](json::object& o) { o["accel"].as_object()["rate_hz"] = 401; },
            ErrorCode::kOutOfRange,
            "accel.rate_hz"},
        Refusal{
            "unit",
            [](json::object& o) { o["accel"].as_object()["unit"] = "ft/s2"; },
            ErrorCode::kUnknownKind,
            "accel.unit"},
        Refusal{
            "lengths",
            [](json::object& o) { o["accel"].as_object()["y"].as_array().pop_back(); },
            ErrorCode::kInconsistent,
            "accel"},
        Refusal{
            "sample type",
            [](json::object& o) { o["accel"].as_object()["x"].as_array()[5] = "1"; },
            ErrorCode::kWrongType,
            "accel.x[5]"},
        Refusal{
            "sample range",
            [](json::object& o) { o["accel"].as_object()["z"].as_array()[7] = 1000.0; },
            ErrorCode::kOutOfRange,
            "accel.z[7]"},
        Refusal{
            "both timings",
            [](json::object& o) { o["accel"].as_object()["offsets_ms"] = json::array{0}; },
            ErrorCode::kInconsistent,
            "accel"},
        Refusal{"no gps", [](json::object& o) { o.erase("gps"); }, ErrorCode::kMissingField, "gps"},
        Refusal{
            "empty gps",
            [](json::object& o) { o["gps"] = json::array{}; },
            ErrorCode::kOutOfRange,
            "gps"},
        Refusal{
            "lat",
            [](json::object& o) { o["gps"].as_array()[1].as_object()["lat"] = 91.0; },
            ErrorCode::kOutOfRange,
            "gps[1].lat"},
        Refusal{
            "speed",
            [](json::object& o) { o["gps"].as_array()[0].as_object()["speed_mps"] = -1.0; },
            ErrorCode::kOutOfRange,
            "gps[0].speed_mps"},
        Refusal{
            "order",
            [](json::object& o) { o["gps"].as_array()[1].as_object()["t_ms"] = 1763899999000LL; },
            ErrorCode::kInconsistent,
            "gps[1].t_ms"},
        Refusal{
            "overlap",
            [](json::object& o) {
                for (auto& f : o["gps"].as_array()) {
                    f.as_object()["t_ms"] = 1763900100000LL;
                }
            },
            ErrorCode::kInconsistent,
            "gps"},
        Refusal{
            "time",
            [](json::object& o) { o["accel"].as_object()["t0_ms"] = 5; },
            ErrorCode::kOutOfRange,
            "accel.t0_ms"}
    ),
    [](const auto& info) {
        std::string name = info.param.name;
        for (auto& c : name) {
            if (!std::isalnum(static_cast<unsigned char>(c))) {
                c = '_';
            }
        }
        return name;
    }
);

TEST(ParseVehicleMessage, RefusesWhatIsNotJson) {
    EXPECT_EQ(ParseVehicleMessage("{\"kind\":").error().code, ErrorCode::kMalformed);
    EXPECT_EQ(ParseVehicleMessage("[1,2]").error().code, ErrorCode::kWrongType);
    EXPECT_EQ(
        ParseVehicleMessage(std::string("\xff\xfe\x00", 3)).error().code, ErrorCode::kMalformed
    );
}

TEST(VehicleMessageJson, RoundTrips) {
    const auto m = Parse(ValidVehicle());
    ASSERT_TRUE(m);
    const auto again = ParseVehicleMessage(ToJson(*m));
    ASSERT_TRUE(again) << again.error().Describe();
    EXPECT_EQ(again->accel.z, m->accel.z);
    EXPECT_EQ(again->gps.size(), m->gps.size());
    EXPECT_DOUBLE_EQ(again->gps[0].lat, m->gps[0].lat);
}

TEST(ParseEmbeddedMessage, AcceptsEveryKind) {
    const auto wim = ParseEmbeddedMessage(
        R"({"kind":"wim","sensor_id":"wim-1","t_ms":1763900000000,"lane":2,"speed_mps":20,"axle_loads_kn":[50,80,80],"axle_spacings_m":[4.5,1.3]})"
    );
    ASSERT_TRUE(wim) << wim.error().Describe();
    EXPECT_EQ(std::get<WimReading>(*wim).axle_loads_kn.size(), 3U);
    const auto strain = ParseEmbeddedMessage(
        R"({"kind":"strain","sensor_id":"sg-1","t_ms":1763900000000,"peak_microstrain":[120.5,98]})"
    );
    ASSERT_TRUE(strain);
    const auto temp = ParseEmbeddedMessage(
        R"({"kind":"temperature","sensor_id":"t-1","t_ms":1763900000000,"celsius":-12.5})"
    );
    ASSERT_TRUE(temp);
    EXPECT_DOUBLE_EQ(std::get<TemperatureReading>(*temp).celsius, -12.5);
    const auto moist = ParseEmbeddedMessage(
        R"({"kind":"moisture","sensor_id":"m-1","t_ms":1763900000000,"vwc_percent":31})"
    );
    ASSERT_TRUE(moist);
    // Round trip through the encoder.
    const auto again = ParseEmbeddedMessage(ToJson(*wim));
    ASSERT_TRUE(again);
    EXPECT_EQ(
        std::get<WimReading>(*again).axle_spacings_m, std::get<WimReading>(*wim).axle_spacings_m
    );
}

TEST(ParseEmbeddedMessage, RefusesBadReadings) {
    const auto spacing = ParseEmbeddedMessage(
        R"({"kind":"wim","sensor_id":"wim-1","t_ms":1763900000000,"speed_mps":20,"axle_loads_kn":[50,80],"axle_spacings_m":[4.5,1.3]})"
    );
    ASSERT_FALSE(spacing);
    EXPECT_EQ(spacing.error().field, "axle_spacings_m");
    const auto kind =
        ParseEmbeddedMessage(R"({"kind":"radar","sensor_id":"r","t_ms":1763900000000})");
    ASSERT_FALSE(kind);
    EXPECT_EQ(kind.error().code, ErrorCode::kUnknownKind);
    const auto cold = ParseEmbeddedMessage(
        R"({"kind":"temperature","sensor_id":"t-1","t_ms":1763900000000,"celsius":-80})"
    );
    ASSERT_FALSE(cold);
    EXPECT_EQ(cold.error().field, "celsius");
    const auto load = ParseEmbeddedMessage(
        R"({"kind":"wim","sensor_id":"w","t_ms":1763900000000,"speed_mps":5,"axle_loads_kn":[900]})"
    );
    ASSERT_FALSE(load);
    EXPECT_EQ(load.error().field, "axle_loads_kn[0]");
}

TEST(ParseEmbeddedMessage, ReadsIntegersWrittenAsWholeDoublesAndRefusesHugeOnes) {
    // A JSON writer may write 1.7639e12 for an integer; it is one.
    const auto whole = ParseEmbeddedMessage(
        R"({"kind":"temperature","sensor_id":"t-1","t_ms":1.7639e12,"celsius":-3})"
    );
    ASSERT_TRUE(whole) << whole.error().Describe();
    EXPECT_EQ(std::get<TemperatureReading>(*whole).t_ms, 1763900000000);
    // Beyond int64 (found by tests/fuzz, ingest_embedded: the conversion was undefined
    // behaviour): refused as not an integer, whatever the platform.
    for (const char* t : {"1e42", "-1e42", "9223372036854775808.0", "1763900000000.5"}) {
        const auto huge = ParseEmbeddedMessage(
            std::string(R"({"kind":"temperature","sensor_id":"t-1","t_ms":)") + t +
            R"(,"celsius":-3})"
        );
        ASSERT_FALSE(huge) << t;
        EXPECT_EQ(huge.error().code, ErrorCode::kWrongType) << t;
        EXPECT_EQ(huge.error().field, "t_ms") << t;
    }
}

}  // namespace
}  // namespace pavewatch::pipeline
