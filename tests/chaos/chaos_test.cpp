// Exactly-once on the real broker: whatever happens to the wear processor or the broker, the
// final state of every segment equals the offline fold of the same observations.

#include "load.hpp"
#include "pavewatch/state/rocks_store.hpp"
#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/net_client.hpp"
#include "pavewatch/test_support/paths.hpp"
#include "pavewatch/test_support/process.hpp"
#include "pavewatch/test_support/services.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <regex>

namespace pavewatch::chaos {
namespace {

using namespace std::chrono_literals;
using test_support::Process;

class Chaos : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(test_support::Brokers().empty())
            << "PAVEWATCH_BROKERS is not set: run through scripts/test";
        topics_ = test_support::MakeTopics(
            ::testing::UnitTest::GetInstance()->current_test_info()->name(), 6
        );
        dir_ = test_support::TempDir("chaos");
        group_ = "chaos-" + test_support::UniqueSuffix();
        seed_ = std::random_device{}();
        std::cout << "seed " << seed_ << "\n";
    }

    std::unique_ptr<Process> StartWear(
        const std::string& instance,
        int metrics_port = 0,
        const std::vector<std::string>& extra = {}
    ) {
        std::vector<std::string> args{
            "--state-dir",
            dir_ + "/" + instance,
            "--instance-id",
            instance + "-" + group_,
            "--group-id",
            group_,
            "--commit-interval-ms",
            "100",
            "--session-timeout-ms",
            "6000",
            // Fewer states in memory than most tests' segments (5,000-10,000): states are
            // evicted and read back from RocksDB all through a run, and must come back exact.
            "--cache-entries",
            "4000",
            // A small restore buffer: every restore loads each partition in several
            // overlapping files, and the final states must still be exact.
            "--restore-buffer-mb",
            "1",
            "--metrics-port",
            std::to_string(metrics_port)};
        args.insert(args.end(), extra.begin(), extra.end());
        return test_support::StartService("wear", topics_, dir_, args, "wear-" + instance);
    }

    std::int64_t Progress() {
        return test_support::CommittedTotal(group_, topics_.topics.observations);
    }

    /// Waits until the group has committed `target` input records; fails with the logs if not.
    bool WaitForProgress(
        std::int64_t target,
        std::chrono::seconds timeout,
        Process* must_run = nullptr
    ) {
        bool died = false;
        const bool reached = test_support::Eventually(
            [&] {
                if (must_run != nullptr && !must_run->Running()) {
                    died = true;
                    return true;
                }
                return Progress() >= target;
            },
            timeout
        );
        return reached && !died;
    }

    std::int64_t InputRecords() {
        std::int64_t total = 0;
        for (const auto& [p, end] : test_support::EndOffsets(topics_.topics.observations)) {
            total += end;
        }
        return total;
    }

    void ExpectExact(std::uint64_t observations, std::uint64_t segments) {
        const auto reference =
            ReferenceFold(observations, segments, seed_, pipeline::ModelConfig{});
        // A killed instance leaves its open transaction until the broker aborts it (the
        // transaction timeout, 10 s); a read_committed reader stops in front of it and would
        // miss what the survivor wrote after it. Wait until no transaction is open.
        EXPECT_TRUE(test_support::Eventually(
            [&] {
                return test_support::EndOffsets(topics_.topics.changelog, true) ==
                       test_support::EndOffsets(topics_.topics.changelog, false);
            },
            60s
        )) << "a transaction on the changelog stayed open";
        std::map<std::int32_t, pipeline::InputPositions> positions;
        const auto actual = ChangelogStates(topics_.topics.changelog, &positions);
        // The changelog knows where the input stands for the states it holds: exactly where
        // the group's committed offsets are.
        for (const auto& [p, next] :
             test_support::CommittedOffsets(group_, topics_.topics.observations)) {
            if (next >= 0) {
                EXPECT_EQ(positions[p].observations, next) << "partition " << p;
            }
        }
        const auto c = Compare(reference, actual);
        std::cout << "segments " << c.segments << ", byte-identical " << c.identical << "\n";
        EXPECT_EQ(c.missing, 0U) << c.first_difference;
        EXPECT_EQ(c.extra, 0U);
        EXPECT_EQ(c.count_mismatch, 0U) << "lost or double-counted input: " << c.first_difference;
        EXPECT_EQ(c.sum_mismatch, 0U) << c.first_difference;
        EXPECT_EQ(c.identical, c.segments)
            << "the fold is deterministic: states should be identical\n"
            << c.first_unidentical;
    }

