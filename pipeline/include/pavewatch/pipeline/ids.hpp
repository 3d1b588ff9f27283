#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace pavewatch::pipeline {

/// A value wrapped in a distinct type so that ids of different things cannot be swapped by
/// accident (a sensor id passed where a segment id is expected does not compile).
/// Thread-safety: a plain value.
template <typename Tag, typename T>
class StrongId {
public:
    using ValueType = T;

    constexpr StrongId() = default;
    constexpr explicit StrongId(T value) : value_(std::move(value)) {}

    constexpr const T& value() const { return value_; }

    // clang-tidy 14 reads the defaulted comparison's literal 0 as a null pointer.
    // NOLINTNEXTLINE(modernize-use-nullptr)
    friend constexpr auto operator<=>(const StrongId&, const StrongId&) = default;
    friend constexpr bool operator==(const StrongId&, const StrongId&) = default;

private:
    T value_{};
};

/// A road segment: a piece of at most `max_segment_length_m` of one road of the network.
/// Stable: derived from the road's geometry and the piece's index (see road_network.hpp), so
/// it does not change between runs over the same network file. Below 2^53, so that JavaScript
/// clients can hold it as a number, though every JSON document carries it as a string.
using SegmentId = StrongId<struct SegmentIdTag, std::uint64_t>;

/// A registered embedded sensor (weigh-in-motion station, strain gauge, thermometer, moisture
/// probe).
using SensorId = StrongId<struct SensorIdTag, std::string>;

/// A vehicle as named by its fleet or app.
using VehicleId = StrongId<struct VehicleIdTag, std::string>;

/// A measuring device (phone, telematics box) mounted in a vehicle.
using DeviceId = StrongId<struct DeviceIdTag, std::string>;

/// 64-bit FNV-1a: a stable hash (same on every machine and run), used for ids derived from names.
constexpr std::uint64_t
Fnv1a64(std::string_view text, std::uint64_t hash = 14695981039346656037ULL) {
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

/// Compact key of a vehicle inside observations and state (distinct-vehicle counting).
constexpr std::uint64_t VehicleKey(std::string_view vehicle_id) {
    return Fnv1a64(vehicle_id);
}

/// Decimal text of a segment id, as carried in JSON documents and Kafka keys.
std::string ToString(SegmentId id);

}  // namespace pavewatch::pipeline

template <typename Tag, typename T>
struct std::hash<pavewatch::pipeline::StrongId<Tag, T>> {
    std::size_t operator()(const pavewatch::pipeline::StrongId<Tag, T>& id) const noexcept {
        return std::hash<T>{}(id.value());
    }
};
