// The gateway on the real broker: authentication, contractor zones, the hazard workflow,
// resume, slow consumers, and the limits that keep it serving under bad input.

#include "pavewatch/gateway/sha256.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/segment_state.hpp"
#include "pavewatch/test_support/drives.hpp"
#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/net_client.hpp"
#include "pavewatch/test_support/paths.hpp"
#include "pavewatch/test_support/process.hpp"
#include "pavewatch/test_support/services.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

namespace pavewatch::test_support {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr pipeline::EpochMs kDay = 1763856000000;
const std::string kAgencyToken = "agency-token-0123456789";
const std::string kAcmeToken = "acme-token-0123456789ab";
const std::string kExpiredToken = "old-token-0123456789abc";
constexpr std::size_t kZoneFirst = 0;  // acme's zone: segments 0..9
constexpr std::size_t kZoneSize = 10;

/// A condition record of segment `i` at `version` observations, with one confirmed hazard.
std::string Record(std::size_t i, int extra_passes = 0) {
    const pipeline::ModelConfig config;
    pipeline::SegmentState s;
    const auto id = AlmatyNetwork().segments()[i].id;
    for (std::uint64_t v = 1; v <= 4; ++v) {
        pipeline::Traversal t{
            .vehicle_key = v,
            .speed_mps = 12,
            .from_m = 0,
            .to_m = 20,
            .iri_m_per_km = 2.0F,
            .confidence = 0.9F};
        pipeline::Apply(s, {id, kDay + static_cast<pipeline::EpochMs>(v), t}, config);
        pipeline::HazardEvent e{
            .vehicle_key = v, .offset_m = 50, .uncertainty_m = 3, .peak_ms2 = 12, .speed_mps = 12};
        pipeline::Apply(s, {id, kDay + 100 + static_cast<pipeline::EpochMs>(v), e}, config);
    }
    for (int k = 0; k < extra_passes; ++k) {
        pipeline::Traversal t{
            .vehicle_key = 100,
            .speed_mps = 12,
            .from_m = 0,
            .to_m = 20,
            .iri_m_per_km = 2.0F + 0.5F * static_cast<float>(k % 9),
            .confidence = 0.9F};
        pipeline::Apply(s, {id, kDay + 1000 + k, t}, config);
    }
    return pipeline::ConditionToJson(s, config);
}

/// Opens an agency session subscribed to conditions on the gateway at `port`, reads its snapshot
/// (seq 1), drops the connection without a close handshake, and returns the session's id, for a
/// resume. Empty (with a test failure) when any step fails.
std::string DroppedAgencySession(int port) {
    WsClient c(port, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    const auto hello = c.Read(5s);
    EXPECT_TRUE(hello);
    if (!hello) {
        return {};
    }
    c.Send(R"({"type":"subscribe","kinds":["conditions"]})");
    const auto snapshot = c.Read(10s);
    EXPECT_TRUE(snapshot && json::parse(*snapshot).at("type") == "snapshot");
    c.Abort();
    return json::value_to<std::string>(json::parse(*hello).at("session"));
}

class GatewayTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
        topics_ = new TestTopics(MakeTopics("gateway", 3));
        dir_ = new std::string(TempDir("gateway"));
        std::string zone;
        for (std::size_t i = kZoneFirst; i < kZoneFirst + kZoneSize; ++i) {
            zone += (zone.empty() ? "\"" : ",\"") +
                    pipeline::ToString(AlmatyNetwork().segments()[i].id) + "\"";
        }
        std::ofstream(*dir_ + "/tokens.json")
            << R"({"tokens":[
          {"name":"agency","role":"agency","sha256":")"
            << gateway::Sha256Hex(kAgencyToken) << R"("},
          {"name":"acme","role":"contractor","sha256":")"
            << gateway::Sha256Hex(kAcmeToken) << R"(","zone":{"segments":[)" << zone << R"(]}},
          {"name":"old","role":"contractor","sha256":")"
            << gateway::Sha256Hex(kExpiredToken)
            << R"(","expires":"2020-01-01T00:00:00Z","zone":{"segments":[)" << zone << "]}}]}";
        // Every segment of the zone and as many outside it have a condition and a hazard.
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = 0; i < 2 * kZoneSize; ++i) {
            records.emplace_back(pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i));
        }
        ProduceAll(topics_->topics.conditions, records);
        port_ = FreePort();
        auto args = NetworkFlags();
        for (const auto& a : std::vector<std::string>{
                 "--port",
                 std::to_string(port_),
                 "--web-root",
                 ProjectPath("web/dist"),
                 "--tokens",
                 *dir_ + "/tokens.json",
                 "--http-request-timeout-ms",
                 "2000",
                 "--feed-max-queued-bytes",
                 "262144"}) {
            args.push_back(a);
        }
        gateway_ = StartService("gateway", *topics_, *dir_, args).release();
        ASSERT_TRUE(Eventually([] { return HttpGet(port_, "/readyz").status == 200; }, 60s))
            << Tail(gateway_->log_path());
    }
    static void TearDownTestSuite() {
        if (gateway_ != nullptr) {
            EXPECT_EQ(gateway_->Stop(), 0);
        }
        delete gateway_;
        delete topics_;
        delete dir_;
    }

    /// Connects with a token in Sec-WebSocket-Protocol, subscribes, and returns the snapshot.
    static std::unique_ptr<WsClient> Subscribed(
        const std::string& token,
        json::object& snapshot,
        const std::string& subscribe = R"({"type":"subscribe"})",
        int receive_buffer_bytes = 0
    ) {
        auto c = std::make_unique<WsClient>(
            port_,
            "/api/v1/feed",
            std::vector<std::string>{"pavewatch.v1", "bearer." + token},
            10s,
            receive_buffer_bytes
        );
        EXPECT_TRUE(c->connected()) << c->error();
        const auto hello = c->Read(5s);
        EXPECT_TRUE(hello);
        EXPECT_EQ(json::parse(*hello).at("type"), "hello");
        c->Send(subscribe);
        const auto snap = c->Read(10s);
        EXPECT_TRUE(snap);
        snapshot = json::parse(*snap).as_object();
        EXPECT_EQ(snapshot.at("type"), "snapshot");
        return c;
    }

    static std::size_t IndexOf(const json::value& segment_id) {
        return *AlmatyNetwork().IndexOf(
            *pipeline::ParseSegmentKey(json::value_to<std::string>(segment_id))
        );
    }

    static std::size_t GatewayRssKb() {
        std::ifstream status("/proc/" + std::to_string(gateway_->pid()) + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("VmRSS:", 0) == 0) {
                return std::stoul(line.substr(6));
            }
        }
        return 0;
    }

    static TestTopics* topics_;
    static std::string* dir_;
    static int port_;
    static Process* gateway_;
};

