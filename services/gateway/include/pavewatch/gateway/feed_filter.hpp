#pragma once

#include "pavewatch/gateway/access.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <boost/json/fwd.hpp>
#include <tl/expected.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace pavewatch::gateway {

/// What a feed message is about.
enum class EntryKind : std::uint8_t { kCondition = 1, kHazard = 2, kAlert = 4 };
const char* ToString(EntryKind kind);

/// [W, S, E, N] in degrees.
using BBox = std::array<double, 4>;

/// The bounding box of every segment of the network, computed once and shared.
class SegmentBoxes {
public:
    explicit SegmentBoxes(const pipeline::RoadNetwork& network);
    const BBox& operator[](std::size_t segment_index) const { return boxes_[segment_index]; }
    std::size_t size() const { return boxes_.size(); }
    const pipeline::RoadNetwork& network() const { return *network_; }

private:
    const pipeline::RoadNetwork* network_;
    std::vector<BBox> boxes_;
};

/// A client's subscription (the `subscribe` message of docs/api/asyncapi.yaml).
struct Subscription {
    std::uint8_t kinds = 7;  ///< EntryKind bits; all by default
    std::optional<BBox> bbox;
    std::optional<std::unordered_set<pipeline::SegmentId>> segments;
    /// Only segments at this class or worse (good < satisfactory < ... < failed).
    std::optional<pipeline::ConditionClass> min_class;

    bool Has(EntryKind kind) const { return (kinds & static_cast<std::uint8_t>(kind)) != 0; }
};

/// Reads a subscription from a `subscribe` message; the error is a sentence for the client.
tl::expected<Subscription, std::string> ParseSubscription(const boost::json::object& message);

/// Decides what one session may and wants to receive: the principal's zone intersected with the
/// subscription. Pure and immutable: the property tests drive it with random zones,
/// subscriptions and updates.
class FeedFilter {
public:
    FeedFilter(Principal principal, Subscription subscription, const SegmentBoxes& boxes);

    /// A condition of a segment. `sent_before`: the session already has this segment, so it
    /// keeps hearing of it even when it leaves `min_class` (the client must learn that).
    bool WantsCondition(
        std::size_t segment_index,
        std::optional<pipeline::ConditionClass> klass,
        bool sent_before
    ) const;
    /// A hazard or an alert placed at `at` on the segment.
    bool WantsHazard(std::size_t segment_index, pipeline::LonLat at) const;
    bool WantsAlert(std::size_t segment_index, pipeline::LonLat at) const;
    /// Whether the principal may see the segment at all (zone), whatever the subscription.
    bool Sees(std::size_t segment_index) const { return principal_.Sees(segment_index); }
    /// Whether any message about the segment may pass (zone and area, not kind or class): a
    /// superset of the Wants* answers, with which the hub wakes only the sessions an update may
    /// concern.
    bool MayConcern(std::size_t segment_index) const {
        return principal_.Sees(segment_index) && InArea(segment_index);
    }

    const Principal& principal() const { return principal_; }
    const Subscription& subscription() const { return subscription_; }

private:
    bool InArea(std::size_t segment_index) const;
    bool InArea(std::size_t segment_index, pipeline::LonLat at) const;

    Principal principal_;
    Subscription subscription_;
    const SegmentBoxes* boxes_;
    std::vector<bool> listed_;  ///< by segment index, when the subscription lists segments
};

}  // namespace pavewatch::gateway
