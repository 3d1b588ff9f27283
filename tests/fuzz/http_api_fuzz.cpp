// Fuzz target: the bytes of an HTTP request to the gateway's REST API, read as the server reads
// them (http::ParseRequest: Boost.Beast's parser with the server's limits, the path and query
// percent-decoded) and answered by gateway::Api over a view holding condition records with
// hazards, inside and outside a contractor's zone. Properties: a refused request gets 400, 413
// or 431 as a problem document; every answer is valid JSON (problem documents included, whatever
// bytes they quote), with a documented status; only the two live tokens authenticate (an
// expired one is refused); and a contractor is never told about a segment or a hazard outside
// its zone, nor about another contractor's repair figures.

#include "fuzz_support.hpp"
#include "pavewatch/gateway/access.hpp"
#include "pavewatch/gateway/api.hpp"
#include "pavewatch/gateway/condition_view.hpp"
#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/http/request.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "zone_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace fuzz = pavewatch::fuzz;
namespace gateway = pavewatch::gateway;
namespace http = pavewatch::http;
namespace pipeline = pavewatch::pipeline;

constexpr pipeline::EpochMs kDayMs = 1763856000000;

struct ApiSetup {
    std::unique_ptr<gateway::ConditionView> view;
    gateway::TokenStore tokens;
    gateway::Principal contractor;
    std::unique_ptr<gateway::Api> api;

    static ApiSetup& Get() {
        static ApiSetup setup = Make();
        return setup;
    }

private:
    /// Segment `index` with a confirmed hazard (four vehicles detect it) and, when `actor` is
    /// given, that contractor's acknowledgement of it.
    static std::string
    Record(const pipeline::RoadNetwork& network, std::size_t index, const std::string& actor) {
        const pipeline::ModelConfig config;
        pipeline::SegmentState s;
        const auto id = network.segments()[index].id;
        for (std::uint64_t v = 1; v <= 4; ++v) {
            const auto t = static_cast<pipeline::EpochMs>(v);
            pipeline::Apply(
                s,
                {id,
                 kDayMs + t,
                 pipeline::Traversal{
                     .vehicle_key = v,
                     .speed_mps = 12,
                     .from_m = 0,
                     .to_m = 20,
                     .iri_m_per_km = 2.5F + static_cast<float>(index % 5),
                     .confidence = 0.9F}},
                config
            );
            pipeline::Apply(
                s,
                {id,
                 kDayMs + 100 + t,
                 pipeline::HazardEvent{
                     .vehicle_key = v,
                     .offset_m = 10,
                     .uncertainty_m = 3,
                     .peak_ms2 = 12,
                     .speed_mps = 12}},
                config
            );
        }
        if (!actor.empty()) {
            const auto action = pipeline::ParseHazardActionJson(
                R"({"segment_id":")" + pipeline::SegmentKey(id) +
                R"(","hazard_id":"1","action":"acknowledge","actor":")" + actor + R"(","t_ms":)" +
                std::to_string(kDayMs + 1000) + "}"
            );
            fuzz::Check(action.has_value(), "the fuzz target's hazard action parses");
            pipeline::Apply(s, *action, config);
        }
        return pipeline::ConditionToJson(s, config);
    }

    static ApiSetup Make() {
        const auto& ingest = fuzz::IngestSetup::Get();
        const auto& network = *ingest.network;
        ApiSetup s;
        s.view = std::make_unique<gateway::ConditionView>(network);
        // The agency, the contractor of feed_subscription, and an agency token that expired.
        const std::string file =
            R"({"tokens":[{"name":"agency","role":"agency","sha256":")" +
            gateway::Sha256Hex(fuzz::kAgencyToken) + R"("},)" +
            fuzz::ContractorTokenEntry(network) +
            R"(,{"name":"old","role":"agency","expires":"2020-01-01T00:00:00Z","sha256":")" +
            gateway::Sha256Hex(fuzz::kExpiredToken) + R"("}]})";
        auto tokens = gateway::TokenStore::FromJson(file, network);
        fuzz::Check(tokens.has_value(), "the fuzz target's token file loads");
        s.tokens = std::move(*tokens);
        auto contractor = s.tokens.Authenticate(fuzz::kFeedToken, kDayMs);
        fuzz::Check(contractor.has_value(), "the contractor's token authenticates");
        s.contractor = std::move(*contractor);
        // Conditions with hazards on segments inside and outside the zone, acknowledged by the
        // contractor, by another one or by nobody.
        const std::size_t n = network.segments().size();
        std::size_t inside = 0;
        for (std::size_t i = 0; i < n; i += n / 16) {
            const std::string actor = i % 3 == 0 ? "acme" : (i % 3 == 1 ? "other-co" : "");
            inside += s.contractor.Sees(i) ? 1 : 0;
            fuzz::Check(
                s.view->Apply(Record(network, i, actor)).has_value(), "a condition applies"
            );
        }
        // The listed segments: one acted on by the contractor, one inside its zone by another.
        fuzz::Check(
            s.view->Apply(Record(network, n - 1, "acme")).has_value(), "a condition applies"
        );
        fuzz::Check(
            s.view->Apply(Record(network, n / 2, "other-co")).has_value(), "a condition applies"
        );
        fuzz::Check(
            inside > 0 && inside < 16, "the view holds segments inside and outside the zone"
        );
        s.api = std::make_unique<gateway::Api>(
            *s.view, *ingest.matcher, s.tokens, R"({"tile_url":null})"
        );
        return s;
    }
};