TestTopics* GatewayTest::topics_ = nullptr;
std::string* GatewayTest::dir_ = nullptr;
int GatewayTest::port_ = 0;
Process* GatewayTest::gateway_ = nullptr;

/// A gateway of its own, for a test that needs other tokens or limits than the fixture's.
/// `records` are on its conditions topic before it starts, so it is ready once it holds them.
class OwnGateway {
public:
    OwnGateway(
        const std::string& name,
        const std::string& tokens_json,
        const std::vector<std::string>& flags,
        const std::vector<std::pair<std::string, std::string>>& records = {}
    )
        : topics_(MakeTopics(name, 3)), dir_(TempDir(name)), port_(FreePort()) {
        if (!records.empty()) {
            ProduceAll(topics_.topics.conditions, records);
        }
        auto args = NetworkFlags();
        for (const auto& a : std::vector<std::string>{
                 "--port", std::to_string(port_), "--web-root", ProjectPath("web/dist")}) {
            args.push_back(a);
        }
        if (!tokens_json.empty()) {
            std::ofstream(dir_ + "/tokens.json") << tokens_json;
            args.emplace_back("--tokens");
            args.push_back(dir_ + "/tokens.json");
        }
        args.insert(args.end(), flags.begin(), flags.end());
        process_ = StartService("gateway", topics_, dir_, args);
        ready_ = Eventually([&] { return HttpGet(port_, "/readyz").status == 200; }, 60s);
    }
    ~OwnGateway() {
        if (process_) {
            EXPECT_EQ(process_->Stop(), 0);
        }
    }
    OwnGateway(const OwnGateway&) = delete;
    OwnGateway& operator=(const OwnGateway&) = delete;
    OwnGateway(OwnGateway&&) = delete;
    OwnGateway& operator=(OwnGateway&&) = delete;

    bool ready() const { return ready_; }
    int port() const { return port_; }
    const TestTopics& topics() const { return topics_; }
    std::string Log() const { return Tail(process_->log_path()); }

private:
    TestTopics topics_;
    std::string dir_;
    int port_;
    std::unique_ptr<Process> process_;
    bool ready_ = false;
};

std::int64_t WallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

TEST_F(GatewayTest, RefusesMissingWrongAndExpiredTokens) {
    const auto close_code = [](WsClient& c) {
        while (c.Read(8s)) {
        }
        return c.close_code();
    };
    WsClient wrong(port_, "/api/v1/feed", {"pavewatch.v1", "bearer.wrong-token-0000000000"});
    ASSERT_TRUE(wrong.connected());
    EXPECT_EQ(close_code(wrong), 4001);
    WsClient expired(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kExpiredToken});
    ASSERT_TRUE(expired.connected());
    EXPECT_EQ(close_code(expired), 4001);
    WsClient silent(port_, "/api/v1/feed", {"pavewatch.v1"});  // no token, no auth message
    ASSERT_TRUE(silent.connected());
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(close_code(silent), 4001);
    EXPECT_GE(std::chrono::steady_clock::now() - started, 4s)
        << "the client has 5 s to authenticate";
    WsClient anonymous_message(port_, "/api/v1/feed", {"pavewatch.v1"});
    anonymous_message.Send(R"({"type":"subscribe"})");
    EXPECT_EQ(close_code(anonymous_message), 4001);

    // The token may also come as the first message.
    WsClient late(port_, "/api/v1/feed", {"pavewatch.v1"});
    late.Send(R"({"type":"auth","token":")" + kAcmeToken + R"("})");
    const auto hello = late.Read(5s);
    ASSERT_TRUE(hello);
    EXPECT_EQ(json::parse(*hello).at("role"), "contractor");
    EXPECT_EQ(
        json::parse(*hello).at("zone").at("segments").as_int64(),
        static_cast<std::int64_t>(kZoneSize)
    );

    EXPECT_EQ(HttpGet(port_, "/api/v1/segments").status, 401);
    EXPECT_EQ(
        HttpRequest(
            port_, "GET", "/api/v1/segments", {{"Authorization", "Bearer " + kExpiredToken}}
        ).status,
        401
    );
    EXPECT_EQ(
        HttpRequest(
            port_, "GET", "/api/v1/segments", {{"Authorization", "Bearer " + kAgencyToken}}
        ).status,
        200
    );
    EXPECT_EQ(HttpGet(port_, "/healthz").status, 200) << "operations endpoints stay open";
}

