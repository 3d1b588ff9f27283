#include "pavewatch/gateway/feed_filter.hpp"

#include "pavewatch/pipeline/observation.hpp"

#include <boost/json.hpp>

namespace pavewatch::gateway {

const char* ToString(EntryKind kind) {
    switch (kind) {
        case EntryKind::kCondition:
            return "condition";
        case EntryKind::kHazard:
            return "hazard";
        case EntryKind::kAlert:
            return "alert";
    }
    return "condition";
}

SegmentBoxes::SegmentBoxes(const pipeline::RoadNetwork& network) : network_(&network) {
    boxes_.reserve(network.segments().size());
    for (const auto& s : network.segments()) {
        BBox b{180.0, 90.0, -180.0, -90.0};
        for (const auto& p : s.points) {
            b = {
                std::min(b[0], p.lon),
                std::min(b[1], p.lat),
                std::max(b[2], p.lon),
                std::max(b[3], p.lat)};
        }
        boxes_.push_back(b);
    }
}

tl::expected<Subscription, std::string> ParseSubscription(const boost::json::object& m) {
    Subscription s;
    if (const auto* kinds = m.if_contains("kinds"); kinds != nullptr && !kinds->is_null()) {
        if (!kinds->is_array() || kinds->as_array().empty()) {
            return tl::unexpected(
                std::string("kinds must be a non-empty array of conditions, hazards, alerts")
            );
        }
        s.kinds = 0;
        for (const auto& k : kinds->as_array()) {
            if (k == "conditions") {
                s.kinds |= static_cast<std::uint8_t>(EntryKind::kCondition);
            } else if (k == "hazards") {
                s.kinds |= static_cast<std::uint8_t>(EntryKind::kHazard);
            } else if (k == "alerts") {
                s.kinds |= static_cast<std::uint8_t>(EntryKind::kAlert);
            } else {
                return tl::unexpected(
                    "unknown kind " + boost::json::serialize(k) +
                    "; one of conditions, hazards, alerts"
                );
            }
        }
    }
    if (const auto* bbox = m.if_contains("bbox"); bbox != nullptr && !bbox->is_null()) {
        if (!bbox->is_array() || bbox->as_array().size() != 4) {
            return tl::unexpected(std::string("bbox must be [W, S, E, N] in degrees"));
        }
        BBox b{};
        for (std::size_t i = 0; i < 4; ++i) {
            if (!bbox->as_array()[i].is_number()) {
                return tl::unexpected(std::string("bbox must be [W, S, E, N] in degrees"));
            }
            b[i] = bbox->as_array()[i].to_number<double>();
        }
        if (!(b[0] <= b[2] && b[1] <= b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 &&
              b[3] <= 90)) {
            return tl::unexpected(std::string("bbox must be [W, S, E, N] with W <= E and S <= N"));
        }
        s.bbox = b;
    }
    if (const auto* segments = m.if_contains("segments");
        segments != nullptr && !segments->is_null()) {
        if (!segments->is_array() || segments->as_array().size() > 100000) {
            return tl::unexpected(std::string("segments must be an array of segment ids (strings)")
            );
        }
        s.segments.emplace();
        for (const auto& id : segments->as_array()) {
            const auto parsed =
                id.is_string() ? pipeline::ParseSegmentKey(id.as_string()) : std::nullopt;
            if (!parsed) {
                return tl::unexpected(
                    std::string("segments must be an array of segment ids (strings)")
                );
            }
            s.segments->insert(*parsed);
        }
    }
    if (const auto* c = m.if_contains("min_class"); c != nullptr && !c->is_null()) {
        const auto klass =
            c->is_string() ? pipeline::ConditionClassFromString(c->as_string()) : std::nullopt;
        if (!klass) {
            return tl::unexpected(
                std::string("min_class must be one of good, satisfactory, fair, poor, very_poor, "
                            "serious, failed")
            );
        }
        s.min_class = klass;
    }
    return s;
}

FeedFilter::FeedFilter(Principal principal, Subscription subscription, const SegmentBoxes& boxes)
    : principal_(std::move(principal)), subscription_(std::move(subscription)), boxes_(&boxes) {
    if (subscription_.segments) {
        listed_.assign(boxes.size(), false);
        for (const auto id : *subscription_.segments) {
            if (const auto index = boxes.network().IndexOf(id)) {
                listed_[*index] = true;
            }
        }
    }
}

bool FeedFilter::InArea(std::size_t i) const {
    if (!listed_.empty() && !listed_[i]) {
        return false;
    }
    if (subscription_.bbox) {
        const auto& b = (*boxes_)[i];
        const auto& q = *subscription_.bbox;
        if (b[2] < q[0] || b[0] > q[2] || b[3] < q[1] || b[1] > q[3]) {
            return false;
        }
    }
    return true;
}

bool FeedFilter::InArea(std::size_t i, pipeline::LonLat at) const {
    if (!listed_.empty() && !listed_[i]) {
        return false;
    }
    if (subscription_.bbox) {
        const auto& q = *subscription_.bbox;
        if (at.lon < q[0] || at.lon > q[2] || at.lat < q[1] || at.lat > q[3]) {
            return false;
        }
    }
    return true;
}

bool FeedFilter::WantsCondition(
    std::size_t i,
    std::optional<pipeline::ConditionClass> klass,
    bool sent_before
) const {
    if (!subscription_.Has(EntryKind::kCondition) || !principal_.Sees(i) || !InArea(i)) {
        return false;
    }
    if (subscription_.min_class && !sent_before && (!klass || *klass < *subscription_.min_class)) {
        return false;
    }
    return true;
}

bool FeedFilter::WantsHazard(std::size_t i, pipeline::LonLat at) const {
    return subscription_.Has(EntryKind::kHazard) && principal_.Sees(i) && InArea(i, at);
}

bool FeedFilter::WantsAlert(std::size_t i, pipeline::LonLat at) const {
    return subscription_.Has(EntryKind::kAlert) && principal_.Sees(i) && InArea(i, at);
}

}  // namespace pavewatch::gateway