    /// Runs instance "a" over observations [0, first) and stops it; fails the test when it
    /// does not get through them.
    void RunToTheEndAndStop(std::uint64_t first, std::uint64_t segments) {
        ProduceLoad(topics_.topics.observations, 0, first, segments, seed_);
        auto wear = StartWear("a");
        ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(first), 120s, wear.get()))
            << Logs(*wear);
        EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    }

    /// Moves the group's committed input offsets by `shift` records per partition, by hand as
    /// an operator's reset would (each within the partition's records), and deletes instance
    /// "a"'s state (unless `drop_state` is false), so that its next start restores from the
    /// changelog. Returns the offsets.
    std::map<std::int32_t, std::int64_t> ShiftOffsetsAndDropState(
        const std::map<std::int32_t, std::int64_t>& shift,
        bool drop_state = true
    ) {
        const auto& input = topics_.topics.observations;
        auto moved = test_support::CommittedOffsets(group_, input);
        const auto ends = test_support::EndOffsets(input);
        for (const auto& [p, by] : shift) {
            const std::int64_t to = moved[p] + by;
            EXPECT_TRUE(moved[p] >= 0 && to >= 0 && to <= ends.at(p))
                << "partition " << p << ": committed " << moved[p] << ", end " << ends.at(p);
            moved[p] = to;
        }
        test_support::CommitOffsets(group_, input, moved);
        if (drop_state) {
            std::filesystem::remove_all(dir_ + "/a");
        }
        return moved;
    }

    std::string Logs(const Process& p) {
        return "\n" + p.log_path() + ":\n" + test_support::Tail(p.log_path(), 40);
    }

    test_support::TestTopics topics_;
    std::string dir_;
    std::string group_;
    std::uint64_t seed_ = 0;
};

TEST_F(Chaos, KillNineAtTenRandomPointsLosesNothingAndCountsNothingTwice) {
    constexpr std::uint64_t kObservations = 1'000'000;
    constexpr std::uint64_t kSegments = 10'000;
    const auto total = static_cast<std::int64_t>(kObservations);

    std::mt19937_64 rng(seed_);
    std::uniform_real_distribution<double> fraction(0.02, 0.95);
    std::vector<double> points;
    points.reserve(10);
    for (int k = 0; k < 10; ++k) {
        points.push_back(fraction(rng));
    }
    std::sort(points.begin(), points.end());

    // The input arrives as a stream, a chunk ahead of each kill point: a processor faster than
    // the producer could otherwise finish the whole load before the later kills, which would
    // then hit an idle process instead of a run.
    constexpr std::int64_t kAhead = 50'000;
    std::int64_t produced = 0;
    const auto produce_to = [&](std::int64_t end) {
        end = std::min(end, total);
        if (end > produced) {
            ProduceLoad(
                topics_.topics.observations,
                static_cast<std::uint64_t>(produced),
                static_cast<std::uint64_t>(end),
                kSegments,
                seed_
            );
            produced = end;
        }
    };

    int port = test_support::FreePort();
    auto wear = StartWear("a", port);
    int kills = 0;
    std::int64_t last = 0;
    for (const double p : points) {
        // Each kill interrupts a running processor: it has made progress since its start, and
        // input is still arriving.
        const auto target = std::min(
            std::max(static_cast<std::int64_t>(p * static_cast<double>(total)), last + 1000),
            total - 1000
        );
        produce_to(target + kAhead);
        ASSERT_TRUE(WaitForProgress(target, 120s, wear.get()))
            << "no progress to " << target << Logs(*wear);
        wear->Kill();  // SIGKILL: no commit, no flush, no goodbye
        ++kills;
        last = Progress();
        port = test_support::FreePort();
        wear = StartWear("a", port);
    }
    EXPECT_EQ(kills, 10);
    produce_to(total);
    ASSERT_EQ(InputRecords(), total);
    ASSERT_TRUE(WaitForProgress(total, 180s, wear.get()))
        << "stuck at " << Progress() << " of " << total << Logs(*wear);
    // The last restart may find everything done already: let it finish starting (state checked,
    // consuming) before asking it to stop, so that the stop is the graceful one being tested
    // (a SIGTERM before the process installs its handlers would simply kill it).
    ASSERT_TRUE(test_support::Eventually(
        [&] { return test_support::HttpGet(port, "/readyz").status == 200; }, 60s
    )) << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

TEST_F(Chaos, TheSurvivorOfTwoInstancesTakesOverWithExactState) {
    constexpr std::uint64_t kObservations = 300'000;
    constexpr std::uint64_t kSegments = 5'000;
    ProduceLoad(topics_.topics.observations, 0, kObservations, kSegments, seed_);
    const int b_port = test_support::FreePort();
    auto a = StartWear("a");
    auto b = StartWear("b", b_port);
    // Both must hold partitions before one dies.
    ASSERT_TRUE(test_support::Eventually(
        [&] {
            const auto m = test_support::HttpGet(b_port, "/metrics").body;
            return m.find("pavewatch_wear_assigned_partitions 6") != std::string::npos ||
                   m.find("pavewatch_wear_assigned_partitions 4") != std::string::npos ||
                   m.find("pavewatch_wear_assigned_partitions 8") != std::string::npos;
        },
        60s
    )) << Logs(*b);
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations) / 4, 120s))
        << Logs(*a) << Logs(*b);
    a->Kill();
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 180s, b.get()))
        << Logs(*b);
    // Every partition of both input topics is now the survivor's.
    EXPECT_TRUE(test_support::Eventually(
        [&] {
            return test_support::HttpGet(b_port, "/metrics")
                       .body.find("pavewatch_wear_assigned_partitions 12") != std::string::npos;
        },
        30s
    ));
    EXPECT_EQ(b->Stop(), 0) << Logs(*b);
    ExpectExact(kObservations, kSegments);
}

