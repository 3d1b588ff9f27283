#include "pavewatch/gateway/access.hpp"

#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/test_support/drives.hpp"

#include <gtest/gtest.h>

namespace pavewatch::gateway {
namespace {

using test_support::AlmatyNetwork;

constexpr pipeline::EpochMs kNow = 1795000000000;  // 2026-11-18

std::string TokensJson(const std::string& extra = "") {
    const auto& s = AlmatyNetwork().segments();
    return R"({"tokens":[
      {"name":"agency","role":"agency","sha256":")" +
           Sha256Hex("agency-token-0123456789") + R"("},
      {"name":"acme","role":"contractor","sha256":")" +
           Sha256Hex("acme-token-0123456789ab") +
           R"(","expires":"2030-01-01T00:00:00Z","zone":{"segments":[")" +
           pipeline::ToString(s[0].id) + R"(",")" + pipeline::ToString(s[1].id) +
           R"("],"polygons":[[[76.90,43.24],[76.95,43.24],[76.95,43.27],[76.90,43.27]]]}},
      {"name":"old","role":"contractor","sha256":")" +
           Sha256Hex("old-token-0123456789abc") +
           R"(","expires":"2020-01-01T00:00:00Z","zone":{"segments":[")" +
           pipeline::ToString(s[2].id) + R"("]}})" + extra + "]}";
}

TEST(TokenStore, AuthenticatesByHashAndRefusesUnknownAndExpiredTokens) {
    const auto store = TokenStore::FromJson(TokensJson(), AlmatyNetwork());
    ASSERT_TRUE(store) << store.error().Describe();
    EXPECT_FALSE(store->open());
    const auto agency = store->Authenticate("agency-token-0123456789", kNow);
    ASSERT_TRUE(agency);
    EXPECT_EQ(agency->role, Role::kAgency);
    EXPECT_TRUE(agency->Sees(1234));
    const auto acme = store->Authenticate("acme-token-0123456789ab", kNow);
    ASSERT_TRUE(acme);
    EXPECT_EQ(acme->name, "acme");
    EXPECT_TRUE(acme->Sees(0));
    EXPECT_TRUE(acme->Sees(1));
    EXPECT_EQ(store->Authenticate("", kNow).error(), AuthFailure::kMissing);
    EXPECT_EQ(store->Authenticate("nobody-has-this-token-00", kNow).error(), AuthFailure::kUnknown);
    EXPECT_EQ(store->Authenticate("bad token with spaces!!", kNow).error(), AuthFailure::kUnknown);
    EXPECT_EQ(store->Authenticate("old-token-0123456789abc", kNow).error(), AuthFailure::kExpired);
    EXPECT_EQ(store->Contractors(), (std::vector<std::string>{"acme", "old"}));
}

TEST(TokenStore, AContractorsZoneIsItsListedSegmentsAndThoseInsideItsPolygons) {
    const auto store = TokenStore::FromJson(TokensJson(), AlmatyNetwork());
    ASSERT_TRUE(store);
    const auto acme = *store->Authenticate("acme-token-0123456789ab", kNow);
    std::size_t inside = 0;
    const auto& segments = AlmatyNetwork().segments();
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& p = segments[i].points;
        const double lon =
            (p[p.size() / 2 - (p.size() % 2 == 0 ? 1 : 0)].lon + p[p.size() / 2].lon) / 2;
        const double lat =
            (p[p.size() / 2 - (p.size() % 2 == 0 ? 1 : 0)].lat + p[p.size() / 2].lat) / 2;
        const bool in_polygon = lon > 76.90 && lon < 76.95 && lat > 43.24 && lat < 43.27;
        EXPECT_EQ(acme.Sees(i), in_polygon || i < 2) << i;
        inside += acme.Sees(i) ? 1 : 0;
    }
    EXPECT_GT(inside, 50U);
    EXPECT_LT(inside, segments.size() / 2);
    EXPECT_EQ(acme.zone->size(), inside);
}

