#include "pavewatch/gateway/access.hpp"

#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/observation.hpp"

#include <boost/geometry.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <ctime>

namespace pavewatch::gateway {
namespace {

namespace bg = boost::geometry;
using BgPoint = bg::model::d2::point_xy<double>;
using BgPolygon = bg::model::polygon<BgPoint>;

pipeline::Error Refuse(pipeline::ErrorCode code, std::string field, std::string message) {
    return pipeline::Error{code, std::move(field), std::move(message)};
}

/// "2027-01-01T00:00:00Z" (UTC, seconds) to epoch ms.
std::optional<pipeline::EpochMs> ParseUtc(std::string_view text) {
    std::tm tm{};
    int consumed = 0;
    const std::string s(text);
    if (std::sscanf(
            s.c_str(),
            "%4d-%2d-%2dT%2d:%2d:%2dZ%n",
            &tm.tm_year,
            &tm.tm_mon,
            &tm.tm_mday,
            &tm.tm_hour,
            &tm.tm_min,
            &tm.tm_sec,
            &consumed
        ) != 6 ||
        consumed != static_cast<int>(s.size())) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t t = timegm(&tm);
    return static_cast<pipeline::EpochMs>(t) * 1000;
}

}  // namespace

const char* ToString(Role role) {
    return role == Role::kAgency ? "agency" : "contractor";
}

const char* ToString(AuthFailure failure) {
    switch (failure) {
        case AuthFailure::kMissing:
            return "missing";
        case AuthFailure::kUnknown:
            return "unknown";
        case AuthFailure::kExpired:
            return "expired";
    }
    return "unknown";
}

bool WellFormedToken(std::string_view token) {
    if (token.size() < 16 || token.size() > 256) {
        return false;
    }
    return std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '~' || c == '-';
    });
}

Zone::Zone(
    const pipeline::RoadNetwork& network,
    const std::vector<pipeline::SegmentId>& segments,
    const std::vector<std::vector<pipeline::LonLat>>& polygons
)
    : inside_(network.segments().size(), false) {
    for (const auto id : segments) {
        if (const auto index = network.IndexOf(id)) {
            inside_[*index] = true;
        }
    }
    std::vector<BgPolygon> shapes;
    for (const auto& ring : polygons) {
        BgPolygon polygon;
        for (const auto& p : ring) {
            bg::append(polygon.outer(), BgPoint(p.lon, p.lat));
        }
        bg::correct(polygon);  // closes the ring and orders it as Boost.Geometry expects
        shapes.push_back(std::move(polygon));
    }
    bbox_ = {180.0, 90.0, -180.0, -90.0};
    for (std::size_t i = 0; i < inside_.size(); ++i) {
        const auto& s = network.segments()[i];
        if (!inside_[i] && !shapes.empty()) {
            const auto& a = s.points[s.points.size() / 2 - (s.points.size() % 2 == 0 ? 1 : 0)];
            const auto& b = s.points[s.points.size() / 2];
            const BgPoint mid((a.lon + b.lon) / 2, (a.lat + b.lat) / 2);
            inside_[i] = std::any_of(shapes.begin(), shapes.end(), [&](const BgPolygon& p) {
                return bg::within(mid, p);
            });
        }
        if (inside_[i]) {
            ++count_;
            for (const auto& p : s.points) {
                bbox_ = {
                    std::min(bbox_[0], p.lon),
                    std::min(bbox_[1], p.lat),
                    std::max(bbox_[2], p.lon),
                    std::max(bbox_[3], p.lat)};
            }
        }
    }
}

