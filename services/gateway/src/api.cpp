#include "pavewatch/gateway/api.hpp"

#include "pavewatch/common/clock.hpp"
#include "pavewatch/common/files.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/observation.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>

namespace pavewatch::gateway {
namespace {

/// The segment's daily history as the detail API serves it, oldest first, the newest 90 days:
/// the closed days of its history record, then today from its condition record (whose `today`
/// it takes out of `record`). A closed day that is not before today (a history record newer
/// than the condition record) gives way to today's.
boost::json::array
MergeHistory(const std::shared_ptr<const std::string>& history, boost::json::object& record) {
    boost::json::array days;
    std::optional<boost::json::value> today;
    if (auto it = record.find("today"); it != record.end()) {
        if (it->value().is_object()) {
            today = std::move(it->value());
        }
        record.erase(it);
    }
    const auto day_of = [](const boost::json::value& v) -> std::string_view {
        const auto* o = v.if_object();
        const auto* d = o != nullptr ? o->if_contains("day") : nullptr;
        return d != nullptr && d->is_string() ? std::string_view(d->get_string()) : "";
    };
    if (history) {
        boost::system::error_code ec;
        auto doc = boost::json::parse(*history, ec);
        auto* held = !ec && doc.is_object() ? doc.as_object().if_contains("days") : nullptr;
        if (held != nullptr && held->is_array()) {
            for (auto& day : held->as_array()) {
                if (!today || day_of(day) < day_of(*today)) {
                    days.push_back(std::move(day));
                }
            }
        }
    }
    if (today) {
        days.push_back(std::move(*today));
    }
    constexpr std::size_t kDays = pipeline::DailyHistory::kMaxDays;
    if (days.size() > kDays) {
        days.erase(days.begin(), days.begin() + static_cast<std::ptrdiff_t>(days.size() - kDays));
    }
    return days;
}

std::string ContentType(const std::string& path) {
    static const std::map<std::string, std::string> kTypes{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"}};
    const auto dot = path.rfind('.');
    if (dot != std::string::npos) {
        const auto it = kTypes.find(path.substr(dot));
        if (it != kTypes.end()) {
            return it->second;
        }
    }
    return "application/octet-stream";
}

void WriteGeometry(pipeline::JsonWriter& w, const pipeline::Segment& s) {
    w.Key("geometry").BeginObject();
    w.Key("type").String("LineString");
    w.Key("coordinates").BeginArray();
    for (const auto& p : s.points) {
        w.BeginArray().Fixed(p.lon, 6).Fixed(p.lat, 6).EndArray();
    }
    w.EndArray();
    w.EndObject();
}

void WriteSegmentProperties(pipeline::JsonWriter& w, const pipeline::Segment& s) {
    w.Key("name").String(s.name);
    w.Key("highway").String(s.highway);
    w.Key("length_m").Fixed(s.length_m, 1);
}

struct Filter {
    std::optional<std::array<double, 4>> bbox;  // W, S, E, N
    std::optional<std::vector<pipeline::ConditionClass>> classes;
    std::optional<std::int64_t> updated_since;
};

/// "W,S,E,N": exactly four decimal numbers separated by commas, nothing else.
std::optional<std::array<double, 4>> ParseBbox(const std::string& text) {
    std::array<double, 4> b{};
    const char* p = text.data();
    const char* end = text.data() + text.size();
    for (std::size_t i = 0; i < 4; ++i) {
        const auto r = std::from_chars(p, end, b[i]);
        if (r.ec != std::errc{} || !std::isfinite(b[i])) {
            return std::nullopt;
        }
        p = r.ptr;
        if (i < 3) {
            if (p == end || *p != ',') {
                return std::nullopt;
            }
            ++p;
        }
    }
    if (p != end || b[0] > b[2] || b[1] > b[3] || b[0] < -180 || b[2] > 180 || b[1] < -90 ||
        b[3] > 90) {
        return std::nullopt;
    }
    return b;
}

/// Parses bbox/class/updated_since; the error is a problem document.
tl::expected<Filter, http::Response> ParseFilter(const http::Request& r) {
    Filter f;
    if (const auto it = r.query.find("bbox"); it != r.query.end()) {
        const auto b = ParseBbox(it->second);
        if (!b) {
            return tl::unexpected(http::Problem(
                400, "Bad Request", "bbox must be W,S,E,N in degrees with W <= E and S <= N"
            ));
        }
        f.bbox = *b;
    }
    if (const auto it = r.query.find("class"); it != r.query.end()) {
        std::vector<pipeline::ConditionClass> classes;
        std::istringstream in(it->second);
        std::string item;
        while (std::getline(in, item, ',')) {
            const auto c = pipeline::ConditionClassFromString(item);
            if (!c) {
                return tl::unexpected(http::Problem(
                    400,
                    "Bad Request",
                    "unknown class \"" + item +
                        "\"; one of good, satisfactory, fair, poor, very_poor, serious, failed"
                ));
            }
            classes.push_back(*c);
        }
        f.classes = classes;
    }
    if (const auto it = r.query.find("updated_since"); it != r.query.end()) {
        std::int64_t ms = 0;
        const auto& text = it->second;
        const auto parsed = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (text.empty() || text.front() == '-' || parsed.ec != std::errc{} ||
            parsed.ptr != text.data() + text.size()) {
            return tl::unexpected(http::Problem(
                400, "Bad Request", "updated_since must be epoch milliseconds (digits only)"
            ));
        }
        f.updated_since = ms;
    }
    return f;
}

bool Intersects(const pipeline::Segment& s, const std::array<double, 4>& b) {
    for (const auto& p : s.points) {
        if (p.lon >= b[0] && p.lon <= b[2] && p.lat >= b[1] && p.lat <= b[3]) {
            return true;
        }
    }
    return false;
}

http::Response Json(std::string body) {
    http::Response r;
    r.body = std::move(body);
    return r;
}

}  // namespace

tl::expected<StaticFiles, std::string> StaticFiles::Load(const std::string& root) {
    StaticFiles files;
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) {
        return tl::unexpected(
            "web root " + root +
            " is not a folder (build the page: cd web && npm ci && npm run build)"
        );
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
        if (!entry.is_regular_file()) {
            continue;
        }
        auto content = common::ReadWholeFile(entry.path().string());
        if (!content) {
            return tl::unexpected(content.error());
        }
        const std::string rel =
            "/" + std::filesystem::relative(entry.path(), root).generic_string();
        files.files_[rel] = {
            ContentType(rel), std::make_shared<const std::string>(std::move(*content))};
    }
    if (!files.files_.contains("/index.html")) {
        return tl::unexpected("web root " + root + " has no index.html");
    }
    return files;
}

std::optional<http::Response> StaticFiles::Get(const std::string& path) const {
    const auto it = files_.find(path == "/" ? "/index.html" : path);
    if (it == files_.end()) {
        return std::nullopt;
    }
    http::Response r;
    r.content_type = it->second.first;
    r.shared_body = it->second.second;
    // Hashed assets never change; the page itself is revalidated.
    r.headers.emplace_back(
        "Cache-Control",
        path.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache"
    );
    return r;
}

const std::vector<Route>& ApiRoutes() {
    static const std::vector<Route> kRoutes = {
        {"GET", "/api/v1/segments"},
        {"GET", "/api/v1/segments/{id}"},
        {"GET", "/api/v1/hazards"},
        {"GET", "/api/v1/network"},
        {"GET", "/api/v1/repairs"},
        {"GET", "/api/v1/feed"},
        {"GET", "/config.json"},
        {"GET", "/metrics"},
        {"GET", "/healthz"},
        {"GET", "/readyz"}};
    return kRoutes;
}

std::string HazardJson(
    const pipeline::HazardSummary& h,
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    std::size_t segment_index,
    std::uint64_t segment_version
) {
    const auto at = matcher.PointAt(segment_index, h.offset_m);
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("hazard_id").String(h.id);
    w.Key("segment_id").String(pipeline::ToString(network.segments()[segment_index].id));
    w.Key("segment_version").UInt(segment_version);
    w.Key("status").String(pipeline::ToString(h.status));
    w.Key("severity").String(pipeline::ToString(h.severity));
    w.Key("lat").Fixed(at.lat, 7);
    w.Key("lon").Fixed(at.lon, 7);
    w.Key("offset_m").Number(h.offset_m);
    w.Key("vehicles").UInt(h.vehicles);
    w.Key("first_seen_ms").Int(h.first_seen_ms);
    w.Key("confirmed_ms");
    if (h.confirmed_ms) {
        w.Int(*h.confirmed_ms);
    } else {
        w.Null();
    }
    w.Key("closed_ms");
    if (h.closed_ms) {
        w.Int(*h.closed_ms);
    } else {
        w.Null();
    }
    w.Key("last_actor").String(h.last_actor);
    w.EndObject();
    return out;
}

Api::Api(
    const ConditionView& view,
    const pipeline::MapMatcher& matcher,
    const TokenStore& tokens,
    std::string config_json
)
    : view_(view), matcher_(matcher), tokens_(tokens), config_json_(std::move(config_json)) {}

std::optional<http::Response> Api::Handle(const http::Request& request) {
    if (request.path == "/config.json") {
        return Json(config_json_);
    }
    if (request.path.rfind("/api/", 0) != 0) {
        return std::nullopt;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        auto r = http::Problem(
            405, "Method Not Allowed", "the API is read-only over HTTP; actions go through the feed"
        );
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    // Who is asking: with tokens configured, a bearer token is required.
    std::string token;
    const std::string authorization = request.Header("authorization");
    if (authorization.rfind("Bearer ", 0) == 0) {
        token = authorization.substr(7);
    }
    const auto now = common::WallMs();
    auto principal = tokens_.Authenticate(token, now);
    if (!principal) {
        auto r = http::Problem(
            401,
            "Unauthorized",
            std::string("a valid bearer token is required (") + ToString(principal.error()) +
                " token)",
            "about:blank"
        );
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pavewatch\"");
        return r;
    }
    if (request.path == "/api/v1/segments") {
        return Segments(request, *principal);
    }
    if (request.path.rfind("/api/v1/segments/", 0) == 0) {
        return Segment(request.path.substr(std::string("/api/v1/segments/").size()), *principal);
    }
    if (request.path == "/api/v1/network") {
        return Network(*principal);
    }
    if (request.path == "/api/v1/hazards") {
        return Hazards(request, *principal);
    }
    if (request.path == "/api/v1/repairs") {
        return Repairs(*principal);
    }
    return http::Problem(404, "Not Found", "no API resource at " + request.path);
}

http::Response Api::Segments(const http::Request& request, const Principal& principal) {
    auto filter = ParseFilter(request);
    if (!filter) {
        return filter.error();
    }
    const bool everything = !filter->bbox && !filter->classes && !filter->updated_since &&
                            principal.role == Role::kAgency;
    if (everything) {
        const std::lock_guard lock(cache_mutex_);
        if (cached_segments_ && cached_generation_ == view_.generation()) {
            http::Response r;
            r.content_type = "application/geo+json";
            r.shared_body = cached_segments_;
            return r;
        }
    }
    const std::uint64_t generation = view_.generation();
    std::string out;
    out.reserve(view_.network().segments().size() * 320);
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("type").String("FeatureCollection");
    w.Key("features").BeginArray();
    const auto& segments = view_.network().segments();
    view_.ForEach([&](const pipeline::Segment& s, const SegmentCondition* c) {
        if (!principal.Sees(static_cast<std::size_t>(&s - segments.data()))) {
            return;
        }
        if (filter->bbox && !Intersects(s, *filter->bbox)) {
            return;
        }
        if (filter->classes) {
            if (c == nullptr || !c->summary.klass ||
                std::find(filter->classes->begin(), filter->classes->end(), *c->summary.klass) ==
                    filter->classes->end()) {
                return;
            }
        }
        if (filter->updated_since &&
            (c == nullptr || c->summary.updated_ms < *filter->updated_since)) {
            return;
        }
        w.BeginObject();
        w.Key("type").String("Feature");
        w.Key("id").String(pipeline::ToString(s.id));
        WriteGeometry(w, s);
        w.Key("properties").BeginObject();
        pipeline::ConditionSummary none;
        none.segment = s.id;
        pipeline::WriteSummaryFields(w, c != nullptr ? c->summary : none);
        WriteSegmentProperties(w, s);
        w.EndObject();
        w.EndObject();
    });
    w.EndArray();
    w.EndObject();
    auto body = std::make_shared<const std::string>(std::move(out));
    if (everything) {
        const std::lock_guard lock(cache_mutex_);
        cached_segments_ = body;
        cached_generation_ = generation;
    }
    http::Response r;
    r.content_type = "application/geo+json";
    r.shared_body = std::move(body);
    return r;
}

http::Response Api::Segment(const std::string& id_text, const Principal& principal) {
    const auto id = pipeline::ParseSegmentKey(id_text);
    const auto index = id ? view_.network().IndexOf(*id) : std::nullopt;
    if (!index) {
        return http::Problem(404, "Not Found", "no segment \"" + id_text + "\" in the network");
    }
    if (!principal.Sees(*index)) {
        return http::Problem(
            403, "Forbidden", "segment " + id_text + " is outside the zone of " + principal.name
        );
    }
    const pipeline::Segment& segment = view_.network().segments()[*index];
    boost::json::object out;
    const auto c = view_.Get(*id);
    if (c) {
        boost::system::error_code ec;
        auto record = boost::json::parse(*c->record, ec);
        if (!ec && record.is_object()) {
            out = std::move(record.as_object());
        }
    } else {
        out["segment_id"] = pipeline::ToString(*id);
        out["version"] = 0;
        out["updated_ms"] = nullptr;
        out["condition_index"] = nullptr;
        out["condition_class"] = nullptr;
        out["iri_m_per_km"] = nullptr;
        out["hazards_open"] = 0;
        out["hazards"] = boost::json::array();
        out["history"] = boost::json::array();
    }
    if (c) {
        out["history"] = MergeHistory(view_.History(*id), out);
    }
    out["name"] = segment.name;
    out["highway"] = segment.highway;
    out["length_m"] = std::round(segment.length_m * 10) / 10;
    if (auto* hazards = out.if_contains("hazards"); hazards != nullptr && hazards->is_array()) {
        for (auto& h : hazards->as_array()) {
            if (h.is_object() && h.as_object().contains("offset_m") &&
                h.as_object().at("offset_m").is_number()) {
                const auto at =
                    matcher_.PointAt(*index, h.as_object().at("offset_m").to_number<double>());
                h.as_object()["lat"] = std::round(at.lat * 1e7) / 1e7;
                h.as_object()["lon"] = std::round(at.lon * 1e7) / 1e7;
            }
        }
    }
    if (c && c->summary.updated_ms > 0) {
        const auto now = common::WallMs();
        out["freshness_s"] =
            static_cast<double>(std::max<std::int64_t>(0, now - c->summary.updated_ms)) / 1000.0;
    } else {
        out["freshness_s"] = nullptr;
    }
    return Json(boost::json::serialize(out));
}

http::Response Api::Hazards(const http::Request& request, const Principal& principal) {
    auto filter = ParseFilter(request);
    if (!filter) {
        return filter.error();
    }
    std::optional<std::vector<pipeline::HazardStatus>> statuses;
    if (const auto it = request.query.find("status"); it != request.query.end()) {
        statuses.emplace();
        std::istringstream in(it->second);
        std::string item;
        while (std::getline(in, item, ',')) {
            const auto s = pipeline::HazardStatusFromString(item);
            if (!s) {
                return http::Problem(
                    400,
                    "Bad Request",
                    "unknown hazard status \"" + item +
                        "\"; one of candidate, confirmed, acknowledged, repair_reported, verified, "
                        "disputed, resolved"
                );
            }
            statuses->push_back(*s);
        }
    }
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("type").String("FeatureCollection");
    w.Key("features").BeginArray();
    const auto& segments = view_.network().segments();
    view_.ForEach([&](const pipeline::Segment& s, const SegmentCondition* c) {
        const auto index = static_cast<std::size_t>(&s - segments.data());
        if (c == nullptr || c->summary.hazards.empty() || !principal.Sees(index)) {
            return;
        }
        for (const auto& h : c->summary.hazards) {
            if (statuses &&
                std::find(statuses->begin(), statuses->end(), h.status) == statuses->end()) {
                continue;
            }
            const auto at = matcher_.PointAt(index, h.offset_m);
            if (filter->bbox && !(at.lon >= (*filter->bbox)[0] && at.lon <= (*filter->bbox)[2] &&
                                  at.lat >= (*filter->bbox)[1] && at.lat <= (*filter->bbox)[3])) {
                continue;
            }
            w.BeginObject();
            w.Key("type").String("Feature");
            w.Key("id").String(h.id);
            w.Key("geometry").BeginObject();
            w.Key("type").String("Point");
            w.Key("coordinates").BeginArray().Fixed(at.lon, 7).Fixed(at.lat, 7).EndArray();
            w.EndObject();
            w.Key("properties")
                .Raw(HazardJson(h, view_.network(), matcher_, index, c->summary.version));
            w.EndObject();
        }
    });
    w.EndArray();
    w.EndObject();
    http::Response r;
    r.content_type = "application/geo+json";
    r.body = std::move(out);
    return r;
}

http::Response Api::Repairs(const Principal& principal) {
    // Per contractor: hazards it acted on, by outcome, and the time from confirmation to a
    // verified repair.
    struct Tally {
        int reported = 0;
        int verified = 0;
        int disputed = 0;
        std::vector<double> times_s;
    };
    std::map<std::string, Tally> by_actor;
    const auto& segments = view_.network().segments();
    view_.ForEach([&](const pipeline::Segment& s, const SegmentCondition* c) {
        const auto index = static_cast<std::size_t>(&s - segments.data());
        if (c == nullptr || !principal.Sees(index)) {
            return;
        }
        for (const auto& h : c->summary.hazards) {
            if (h.last_actor.empty() ||
                (principal.role == Role::kContractor && h.last_actor != principal.name)) {
                continue;
            }
            auto& t = by_actor[h.last_actor];
            using pipeline::HazardStatus;
            t.reported += h.status == HazardStatus::kRepairReported ? 1 : 0;
            t.disputed += h.status == HazardStatus::kDisputed ? 1 : 0;
            if (h.status == HazardStatus::kVerified) {
                ++t.verified;
                if (h.confirmed_ms && h.closed_ms) {
                    t.times_s.push_back(
                        static_cast<double>(*h.closed_ms - *h.confirmed_ms) / 1000.0
                    );
                }
            }
        }
    });
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("contractors").BeginArray();
    for (auto& [actor, t] : by_actor) {
        w.BeginObject();
        w.Key("contractor").String(actor);
        w.Key("repairs_reported").Int(t.reported);
        w.Key("repairs_verified").Int(t.verified);
        w.Key("repairs_disputed").Int(t.disputed);
        w.Key("median_time_to_verified_s");
        if (t.times_s.empty()) {
            w.Null();
        } else {
            std::sort(t.times_s.begin(), t.times_s.end());
            w.Number(t.times_s[t.times_s.size() / 2]);
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Json(std::move(out));
}

http::Response Api::Network(const Principal& principal) {
    const auto build = [&](bool all) {
        std::string out;
        pipeline::JsonWriter w(out);
        w.BeginObject();
        w.Key("type").String("FeatureCollection");
        w.Key("features").BeginArray();
        const auto& segments = view_.network().segments();
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (!all && !principal.Sees(i)) {
                continue;
            }
            const auto& s = segments[i];
            w.BeginObject();
            w.Key("type").String("Feature");
            w.Key("id").String(pipeline::ToString(s.id));
            WriteGeometry(w, s);
            w.Key("properties").BeginObject();
            w.Key("segment_id").String(pipeline::ToString(s.id));
            WriteSegmentProperties(w, s);
            w.EndObject();
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        return std::make_shared<const std::string>(std::move(out));
    };
    http::Response r;
    r.content_type = "application/geo+json";
    if (principal.role == Role::kAgency) {
        const std::lock_guard lock(cache_mutex_);
        if (!cached_network_) {
            cached_network_ = build(true);
        }
        r.shared_body = cached_network_;
    } else {
        r.shared_body = build(false);
    }
    return r;
}

}  // namespace pavewatch::gateway
