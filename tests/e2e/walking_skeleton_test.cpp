// The whole path: the simulator's raw messages go through ingest and wear to the gateway,
// whose WebSocket feed pushes the updates and whose API serves every segment.

#include "pavewatch/test_support/drives.hpp"
#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/net_client.hpp"
#include "pavewatch/test_support/paths.hpp"
#include "pavewatch/test_support/process.hpp"
#include "pavewatch/test_support/services.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

namespace pavewatch::test_support {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

TEST(WalkingSkeleton, SimulatorToGatewayFeedAndApi) {
    ASSERT_FALSE(Brokers().empty()) << "PAVEWATCH_BROKERS is not set: run through scripts/test";
    const auto topics = MakeTopics("e2e", 3);
    const std::string dir = TempDir("e2e");
    const int port = FreePort();
    const auto network = NetworkFlags();
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), network.begin(), network.end());
        return extra;
    };
    auto registry_args = with({"--registry-out", dir + "/sensors.json", "--registry-only"});
    registry_args.insert(registry_args.begin(), "simulate");
    Process registry(PavewatchBinary(), registry_args, dir + "/registry.log");
    ASSERT_EQ(registry.Wait(30s), 0) << Tail(registry.log_path());

    auto gateway = StartService(
        "gateway",
        topics,
        dir,
        with({"--port", std::to_string(port), "--web-root", ProjectPath("web/dist")})
    );
    auto wear = StartService(
        "wear",
        topics,
        dir,
        {"--state-dir", dir + "/wear", "--instance-id", "e2e-" + UniqueSuffix()}
    );
    auto ingest = StartService("ingest", topics, dir, with({"--sensors", dir + "/sensors.json"}));
    ASSERT_TRUE(Eventually([&] { return HttpGet(port, "/readyz").status == 200; }, 60s))
        << Tail(gateway->log_path());

    // Subscribe before data flows: the snapshot comes first, then every update, numbered.
    WsClient feed(port, "/api/v1/feed", {"pavewatch.v1"});
    ASSERT_TRUE(feed.connected()) << feed.error();
    EXPECT_EQ(feed.accepted_protocol(), "pavewatch.v1");
    auto hello = feed.Read(10s);
    ASSERT_TRUE(hello);
    EXPECT_EQ(json::parse(*hello).at("type"), "hello");
    EXPECT_EQ(json::parse(*hello).at("role"), "agency");  // no tokens configured: open
    ASSERT_TRUE(feed.Send(R"({"type":"subscribe","kinds":["conditions","hazards","alerts"]})"));
    auto snapshot = feed.Read(10s);
    ASSERT_TRUE(snapshot);
    const auto snap = json::parse(*snapshot).as_object();
    EXPECT_EQ(snap.at("type"), "snapshot");
    std::int64_t seq = snap.at("seq").as_int64();

    auto simulate = StartService(
        "simulate", topics, dir, with({"--vehicles", "30", "--speedup", "20", "--seed", "7"})
    );
    int updates = 0;
    std::set<std::string> updated;
    const auto deadline = std::chrono::steady_clock::now() + 90s;
    while (updates < 20 && std::chrono::steady_clock::now() < deadline) {
        auto message = feed.Read(5s);
        if (!message) {
            ASSERT_TRUE(feed.connected()) << "feed closed: " << feed.close_code();
            continue;
        }
        const auto m = json::parse(*message).as_object();
        ASSERT_EQ(m.at("seq").as_int64(), seq + 1) << "sequence numbers must have no gaps";
        seq = m.at("seq").as_int64();
        if (m.at("type") == "condition") {
            ++updates;
            updated.insert(json::value_to<std::string>(m.at("segment").at("segment_id")));
        }
    }
    EXPECT_GE(updates, 20) << "simulate:\n"
                           << Tail(simulate->log_path()) << "ingest:\n"
                           << Tail(ingest->log_path()) << "wear:\n"
                           << Tail(wear->log_path()) << "gateway:\n"
                           << Tail(gateway->log_path());

    // Every segment of the network is served, with its condition where there is one.
    const auto segments = HttpGet(port, "/api/v1/segments");
    ASSERT_EQ(segments.status, 200);
    EXPECT_EQ(segments.headers.at("content-type"), "application/geo+json");
    const auto fc = json::parse(segments.body).as_object();
    EXPECT_EQ(fc.at("type"), "FeatureCollection");
    const auto& features = fc.at("features").as_array();
    const auto& expected = AlmatyNetwork().segments();
    ASSERT_EQ(features.size(), expected.size());
    std::set<std::string> ids;
    int with_condition = 0;
    for (const auto& f : features) {
        ids.insert(json::value_to<std::string>(f.at("id")));
        with_condition += f.at("properties").at("condition_class").is_null() ? 0 : 1;
        EXPECT_EQ(f.at("geometry").at("type"), "LineString");
    }
    EXPECT_EQ(ids.size(), expected.size());
    for (const auto& s : expected) {
        EXPECT_TRUE(ids.contains(pipeline::ToString(s.id)));
    }
    for (const auto& id : updated) {
        EXPECT_TRUE(ids.contains(id));
    }
    EXPECT_GT(with_condition, 0);

    // The connection gauge is refreshed once a second: wait for it (bounded).
    auto metrics = HttpGet(port, "/metrics");
    for (int i = 0; i < 50 && metrics.body.find("pavewatch_gateway_websocket_connections 1") ==
                                  std::string::npos;
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        metrics = HttpGet(port, "/metrics");
    }
    EXPECT_EQ(metrics.status, 200);
    EXPECT_EQ(metrics.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(metrics.body.find("pavewatch_gateway_websocket_connections 1"), std::string::npos);

    feed.Close();
    EXPECT_EQ(simulate->Stop(), 0);
    EXPECT_EQ(ingest->Stop(), 0);
    EXPECT_EQ(wear->Stop(), 0);
    EXPECT_EQ(gateway->Stop(), 0);
}

}  // namespace
}  // namespace pavewatch::test_support