tl::expected<TokenStore, pipeline::Error>
TokenStore::FromJson(std::string_view text, const pipeline::RoadNetwork& network) {
    boost::system::error_code ec;
    const auto doc = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec || !doc.is_object() || !doc.as_object().contains("tokens") ||
        !doc.as_object().at("tokens").is_array()) {
        return tl::unexpected(
            Refuse(pipeline::ErrorCode::kMalformed, "tokens", "expected {\"tokens\": [...]}")
        );
    }
    TokenStore store;
    store.open_ = false;
    const auto& tokens = doc.as_object().at("tokens").as_array();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string path = "tokens[" + std::to_string(i) + "]";
        if (!tokens[i].is_object()) {
            return tl::unexpected(Refuse(pipeline::ErrorCode::kWrongType, path, "must be an object")
            );
        }
        const auto& t = tokens[i].as_object();
        const auto text_of = [&](const char* key) -> std::optional<std::string> {
            const auto* v = t.if_contains(key);
            if (v == nullptr || !v->is_string()) {
                return std::nullopt;
            }
            return std::string(v->as_string());
        };
        Entry e;
        const auto name = text_of("name");
        const auto role = text_of("role");
        const auto hash = text_of("sha256");
        if (!name || name->empty() || name->size() > 64) {
            return tl::unexpected(Refuse(
                pipeline::ErrorCode::kMissingField, path + ".name", "a name of 1-64 characters"
            ));
        }
        if (!hash || hash->size() != 64 || !std::all_of(hash->begin(), hash->end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            })) {
            return tl::unexpected(Refuse(
                pipeline::ErrorCode::kMissingField,
                path + ".sha256",
                "the token's SHA-256 as 64 lower-case hex digits (pavewatch gateway --hash-token)"
            ));
        }
        e.sha256_hex = *hash;
        e.principal.name = *name;
        if (role == std::optional<std::string>("agency")) {
            e.principal.role = Role::kAgency;
        } else if (role == std::optional<std::string>("contractor")) {
            e.principal.role = Role::kContractor;
        } else {
            return tl::unexpected(
                Refuse(pipeline::ErrorCode::kUnknownKind, path + ".role", "agency or contractor")
            );
        }
        if (const auto expires = text_of("expires")) {
            const auto ms = ParseUtc(*expires);
            if (!ms) {
                return tl::unexpected(Refuse(
                    pipeline::ErrorCode::kWrongType,
                    path + ".expires",
                    "UTC time like 2027-01-01T00:00:00Z"
                ));
            }
            e.principal.expires_ms = *ms;
        } else if (const auto* ms = t.if_contains("expires_ms"); ms != nullptr && ms->is_int64()) {
            e.principal.expires_ms = ms->as_int64();
        }
        if (e.principal.role == Role::kContractor) {
            const auto* zone = t.if_contains("zone");
            if (zone == nullptr || !zone->is_object()) {
                return tl::unexpected(Refuse(
                    pipeline::ErrorCode::kMissingField, path + ".zone", "a contractor needs a zone"
                ));
            }
            std::vector<pipeline::SegmentId> segments;
            std::vector<std::vector<pipeline::LonLat>> polygons;
            if (const auto* list = zone->as_object().if_contains("segments");
                list != nullptr && list->is_array()) {
                for (const auto& s : list->as_array()) {
                    const auto id =
                        s.is_string() ? pipeline::ParseSegmentKey(s.as_string()) : std::nullopt;
                    if (!id) {
                        return tl::unexpected(Refuse(
                            pipeline::ErrorCode::kWrongType,
                            path + ".zone.segments",
                            "segment ids as strings"
                        ));
                    }
                    segments.push_back(*id);
                }
            }
            if (const auto* list = zone->as_object().if_contains("polygons");
                list != nullptr && list->is_array()) {
                for (const auto& ring : list->as_array()) {
                    std::vector<pipeline::LonLat> points;
                    if (ring.is_array()) {
                        for (const auto& p : ring.as_array()) {
                            if (p.is_array() && p.as_array().size() >= 2 &&
                                p.as_array()[0].is_number() && p.as_array()[1].is_number()) {
                                points.push_back(
                                    {p.as_array()[0].to_number<double>(),
                                     p.as_array()[1].to_number<double>()}
                                );
                            }
                        }
                    }
                    if (points.size() < 3) {
                        return tl::unexpected(Refuse(
                            pipeline::ErrorCode::kWrongType,
                            path + ".zone.polygons",
                            "each polygon is a ring of at least 3 [lon, lat] points"
                        ));
                    }
                    polygons.push_back(std::move(points));
                }
            }
            e.principal.zone = std::make_shared<const Zone>(network, segments, polygons);
            if (e.principal.zone->size() == 0) {
                return tl::unexpected(Refuse(
                    pipeline::ErrorCode::kOutOfRange,
                    path + ".zone",
                    "the zone holds no segment of the network"
                ));
            }
        }
        if (auto refused = store.Conflict(e, path)) {
            return tl::unexpected(std::move(*refused));
        }
        store.entries_.push_back(std::move(e));
    }
    return store;
}

std::optional<pipeline::Error> TokenStore::Conflict(Entry& e, const std::string& path) const {
    for (std::size_t j = 0; j < entries_.size(); ++j) {
        const Entry& other = entries_[j];
        const std::string where = "tokens[" + std::to_string(j) + "]";
        if (other.sha256_hex == e.sha256_hex) {
            return Refuse(
                pipeline::ErrorCode::kOutOfRange,
                path + ".sha256",
                "the same token as " + where + ": each token belongs to one entry"
            );
        }
        if (other.principal.name != e.principal.name) {
            continue;
        }
        // Tokens of one holder (rotation): its actions, repair figures and feed sessions are
        // recorded under the name, so the name must mean one role and one zone.
        const bool same_zone = e.principal.role == Role::kAgency ||
                               (other.principal.zone && *other.principal.zone == *e.principal.zone);
        if (other.principal.role != e.principal.role || !same_zone) {
            return Refuse(
                pipeline::ErrorCode::kOutOfRange,
                path + ".name",
                "\"" + e.principal.name + "\" is the name of " + where +
                    " with another role or zone: tokens of one name must have the same role "
                    "and zone (a name is one holder's identity)"
            );
        }
        e.principal.zone = other.principal.zone;  // the same segments: share them
    }
    return std::nullopt;
}

tl::expected<Principal, AuthFailure>
TokenStore::Authenticate(std::string_view token, pipeline::EpochMs now_ms) const {
    if (open_) {
        return Principal{"anonymous", Role::kAgency, nullptr, 0};
    }
    if (token.empty()) {
        return tl::unexpected(AuthFailure::kMissing);
    }
    if (!WellFormedToken(token)) {
        return tl::unexpected(AuthFailure::kUnknown);
    }
    const std::string hash = Sha256Hex(token);
    for (const auto& e : entries_) {
        if (ConstantTimeEquals(e.sha256_hex, hash)) {
            if (e.principal.expires_ms != 0 && now_ms >= e.principal.expires_ms) {
                return tl::unexpected(AuthFailure::kExpired);
            }
            return e.principal;
        }
    }
    return tl::unexpected(AuthFailure::kUnknown);
}

std::vector<std::string> TokenStore::Contractors() const {
    std::vector<std::string> names;
    for (const auto& e : entries_) {
        if (e.principal.role == Role::kContractor &&
            std::find(names.begin(), names.end(), e.principal.name) == names.end()) {
            names.push_back(e.principal.name);
        }
    }
    return names;
}

}  // namespace pavewatch::gateway