TEST_F(GatewayTest, AMalformedFirstMessageClosesWith4001) {
    // Before authenticating, anything but an `auth` message closes with 4001, malformed or not:
    // no numbered error for a client that has not said who it is.
    for (const std::string first : {"{not json", "[1,2]", R"({"type":5})", R"({"token":"x"})"}) {
        WsClient c(port_, "/api/v1/feed", {"pavewatch.v1"});
        ASSERT_TRUE(c.connected()) << c.error();
        c.Send(first);
        std::vector<std::string> received;
        while (const auto m = c.Read(4s)) {
            received.push_back(*m);
        }
        EXPECT_TRUE(received.empty()) << first << " was answered: " << received.front();
        EXPECT_EQ(c.close_code(), 4001) << first;
    }
}

TEST_F(GatewayTest, AContractorReceivesOnlyItsZone) {
    json::object snapshot;
    auto acme = Subscribed(kAcmeToken, snapshot);
    std::set<std::size_t> seen;
    for (const auto& s : snapshot.at("segments").as_array()) {
        seen.insert(IndexOf(s.at("segment_id")));
    }
    for (const auto& h : snapshot.at("hazards").as_array()) {
        EXPECT_LT(IndexOf(h.at("segment_id")), kZoneFirst + kZoneSize);
    }
    EXPECT_EQ(seen.size(), kZoneSize);
    EXPECT_LT(*seen.rbegin(), kZoneFirst + kZoneSize);
    // Updates of every segment, inside and outside the zone: only the zone's arrive.
    std::vector<std::pair<std::string, std::string>> updates;
    for (std::size_t i = 0; i < 2 * kZoneSize; ++i) {
        updates.emplace_back(pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i, 1));
    }
    ProduceAll(topics_->topics.conditions, updates);
    std::size_t inside = 0;
    while (auto m = acme->Read(3s)) {
        const auto doc = json::parse(*m).as_object();
        if (doc.at("type") == "condition") {
            EXPECT_LT(IndexOf(doc.at("segment").at("segment_id")), kZoneFirst + kZoneSize);
            ++inside;
        } else if (doc.at("type") == "hazard" || doc.at("type") == "alert") {
            const auto& body = doc.at("type") == "hazard" ? doc.at("hazard") : doc.at("alert");
            EXPECT_LT(IndexOf(body.at("segment_id")), kZoneFirst + kZoneSize);
        }
        if (inside == kZoneSize) {
            break;
        }
    }
    EXPECT_EQ(inside, kZoneSize);
}

TEST_F(GatewayTest, AContractorActsOnlyOnHazardsOfItsZone) {
    json::object snapshot;
    auto acme = Subscribed(kAcmeToken, snapshot, R"({"type":"subscribe","kinds":["hazards"]})");
    const std::string inside =
        pipeline::ToString(AlmatyNetwork().segments()[kZoneFirst + 1].id) + "-1";
    const std::string outside =
        pipeline::ToString(AlmatyNetwork().segments()[kZoneFirst + kZoneSize + 1].id) + "-1";
    const auto act = [&](const std::string& hazard,
                         const std::string& action,
                         const std::string& request) {
        acme->Send(
            R"({"type":"action","request_id":")" + request + R"(","hazard_id":")" + hazard +
            R"(","action":")" + action + "\"}"
        );
        while (auto m = acme->Read(5s)) {
            auto doc = json::parse(*m).as_object();
            if (doc.at("type") == "action_result" && doc.at("request_id") == json::value(request)) {
                return doc;
            }
        }
        return json::object{};
    };
    const auto refused = act(outside, "acknowledge", "r1");
    EXPECT_EQ(refused.at("status"), "refused");
    EXPECT_EQ(refused.at("reason"), "forbidden");
    EXPECT_EQ(
        act(inside.substr(0, inside.size() - 1) + "9", "acknowledge", "r2").at("reason"),
        "unknown_hazard"
    );
    EXPECT_EQ(act(inside, "paint", "r3").at("reason"), "unknown_action");
    const auto accepted = act(inside, "repaired", "r4");
    EXPECT_EQ(accepted.at("status"), "accepted");
    // The accepted action, and only it, reached Kafka, keyed by its segment.
    const auto actions = ConsumeUntil(
        topics_->topics.hazard_actions, [](const auto& r) { return !r.empty(); }, 20s
    );
    ASSERT_EQ(actions.size(), 1U);
    EXPECT_EQ(actions[0].key, pipeline::ToString(AlmatyNetwork().segments()[kZoneFirst + 1].id));
    const auto action = json::parse(actions[0].value).as_object();
    EXPECT_EQ(action.at("action"), "repaired");
    EXPECT_EQ(action.at("actor"), "acme");
    EXPECT_EQ(action.at("hazard_id"), "1");
}

TEST_F(GatewayTest, AnswersBadInputAsDocumentedAndKeepsServingOthers) {
    json::object snapshot;
    auto watcher = Subscribed(kAgencyToken, snapshot);
    const std::size_t rss_before = GatewayRssKb();
    {
        json::object s;
        auto c = Subscribed(kAgencyToken, s);
        c->Send("{not json");
        auto m = c->Read(5s);
        ASSERT_TRUE(m);
        EXPECT_EQ(json::parse(*m).at("code"), "malformed");
        c->Send(R"({"type":"teleport"})");
        m = c->Read(5s);
        ASSERT_TRUE(m);
        EXPECT_EQ(json::parse(*m).at("code"), "unknown_type");
        EXPECT_TRUE(c->connected());
        c->Send(std::string(std::size_t{20} * 1024, 'x'));  // above the 16 KiB message limit
        while (c->Read(5s)) {
        }
        EXPECT_EQ(c->close_code(), 1009);
    }
    for (int k = 0; k < 30; ++k) {  // floods from many connections
        json::object s;
        auto c = Subscribed(kAgencyToken, s);
        for (int i = 0; i < 60; ++i) {
            c->Send(R"({"type":"subscribe","kinds":["alerts"]})");
        }
        while (c->Read(5s)) {
        }
        EXPECT_EQ(c->close_code(), 4009) << "flood " << k;
    }
    // The first client is still served.
    ProduceAll(
        topics_->topics.conditions,
        {{pipeline::ToString(AlmatyNetwork().segments()[3].id), Record(3, 5)}}
    );
    bool got = false;
    while (auto m = watcher->Read(5s)) {
        if (json::parse(*m).at("type") == "condition") {
            got = true;
            break;
        }
    }
    EXPECT_TRUE(got);
    EXPECT_LT(GatewayRssKb(), rss_before + std::size_t{64} * 1024) << "memory must stay bounded";
}

