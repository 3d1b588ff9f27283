// The CI-sized accuracy run of docs/accuracy.md and the offline tools it relies on. Every
// command runs the real `pavewatch` binary (PAVEWATCH_BINARY) as a user would.

#include "pavewatch/test_support/paths.hpp"
#include "pavewatch/test_support/process.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

namespace pavewatch {
namespace {

namespace json = boost::json;
using test_support::PavewatchBinary;
using test_support::ProjectPath;

/// Runs `pavewatch args...` to completion; its stdout and stderr go to `log`. Fails the test
/// when it does not exit 0 within the timeout.
void Pavewatch(
    const std::vector<std::string>& args,
    const std::string& log,
    std::chrono::seconds timeout = std::chrono::seconds(150)
) {
    test_support::Process p(PavewatchBinary(), args, log);
    const auto code = p.Wait(timeout);
    ASSERT_TRUE(code.has_value()) << args[0] << " did not finish in time\n"
                                  << test_support::Tail(log);
    ASSERT_EQ(*code, 0) << args[0] << " failed\n" << test_support::Tail(log);
}

std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> Lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

/// The last line of a log that is a JSON object (evaluate --json prints one).
json::object LastJsonObject(const std::string& log) {
    const auto lines = Lines(log);
    const auto last = std::find_if(lines.rbegin(), lines.rend(), [](const std::string& line) {
        return !line.empty() && line.front() == '{';
    });
    if (last != lines.rend()) {
        return json::parse(*last).as_object();
    }
    ADD_FAILURE() << "no JSON object in " << log;
    return {};
}

double Figure(const json::object& report, std::string_view key) {
    const auto* v = report.if_contains(key);
    if (v == nullptr || !v->is_number()) {
        ADD_FAILURE() << key << " is missing or null in the report";
        return -1.0;
    }
    return v->to_number<double>();
}

/// Writes a copy of `from` (a GeoJSON road network) moved to be centred on `lon`, `lat`, each
/// vertex keeping its distances east and north of the centre in metres: the same streets in
/// another place on the globe. LineStrings only, as in data/almaty_roads.geojson. Returns the
/// new file's path.
std::string
RelocatedNetwork(const std::string& from, double lon, double lat, const std::string& to) {
    json::value doc = json::parse(Read(from));
    auto& features = doc.as_object().at("features").as_array();
    double min_lon = 180.0;
    double max_lon = -180.0;
    double min_lat = 90.0;
    double max_lat = -90.0;
    const auto each_position = [&features](const auto& visit) {
        for (auto& f : features) {
            for (auto& p : f.as_object().at("geometry").as_object().at("coordinates").as_array()) {
                visit(p.as_array());
            }
        }
    };
    each_position([&](json::array& p) {
        min_lon = std::min(min_lon, p[0].to_number<double>());
        max_lon = std::max(max_lon, p[0].to_number<double>());
        min_lat = std::min(min_lat, p[1].to_number<double>());
        max_lat = std::max(max_lat, p[1].to_number<double>());
    });
    const double centre_lon = (min_lon + max_lon) / 2;
    const double centre_lat = (min_lat + max_lat) / 2;
    const double rad = std::numbers::pi / 180.0;
    each_position([&](json::array& p) {
        const double old_lat = p[1].to_number<double>();
        const double new_lat = lat + (old_lat - centre_lat);
        const double east = (p[0].to_number<double>() - centre_lon) * std::cos(old_lat * rad);
        p[0] = lon + east / std::cos(new_lat * rad);
        p[1] = new_lat;
    });
    std::ofstream(to, std::ios::binary) << json::serialize(doc);
    return to;
}

/// The CI run (docs/accuracy.md, "CI run") over `network`: 300 connected segments, 60 vehicles
/// with the default fleet mix (100/50/10/5 Hz), 40 simulated minutes, 30 % of the potholes
/// repaired half-way; every target asserted. The full run of the document uses the same
/// commands with more segments, vehicles and time.
void CiRunMeetsEveryTarget(const std::string& network, const std::string& dir) {
    const auto started = std::chrono::steady_clock::now();
    Pavewatch(
        {"simulate",
         "--offline",
         "--network",
         network,
         "--out",
         dir + "/sim",
         "--seed",
         "4",
         "--segments",
         "300",
         "--vehicles",
         "60",
         "--duration-s",
         "2400",
         "--repair-share",
         "0.3"},
        dir + "/simulate.log"
    );
    Pavewatch(
        {"replay",
         "--network",
         network,
         "--input",
         dir + "/sim/raw.jsonl",
         "--sensors",
         dir + "/sim/sensors.json",
         "--out",
         dir + "/results"},
        dir + "/replay.log"
    );
    Pavewatch(
        {"evaluate", "--truth", dir + "/sim/truth.json", "--results", dir + "/results", "--json"},
        dir + "/evaluate.log"
    );
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const json::object r = LastJsonObject(dir + "/evaluate.log");
    const auto& f1 = r.at("single_pass_f1").as_object();
    std::printf(
        "[ accuracy ] %.0f s; %lld segments scored; IRI median |error| %.3f, class agreement "
        "%.3f; hazards P %.3f R %.3f F1 %.3f (%lld eligible potholes); single-pass F1 100 Hz "
        "%.3f, 50 Hz %.3f, 10 Hz %.3f, 5 Hz %.3f; repairs detected %lld of %lld tracked, "
        "median %.1f passes\n",
        seconds,
        static_cast<long long>(Figure(r, "segments_scored")),
        Figure(r, "iri_median_abs_rel_error"),
        Figure(r, "iri_class_agreement"),
        Figure(r, "hazard_precision"),
        Figure(r, "hazard_recall"),
        Figure(r, "hazard_f1"),
        static_cast<long long>(Figure(r, "potholes_eligible")),
        f1.at("100").to_number<double>(),
        f1.at("50").to_number<double>(),
        f1.at("10").to_number<double>(),
        f1.at("5").to_number<double>(),
        static_cast<long long>(Figure(r, "repairs_detected")),
        static_cast<long long>(Figure(r, "repairs_tracked")),
        r.at("repair_detection_median_passes").is_number()
            ? r.at("repair_detection_median_passes").to_number<double>()
            : -1.0
    );
    // The run is large enough for the figures to mean something.
    EXPECT_GE(Figure(r, "segments"), 280.0);
    EXPECT_GE(Figure(r, "segments_scored"), 200.0);
    EXPECT_GE(Figure(r, "potholes_eligible"), 15.0);
    EXPECT_EQ(Figure(r, "refused_lines"), 0.0);
    // The targets of docs/accuracy.md.
    EXPECT_LE(Figure(r, "iri_median_abs_rel_error"), 0.10);
    EXPECT_GE(Figure(r, "iri_class_agreement"), 0.90);
    EXPECT_GE(Figure(r, "hazard_precision"), 0.90);
    EXPECT_GE(Figure(r, "hazard_recall"), 0.90);
    EXPECT_GE(f1.at("100").to_number<double>(), 0.70);
    // Repairs are noticed (the figure itself is reported, not a target).
    EXPECT_GT(Figure(r, "repairs_detected"), 0.0);
}

TEST(Accuracy, CiRunMeetsEveryTarget) {
    CiRunMeetsEveryTarget(
        ProjectPath("data/almaty_roads.geojson"), test_support::TempDir("accuracy")
    );
}

// The road network is input: the same streets moved to another hemisphere and latitude
// (Ushuaia, 54.8° S 68.3° W: negative latitudes and longitudes, 21 % fewer metres per degree of
// longitude than in Almaty) must give the same accuracy.
TEST(Accuracy, AnotherPlaceOnTheGlobeMeetsTheSameTargets) {
    const std::string dir = test_support::TempDir("accuracy-elsewhere");
    CiRunMeetsEveryTarget(
        RelocatedNetwork(
            ProjectPath("data/almaty_roads.geojson"), -68.30, -54.80, dir + "/roads.geojson"
        ),
        dir
    );
}

TEST(Accuracy, SimulatorIsDeterministicForASeed) {
    const std::string dir = test_support::TempDir("determinism");
    const std::string network = ProjectPath("data/almaty_roads.geojson");
    for (const char* out : {"/a", "/b"}) {
        Pavewatch(
            {"simulate",
             "--offline",
             "--network",
             network,
             "--out",
             dir + out,
             "--seed",
             "9",
             "--segments",
             "60",
             "--vehicles",
             "10",
             "--duration-s",
             "60",
             "--repair-share",
             "0.5"},
            dir + out + ".log"
        );
    }
    for (const char* file : {"/raw.jsonl", "/hits.jsonl", "/truth.json", "/sensors.json"}) {
        const std::string a = Read(dir + "/a" + file);
        EXPECT_FALSE(a.empty()) << file;
        EXPECT_EQ(a, Read(dir + "/b" + file)) << file << " differs between two runs of a seed";
    }
    // Another seed is another city.
    Pavewatch(
        {"simulate",
         "--offline",
         "--network",
         network,
         "--out",
         dir + "/c",
         "--seed",
         "10",
         "--segments",
         "60",
         "--vehicles",
         "10",
         "--duration-s",
         "60"},
        dir + "/c.log"
    );
    EXPECT_NE(Read(dir + "/a/truth.json"), Read(dir + "/c/truth.json"));
}

TEST(Replay, RefusesBadLinesAndKeepsGoing) {
    const std::string dir = test_support::TempDir("replay");
    const std::string network = ProjectPath("data/almaty_roads.geojson");
    Pavewatch(
        {"simulate",
         "--offline",
         "--network",
         network,
         "--out",
         dir + "/sim",
         "--seed",
         "3",
         "--segments",
         "40",
         "--vehicles",
         "5",
         "--duration-s",
         "30"},
        dir + "/simulate.log"
    );
    const auto good = Lines(dir + "/sim/raw.jsonl");
    ASSERT_GE(good.size(), 20U);
    // Good lines with bad ones between them: not JSON, an unknown topic, a message that is not
    // an object, a message refused by the contract, a message cut short (as a string), a blank
    // line (skipped, not refused), keys in another order (still read), a line over the limit.
    std::vector<std::string> lines(good.begin(), good.begin() + 10);
    lines.emplace_back("this is not json");
    lines.emplace_back(R"({"topic":"radio","key":"x","message":{}})");
    lines.emplace_back(R"({"topic":"vehicle","key":"x","message":[1,2]})");
    lines.emplace_back(
        R"({"topic":"embedded","key":"t","message":{"kind":"temperature","sensor_id":"nobody","t_ms":1767225600000,"celsius":3}})"
    );
    lines.emplace_back(
        R"({"topic":"vehicle","key":"veh-1","message":"{\"kind\":\"vehicle\",\"vehic"})"
    );
    lines.emplace_back("");
    const json::object first = json::parse(good[0]).as_object();
    json::object reordered;
    reordered["message"] = first.at("message");
    reordered["key"] = first.at("key");
    reordered["topic"] = first.at("topic");
    lines.push_back(json::serialize(reordered));
    lines.push_back(
        R"({"topic":"vehicle","key":"big","message":")" + std::string(2U << 20U, 'x') + "\"}"
    );
    lines.insert(lines.end(), good.begin() + 10, good.end());
    {
        std::ofstream out(dir + "/mixed.jsonl", std::ios::binary);
        for (const auto& l : lines) {
            out << l << "\n";
        }
    }
    Pavewatch(
        {"replay",
         "--network",
         network,
         "--input",
         dir + "/mixed.jsonl",
         "--sensors",
         dir + "/sim/sensors.json",
         "--out",
         dir + "/mixed",
         "--max-line-bytes",
         "1048576",
         "--batch-lines",
         "7"},
        dir + "/mixed.log"
    );
    Pavewatch(
        {"replay",
         "--network",
         network,
         "--input",
         dir + "/sim/raw.jsonl",
         "--sensors",
         dir + "/sim/sensors.json",
         "--out",
         dir + "/clean",
         "--threads",
         "1"},
        dir + "/clean.log"
    );
    const auto dlq = Lines(dir + "/mixed/dlq.jsonl");
    std::vector<long long> refused;
    refused.reserve(dlq.size());
    for (const auto& l : dlq) {
        refused.push_back(json::parse(l).at("line").to_number<long long>());
    }
    // Lines 11..15 and 18 (1-based) are the bad ones; 16 is blank, 17 the reordered good line.
    EXPECT_EQ(refused, (std::vector<long long>{11, 12, 13, 14, 15, 18}));
    for (const auto& l : dlq) {
        const auto o = json::parse(l).as_object();
        EXPECT_FALSE(o.at("code").as_string().empty());
        EXPECT_FALSE(o.at("reason").as_string().empty());
    }
    // Everything else was processed exactly as without the bad lines (plus the reordered
    // duplicate of the first line): same conditions as a clean, single-threaded replay of
    // the good lines, apart from the segments the duplicate touched.
    const auto mixed_observations = Lines(dir + "/mixed/observations.jsonl");
    const auto clean_observations = Lines(dir + "/clean/observations.jsonl");
    EXPECT_GT(clean_observations.size(), 20U);
    EXPECT_GT(mixed_observations.size(), clean_observations.size());
    EXPECT_EQ(
        std::vector<std::string>(mixed_observations.end() - 20, mixed_observations.end()),
        std::vector<std::string>(clean_observations.end() - 20, clean_observations.end())
    );
    EXPECT_FALSE(Lines(dir + "/clean/conditions.jsonl").empty());
    EXPECT_EQ(
        Lines(dir + "/clean/history.jsonl").size(), Lines(dir + "/clean/conditions.jsonl").size()
    );
    EXPECT_TRUE(Lines(dir + "/clean/dlq.jsonl").empty());
}

}  // namespace
}  // namespace pavewatch
