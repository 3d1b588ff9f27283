// The Kafka client wrapper where no broker answers: bounded waits, clear errors.

#include "pavewatch/kafka/kafka.hpp"
#include "pavewatch/test_support/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pavewatch::kafka {
namespace {

using namespace std::chrono_literals;

// A loader that outruns a broker that is gone for good must get its queue-full error back after
// `give_up_after`, not wait for librdkafka's message timeout (5 minutes by default).
TEST(ProduceWaiting, GivesUpOnAQueueThatStaysFull) {
    ClientConfig client;
    client.brokers = "127.0.0.1:" + std::to_string(test_support::FreePort());  // nobody there
    client.client_id = "pavewatch-test-produce-waiting";
    client.properties["queue.buffering.max.messages"] = "1";
    client.log = [](int, std::string_view, std::string_view) {};  // connection refused, expected
    auto producer = Producer::Create(client, {});
    ASSERT_TRUE(producer) << producer.error().Describe();

    ASSERT_TRUE(producer->Produce("pavewatch.test", "k", "first"));  // fills the queue
    const auto started = std::chrono::steady_clock::now();
    const auto r = producer->ProduceWaiting("pavewatch.test", "k", "second", 20ms, 500ms);
    const auto waited = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().retriable) << r.error().Describe();
    EXPECT_GE(waited, 500ms);
    EXPECT_LT(waited, 60s);  // far from the 5 minutes it would wait without a bound
}

}  // namespace
}  // namespace pavewatch::kafka
