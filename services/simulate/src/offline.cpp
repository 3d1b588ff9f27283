#include "pavewatch/simulate/offline.hpp"

#include "pavewatch/common/files.hpp"
#include "pavewatch/pipeline/iri.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/raw_message.hpp"

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>

namespace pavewatch::simulate {
namespace {

using pipeline::EpochMs;
using pipeline::JsonWriter;

std::string PotholeId(const pipeline::Segment& segment, std::size_t k) {
    return pipeline::ToString(segment.id) + "-p" + std::to_string(k + 1);
}

/// A file written line by line; the error names the file.
class Output {
public:
    explicit Output(std::filesystem::path path)
        : path_(std::move(path)), out_(path_, std::ios::binary | std::ios::trunc) {}

    bool ok() const { return static_cast<bool>(out_); }
    void Write(const std::string& text) { out_.write(text.data(), static_cast<long>(text.size())); }
    tl::expected<void, std::string> Close() {
        out_.flush();
        if (!out_) {
            return tl::unexpected(
                "cannot write " + path_.string() + ": " + common::ErrnoText(errno)
            );
        }
        out_.close();
        return {};
    }
    std::string Error() const {
        return "cannot write " + path_.string() + ": " + common::ErrnoText(errno);
    }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

void WriteRawLine(const RawMessage& m, std::string& line) {
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("topic").String(m.vehicle ? "vehicle" : "embedded");
    w.Key("key").String(m.key);
    // A message that is not JSON any more (a corrupted one) travels as a string.
    if (m.corrupted) {
        w.Key("message").String(m.json);
    } else {
        w.Key("message").Raw(m.json);
    }
    w.EndObject();
    line.push_back('\n');
}

void WriteHitsLine(
    const RawMessage& m,
    std::uint64_t raw_line,
    const pipeline::RoadNetwork& network,
    World& world,
    std::string& line
) {
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("line").UInt(raw_line);
    w.Key("vehicle_id").String(m.key);
    w.Key("vehicle_key").String(std::to_string(pipeline::VehicleKey(m.key)));
    w.Key("rate_hz").Number(m.rate_hz);
    w.Key("t0_ms").Int(m.t_ms);
    w.Key("end_ms").Int(m.end_ms);
    w.Key("corrupted").Bool(m.corrupted);
    w.Key("encounters").BeginArray();
    for (const auto& e : m.encounters) {
        const auto& segment = network.segments()[e.segment_index];
        const auto& p = world.Truth(e.segment_index).potholes[e.pothole];
        w.BeginObject();
        w.Key("pothole_id").String(PotholeId(segment, e.pothole));
        w.Key("segment_id").String(pipeline::ToString(segment.id));
        w.Key("offset_m").Fixed(p.centre_m(), 3);
        w.Key("t_ms").Int(e.t_ms);
        w.Key("speed_mps").Fixed(e.speed_mps, 3);
        w.Key("wheel_lateral_m").Fixed(e.wheel_lateral_m, 3);
        w.Key("hit").Bool(e.hit);
        w.Key("repaired").Bool(e.repaired);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    line.push_back('\n');
}

std::string TruthJson(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    World& world,
    const WorldConfig& config,
    const OfflineOptions& options,
    const OfflineSummary& summary
) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    w.Key("format").String("pavewatch.truth/1");
    w.Key("seed").UInt(config.seed);
    w.Key("start_ms").Int(options.start_ms);
    w.Key("end_ms").Int(options.start_ms + options.duration.count());
    w.Key("vehicles").Int(config.vehicles);
    w.Key("profile_spacing_m").Number(config.profile_spacing_m);
    w.Key("rates").BeginArray();
    for (const auto& [rate, share] : config.rates) {
        w.BeginObject().Key("rate_hz").Number(rate).Key("share").Number(share).EndObject();
    }
    w.EndArray();
    w.Key("repair_share").Number(config.repair_share);
    w.Key("vehicle_messages").UInt(summary.vehicle_messages);
    w.Key("embedded_messages").UInt(summary.embedded_messages);
    w.Key("segments").BeginArray();
    for (const std::size_t i : world.config().segment_subset) {
        const auto& segment = network.segments()[i];
        const auto& truth = world.Truth(i);
        w.BeginObject();
        w.Key("segment_id").String(pipeline::ToString(segment.id));
        w.Key("length_m").Fixed(segment.length_m, 3);
        w.Key("highway").String(segment.highway);
        w.Key("iso_class").String(std::string(1, pipeline::ToChar(truth.iso_class)));
        w.Key("gd0_m3").Number(truth.gd0_m3);
        w.Key("true_iri_m_per_km").Number(world.TrueIri(i));
        // Without any pothole: the road's texture alone (what a wheel beside them measures).
        w.Key("base_iri_m_per_km")
            .Number(pipeline::ReferenceIriMPerKm(world.Profile(i), config.profile_spacing_m));
        w.Key("potholes").BeginArray();
        for (std::size_t k = 0; k < truth.potholes.size(); ++k) {
            const auto& p = truth.potholes[k];
            w.BeginObject();
            w.Key("id").String(PotholeId(segment, k));
            w.Key("at_m").Fixed(p.at_m, 3);
            w.Key("centre_m").Fixed(p.centre_m(), 3);
            const pipeline::LonLat at = matcher.PointAt(i, p.centre_m());
            w.Key("lat").Fixed(at.lat, 7);
            w.Key("lon").Fixed(at.lon, 7);
            w.Key("depth_m").Fixed(p.depth_m, 4);
            w.Key("length_m").Fixed(p.length_m, 3);
            w.Key("lateral_m").Fixed(p.lateral_m, 3);
            w.Key("width_m").Fixed(p.width_m, 3);
            w.Key("repaired_at_ms");
            if (p.repaired_at_ms) {
                w.Int(*p.repaired_at_ms);
            } else {
                w.Null();
            }
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    // Expected structural results per instrumented segment (sites on one segment add up).
    std::map<std::size_t, SiteTruth> by_segment;
    for (const auto& site : world.SiteTruths()) {
        auto& s = by_segment[site.segment_index];
        s.segment_index = site.segment_index;
        s.vehicles += site.vehicles;
        s.axles += site.axles;
        s.esal += site.esal;
        s.fatigue_damage += site.fatigue_damage;
        s.strain_peaks += site.strain_peaks;
    }
    w.Key("sites").BeginArray();
    for (const auto& site : world.SiteTruths()) {
        w.BeginObject();
        w.Key("segment_id").String(pipeline::ToString(network.segments()[site.segment_index].id));
        w.Key("wim_id").String(site.wim_id);
        w.Key("strain_id").String(site.strain_id);
        w.EndObject();
    }
    w.EndArray();
    w.Key("structural").BeginArray();
    for (const auto& [index, s] : by_segment) {
        w.BeginObject();
        w.Key("segment_id").String(pipeline::ToString(network.segments()[index].id));
        w.Key("vehicles").UInt(s.vehicles);
        w.Key("axles").UInt(s.axles);
        w.Key("expected_esal").Number(s.esal);
        w.Key("strain_peaks").UInt(s.strain_peaks);
        w.Key("expected_fatigue_damage").Number(s.fatigue_damage);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    out.push_back('\n');
    return out;
}

}  // namespace

tl::expected<std::vector<std::pair<double, double>>, std::string> ParseRates(std::string_view text
) {
    std::vector<std::pair<double, double>> rates;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto colon = item.find(':');
        double rate = 0;
        double share = 0;
        const auto parse = [](std::string_view s, double& x) {
            const auto r = std::from_chars(s.data(), s.data() + s.size(), x);
            return r.ec == std::errc{} && r.ptr == s.data() + s.size();
        };
        if (colon == std::string_view::npos || !parse(item.substr(0, colon), rate) ||
            !parse(item.substr(colon + 1), share)) {
            return tl::unexpected(
                "--rates: \"" + std::string(item) + "\" is not RATE_HZ:SHARE (e.g. 100:0.6)"
            );
        }
        if (!(rate >= pipeline::RawLimits::kMinRateHz && rate <= pipeline::RawLimits::kMaxRateHz) ||
            !(share > 0 && share <= 1000)) {
            return tl::unexpected(
                "--rates: rates must be within 5..400 Hz and shares positive (\"" +
                std::string(item) + "\")"
            );
        }
        rates.emplace_back(rate, share);
    }
    if (rates.empty()) {
        return tl::unexpected(std::string("--rates: give at least one RATE_HZ:SHARE"));
    }
    return rates;
}

tl::expected<OfflineSummary, std::string> RunOffline(
    const pipeline::RoadNetwork& network,
    const pipeline::MapMatcher& matcher,
    const WorldConfig& config,
    const OfflineOptions& options
) {
    std::error_code ec;
    const std::filesystem::path dir(options.out_dir);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return tl::unexpected("cannot create " + options.out_dir + ": " + ec.message());
    }
    World world(network, matcher, config, options.start_ms);
    OfflineSummary summary;
    summary.segments = world.config().segment_subset.size();

    Output raw(dir / "raw.jsonl");
    Output hits(dir / "hits.jsonl");
    if (!raw.ok()) {
        return tl::unexpected(raw.Error());
    }
    if (!hits.ok()) {
        return tl::unexpected(hits.Error());
    }
    std::vector<RawMessage> batch;
    std::string line;
    std::uint64_t raw_line = 0;
    const EpochMs end_ms = options.start_ms + options.duration.count();
    const auto step = std::max<std::int64_t>(1000, options.step.count());
    for (EpochMs t = options.start_ms; t < end_ms;) {
        t = std::min(end_ms, t + step);
        batch.clear();
        world.Advance(t, batch);
        for (const auto& m : batch) {
            WriteRawLine(m, line);
            raw.Write(line);
            ++raw_line;
            if (!m.vehicle) {
                ++summary.embedded_messages;
                continue;
            }
            ++summary.vehicle_messages;
            summary.encounters += m.encounters.size();
            for (const auto& e : m.encounters) {
                summary.hits += e.hit ? 1 : 0;
            }
            WriteHitsLine(m, raw_line, network, world, line);
            hits.Write(line);
        }
        if (!raw.ok()) {
            return tl::unexpected(raw.Error());
        }
        if (!hits.ok()) {
            return tl::unexpected(hits.Error());
        }
    }
    if (auto closed = raw.Close(); !closed) {
        return tl::unexpected(closed.error());
    }
    if (auto closed = hits.Close(); !closed) {
        return tl::unexpected(closed.error());
    }
    for (const std::size_t i : world.config().segment_subset) {
        for (const auto& p : world.Truth(i).potholes) {
            ++summary.potholes;
            summary.repaired += p.repaired_at_ms && *p.repaired_at_ms < end_ms ? 1 : 0;
        }
    }
    for (const auto& [name, content] :
         {std::pair<const char*, std::string>{"sensors.json", world.SensorRegistryJson() + "\n"},
          std::pair<const char*, std::string>{
              "truth.json", TruthJson(network, matcher, world, config, options, summary)}}) {
        Output file(dir / name);
        if (!file.ok()) {
            return tl::unexpected(file.Error());
        }
        file.Write(content);
        if (auto closed = file.Close(); !closed) {
            return tl::unexpected(closed.error());
        }
    }
    return summary;
}

}  // namespace pavewatch::simulate
