#include "pavewatch/pipeline/calibration.hpp"

#include <gtest/gtest.h>

namespace pavewatch::pipeline {
namespace {

TEST(Calibration, LookupPrefersDeviceVehicleThenDeviceThenClass) {
    RoughnessConfig config;
    config.factor_truck = 1.3;
    InMemoryCalibrationStore store(config);
    store.Set(DeviceId("phone-1"), VehicleId("van-7"), 1.1);
    store.Set(DeviceId("phone-1"), std::nullopt, 0.9);
    EXPECT_DOUBLE_EQ(
        store.Factor(DeviceId("phone-1"), VehicleId("van-7"), VehicleClass::kVan), 1.1
    );
    EXPECT_DOUBLE_EQ(
        store.Factor(DeviceId("phone-1"), VehicleId("car-2"), VehicleClass::kCar), 0.9
    );
    EXPECT_DOUBLE_EQ(
        store.Factor(DeviceId("phone-2"), VehicleId("t-1"), VehicleClass::kTruck), 1.3
    );
    EXPECT_DOUBLE_EQ(store.Factor(DeviceId("phone-2"), VehicleId("c-1"), VehicleClass::kCar), 1.0);
}

TEST(Calibration, LoadsFromJson) {
    const auto store = InMemoryCalibrationStore::FromJson(
        R"({"class_defaults": {"bus": 0.8}, "entries": [{"device_id": "d1", "vehicle_id": "v1", "factor": 1.25},
            {"device_id": "d2", "factor": 2}]})"
    );
    ASSERT_TRUE(store.has_value());
    EXPECT_DOUBLE_EQ(store->Factor(DeviceId("d1"), VehicleId("v1"), VehicleClass::kCar), 1.25);
    EXPECT_DOUBLE_EQ(store->Factor(DeviceId("d2"), VehicleId("v9"), VehicleClass::kCar), 2.0);
    EXPECT_DOUBLE_EQ(store->Factor(DeviceId("d3"), VehicleId("v9"), VehicleClass::kBus), 0.8);
}

TEST(Calibration, JsonErrorsNameTheField) {
    auto bad_class = InMemoryCalibrationStore::FromJson(R"({"class_defaults": {"tram": 1.0}})");
    ASSERT_FALSE(bad_class.has_value());
    EXPECT_EQ(bad_class.error().field, "class_defaults.tram");
    auto bad_factor = InMemoryCalibrationStore::FromJson(
        R"({"entries": [{"device_id": "a", "factor": 1}, {"device_id": "b", "factor": -1}]})"
    );
    ASSERT_FALSE(bad_factor.has_value());
    EXPECT_EQ(bad_factor.error().field, "entries[1].factor");
    EXPECT_EQ(bad_factor.error().code, ErrorCode::kOutOfRange);
    auto missing = InMemoryCalibrationStore::FromJson(R"({"entries": [{"factor": 1}]})");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::kMissingField);
    EXPECT_FALSE(InMemoryCalibrationStore::FromJson("[1]").has_value());
    auto unknown = InMemoryCalibrationStore::FromJson(R"({"entrys": []})");
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().field, "entrys");
}

}  // namespace
}  // namespace pavewatch::pipeline