TEST_F(GatewayTest, ARequestIdIsCutBetweenCharacters) {
    // request_id is echoed cut to 64 characters (code points), never inside one: a cut inside
    // a two-byte character would make the frame invalid UTF-8, which this client (as browsers)
    // refuses.
    json::object snapshot;
    auto c = Subscribed(kAgencyToken, snapshot, R"({"type":"subscribe","kinds":["alerts"]})");
    const std::string e_acute = "\xC3\xA9";  // é, two bytes
    const std::string sixty_three(63, 'r');
    std::string sixty_four_e;
    for (int i = 0; i < 64; ++i) {
        sixty_four_e += e_acute;
    }
    const std::string cut_first = sixty_three + e_acute;  // 64 characters, 65 bytes
    std::string over = cut_first;
    over += e_acute;
    over += "xyz";
    const std::string short_one = "short-" + e_acute;
    for (const auto& [sent, echoed] : std::vector<std::pair<std::string, std::string>>{
             {over, cut_first}, {sixty_four_e + "z", sixty_four_e}, {short_one, short_one}}) {
        c->Send(
            R"({"type":"action","action":"acknowledge","hazard_id":"1-1","request_id":")" + sent +
            R"("})"
        );
        std::optional<std::string> m;
        while ((m = c->Read(5s)) && json::parse(*m).at("type") != "action_result") {
        }
        ASSERT_TRUE(m) << "close code " << c->close_code();
        EXPECT_EQ(json::value_to<std::string>(json::parse(*m).at("request_id")), echoed);
    }
}