TEST_F(Chaos, ADeletedStateFolderIsRebuiltFromTheChangelog) {
    constexpr std::uint64_t kFirst = 200'000;
    constexpr std::uint64_t kObservations = 300'000;
    constexpr std::uint64_t kSegments = 5'000;
    ProduceLoad(topics_.topics.observations, 0, kFirst, kSegments, seed_);
    auto wear = StartWear("a");
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kFirst), 120s, wear.get()))
        << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    std::filesystem::remove_all(dir_ + "/a");
    ProduceLoad(topics_.topics.observations, kFirst, kObservations, kSegments, seed_);
    const int port = test_support::FreePort();
    wear = StartWear("a", port);
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 120s, wear.get()))
        << Logs(*wear);
    // The rebuilt instance holds fewer states in memory (--cache-entries 4000) than there are
    // segments: it read the restored states from RocksDB and evicted some of them again, and
    // the exact result below covers both paths. The cache counters are published after each
    // commit, so the last transaction's lookups and evictions may show a moment after its
    // offsets do.
    std::string metrics;
    EXPECT_TRUE(test_support::Eventually(
        [&] {
            metrics = test_support::HttpGet(port, "/metrics").body;
            return test_support::MetricValue(
                       metrics, "pavewatch_wear_cache_lookups_total{found=\"store\"}"
                   ) > 0 &&
                   test_support::MetricValue(metrics, "pavewatch_wear_cache_evictions_total") > 0;
        },
        15s
    )) << metrics;
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    const std::string log = test_support::ReadFile(wear->log_path());
    EXPECT_NE(log.find(R"("message":"restoring state from the changelog")"), std::string::npos);
    EXPECT_NE(log.find(R"("local":false)"), std::string::npos)
        << "the rebuilt partitions had no local state";
    // The restore buffers states and loads them as sorted files when its share of the 1 MiB
    // buffer fills (about 400 states): many records per file, not a file per record.
    const std::regex restored(R"re("message":"state restored".*"records":(\d+),"files":(\d+))re");
    int rebuilt = 0;  // the log also holds the first run's restores, of an empty changelog
    for (auto it = std::sregex_iterator(log.begin(), log.end(), restored);
         it != std::sregex_iterator();
         ++it) {
        const auto records = std::stoull((*it)[1].str());
        const auto files = std::stoull((*it)[2].str());
        if (records == 0) {
            continue;
        }
        ++rebuilt;
        EXPECT_GE(files, 1U);
        EXPECT_LE(files, records / 50 + 1) << records << " records loaded in " << files << " files";
    }
    EXPECT_GT(rebuilt, 0) << "no partition was rebuilt from changelog records";
    ExpectExact(kObservations, kSegments);
}