TEST(TokenStore, RefusesBadFilesNamingTheField) {
    EXPECT_FALSE(TokenStore::FromJson("[]", AlmatyNetwork()));
    const auto bad_hash = TokenStore::FromJson(
        R"({"tokens":[{"name":"x","role":"agency","sha256":"abc"}]})", AlmatyNetwork()
    );
    ASSERT_FALSE(bad_hash);
    EXPECT_EQ(bad_hash.error().field, "tokens[0].sha256");
    const auto no_zone = TokenStore::FromJson(
        R"({"tokens":[{"name":"x","role":"contractor","sha256":")" + Sha256Hex("x") + R"("}]})",
        AlmatyNetwork()
    );
    ASSERT_FALSE(no_zone);
    EXPECT_EQ(no_zone.error().field, "tokens[0].zone");
    const auto empty_zone = TokenStore::FromJson(
        R"({"tokens":[{"name":"x","role":"contractor","sha256":")" + Sha256Hex("x") +
            R"(","zone":{"polygons":[[[0,0],[1,0],[1,1]]]}}]})",
        AlmatyNetwork()
    );
    ASSERT_FALSE(empty_zone);
    EXPECT_EQ(empty_zone.error().field, "tokens[0].zone");
    const auto role = TokenStore::FromJson(
        R"({"tokens":[{"name":"x","role":"root","sha256":")" + Sha256Hex("x") + R"("}]})",
        AlmatyNetwork()
    );
    ASSERT_FALSE(role);
    EXPECT_EQ(role.error().field, "tokens[0].role");
}

TEST(TokenStore, ANameIsOneHoldersIdentityAndATokenAppearsOnce) {
    const auto& s = AlmatyNetwork().segments();
    const auto zone_of = [&](std::size_t i) {
        return R"(,"zone":{"segments":[")" + pipeline::ToString(s[i].id) + R"("]})";
    };
    const auto entry = [&](const std::string& name,
                           const std::string& role,
                           const std::string& token,
                           const std::string& zone) {
        return R"(,{"name":")" + name + R"(","role":")" + role + R"(","sha256":")" +
               Sha256Hex(token) + "\"" + zone + "}";
    };
    // A second token of acme with the same zone (rotation) is another way in as acme.
    const auto rotated = TokenStore::FromJson(
        TokensJson(entry(
            "acme",
            "contractor",
            "acme-new-token-0123456789",
            R"(,"zone":{"segments":[")" + pipeline::ToString(s[1].id) + R"(",")" +
                pipeline::ToString(s[0].id) +
                R"("],"polygons":[[[76.90,43.24],[76.95,43.24],[76.95,43.27],[76.90,43.27]]]})"
        )),
        AlmatyNetwork()
    );
    ASSERT_TRUE(rotated) << rotated.error().Describe();
    const auto before = rotated->Authenticate("acme-token-0123456789ab", kNow);
    const auto after = rotated->Authenticate("acme-new-token-0123456789", kNow);
    ASSERT_TRUE(before && after);
    EXPECT_EQ(after->name, "acme");
    EXPECT_EQ(after->zone, before->zone);  // one zone, shared
    EXPECT_EQ(rotated->Contractors(), (std::vector<std::string>{"acme", "old"}));

    // The same name with another zone or role, or one token twice, is refused at start-up:
    // otherwise a holder would resume another's feed session or see its repair figures.
    const auto other_zone = TokenStore::FromJson(
        TokensJson(entry("acme", "contractor", "acme-new-token-0123456789", zone_of(5))),
        AlmatyNetwork()
    );
    ASSERT_FALSE(other_zone);
    EXPECT_EQ(other_zone.error().field, "tokens[3].name");
    EXPECT_NE(other_zone.error().message.find("tokens[1]"), std::string::npos);
    const auto other_role = TokenStore::FromJson(
        TokensJson(entry("agency", "contractor", "agency-new-token-012345", zone_of(5))),
        AlmatyNetwork()
    );
    ASSERT_FALSE(other_role);
    EXPECT_EQ(other_role.error().field, "tokens[3].name");
    const auto twice = TokenStore::FromJson(
        TokensJson(entry("city", "agency", "agency-token-0123456789", "")), AlmatyNetwork()
    );
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().field, "tokens[3].sha256");
    const auto two_agency_tokens = TokenStore::FromJson(
        TokensJson(entry("agency", "agency", "agency-new-token-012345", "")), AlmatyNetwork()
    );
    EXPECT_TRUE(two_agency_tokens);
}

TEST(TokenStore, WithoutAFileEveryoneIsTheAgency) {
    const TokenStore open;
    EXPECT_TRUE(open.open());
    const auto p = open.Authenticate("", kNow);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->role, Role::kAgency);
}

}  // namespace
}  // namespace pavewatch::gateway