TEST_F(GatewayTest, EnforcesHttpLimits) {
    const auto big_body = HttpRequest(
        port_,
        "POST",
        "/api/v1/segments",
        {{"Authorization", "Bearer " + kAgencyToken}},
        std::string(std::size_t{100} * 1024, 'x')
    );
    EXPECT_EQ(big_body.status, 413);
    const auto big_header = HttpRequest(
        port_, "GET", "/api/v1/segments", {{"X-Padding", std::string(std::size_t{16} * 1024, 'y')}}
    );
    EXPECT_EQ(big_header.status, 431);
    const auto post = HttpRequest(
        port_, "POST", "/api/v1/segments", {{"Authorization", "Bearer " + kAgencyToken}}, "{}"
    );
    EXPECT_EQ(post.status, 405);
    // Slow loris: a request trickled byte by byte is cut off at the request deadline (2 s here).
    const auto held =
        TrickleUntilClosed(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-a: b\r\n", 200ms, 10s);
    EXPECT_GE(held, 1500ms);
    EXPECT_LT(held, 5s) << "the server must close a slow request";
    EXPECT_EQ(HttpGet(port_, "/healthz").status, 200);
}

TEST_F(GatewayTest, AResumedSessionGetsExactlyWhatItMissed) {
    const auto updates = [](std::size_t first, std::size_t n, int passes) {
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = first; i < first + n; ++i) {
            records.emplace_back(
                pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i, passes)
            );
        }
        ProduceAll(topics_->topics.conditions, records);
    };
    WsClient first(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    const auto hello = first.Read(5s);
    ASSERT_TRUE(hello);
    const auto session = json::value_to<std::string>(json::parse(*hello).at("session"));
    first.Send(R"({"type":"subscribe","kinds":["conditions"]})");
    ASSERT_TRUE(first.Read(10s));  // snapshot, seq 1
    updates(100, 8, 3);
    std::vector<std::string> received;  // seq 2..9
    while (received.size() < 8) {
        auto m = first.Read(10s);
        ASSERT_TRUE(m);
        received.push_back(*m);
        EXPECT_EQ(
            json::parse(*m).at("seq").as_int64(), static_cast<std::int64_t>(received.size()) + 1
        );
    }
    first.Abort();  // the network drops; the client saw only up to seq 5, say
    std::this_thread::sleep_for(500ms);
    updates(120, 4, 3);  // while it is away

    WsClient second(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    ASSERT_TRUE(second.Read(5s));  // hello
    second.Send(R"({"type":"subscribe","session":")" + session + R"(","resume_from":5})");
    const auto resumed = second.Read(5s);
    ASSERT_TRUE(resumed);
    const auto r = json::parse(*resumed).as_object();
    ASSERT_EQ(r.at("type"), "resumed") << *resumed;
    EXPECT_EQ(json::value_to<std::string>(r.at("session")), session);
    EXPECT_EQ(r.at("from_seq").as_int64(), 6);
    for (std::size_t k = 4; k < received.size(); ++k) {  // seq 6..9, byte for byte
        const auto m = second.Read(5s);
        ASSERT_TRUE(m);
        EXPECT_EQ(*m, received[k]);
    }
    for (int seq = 10; seq < 14; ++seq) {  // then what happened while away, numbered on
        const auto m = second.Read(5s);
        ASSERT_TRUE(m);
        const auto doc = json::parse(*m).as_object();
        EXPECT_EQ(doc.at("seq").as_int64(), seq);
        EXPECT_EQ(doc.at("type"), "condition");
    }
    second.Abort();

    // A session the server no longer has (or never had) starts over with a snapshot.
    WsClient third(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    ASSERT_TRUE(third.Read(5s));
    third.Send(R"({"type":"subscribe","session":"0000000000000000","resume_from":3})");
    const auto fresh = third.Read(10s);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(json::parse(*fresh).at("type"), "snapshot");
    EXPECT_EQ(json::parse(*fresh).at("seq").as_int64(), 1);
}

TEST_F(GatewayTest, OnlyItsHolderResumesASession) {
    // The agency's session, dropped after its snapshot.
    const std::string session = DroppedAgencySession(port_);
    ASSERT_FALSE(session.empty());
    std::this_thread::sleep_for(500ms);

    // A contractor who learnt the session's id cannot take it over: it gets a snapshot of its
    // own zone, as if the session did not exist.
    WsClient acme(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAcmeToken});
    ASSERT_TRUE(acme.Read(5s));
    acme.Send(R"({"type":"subscribe","session":")" + session + R"(","resume_from":1})");
    const auto own = acme.Read(10s);
    ASSERT_TRUE(own);
    const auto snapshot = json::parse(*own).as_object();
    ASSERT_EQ(snapshot.at("type"), "snapshot") << *own;
    EXPECT_EQ(snapshot.at("seq").as_int64(), 1);
    for (const auto& s : snapshot.at("segments").as_array()) {
        EXPECT_LT(IndexOf(s.at("segment_id")), kZoneFirst + kZoneSize);
    }
    acme.Abort();

    // The attempt left the session to its holder, who still resumes it.
    WsClient again(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    ASSERT_TRUE(again.Read(5s));
    again.Send(R"({"type":"subscribe","session":")" + session + R"(","resume_from":1})");
    const auto resumed = again.Read(5s);
    ASSERT_TRUE(resumed);
    EXPECT_EQ(json::parse(*resumed).at("type"), "resumed") << *resumed;
    again.Abort();
}

// A client that comes back after thousands of updates gets what it missed coalesced: the
// gateway reads them for it in one go, and sends only the latest update of each segment, still
// numbered without gaps.
TEST_F(GatewayTest, UpdatesMissedByTheThousandArriveCoalescedToTheLatest) {
    constexpr std::size_t kSegments = 1000;
    constexpr int kRounds = 3;         // 3,000 updates: above the 2,000 that coalescing starts at
    constexpr int kFirstPasses = 200;  // versions above what the other tests write
    const std::string coalesced = "pavewatch_gateway_websocket_updates_coalesced_total";
    const double coalesced_before = MetricValue(HttpGet(port_, "/metrics").body, coalesced);
    ASSERT_GE(coalesced_before, 0.0) << "no " << coalesced << " on /metrics";
    const std::string session = DroppedAgencySession(port_);
    ASSERT_FALSE(session.empty());
    std::this_thread::sleep_for(500ms);

    std::map<std::string, std::int64_t> latest;  // segment id -> its last version
    for (int round = 0; round < kRounds; ++round) {
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = 0; i < kSegments; ++i) {
            const auto id = pipeline::ToString(AlmatyNetwork().segments()[i].id);
            records.emplace_back(id, Record(i, kFirstPasses + round));
            latest[id] = json::parse(records.back().second).at("version").as_int64();
        }
        ProduceAll(topics_->topics.conditions, records);
    }
    // The gateway has read them all when the last segment shows its last version.
    const auto last_id = pipeline::ToString(AlmatyNetwork().segments()[kSegments - 1].id);
    ASSERT_TRUE(Eventually(
        [&] {
            const auto r = HttpRequest(
                port_,
                "GET",
                "/api/v1/segments/" + last_id,
                {{"Authorization", "Bearer " + kAgencyToken}}
            );
            return r.status == 200 &&
                   json::parse(r.body).at("version").as_int64() == latest.at(last_id);
        },
        30s
    ));
    // The gateway's reader hands new updates to the feed after each batch it reads: let the
    // last batch through before resuming.
    std::this_thread::sleep_for(1s);

    WsClient again(port_, "/api/v1/feed", {"pavewatch.v1", "bearer." + kAgencyToken});
    ASSERT_TRUE(again.Read(5s));  // hello
    again.Send(R"({"type":"subscribe","session":")" + session + R"(","resume_from":1})");
    const auto resumed = again.Read(5s);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(json::parse(*resumed).at("type"), "resumed") << *resumed;
    std::map<std::string, std::int64_t> received;  // of the 1,000 segments: the last version
    std::int64_t seq = 1;
    std::size_t updates = 0;
    while (auto m = again.Read(3s)) {
        const auto doc = json::parse(*m).as_object();
        EXPECT_EQ(doc.at("seq").as_int64(), ++seq) << "numbered without gaps";
        ASSERT_EQ(doc.at("type"), "condition") << *m;
        const auto& segment = doc.at("segment").as_object();
        const auto id = json::value_to<std::string>(segment.at("segment_id"));
        if (latest.contains(id)) {
            received[id] = segment.at("version").as_int64();
            ++updates;
        }
    }
    EXPECT_EQ(received, latest) << "every segment's latest update arrives, and last";
    // Coalesced: about one update per segment (a batch the reader had not handed over yet at
    // the resume may add a second for some), far from the 3,000 sent.
    EXPECT_LT(updates, kSegments * 3 / 2) << updates << " updates for " << kSegments;
    EXPECT_GE(
        MetricValue(HttpGet(port_, "/metrics").body, coalesced) - coalesced_before,
        static_cast<double>(kSegments)
    );
    again.Abort();
}

TEST_F(GatewayTest, AClientThatReadsNothingIsClosedAboveTheHardLimit) {
    const std::string closed_slow = "pavewatch_gateway_websocket_closes_total{reason=\"too_slow\"}";
    const double closed_before = MetricValue(HttpGet(port_, "/metrics").body, closed_slow);
    ASSERT_GE(closed_before, 0.0) << "no " << closed_slow << " on /metrics";
    json::object snapshot;
    // A small receive buffer: with the kernel's autotuning the two ends of a loopback
    // connection can take in megabytes that the client never reads (in one run here, 16,961
    // of 18,000 updates sent at once, and the gateway's queue never filled).
    auto slow = Subscribed(
        kAgencyToken, snapshot, R"({"type":"subscribe","kinds":["conditions"]})", 64 * 1024
    );
    // Rounds of 3,000 updates while the client reads nothing, until the gateway closes it: the
    // kernel's buffers on both ends take in megabytes first (the gateway's send buffer grows to
    // 4 MiB with Debian's defaults), and only then does the gateway's queue fill up to the
    // 256 KiB limit this gateway runs with. How many rounds that takes depends on the kernel
    // and on how fast the gateway reads Kafka beside other tests, so the test does not guess.
    constexpr int kMaxRounds = 20;
    constexpr std::size_t kPerRound = 3000;
    int rounds = 0;
    bool closed = false;
    while (!closed && rounds < kMaxRounds) {
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = 0; i < kPerRound; ++i) {
            records.emplace_back(
                pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i, 4 + rounds)
            );
        }
        ProduceAll(topics_->topics.conditions, records);
        ++rounds;
        closed = Eventually(
            [&] {
                return MetricValue(HttpGet(port_, "/metrics").body, closed_slow) > closed_before;
            },
            3s
        );
    }
    EXPECT_TRUE(closed) << "not closed after " << rounds << " rounds of " << kPerRound
                        << " updates\n"
                        << Tail(gateway_->log_path());
    // Only now does the client read: what the kernel and the queue held before the close.
    std::size_t messages = 0;
    std::size_t bytes = 0;
    while (const auto m = slow->Read(10s)) {
        ++messages;
        bytes += m->size();
    }
    std::cout << "closed after " << rounds << " rounds; the client then read " << messages
              << " messages, " << bytes << " bytes\n";
    EXPECT_EQ(slow->close_code(), 4008)
        << "after " << messages << " messages, " << bytes << " bytes";
    EXPECT_LT(messages, static_cast<std::size_t>(rounds) * kPerRound)
        << "a closed client never gets everything";
}

