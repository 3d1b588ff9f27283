#pragma once

#include "pavewatch/gateway/access.hpp"
#include "pavewatch/gateway/condition_view.hpp"
#include "pavewatch/http/server.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pavewatch::gateway {

/// Files of the map page, loaded once from the web root (web/dist).
class StaticFiles {
public:
    /// Loads every file under `root`; an error names the folder.
    static tl::expected<StaticFiles, std::string> Load(const std::string& root);
    /// The file for a request path ("/" is index.html); nullopt when there is none.
    std::optional<http::Response> Get(const std::string& path) const;
    std::size_t size() const { return files_.size(); }

private:
    std::map<std::string, std::pair<std::string, std::shared_ptr<const std::string>>>
        files_;  // path -> (type, body)
};

/// One route of the REST API (docs/api/openapi.yaml documents each; a test keeps them equal).
struct Route {
    const char* method;
    const char* path;  ///< OpenAPI template, e.g. /api/v1/segments/{id}
};
/// Every route the API answers.
const std::vector<Route>& ApiRoutes();

/// The hazard object of the API and the feed, with its position on the network.
std::string HazardJson(
    const pipeline::HazardSummary& hazard,
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    std::size_t segment_index,
    std::uint64_t segment_version
);

/// The REST API over the condition view: a pure function of the request and the view, so
/// that it can be tested without sockets. With tokens configured, every /api/v1 request needs
/// `Authorization: Bearer <token>`, and a contractor sees only its zone.
class Api {
public:
    Api(const ConditionView& view,
        const pipeline::MapMatcher& matcher,
        const TokenStore& tokens,
        std::string config_json);

    /// Answers /api/v1/... and /config.json; nullopt for other paths.
    std::optional<http::Response> Handle(const http::Request& request);

private:
    http::Response Segments(const http::Request& request, const Principal& principal);
    http::Response Segment(const std::string& id, const Principal& principal);
    http::Response Network(const Principal& principal);
    http::Response Hazards(const http::Request& request, const Principal& principal);
    http::Response Repairs(const Principal& principal);

    const ConditionView& view_;
    const pipeline::MapMatcher& matcher_;
    const TokenStore& tokens_;
    std::string config_json_;
    std::mutex cache_mutex_;
    std::uint64_t cached_generation_ = ~0ULL;
    std::shared_ptr<const std::string> cached_segments_;
    std::shared_ptr<const std::string> cached_network_;
};

}  // namespace pavewatch::gateway
