#include "pavewatch/gateway/condition_view.hpp"

namespace pavewatch::gateway {

ConditionView::ConditionView(const pipeline::RoadNetwork& network) : network_(network) {}

std::optional<ConditionView::Change>
ConditionView::Apply(std::string_view record_json, std::string* error) {
    auto summary = pipeline::ParseConditionSummary(record_json);
    if (!summary) {
        if (error != nullptr) {
            *error = summary.error().Describe();
        }
        return std::nullopt;
    }
    if (network_.Find(summary->segment) == nullptr) {
        if (error != nullptr) {
            *error = "segment " + pipeline::ToString(summary->segment) +
                     " is not in this gateway's network";
        }
        return std::nullopt;
    }
    SegmentCondition c{*summary, std::make_shared<const std::string>(record_json)};
    const std::unique_lock lock(mutex_);
    auto [it, inserted] = conditions_.try_emplace(summary->segment, c);
    std::optional<SegmentCondition> before;
    if (!inserted) {
        if (it->second.summary.version >= summary->version) {
            return std::nullopt;
        }
        before = it->second;
        it->second = c;
    }
    ++generation_;
    return Change{std::move(before), std::move(c)};
}

bool ConditionView::ApplyHistory(std::string_view record_json, std::string* error) {
    const auto summary = pipeline::ParseHistorySummary(record_json);
    if (!summary) {
        if (error != nullptr) {
            *error = summary.error().Describe();
        }
        return false;
    }
    if (network_.Find(summary->segment) == nullptr) {
        if (error != nullptr) {
            *error = "segment " + pipeline::ToString(summary->segment) +
                     " is not in this gateway's network";
        }
        return false;
    }
    auto record = std::make_shared<const std::string>(record_json);
    const std::unique_lock lock(mutex_);
    auto [it, inserted] = histories_.try_emplace(summary->segment);
    if (!inserted && it->second.version >= summary->version) {
        return false;
    }
    it->second = {summary->version, std::move(record)};
    return true;
}

std::shared_ptr<const std::string> ConditionView::History(pipeline::SegmentId id) const {
    const std::shared_lock lock(mutex_);
    const auto it = histories_.find(id);
    return it == histories_.end() ? nullptr : it->second.record;
}

std::optional<SegmentCondition> ConditionView::Get(pipeline::SegmentId id) const {
    const std::shared_lock lock(mutex_);
    const auto it = conditions_.find(id);
    if (it == conditions_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void ConditionView::ForEach(
    const std::function<void(const pipeline::Segment&, const SegmentCondition*)>& visit
) const {
    const std::shared_lock lock(mutex_);
    for (const auto& segment : network_.segments()) {
        const auto it = conditions_.find(segment.id);
        visit(segment, it == conditions_.end() ? nullptr : &it->second);
    }
}

std::uint64_t ConditionView::generation() const {
    const std::shared_lock lock(mutex_);
    return generation_;
}

std::size_t ConditionView::with_data() const {
    const std::shared_lock lock(mutex_);
    return conditions_.size();
}

}  // namespace pavewatch::gateway
