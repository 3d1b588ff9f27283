// Fuzz target: what a contractor's client sends the gateway's feed: the `subscribe` message
// (kinds, bounding box, segment list, minimum class) and the bearer token. The input is a token
// line, a newline, then the message's JSON. Properties: a refused subscription says why; a
// contractor's filter never lets through anything about a segment outside its zone, whatever
// the subscription, and every filter's answers stay within its MayConcern (which the hub uses
// to decide whom to wake); only the configured token authenticates.

#include "fuzz_support.hpp"
#include "pavewatch/gateway/access.hpp"
#include "pavewatch/gateway/feed_filter.hpp"
#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "zone_support.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fuzz = pavewatch::fuzz;
namespace gateway = pavewatch::gateway;
namespace pipeline = pavewatch::pipeline;

constexpr pipeline::EpochMs kNowMs = 1767225600000;

struct FeedSetup {
    std::unique_ptr<gateway::SegmentBoxes> boxes;
    gateway::TokenStore tokens;
    gateway::Principal contractor;
    gateway::Principal agency;

    static const FeedSetup& Get() {
        static const FeedSetup kSetup = [] {
            const auto& network = *fuzz::IngestSetup::Get().network;
            FeedSetup s;
            s.boxes = std::make_unique<gateway::SegmentBoxes>(network);
            const std::string file = R"({"tokens":[)" + fuzz::ContractorTokenEntry(network) + "]}";
            auto tokens = gateway::TokenStore::FromJson(file, network);
            fuzz::Check(tokens.has_value(), "the fuzz target's token file loads");
            s.tokens = std::move(*tokens);
            auto contractor = s.tokens.Authenticate(fuzz::kFeedToken, kNowMs);
            fuzz::Check(contractor.has_value(), "the configured token authenticates");
            s.contractor = std::move(*contractor);
            fuzz::Check(
                s.contractor.zone && s.contractor.zone->size() > 2, "the zone holds segments"
            );
            s.agency.name = "agency";
            return s;
        }();
        return kSetup;
    }
};

/// Everything `filter` lets through about segment `i` stays within MayConcern, and, for a
/// contractor, within its zone.
void CheckSegment(
    const gateway::FeedFilter& filter,
    const gateway::SegmentBoxes& boxes,
    std::size_t i
) {
    const auto& network = boxes.network();
    {
        const bool may = filter.MayConcern(i);
        const bool sees = filter.principal().Sees(i);
        fuzz::Check(!may || sees, "MayConcern only of segments the principal sees");
        const auto& points = network.segments()[i].points;
        const pipeline::LonLat at = points[points.size() / 2];
        bool any = filter.WantsHazard(i, at) || filter.WantsAlert(i, at);
        for (const bool sent_before : {false, true}) {
            any = any || filter.WantsCondition(i, std::nullopt, sent_before);
            for (int c = 0; c <= static_cast<int>(pipeline::ConditionClass::kFailed); ++c) {
                any =
                    any ||
                    filter.WantsCondition(i, static_cast<pipeline::ConditionClass>(c), sent_before);
            }
        }
        fuzz::Check(!any || may, "nothing passes that MayConcern refuses");
        fuzz::Check(!any || sees, "nothing about a segment outside the zone passes");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& setup = FeedSetup::Get();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const std::string_view token = input.substr(0, newline);
    const auto principal = setup.tokens.Authenticate(token, kNowMs);
    fuzz::Check(
        principal.has_value() == (token == fuzz::kFeedToken),
        "only the configured token authenticates"
    );
    if (newline == std::string_view::npos) {
        return 0;
    }
    boost::system::error_code ec;
    const auto message = boost::json::parse(
        boost::json::string_view(input.data() + newline + 1, input.size() - newline - 1), ec
    );
    if (ec || !message.is_object()) {
        return 0;
    }
    const auto subscription = gateway::ParseSubscription(message.get_object());
    if (!subscription) {
        fuzz::Check(!subscription.error().empty(), "a refused subscription says why");
        return 0;
    }
    // Every segment the subscription lists, and one in 64 of the others from an offset the
    // input picks (all of them would take 70,000 filter calls per input).
    std::vector<std::size_t> indices;
    const auto& network = setup.boxes->network();
    if (subscription->segments) {
        for (const auto id : *subscription->segments) {
            if (const auto index = network.IndexOf(id); index && indices.size() < 64) {
                indices.push_back(*index);
            }
        }
    }
    for (std::size_t i = std::hash<std::string_view>{}(input) % 64; i < setup.boxes->size();
         i += 64) {
        indices.push_back(i);
    }
    const gateway::FeedFilter contractor(setup.contractor, *subscription, *setup.boxes);
    const gateway::FeedFilter agency(setup.agency, *subscription, *setup.boxes);
    for (const std::size_t i : indices) {
        CheckSegment(contractor, *setup.boxes, i);
        CheckSegment(agency, *setup.boxes, i);
    }
    return 0;
}