// A state the store cannot read back (here: a corrupt value written by hand into RocksDB) stops
// wear with a failure, and the record it could not apply is not committed: the transaction in
// flight is aborted instead of being committed on the way out. Once the state is mended, a
// restart folds that record too, and the result is exact.
TEST_F(Chaos, AStateStoreFailureCommitsNothingAfterIt) {
    constexpr std::uint64_t kFirst = 20'000;
    constexpr std::uint64_t kObservations = 40'000;
    constexpr std::uint64_t kSegments = 500;
    RunToTheEndAndStop(kFirst, kSegments);
    // Every partition has states; the first segment of each is made unreadable.
    std::map<std::int32_t, std::pair<pipeline::SegmentId, std::string>> saved;
    {
        auto store = state::RocksSegmentStore::Open(dir_ + "/a/rocksdb");
        ASSERT_TRUE(store) << store.error().message;
        for (std::int32_t p = 0; p < 6; ++p) {
            std::optional<std::pair<pipeline::SegmentId, std::string>> first;
            ASSERT_TRUE((*store)->ForEach(p, [&](pipeline::SegmentId id, std::string_view v) {
                if (!first) {
                    first.emplace(id, std::string(v));
                }
            }));
            ASSERT_TRUE(first) << "partition " << p << " holds no state";
            state::StoreBatch corrupt;
            corrupt.partition = p;
            corrupt.puts.emplace_back(first->first, "not a state");
            ASSERT_TRUE((*store)->Write(corrupt));
            saved[p] = std::move(*first);
        }
    }
    ProduceLoad(topics_.topics.observations, kFirst, kObservations, kSegments, seed_);
    auto wear = StartWear("a");
    const auto code = wear->Wait(120s);
    ASSERT_TRUE(code.has_value()) << "wear went on with an unreadable state" << Logs(*wear);
    EXPECT_NE(*code, 0) << Logs(*wear);
    EXPECT_LT(Progress(), static_cast<std::int64_t>(kObservations));
    {
        auto store = state::RocksSegmentStore::Open(dir_ + "/a/rocksdb");
        ASSERT_TRUE(store) << store.error().message;
        for (const auto& [p, entry] : saved) {
            state::StoreBatch mended;
            mended.partition = p;
            mended.puts.push_back(entry);
            ASSERT_TRUE((*store)->Write(mended));
        }
    }
    wear = StartWear("a");
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 120s, wear.get()))
        << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

// A restore resumes the input where the states it rebuilt stop, as the changelog's positions
// records say, whatever the group's committed offsets say: committed offsets behind the
// changelog (a commit that landed after the restore read them) must not make it read input
// twice, and committed offsets ahead of it (a commit whose transaction markers have not reached
// the changelog partition yet) must not make it skip input. Both are forced here by moving
// the group's offsets by hand while no instance runs.
TEST_F(Chaos, ARestoreResumesTheInputWhereTheRestoredStatesStop) {
    constexpr std::uint64_t kFirst = 100'000;
    constexpr std::uint64_t kObservations = 150'000;
    constexpr std::uint64_t kSegments = 2'000;
    ASSERT_NO_FATAL_FAILURE(RunToTheEndAndStop(kFirst, kSegments));
    ProduceLoad(topics_.topics.observations, kFirst, kObservations, kSegments, seed_);
    // Partition 0 committed behind the states, which hold those 100 records already; partition
    // 1 committed ahead of them, which lack those 50 records.
    ShiftOffsetsAndDropState({{0, -100}, {1, 50}});

    // A shorter transaction timeout shortens the wait for a changelog that stays behind.
    auto wear = StartWear("a", 0, {"--transaction-timeout-ms", "3000"});
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 120s, wear.get()))
        << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    const std::string log = test_support::ReadFile(wear->log_path());
    EXPECT_NE(log.find("the changelog is ahead of the committed offsets"), std::string::npos)
        << Logs(*wear);
    EXPECT_NE(log.find("the changelog stayed behind the committed offsets"), std::string::npos)
        << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

// The same with the local state kept: the group's offsets are behind it, so the restore goes on
// from the local state and the input resumes where the state stops, not at the group's offset
// (which would fold those records twice). The release seeks each partition to that position; a
// seek the consumer refuses (it does while a partition's fetcher has not started, as the
// kill -9 test's logs show) keeps the partition paused and is retried.
TEST_F(Chaos, ALocalStateAheadOfTheGroupResumesWhereItStops) {
    constexpr std::uint64_t kFirst = 50'000;
    constexpr std::uint64_t kObservations = 60'000;
    constexpr std::uint64_t kSegments = 1'000;
    ASSERT_NO_FATAL_FAILURE(RunToTheEndAndStop(kFirst, kSegments));
    ShiftOffsetsAndDropState({{0, -100}, {1, -100}, {2, -100}}, false);
    ProduceLoad(topics_.topics.observations, kFirst, kObservations, kSegments, seed_);
    auto wear = StartWear("a");
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 120s, wear.get()))
        << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    EXPECT_NE(
        test_support::ReadFile(wear->log_path()).find("the changelog is ahead of the committed"),
        std::string::npos
    ) << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

