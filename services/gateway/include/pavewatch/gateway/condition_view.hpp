#pragma once

#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace pavewatch::gateway {

/// The latest condition of one segment as the gateway holds it.
struct SegmentCondition {
    pipeline::ConditionSummary summary;
    std::shared_ptr<const std::string> record;  ///< the full condition record (JSON) as produced
};

/// The gateway's picture of the network: the latest condition record of every segment and its
/// latest history record, fed by the consumer of `pavewatch.conditions` and
/// `pavewatch.condition-history`, read by HTTP handlers and the feed.
/// Thread-safe: one writer (the consumer thread), many readers.
class ConditionView {
public:
    explicit ConditionView(const pipeline::RoadNetwork& network);

    /// The condition before and after an applied record.
    struct Change {
        std::optional<SegmentCondition> before;
        SegmentCondition now;
    };
    /// Applies a record; returns the change when it is newer than what is held (a record with
    /// a lower version, e.g. replayed, is ignored).
    std::optional<Change> Apply(std::string_view record_json, std::string* error = nullptr);

    /// Keeps a history record (`pavewatch.condition-history`) when it is newer than the one
    /// held; false when it is stale or refused (then `error` says why).
    bool ApplyHistory(std::string_view record_json, std::string* error = nullptr);

    std::optional<SegmentCondition> Get(pipeline::SegmentId id) const;
    /// The latest history record of a segment (JSON as produced), or null without one.
    std::shared_ptr<const std::string> History(pipeline::SegmentId id) const;
    /// Calls `visit` for every segment of the network with its condition (nullopt: no data).
    void ForEach(const std::function<void(const pipeline::Segment&, const SegmentCondition*)>& visit
    ) const;

    /// Increases with every applied record (for caches).
    std::uint64_t generation() const;
    std::size_t with_data() const;
    const pipeline::RoadNetwork& network() const { return network_; }

private:
    const pipeline::RoadNetwork& network_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<pipeline::SegmentId, SegmentCondition> conditions_;
    struct HeldHistory {
        std::uint64_t version = 0;
        std::shared_ptr<const std::string> record;
    };
    std::unordered_map<pipeline::SegmentId, HeldHistory> histories_;
    std::uint64_t generation_ = 0;
};

}  // namespace pavewatch::gateway
