#pragma once

#include "pavewatch/pipeline/clock.hpp"
#include "pavewatch/pipeline/error.hpp"
#include "pavewatch/pipeline/geo.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <tl/expected.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pavewatch::gateway {

enum class Role { kAgency, kContractor };
const char* ToString(Role role);

/// The segments a contractor's contract covers: listed segments, and segments whose midpoint
/// lies inside one of the contract's polygons. Immutable; shared by every session of the
/// contractor.
class Zone {
public:
    Zone(
        const pipeline::RoadNetwork& network,
        const std::vector<pipeline::SegmentId>& segments,
        const std::vector<std::vector<pipeline::LonLat>>& polygons
    );

    /// By segment index in the network (O(1)).
    bool Contains(std::size_t segment_index) const {
        return segment_index < inside_.size() && inside_[segment_index];
    }
    std::size_t size() const { return count_; }
    /// [W, S, E, N] of the zone's segments (for the map to frame it).
    const std::array<double, 4>& bbox() const { return bbox_; }
    /// Zones are equal when they hold the same segments, however they were written.
    bool operator==(const Zone& other) const { return inside_ == other.inside_; }

private:
    std::vector<bool> inside_;
    std::size_t count_ = 0;
    std::array<double, 4> bbox_{};
};

/// Who is connected: a named token holder with a role; a contractor also has a zone.
struct Principal {
    std::string name;
    Role role = Role::kAgency;
    std::shared_ptr<const Zone> zone;  ///< set for contractors
    pipeline::EpochMs expires_ms = 0;  ///< 0: never

    /// True when the principal may see the segment (agency: all of them).
    bool Sees(std::size_t segment_index) const {
        return role == Role::kAgency || (zone && zone->Contains(segment_index));
    }
};

/// Why a token was refused.
enum class AuthFailure { kMissing, kUnknown, kExpired };
const char* ToString(AuthFailure failure);

/// The access tokens, loaded from a JSON file at start-up (docs/api/README.md, "Access"):
///   {"tokens":[{"name":"acme","role":"contractor","sha256":"<hex>","expires":"2027-01-01T00:00:00Z",
///               "zone":{"segments":["123"],"polygons":[[[lon,lat],...]]}}, ...]}
/// Only SHA-256 hashes of the tokens are stored. A name is one holder's identity (the actor of
/// its actions, its repair figures, the owner of its feed sessions): several tokens may carry
/// it (rotation), but only with the same role and zone; each token appears once. Without a
/// file the gateway is open: every client is the agency (the demo). Immutable after loading;
/// thread-safe to read.
class TokenStore {
public:
    /// An open store: everyone is the agency.
    TokenStore() = default;
    static tl::expected<TokenStore, pipeline::Error>
    FromJson(std::string_view json, const pipeline::RoadNetwork& network);

    bool open() const { return open_; }
    /// The principal of a presented token at `now_ms`.
    tl::expected<Principal, AuthFailure>
    Authenticate(std::string_view token, pipeline::EpochMs now_ms) const;
    std::size_t size() const { return entries_.size(); }
    /// Every contractor's name, once each (bounded: from the file), for per-contractor figures.
    std::vector<std::string> Contractors() const;

private:
    struct Entry {
        std::string sha256_hex;
        Principal principal;
    };
    /// Why `e` (at `path` in the file) cannot join the entries loaded so far, if it cannot; a
    /// contractor's zone equal to an earlier entry's of its name is shared with it.
    std::optional<pipeline::Error> Conflict(Entry& e, const std::string& path) const;

    bool open_ = true;
    std::vector<Entry> entries_;
};

/// A token as clients may send it: 16-256 characters of [A-Za-z0-9._~-] (valid in a
/// Sec-WebSocket-Protocol value as "bearer.<token>" and in an Authorization header).
bool WellFormedToken(std::string_view token);

}  // namespace pavewatch::gateway