// A partition released at a restored position that the group has not committed yet must come
// back to that position when a transaction aborts, not to the group's older offset. Here the
// group's offset is moved back by hand and no input arrives after the restore, so nothing is
// committed; then the instance's transactional id is fenced (as a second instance with the same
// id would), and new input makes it fail, recreate its producer and rewind.
TEST_F(Chaos, AnAbortRightAfterARestoreRewindsToTheRestoredPosition) {
    constexpr std::uint64_t kFirst = 100'000;
    constexpr std::uint64_t kObservations = 120'000;
    constexpr std::uint64_t kSegments = 2'000;
    const auto& input = topics_.topics.observations;
    ASSERT_NO_FATAL_FAILURE(RunToTheEndAndStop(kFirst, kSegments));
    // Committed behind the states, which hold those 100 records already.
    const auto moved = ShiftOffsetsAndDropState({{0, -100}});

    const int port = test_support::FreePort();
    auto wear = StartWear("a", port);
    ASSERT_TRUE(test_support::Eventually(
        [&] { return test_support::HttpGet(port, "/readyz").status == 200; }, 60s
    )) << Logs(*wear);
    EXPECT_EQ(test_support::CommittedOffsets(group_, input)[0], moved.at(0))
        << "nothing is committed before the fence: no input arrived";
    test_support::FenceTransactionalId("pavewatch-wear-a-" + group_);
    ProduceLoad(input, kFirst, kObservations, kSegments, seed_);
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 120s, wear.get()))
        << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    const std::string log = test_support::ReadFile(wear->log_path());
    EXPECT_NE(log.find("the changelog is ahead of the committed offsets"), std::string::npos);
    EXPECT_NE(log.find("the transactional producer failed (fenced"), std::string::npos)
        << "the fence was not hit" << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

TEST_F(Chaos, ProcessingResumesByItselfAfterTheBrokerRestarts) {
    const char* name = std::getenv("PAVEWATCH_KAFKA_NAME");  // NOLINT(concurrency-mt-unsafe)
    ASSERT_NE(
        name, nullptr
    ) << "PAVEWATCH_KAFKA_NAME (the broker's name for scripts/kafka) is not set";
    constexpr std::uint64_t kObservations = 300'000;
    constexpr std::uint64_t kSegments = 5'000;
    ProduceLoad(topics_.topics.observations, 0, kObservations, kSegments, seed_);
    auto wear = StartWear("a");
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations) / 3, 120s)) << Logs(*wear);
    Process restart(
        test_support::ProjectPath("scripts/kafka"), {"restart", name}, dir_ + "/broker-restart.log"
    );
    ASSERT_EQ(restart.Wait(120s), 0) << test_support::Tail(restart.log_path());
    ASSERT_TRUE(WaitForProgress(static_cast<std::int64_t>(kObservations), 240s)) << Logs(*wear);
    EXPECT_TRUE(wear->Running()) << "the processor must ride out a broker restart" << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    ExpectExact(kObservations, kSegments);
}

TEST_F(Chaos, PoisonGoesToTheDeadLetterTopicWithoutStallingThePartition) {
    constexpr std::uint64_t kObservations = 100'000;
    constexpr std::uint64_t kSegments = 2'000;
    const auto poison =
        ProduceLoad(topics_.topics.observations, 0, kObservations, kSegments, seed_, 100);
    ASSERT_EQ(poison.size(), 100U);
    auto wear = StartWear("a");
    ASSERT_TRUE(
        WaitForProgress(static_cast<std::int64_t>(kObservations + poison.size()), 120s, wear.get())
    ) << Logs(*wear);
    EXPECT_EQ(wear->Stop(), 0) << Logs(*wear);
    const auto dead = test_support::ConsumeToEnd(topics_.topics.dlq);
    ASSERT_EQ(dead.size(), poison.size());
    std::multiset<std::string> got;
    std::map<std::string, int> reasons;
    for (const auto& d : dead) {
        got.insert(d.value);
        ++reasons[d.headers.count("pavewatch.reason") ? d.headers.at("pavewatch.reason") : ""];
    }
    EXPECT_EQ(reasons, (std::map<std::string, int>{{"malformed", 50}, {"out_of_range", 50}}));
    EXPECT_EQ(got, std::multiset<std::string>(poison.begin(), poison.end()))
        << "the original bytes must be kept";
    ExpectExact(kObservations, kSegments);
}

}  // namespace
}  // namespace pavewatch::chaos