// A gateway of its own: 16 MiB per client but only 1 MiB for all clients together. Two clients
// that read nothing must be shed long before either reaches its own limit, and a client that
// keeps up through the same bursts must not be.
TEST(GatewayFeedBudget, ShedsClientsThatFallBehindOnceAllQueuesTogetherAreFull) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    const TestTopics topics = MakeTopics("gwbudget", 3);
    const std::string dir = TempDir("gwbudget");
    const int port = FreePort();
    auto args = NetworkFlags();
    for (const auto& a : std::vector<std::string>{
             "--port",
             std::to_string(port),
             "--web-root",
             ProjectPath("web/dist"),
             "--feed-max-total-queued-bytes",
             "1048576",
             "--feed-max-queued-bytes",
             "16777216"}) {
        args.push_back(a);
    }
    auto gateway = StartService("gateway", topics, dir, args);
    ASSERT_TRUE(Eventually([&] { return HttpGet(port, "/readyz").status == 200; }, 60s))
        << Tail(gateway->log_path());

    const auto subscribe = [&](WsClient& c) {
        ASSERT_TRUE(c.connected()) << c.error();
        ASSERT_TRUE(c.Read(5s));  // hello
        c.Send(R"({"type":"subscribe","kinds":["conditions"]})");
        const auto snap = c.Read(10s);
        ASSERT_TRUE(snap);
        EXPECT_EQ(json::parse(*snap).at("type"), "snapshot");
    };
    WsClient slow1(port, "/api/v1/feed", {"pavewatch.v1"});
    WsClient slow2(port, "/api/v1/feed", {"pavewatch.v1"});
    WsClient fast(port, "/api/v1/feed", {"pavewatch.v1"});
    subscribe(slow1);
    subscribe(slow2);
    subscribe(fast);

    // The fast client reads on its own thread until the marker update (produced last) arrives,
    // it is closed, or nothing comes for 30 s (a timed-out read ends a test client).
    const std::string marker = pipeline::ToString(AlmatyNetwork().segments()[3001].id);
    std::atomic<std::size_t> fast_messages{0};
    std::atomic<bool> fast_saw_marker{false};
    std::thread reader([&] {
        while (const auto m = fast.Read(30s)) {
            ++fast_messages;
            if (m->find(marker) != std::string::npos) {
                fast_saw_marker = true;
                return;
            }
        }
    });

    // Rounds of 1000 updates (about 0.7 MB for each client) while the slow clients read
    // nothing, until both are shed (a shed needs a backlog that has waited over a second, by
    // when each holds about 2 MB: under its own limit) or 40 s pass.
    const auto shed = [&] {
        return MetricValue(
                   HttpGet(port, "/metrics").body,
                   "pavewatch_gateway_websocket_closes_total{reason=\"over_budget\"}"
               ) >= 2;
    };
    const auto deadline = std::chrono::steady_clock::now() + 40s;
    int round = 0;
    while (!shed() && std::chrono::steady_clock::now() < deadline) {
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = 0; i < 1000; ++i) {
            records.emplace_back(
                pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i, 4 + round)
            );
        }
        ProduceAll(topics.topics.conditions, records);
        ++round;
        std::this_thread::sleep_for(300ms);
    }
    const auto page = HttpGet(port, "/metrics").body;
    EXPECT_EQ(
        MetricValue(page, "pavewatch_gateway_websocket_closes_total{reason=\"over_budget\"}"), 2
    ) << "after "
      << round << " rounds:\n"
      << page;
    // Neither reached its own limit: the total did it.
    EXPECT_EQ(
        MetricValue(page, "pavewatch_gateway_websocket_closes_total{reason=\"too_slow\"}"), 0
    );
    for (WsClient* c : {&slow1, &slow2}) {
        while (c->Read(10s)) {
        }
        EXPECT_EQ(c->close_code(), 4008);
    }

    // The fast client is still served: a marker update produced now reaches it.
    ProduceAll(
        topics.topics.conditions,
        {{pipeline::ToString(AlmatyNetwork().segments()[3001].id), Record(3001)}}
    );
    EXPECT_TRUE(Eventually([&] { return fast_saw_marker.load(); }, 20s))
        << "fast client: " << fast_messages.load() << " messages, close code " << fast.close_code();
    reader.join();
    EXPECT_EQ(fast.close_code(), 0);
    EXPECT_GE(fast_messages.load(), 1000U * static_cast<std::size_t>(round) / 2);
    EXPECT_EQ(gateway->Stop(), 0);
}

