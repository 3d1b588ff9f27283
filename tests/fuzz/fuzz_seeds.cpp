// fuzz_seeds <out dir> [<JSON seeds dir>]: the seed inputs of the fuzz targets whose formats are
// binary or derived, made from the JSON seeds under tests/fuzz/seeds/ through the real ingest path,
// so they follow the formats as they change: encoded observations of each segment
// (observation_fold), the states they fold into (state_decode), and the records written of those
// states (records_json), subscriptions (feed_subscription) and requests to every route of the
// REST API (http_api). The JSON seeds themselves are the corpora of the ingest targets.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/observation.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace pipeline = pavewatch::pipeline;
namespace fuzz = pavewatch::fuzz;

std::vector<fs::path> Files(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << bytes;
}

void AppendRecord(std::string& out, const std::string& record) {
    out.push_back(static_cast<char>(record.size() & 0xFF));
    out.push_back(static_cast<char>((record.size() >> 8) & 0xFF));
    out += record;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: fuzz_seeds <out dir> [<JSON seeds dir>]\n");
        return 2;
    }
    const fs::path out = argv[1];
    const fs::path seeds = argc == 3
                               ? fs::path(argv[2])
                               : fs::path(pavewatch::test_support::ProjectPath("tests/fuzz/seeds"));
    const auto& setup = fuzz::IngestSetup::Get();

    std::map<std::uint64_t, std::vector<pipeline::Observation>> by_segment;
    std::size_t observations = 0;
    for (const char* kind : {"vehicle", "embedded"}) {
        for (const auto& file : Files(seeds / kind)) {
            const std::string json = pavewatch::test_support::ReadFile(file);
            const auto result = std::string(kind) == "vehicle"
                                    ? setup.processor->ProcessVehicle(json)
                                    : setup.processor->ProcessEmbedded(json);
            if (!result) {
                std::fprintf(
                    stderr, "%s: refused: %s\n", file.c_str(), result.error().Describe().c_str()
                );
                return 1;
            }
            std::string kinds;
            for (const auto& o : *result) {
                by_segment[o.segment.value()].push_back(o);
                ++observations;
                kinds += std::string(kinds.empty() ? "" : " ") + pipeline::ToString(o.kind());
            }
            std::printf("%s: %s\n", file.filename().c_str(), kinds.c_str());
        }
    }
    // A contractor's action on the first hazard the seeds detect (or on a made-up one).
    if (!by_segment.empty()) {
        auto& first = by_segment.begin()->second;
        const std::string action =
            R"({"segment_id":")" + pipeline::SegmentKey(first.front().segment) +
            R"(","hazard_id":"1","action":"repaired","actor":"acme","t_ms":)" +
            std::to_string(first.back().t_ms + 1000) + "}";
        Write(out / "records_json", "hazard-action", action);
        if (auto o = pipeline::ParseHazardActionJson(action)) {
            first.push_back(*o);
        }
    }
    static const pipeline::ModelConfig kConfig;
    std::string all;
    int n = 0;
    for (const auto& [segment, list] : by_segment) {
        std::string records;
        pipeline::SegmentState state;
        for (const auto& o : list) {
            const std::string bytes = pipeline::EncodeObservation(o);
            AppendRecord(records, bytes);
            AppendRecord(all, bytes);
            pipeline::Apply(state, o, kConfig);
        }
        const std::string name = "segment-" + std::to_string(n++);
        Write(out / "observation_fold", name, records);
        Write(out / "state_decode", name, pipeline::EncodeState(state));
        Write(out / "records_json", name + "-condition", pipeline::ConditionToJson(state, kConfig));
        Write(out / "records_json", name + "-history", pipeline::HistoryToJson(state));
        Write(out / "records_json", name + "-key", pipeline::SegmentKey(state.segment));
        Write(out / "records_json", name + "-hazard-id", pipeline::HazardIdText(state.segment, 1));
    }
    Write(out / "observation_fold", "all-segments", all);

    // feed_subscription: a token line, then a subscribe message.
    const auto& network = *setup.network;
    const auto corner = [](double v) { return std::to_string(v); };
    const double lon = (network.min_corner().lon + network.max_corner().lon) / 2;
    const double lat = (network.min_corner().lat + network.max_corner().lat) / 2;
    const std::string token = std::string(fuzz::kFeedToken) + "\n";
    const fs::path feed = out / "feed_subscription";
    Write(
        feed,
        "bbox",
        token + R"({"type":"subscribe","kinds":["conditions","hazards"],"bbox":[)" +
            corner(network.min_corner().lon) + "," + corner(network.min_corner().lat) + "," +
            corner(lon) + "," + corner(lat) + R"(],"min_class":"poor"})"
    );
    Write(
        feed,
        "segments",
        token + R"({"type":"subscribe","segments":[")" +
            pipeline::SegmentKey(network.segments().front().id) + R"(",")" +
            pipeline::SegmentKey(network.segments().back().id) + R"("]})"
    );
    Write(
        feed,
        "nulls",
        token +
            R"({"type":"subscribe","kinds":["alerts"],"bbox":null,"segments":null,"min_class":null})"
    );
    Write(
        feed, "wrong-token", "not-the-token-0123456789\n" + std::string(R"({"type":"subscribe"})")
    );
    Write(out / "records_json", "positions", pipeline::EncodePositions({1200, -1}));

    // http_api: requests to every route, as the agency, the contractor, an expired token and
    // nobody.
    const fs::path api = out / "http_api";
    const std::string first = pipeline::SegmentKey(network.segments().front().id);
    const std::string last = pipeline::SegmentKey(network.segments().back().id);
    const std::string bbox = corner(network.min_corner().lon) + "%2C" +
                             corner(network.min_corner().lat) + "%2C" + corner(lon) + "," +
                             corner(lat);
    const std::pair<const char*, std::string> targets[] = {
        {"segments", "/api/v1/segments"},
        {"segments-query", "/api/v1/segments?bbox=" + bbox + "&class=poor,fair&updated_since=0"},
        {"segment-first", "/api/v1/segments/" + first},
        {"segment-last", "/api/v1/segments/" + last},
        {"hazards", "/api/v1/hazards?status=confirmed,acknowledged&bbox=" + bbox},
        {"network", "/api/v1/network"},
        {"repairs", "/api/v1/repairs"},
        {"config", "/config.json"},
    };
    const std::pair<const char*, std::string_view> callers[] = {
        {"agency", fuzz::kAgencyToken},
        {"contractor", fuzz::kFeedToken},
        {"expired", fuzz::kExpiredToken},
        {"anonymous", ""}};
    for (const auto& [name, target] : targets) {
        for (const auto& [caller, token] : callers) {
            std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n";
            if (!token.empty()) {
                request += "Authorization: Bearer " + std::string(token) + "\r\n";
            }
            Write(api, std::string(name) + "-" + caller, request + "\r\n");
        }
    }
    Write(
        api,
        "post-chunked",
        "POST /api/v1/segments HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
    );
    std::printf("fuzz_seeds: %zu observations on %zu segments\n", observations, by_segment.size());
    return observations > 0 ? 0 : 1;
}