std::string_view Body(const http::Response& r) {
    return r.shared_body ? std::string_view(*r.shared_body) : std::string_view(r.body);
}

/// Every segment an answer to the contractor names (as a segment id or in a hazard id) is in
/// its zone, and the only contractor whose repair figures it shows is itself.
void CheckWithinZone(const boost::json::value& v, const ApiSetup& setup) {
    const auto& network = setup.view->network();
    if (v.is_array()) {
        for (const auto& item : v.get_array()) {
            CheckWithinZone(item, setup);
        }
        return;
    }
    if (!v.is_object()) {
        return;
    }
    for (const auto& [key, value] : v.get_object()) {
        if (value.is_string() && (key == "id" || key == "segment_id" || key == "hazard_id")) {
            const std::string_view text = value.get_string();
            auto id = pipeline::ParseSegmentKey(text);
            if (!id) {
                if (const auto hazard = pipeline::ParseHazardId(text)) {
                    id = hazard->first;
                }
            }
            const auto index = id ? network.IndexOf(*id) : std::nullopt;
            fuzz::Check(index.has_value(), "an id in an answer names a segment of the network");
            fuzz::Check(setup.contractor.Sees(*index), "a contractor sees only its zone");
        }
        // A hazard's last_actor may be another contractor whose zone overlaps (docs/api).
        if (value.is_string() && key == "contractor") {
            fuzz::Check(value.get_string() == "acme", "a contractor sees only its own actions");
        }
        CheckWithinZone(value, setup);
    }
}

/// An answer is JSON, and an error (400 and above) a problem document naming its status.
boost::json::value CheckAnswer(const http::Response& response) {
    boost::system::error_code ec;
    auto body = boost::json::parse(Body(response), ec);
    if (ec) {
        std::fprintf(
            stderr, "%.*s\n", static_cast<int>(Body(response).size()), Body(response).data()
        );
    }
    fuzz::Check(!ec, "every answer is JSON");
    const bool error = response.status >= 400;
    fuzz::Check(
        error == (response.content_type == "application/problem+json"),
        "an error is a problem document"
    );
    if (error) {
        fuzz::Check(
            body.at("status").to_number<unsigned>() == response.status, "a problem names its status"
        );
    }
    return body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& setup = ApiSetup::Get();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto request = http::ParseRequest(bytes, http::RequestLimits{});
    if (!request) {
        const auto status = request.error().status;
        fuzz::Check(
            status == 400 || status == 413 || status == 431, "a refusal is 400, 413 or 431"
        );
        CheckAnswer(request.error());
        return 0;
    }
    const auto response = setup.api->Handle(*request);
    const bool api_path = request->path.rfind("/api/", 0) == 0;
    fuzz::Check(
        response.has_value() == (api_path || request->path == "/config.json"),
        "the API answers its own paths only"
    );
    if (!response) {
        return 0;
    }
    const unsigned status = response->status;
    fuzz::Check(
        status == 200 || status == 400 || status == 401 || status == 403 || status == 404 ||
            status == 405,
        "a documented status"
    );
    const auto body = CheckAnswer(*response);
    if (!api_path || (request->method != "GET" && request->method != "HEAD")) {
        return 0;
    }
    const std::string authorization = request->Header("authorization");
    const bool agency = authorization == "Bearer " + std::string(fuzz::kAgencyToken);
    const bool contractor = authorization == "Bearer " + std::string(fuzz::kFeedToken);
    fuzz::Check((status == 401) == (!agency && !contractor), "only the live tokens authenticate");
    if (contractor && status == 200) {
        CheckWithinZone(body, setup);
    }
    return 0;
}