// A contractor whose token expires while it is connected is closed with 4001, whether or not it
// has subscribed, and an action it sends after the expiry is not acted on.
TEST(GatewayFeedExpiry, AnExpiredTokenIsClosedAndActsOnNothingEvenWithoutSubscribing) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    // Tokens expiring 10, 20, 40 and 80 s from now: the test takes the first one with at least
    // 4 s left once the gateway is ready (how long it takes to start varies).
    const std::string zone = pipeline::ToString(AlmatyNetwork().segments()[0].id);
    const std::int64_t written_ms = WallMs();
    std::vector<std::pair<std::string, std::int64_t>> brief;  // token, expires_ms
    std::string tokens = R"({"tokens":[)";
    for (const int s : {10, 20, 40, 80}) {
        brief.emplace_back(
            "brief-token-" + std::to_string(s) + "-0123456789",
            written_ms + static_cast<pipeline::EpochMs>(s) * 1000
        );
        tokens += (s == 10 ? "" : ",") + std::string(R"({"name":"brief)") + std::to_string(s) +
                  R"(","role":"contractor","sha256":")" + gateway::Sha256Hex(brief.back().first) +
                  R"(","expires_ms":)" + std::to_string(brief.back().second) +
                  R"(,"zone":{"segments":[")" + zone + R"("]}})";
    }
    tokens += "]}";
    OwnGateway gw("gwexpiry", tokens, {});
    ASSERT_TRUE(gw.ready()) << gw.Log();
    const auto chosen = std::find_if(brief.begin(), brief.end(), [](const auto& b) {
        return b.second - WallMs() >= 4000;
    });
    ASSERT_NE(chosen, brief.end()) << "the gateway took over a minute to start";

    WsClient c(gw.port(), "/api/v1/feed", {"pavewatch.v1", "bearer." + chosen->first});
    ASSERT_TRUE(c.connected()) << c.error();
    const auto hello = c.Read(5s);
    ASSERT_TRUE(hello);
    EXPECT_EQ(json::parse(*hello).at("type"), "hello");
    // It never subscribes; just after its token expires it reports a repair.
    std::this_thread::sleep_for(std::chrono::milliseconds(chosen->second + 20 - WallMs()));
    c.Send(R"({"type":"action","action":"repaired","hazard_id":")" + zone + R"(-1"})");
    std::vector<std::string> received;
    while (const auto m = c.Read(5s)) {
        received.push_back(*m);
    }
    const std::int64_t closed_after_ms = WallMs() - chosen->second;
    EXPECT_TRUE(received.empty()) << "answered after expiry: " << received.front();
    EXPECT_EQ(c.close_code(), 4001);
    EXPECT_LT(closed_after_ms, 4000) << "an idle connection is checked about once a second";
}

// A snapshot larger than the per-client limit (an agency on a large network) is sent, on every
// subscribe and reconnect: the limit bounds the backlog of updates, not the snapshot.
TEST(GatewayFeedSnapshot, ASnapshotLargerThanTheQueueLimitIsSent) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    constexpr std::size_t kSegments = 400;  // about 250 KB of snapshot
    std::vector<std::pair<std::string, std::string>> records;
    for (std::size_t i = 0; i < kSegments; ++i) {
        records.emplace_back(pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i));
    }
    OwnGateway gw("gwsnapshot", "", {"--feed-max-queued-bytes", "65536"}, records);
    ASSERT_TRUE(gw.ready()) << gw.Log();
    const auto snapshot_of = [](WsClient& c) -> std::optional<std::string> {
        auto m = c.Read(10s);
        if (m && json::parse(*m).at("type") == "snapshot") {
            return m;
        }
        return std::nullopt;
    };
    for (int connection = 0; connection < 2; ++connection) {
        WsClient c(gw.port(), "/api/v1/feed", {"pavewatch.v1"});
        ASSERT_TRUE(c.connected()) << c.error();
        ASSERT_TRUE(c.Read(5s));  // hello
        for (int subscribe = 0; subscribe < 2; ++subscribe) {
            c.Send(R"({"type":"subscribe"})");
            const auto snap = snapshot_of(c);
            ASSERT_TRUE(snap) << "connection " << connection << ", subscribe " << subscribe
                              << ": close code " << c.close_code();
            EXPECT_GT(snap->size(), 65536U);
            EXPECT_EQ(json::parse(*snap).at("segments").as_array().size(), kSegments);
        }
        c.Close();
    }
    EXPECT_EQ(
        MetricValue(
            HttpGet(gw.port(), "/metrics").body,
            "pavewatch_gateway_websocket_closes_total{reason=\"too_slow\"}"
        ),
        0
    );
}

