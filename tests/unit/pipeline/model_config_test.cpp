#include "pavewatch/pipeline/model_config.hpp"

#include <gtest/gtest.h>

namespace pavewatch::pipeline {
namespace {

TEST(ModelConfig, DefaultsAreValidAndRoundTripThroughJson) {
    const ModelConfig defaults;
    ASSERT_TRUE(ValidateModelConfig(defaults).has_value());
    const std::string json = ModelConfigToJson(defaults);
    const auto back = ModelConfigFromJson(json);
    ASSERT_TRUE(back.has_value()) << back.error().field << ": " << back.error().message;
    EXPECT_EQ(ModelConfigToJson(*back), json);
}

TEST(ModelConfig, OverridesOnlyTheGivenFields) {
    const auto c = ModelConfigFromJson(
        R"({"roughness": {"min_speed_kmh": 25, "band_order": 2}, "hazard": {"same_traversal_ms": 5000,
            "candidate_ttl_days": 7.5}, "condition": {"iri_deduct": [[1, 0], [10, 100]]}})"
    );
    ASSERT_TRUE(c.has_value()) << c.error().field;
    EXPECT_DOUBLE_EQ(c->roughness.min_speed_kmh, 25.0);
    EXPECT_EQ(c->roughness.band_order, 2);
    EXPECT_DOUBLE_EQ(c->roughness.band_low_hz, RoughnessConfig{}.band_low_hz);
    EXPECT_EQ(c->hazard.same_traversal, std::chrono::milliseconds(5000));
    EXPECT_DOUBLE_EQ(c->hazard.candidate_ttl.count(), 7.5);
    ASSERT_EQ(c->condition.iri_deduct.size(), 2U);
    EXPECT_EQ(c->condition.iri_deduct[1], (CurvePoint{10.0, 100.0}));
    EXPECT_EQ(c->structural.standard_axle_kn, 80.0);
}

TEST(ModelConfig, UnknownKeysAreErrorsNamingTheKey) {
    const auto a = ModelConfigFromJson(R"({"roughness": {"min_speed_kph": 25}})");
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, ErrorCode::kUnknownKind);
    EXPECT_EQ(a.error().field, "roughness.min_speed_kph");
    const auto b = ModelConfigFromJson(R"({"weather": {}})");
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error().field, "weather");
}

TEST(ModelConfig, WrongTypesAndInvalidValuesAreRefused) {
    const auto a = ModelConfigFromJson(R"({"hazard": {"confirm_vehicles": "three"}})");
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, ErrorCode::kWrongType);
    EXPECT_EQ(a.error().field, "hazard.confirm_vehicles");
    const auto b = ModelConfigFromJson(R"({"structural": {"freeze_below_c": 2.0}})");
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error().code, ErrorCode::kOutOfRange);
    const auto c = ModelConfigFromJson(R"({"condition": {"iri_deduct": [[2, 0], [1, 10]]}})");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().field, "condition.iri_deduct");
    EXPECT_FALSE(ModelConfigFromJson("not json").has_value());
    EXPECT_FALSE(ModelConfigFromJson("[]").has_value());
}

TEST(ModelConfig, RefusesCleanPassCountsTheTrackerCannotReach) {
    // A hazard keeps at most Hazard::kMaxClean (16) clean passes: 17 would never be reached.
    EXPECT_TRUE(ModelConfigFromJson(R"({"hazard": {"verify_clean_passes": 16}})").has_value());
    EXPECT_TRUE(ModelConfigFromJson(R"({"hazard": {"resolve_clean_passes": 16}})").has_value());
    const auto verify = ModelConfigFromJson(R"({"hazard": {"verify_clean_passes": 17}})");
    ASSERT_FALSE(verify.has_value());
    EXPECT_EQ(verify.error().code, ErrorCode::kOutOfRange);
    EXPECT_EQ(verify.error().field, "hazard.verify_clean_passes");
    EXPECT_NE(verify.error().message.find("16"), std::string::npos) << verify.error().message;
    const auto resolve = ModelConfigFromJson(R"({"hazard": {"resolve_clean_passes": 40}})");
    ASSERT_FALSE(resolve.has_value());
    EXPECT_EQ(resolve.error().field, "hazard.resolve_clean_passes");
}

TEST(ModelConfig, CurveInterpolationIsLinearAndFlatOutside) {
    const std::vector<CurvePoint> curve{{1.0, 0.0}, {3.0, 20.0}};
    EXPECT_DOUBLE_EQ(InterpolateCurve(curve, 0.0), 0.0);
    EXPECT_DOUBLE_EQ(InterpolateCurve(curve, 2.0), 10.0);
    EXPECT_DOUBLE_EQ(InterpolateCurve(curve, 5.0), 20.0);
    EXPECT_DOUBLE_EQ(InterpolateCurve({}, 5.0), 0.0);
}

}  // namespace
}  // namespace pavewatch::pipeline
