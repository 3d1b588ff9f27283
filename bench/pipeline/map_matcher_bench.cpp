// Map matching throughput: MapMatcher::Match on the Almaty network (data/almaty_roads.geojson,
// 100 m segments) with GPS fixes as phones report them in traffic: on a lane 1.75 m right of the
// centre line, Gaussian noise of 2-6 m (1-sigma) per axis, heading within a few degrees of the
// road's, 5-20 m/s. Items/s = fixes matched per second on one thread.

#include "pavewatch/pipeline/geo.hpp"
#include "pavewatch/pipeline/iso8608.hpp"
#include "pavewatch/pipeline/map_matcher.hpp"
#include "pavewatch/pipeline/road_network.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace pavewatch::pipeline {
namespace {

struct Fix {
    LonLat position;
    double accuracy_m = 4.0;
    double heading_deg = -1.0;
    double speed_mps = 0.0;
    std::size_t true_segment = 0;
};

struct World {
    RoadNetwork network;
    std::unique_ptr<MapMatcher> matcher;  ///< over `network`
    std::vector<Fix> fixes;
};

RoadNetwork LoadAlmaty() {
    std::ifstream in(std::string(PAVEWATCH_SOURCE_DIR) + "/data/almaty_roads.geojson");
    std::stringstream text;
    text << in.rdbuf();
    auto network = RoadNetwork::FromGeoJson(text.str());
    if (!network) {
        throw std::runtime_error("cannot load the Almaty network: " + network.error().Describe());
    }
    return std::move(*network);
}

const World& Data() {
    static const World* world = [] {
        auto* w = new World{LoadAlmaty(), nullptr, {}};
        w->matcher = std::make_unique<MapMatcher>(w->network);
        Xoshiro256 rng(42);
        const auto& segments = w->network.segments();
        const auto& projection = w->network.projection();
        constexpr std::size_t kFixes = 1 << 16;
        w->fixes.reserve(kFixes);
        for (std::size_t k = 0; k < kFixes; ++k) {
            const auto i = std::min(
                segments.size() - 1,
                static_cast<std::size_t>(rng.Uniform() * static_cast<double>(segments.size()))
            );
            const double offset = rng.Uniform(0.0, segments[i].length_m);
            const LonLat on_road = w->matcher->PointAt(i, offset);
            const LonLat ahead =
                w->matcher->PointAt(i, std::min(segments[i].length_m, offset + 1.0));
            const LonLat behind = w->matcher->PointAt(i, std::max(0.0, offset - 1.0));
            const double bearing = BearingDeg(behind, ahead);
            const double sigma = rng.Uniform(2.0, 6.0);
            auto xy = projection.Forward(on_road);
            const double right = DegToRad(bearing + 90.0);
            xy.x += 1.75 * std::sin(right) + sigma * rng.Normal();
            xy.y += 1.75 * std::cos(right) + sigma * rng.Normal();
            Fix f;
            f.position = projection.Inverse(xy);
            f.accuracy_m = sigma;
            f.heading_deg = std::fmod(bearing + 3.0 * rng.Normal() + 360.0, 360.0);
            f.speed_mps = rng.Uniform(5.0, 20.0);
            f.true_segment = i;
            w->fixes.push_back(f);
        }
        return w;
    }();
    return *world;
}

void Run(benchmark::State& state, bool with_heading) {
    const World& w = Data();
    std::size_t matched = 0;
    std::size_t right = 0;
    std::size_t total = 0;
    for (auto _ : state) {
        for (const Fix& f : w.fixes) {
            const auto m =
                with_heading
                    ? w.matcher->Match(f.position, f.accuracy_m, f.heading_deg, f.speed_mps)
                    : w.matcher->Match(f.position, f.accuracy_m);
            matched += m ? 1 : 0;
            right += m && m->segment_index == f.true_segment ? 1 : 0;
            benchmark::DoNotOptimize(m);
        }
        total += w.fixes.size();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(total));
    state.counters["matched_share"] = static_cast<double>(matched) / static_cast<double>(total);
    state.counters["right_segment_share"] = static_cast<double>(right) / static_cast<double>(total);
}

void BM_MapMatchWithHeading(benchmark::State& state) {
    Run(state, true);
}
void BM_MapMatchWithoutHeading(benchmark::State& state) {
    Run(state, false);
}

BENCHMARK(BM_MapMatchWithHeading)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MapMatchWithoutHeading)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pavewatch::pipeline