// A client closed with 4008 while the gateway was numbering a batch of updates resumes without
// receiving any update twice: what was numbered is replayed, not read from the journal again.
TEST(GatewayFeedResume, ASessionClosedForABacklogResumesWithoutDuplicates) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    // Small kernel buffers on both ends, so that the gateway's queue fills within a few rounds,
    // and a queue limit under what the session keeps for a resume (512 messages).
    OwnGateway gw(
        "gwdupes", "", {"--feed-max-queued-bytes", "65536", "--http-send-buffer-kb", "16"}
    );
    ASSERT_TRUE(gw.ready()) << gw.Log();
    const std::string closed_slow = "pavewatch_gateway_websocket_closes_total{reason=\"too_slow\"}";
    WsClient first(gw.port(), "/api/v1/feed", {"pavewatch.v1"}, 10s, 16 * 1024);
    ASSERT_TRUE(first.connected()) << first.error();
    const auto hello = first.Read(5s);
    ASSERT_TRUE(hello);
    const auto session = json::value_to<std::string>(json::parse(*hello).at("session"));
    first.Send(R"({"type":"subscribe","kinds":["conditions"]})");
    ASSERT_TRUE(first.Read(10s));  // snapshot, seq 1

    // Rounds of 100 updates (about 23 KB, one or a few batches of the gateway's), a pause
    // between them, while the client reads nothing, until the gateway closes it: the close
    // then comes in the middle of a batch, and the whole batch is less than the queue limit
    // (so that the resumed connection takes what follows).
    constexpr std::size_t kPerRound = 100;
    int rounds = 0;
    bool closed = false;
    while (!closed && rounds < 60) {
        std::vector<std::pair<std::string, std::string>> records;
        for (std::size_t i = 0; i < kPerRound; ++i) {
            records.emplace_back(
                pipeline::ToString(AlmatyNetwork().segments()[i].id), Record(i, 1 + rounds)
            );
        }
        ProduceAll(gw.topics().topics.conditions, records);
        ++rounds;
        closed = Eventually(
            [&] { return MetricValue(HttpGet(gw.port(), "/metrics").body, closed_slow) >= 1; },
            400ms
        );
    }
    ASSERT_TRUE(closed) << "not closed after " << rounds << " rounds\n" << gw.Log();

    std::set<std::string> updates;  // segment id and version of every condition received
    std::int64_t last_seq = 1;
    const auto take = [&](const std::string& text) {
        const auto doc = json::parse(text).as_object();
        EXPECT_EQ(doc.at("seq").as_int64(), last_seq + 1) << text;
        last_seq = doc.at("seq").as_int64();
        const auto& segment = doc.at("segment");
        const std::string update = json::value_to<std::string>(segment.at("segment_id")) + "@" +
                                   std::to_string(segment.at("version").as_int64());
        EXPECT_TRUE(updates.insert(update).second) << "received twice: " << text;
    };
    while (const auto m = first.Read(10s)) {
        take(*m);
    }
    ASSERT_EQ(first.close_code(), 4008);
    const std::size_t before_resume = updates.size();

    WsClient second(gw.port(), "/api/v1/feed", {"pavewatch.v1"});
    ASSERT_TRUE(second.Read(5s));  // hello
    second.Send(
        R"({"type":"subscribe","session":")" + session + R"(","resume_from":)" +
        std::to_string(last_seq) + "}"
    );
    const auto resumed = second.Read(5s);
    ASSERT_TRUE(resumed);
    ASSERT_EQ(json::parse(*resumed).at("type"), "resumed") << *resumed;
    while (const auto m = second.Read(3s)) {
        take(*m);
    }
    EXPECT_EQ(second.close_code(), 0);
    EXPECT_GT(updates.size(), before_resume) << "the resume brought what the close dropped";
    std::cout << rounds << " rounds; " << before_resume << " updates before the close, "
              << updates.size() - before_resume << " after the resume\n";
}

// Another principal's attempt to resume a session neither takes it nor keeps it alive: the
// session's window still runs from its close, and its holder alone can resume it within it.
TEST(GatewayFeedResume, AnotherPrincipalsAttemptDoesNotRestartTheWindow) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    const std::string tokens =
        std::string(R"({"tokens":[{"name":"agency","role":"agency","sha256":")") +
        gateway::Sha256Hex(kAgencyToken) + R"("},{"name":"acme","role":"contractor","sha256":")" +
        gateway::Sha256Hex(kAcmeToken) + R"(","zone":{"segments":[")" +
        pipeline::ToString(AlmatyNetwork().segments()[0].id) + R"("]}}]})";
    OwnGateway gw("gwwindow", tokens, {"--feed-resume-window-s", "3"});
    ASSERT_TRUE(gw.ready()) << gw.Log();
    const auto attempt = [&](const std::string& token, const std::string& session) {
        WsClient c(gw.port(), "/api/v1/feed", {"pavewatch.v1", "bearer." + token});
        EXPECT_TRUE(c.Read(5s));  // hello
        c.Send(R"({"type":"subscribe","session":")" + session + R"(","resume_from":1})");
        const auto m = c.Read(10s);
        c.Abort();
        return m ? json::value_to<std::string>(json::parse(*m).at("type")) : "nothing";
    };

    // A session that resumes within its window (3 s here), to show it can.
    const std::string session = DroppedAgencySession(gw.port());
    ASSERT_FALSE(session.empty());
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(attempt(kAgencyToken, session), "resumed");

    // Dropped again at t0; a contractor tries it at t0 + 2.3 s; its holder comes back at
    // t0 + 4.6 s, after the window: it gets a snapshot, not the session kept alive by the
    // contractor's attempt.
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_until(t0 + 2300ms);
    EXPECT_EQ(attempt(kAcmeToken, session), "snapshot");
    std::this_thread::sleep_until(t0 + 4600ms);
    EXPECT_EQ(attempt(kAgencyToken, session), "snapshot");
}

}  // namespace
}  // namespace pavewatch::test_support
