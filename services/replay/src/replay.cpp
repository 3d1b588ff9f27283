#include "pavewatch/replay/replay.hpp"

#include "pavewatch/common/files.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/json_writer.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace pavewatch::replay {
namespace {

using pipeline::EpochMs;
using pipeline::Error;
using pipeline::ErrorCode;
using pipeline::JsonWriter;

const char* TopicName(Topic t) {
    switch (t) {
        case Topic::kVehicle:
            return "vehicle";
        case Topic::kEmbedded:
            return "embedded";
        case Topic::kHazardAction:
            return "hazard_action";
    }
    return "vehicle";
}

std::optional<Topic> TopicFromName(std::string_view name) {
    if (name == "vehicle") {
        return Topic::kVehicle;
    }
    if (name == "embedded") {
        return Topic::kEmbedded;
    }
    if (name == "hazard_action") {
        return Topic::kHazardAction;
    }
    return std::nullopt;
}

std::string_view TrimRight(std::string_view s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Reads lines of at most `max` bytes from a FILE without holding longer ones.
class LineReader {
public:
    LineReader(std::FILE* file, std::size_t max) : file_(file), max_(max), buffer_(1U << 20U) {}

    /// The next line (without its newline) into `line`; false at the end of the input.
    /// `too_long` is set (and `line` left empty) when the line exceeded the limit.
    bool Next(std::string& line, bool& too_long) {
        line.clear();
        too_long = false;
        bool any = false;
        for (;;) {
            if (pos_ == end_) {
                end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
                pos_ = 0;
                if (end_ == 0) {
                    return any;
                }
            }
            any = true;
            const char* start = buffer_.data() + pos_;
            const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
            const std::size_t take =
                nl != nullptr ? static_cast<std::size_t>(nl - start) : end_ - pos_;
            if (!too_long) {
                if (line.size() + take > max_) {
                    too_long = true;
                    line.clear();
                    line.shrink_to_fit();
                } else {
                    line.append(start, take);
                }
            }
            pos_ += take;
            if (nl != nullptr) {
                ++pos_;
                return true;
            }
        }
    }

    bool failed() const { return std::ferror(file_) != 0; }

private:
    std::FILE* file_;
    std::size_t max_;
    std::vector<char> buffer_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
};

/// An output file written line by line.
class Output {
public:
    explicit Output(const std::filesystem::path& path)
        : path_(path.string()), file_(std::fopen(path_.c_str(), "wb")) {}
    ~Output() {
        if (file_ != nullptr) {
            std::fclose(file_);
        }
    }
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;
    Output(Output&&) = delete;
    Output& operator=(Output&&) = delete;

    bool ok() const { return file_ != nullptr && std::ferror(file_) == 0; }
    void Line(std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), file_);
        std::fputc('\n', file_);
    }
    tl::expected<void, std::string> Close() {
        if (file_ == nullptr) {
            return tl::unexpected(Error());
        }
        const bool failed = std::ferror(file_) != 0;
        const int closed = std::fclose(file_);
        file_ = nullptr;
        if (failed || closed != 0) {
            return tl::unexpected(Error());
        }
        return {};
    }
    std::string Error() const { return "cannot write " + path_ + ": " + common::ErrnoText(errno); }

private:
    std::string path_;
    std::FILE* file_;
};

/// The slow path: any JSON object with topic, key (optional) and message.
tl::expected<Frame, Error> ParseFrameSlow(std::string_view line) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(boost::json::string_view(line.data(), line.size()), ec);
    if (ec || !doc.is_object()) {
        return tl::unexpected(Error{
            ErrorCode::kMalformed,
            "",
            R"(a line must be one JSON object {"topic", "key", "message"})"});
    }
    const auto& o = doc.get_object();
    const auto* topic = o.if_contains("topic");
    const auto* message = o.if_contains("message");
    if (topic == nullptr || message == nullptr) {
        return tl::unexpected(Error{
            ErrorCode::kMissingField, topic == nullptr ? "topic" : "message", "required"});
    }
    if (!topic->is_string()) {
        return tl::unexpected(Error{ErrorCode::kWrongType, "topic", "must be a string"});
    }
    const auto parsed_topic =
        TopicFromName(std::string_view(topic->get_string().data(), topic->get_string().size()));
    if (!parsed_topic) {
        return tl::unexpected(Error{
            ErrorCode::kUnknownKind, "topic", "one of vehicle, embedded, hazard_action"});
    }
    Frame f;
    f.topic = *parsed_topic;
    if (const auto* key = o.if_contains("key"); key != nullptr && key->is_string()) {
        f.key = std::string(key->get_string());
    }
    if (message->is_string()) {
        f.owned = std::string(message->get_string());
    } else if (message->is_object()) {
        f.owned = boost::json::serialize(*message);
    } else {
        return tl::unexpected(Error{
            ErrorCode::kWrongType, "message", "must be the raw JSON object or a string"});
    }
    f.message = f.owned;
    return f;
}

/// What ingest made of one line.
struct LineResult {
    std::uint64_t line = 0;
    Topic topic = Topic::kVehicle;
    std::string key;
    tl::expected<std::vector<pipeline::Observation>, Error> observations;
};

LineResult
IngestLine(const pipeline::IngestProcessor& ingest, std::uint64_t number, std::string_view line) {
    LineResult r{number, Topic::kVehicle, {}, std::vector<pipeline::Observation>{}};
    bool canonical = false;
    auto frame = ParseFrame(line, true, &canonical);
    const auto run = [&](const Frame& f) {
        r.topic = f.topic;
        r.key = f.key;
        switch (f.topic) {
            case Topic::kVehicle:
                r.observations = ingest.ProcessVehicle(f.message);
                break;
            case Topic::kEmbedded:
                r.observations = ingest.ProcessEmbedded(f.message);
                break;
            case Topic::kHazardAction: {
                auto action = pipeline::ParseHazardActionJson(f.message);
                if (action) {
                    r.observations = std::vector<pipeline::Observation>{std::move(*action)};
                } else {
                    r.observations = tl::unexpected(action.error());
                }
                break;
            }
        }
    };
    if (!frame) {
        r.observations = tl::unexpected(frame.error());
        return r;
    }
    run(*frame);
    if (canonical && !r.observations && r.observations.error().code == ErrorCode::kMalformed) {
        // The fast path only looked at the framing: let a full parse decide.
        auto slow = ParseFrameSlow(line);
        if (!slow) {
            r.observations = tl::unexpected(slow.error());
        } else {
            run(*slow);
        }
    }
    return r;
}

/// A hazard as hazards.jsonl reports it, with the status changes seen during the replay.
struct HazardRecord {
    pipeline::Hazard hazard;        ///< last seen state (vectors cleared: not reported)
    double median_peak_mps2 = 0.0;  ///< of its recent detections (Hazard::median_peak)
    std::vector<std::pair<pipeline::HazardStatus, EpochMs>> transitions;
};

void WriteOptionalTime(JsonWriter& w, std::string_view key, const std::optional<EpochMs>& t) {
    w.Key(key);
    if (t) {
        w.Int(*t);
    } else {
        w.Null();
    }
}

std::string HazardJson(
    pipeline::SegmentId segment,
    const HazardRecord& r,
    bool in_final_state,
    std::optional<EpochMs> dropped_ms,
    const pipeline::MapMatcher* matcher
) {
    const auto& h = r.hazard;
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    w.Key("segment_id").String(pipeline::ToString(segment));
    w.Key("id").String(pipeline::HazardIdText(segment, h.id));
    w.Key("status").String(pipeline::ToString(h.status));
    w.Key("severity").String(pipeline::ToString(h.severity));
    w.Key("offset_m").Number(h.offset_m);
    w.Key("uncertainty_m").Number(h.uncertainty_m());
    if (matcher != nullptr) {
        if (const auto index = matcher->network().IndexOf(segment)) {
            const pipeline::LonLat at = matcher->PointAt(*index, h.offset_m);
            w.Key("lat").Fixed(at.lat, 7);
            w.Key("lon").Fixed(at.lon, 7);
        }
    }
    w.Key("vehicles").UInt(h.vehicles.size());
    w.Key("detections").UInt(h.detections);
    w.Key("passes").UInt(h.passes);
    w.Key("median_peak_mps2").Number(r.median_peak_mps2);
    w.Key("first_seen_ms").Int(h.first_seen_ms);
    w.Key("last_detection_ms").Int(h.last_detection_ms);
    WriteOptionalTime(w, "confirmed_ms", h.confirmed_ms);
    WriteOptionalTime(w, "acknowledged_ms", h.acknowledged_ms);
    WriteOptionalTime(w, "repair_reported_ms", h.repair_reported_ms);
    WriteOptionalTime(w, "disputed_ms", h.disputed_ms);
    WriteOptionalTime(w, "closed_ms", h.closed_ms);
    w.Key("in_final_state").Bool(in_final_state);
    WriteOptionalTime(w, "dropped_ms", dropped_ms);
    w.Key("transitions").BeginArray();
    for (const auto& [status, t] : r.transitions) {
        w.BeginObject()
            .Key("status")
            .String(pipeline::ToString(status))
            .Key("t_ms")
            .Int(t)
            .EndObject();
    }
    w.EndArray();
    w.EndObject();
    return out;
}

/// A segment's state and the hazards it had after the previous observation.
struct SegmentEntry {
    pipeline::SegmentState state;
    std::vector<HazardRecord> hazards;  ///< ascending id, as in the tracker
};

/// Brings `entry.hazards` up to date with the tracker after an observation at `t_ms`; writes
/// the hazards that left the tracker.
void TrackHazards(
    SegmentEntry& entry,
    EpochMs t_ms,
    Output& out,
    std::uint64_t& written,
    const pipeline::MapMatcher* matcher
) {
    const auto& now = entry.state.hazards.hazards();
    if (now.empty() && entry.hazards.empty()) {
        return;
    }
    std::vector<HazardRecord> next;
    next.reserve(now.size());
    auto old = entry.hazards.begin();
    for (const auto& h : now) {
        while (old != entry.hazards.end() && old->hazard.id < h.id) {
            out.Line(HazardJson(entry.state.segment, *old, false, t_ms, matcher));
            ++written;
            ++old;
        }
        HazardRecord r;
        if (old != entry.hazards.end() && old->hazard.id == h.id) {
            r.transitions = std::move(old->transitions);
            ++old;
        }
        if (r.transitions.empty() || r.transitions.back().first != h.status) {
            r.transitions.emplace_back(h.status, t_ms);
        }
        r.hazard = h;
        r.median_peak_mps2 = h.median_peak();
        r.hazard.recent.clear();
        r.hazard.clean_passes.clear();
        // The vehicle list is kept for its size only.
        next.push_back(std::move(r));
    }
    for (; old != entry.hazards.end(); ++old) {
        out.Line(HazardJson(entry.state.segment, *old, false, t_ms, matcher));
        ++written;
    }
    entry.hazards = std::move(next);
}

std::string DlqJson(const LineResult& r, const Error& e) {
    std::string out;
    JsonWriter w(out);
    w.BeginObject();
    w.Key("line").UInt(r.line);
    w.Key("topic").String(TopicName(r.topic));
    w.Key("key").String(r.key);
    w.Key("code").String(pipeline::ToString(e.code));
    w.Key("field").String(e.field);
    w.Key("reason").String(e.Describe());
    w.EndObject();
    return out;
}

}  // namespace

tl::expected<Frame, Error>
ParseFrame(std::string_view line, bool allow_canonical, bool* canonical) {
    if (canonical != nullptr) {
        *canonical = false;
    }
    line = TrimRight(line);
    constexpr std::string_view kTopic = R"({"topic":")";
    constexpr std::string_view kKey = R"(","key":")";
    constexpr std::string_view kMessage = R"(","message":)";
    if (allow_canonical && line.starts_with(kTopic) && line.ends_with("}")) {
        const std::size_t topic_end = line.find('"', kTopic.size());
        const std::size_t key_start =
            topic_end == std::string_view::npos ? std::string_view::npos : topic_end + kKey.size();
        if (topic_end != std::string_view::npos && line.substr(topic_end).starts_with(kKey)) {
            const std::size_t key_end = line.find('"', key_start);
            if (key_end != std::string_view::npos && line.substr(key_end).starts_with(kMessage)) {
                const std::string_view key = line.substr(key_start, key_end - key_start);
                const auto topic =
                    TopicFromName(line.substr(kTopic.size(), topic_end - kTopic.size()));
                const std::size_t message_start = key_end + kMessage.size();
                if (topic && key.find('\\') == std::string_view::npos &&
                    message_start < line.size() - 1 && line[message_start] == '{') {
                    Frame f;
                    f.topic = *topic;
                    f.key = std::string(key);
                    f.message = line.substr(message_start, line.size() - 1 - message_start);
                    if (canonical != nullptr) {
                        *canonical = true;
                    }
                    return f;
                }
            }
        }
    }
    return ParseFrameSlow(line);
}

std::string ObservationToJson(const pipeline::Observation& o) {
    std::string out;
    out.reserve(256);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("kind").String(pipeline::ToString(o.kind()));
    w.Key("segment_id").String(pipeline::ToString(o.segment));
    w.Key("t_ms").Int(o.t_ms);
    std::visit(
        [&](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, pipeline::Traversal>) {
                w.Key("vehicle_key").String(std::to_string(b.vehicle_key));
                w.Key("vehicle_class").String(pipeline::ToString(b.vehicle_class));
                w.Key("speed_mps").Number(b.speed_mps);
                w.Key("speed_spread_mps").Number(b.speed_spread_mps);
                w.Key("from_m").Number(b.from_m);
                w.Key("to_m").Number(b.to_m);
                w.Key("iri_m_per_km");
                if (b.iri_m_per_km >= 0.0F) {
                    w.Number(b.iri_m_per_km);
                } else {
                    w.Null();
                }
                w.Key("samples").UInt(b.samples);
                w.Key("sample_rate_hz").Number(b.sample_rate_hz);
                w.Key("confidence").Number(b.confidence);
            } else if constexpr (std::is_same_v<T, pipeline::HazardEvent>) {
                w.Key("vehicle_key").String(std::to_string(b.vehicle_key));
                w.Key("offset_m").Number(b.offset_m);
                w.Key("uncertainty_m").Number(b.uncertainty_m);
                w.Key("peak_mps2").Number(b.peak_ms2);
                w.Key("speed_mps").Number(b.speed_mps);
                w.Key("score").Number(b.score);
                w.Key("lat").Fixed(b.lat, 7);
                w.Key("lon").Fixed(b.lon, 7);
            } else if constexpr (std::is_same_v<T, pipeline::AxleLoads>) {
                w.Key("axle_loads_kn").BeginArray();
                for (std::uint8_t i = 0; i < b.axles; ++i) {
                    w.Number(b.load_kn[i]);
                }
                w.EndArray();
                w.Key("axle_spacings_m").BeginArray();
                for (std::uint8_t i = 1; i < b.axles; ++i) {
                    w.Number(b.spacing_m[i]);
                }
                w.EndArray();
                w.Key("speed_mps").Number(b.speed_mps);
            } else if constexpr (std::is_same_v<T, pipeline::StrainPasses>) {
                w.Key("peak_microstrain").BeginArray();
                for (std::uint8_t i = 0; i < b.passes; ++i) {
                    w.Number(b.microstrain[i]);
                }
                w.EndArray();
                w.Key("depth_mm").Number(b.depth_mm);
            } else if constexpr (std::is_same_v<T, pipeline::PavementTemperature>) {
                w.Key("celsius").Number(b.celsius);
                w.Key("depth_mm").Number(b.depth_mm);
            } else if constexpr (std::is_same_v<T, pipeline::SoilMoisture>) {
                w.Key("vwc_percent").Number(b.vwc_percent);
            } else {
                w.Key("hazard_id").UInt(b.hazard_id);
                w.Key("action").String(
                    b.action == pipeline::HazardActionKind::kAcknowledge ? "acknowledge"
                                                                         : "repaired"
                );
                w.Key("actor").String(b.actor);
            }
        },
        o.body
    );
    w.EndObject();
    return out;
}

tl::expected<ReplaySummary, std::string> RunReplay(
    const pipeline::IngestProcessor& ingest,
    const pipeline::ModelConfig& config,
    const ReplayOptions& options
) {
    const auto wall_start = std::chrono::steady_clock::now();
    std::error_code ec;
    const std::filesystem::path dir(options.out_dir);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return tl::unexpected("cannot create " + options.out_dir + ": " + ec.message());
    }
    std::FILE* input = options.input == "-" ? stdin : std::fopen(options.input.c_str(), "rb");
    if (input == nullptr) {
        return tl::unexpected("cannot read " + options.input + ": " + common::ErrnoText(errno));
    }
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> input_owner(
        input == stdin ? nullptr : input, &std::fclose
    );
    Output observations(dir / "observations.jsonl");
    Output hazards(dir / "hazards.jsonl");
    Output dlq(dir / "dlq.jsonl");
    for (const Output* o : {&observations, &hazards, &dlq}) {
        if (!o->ok()) {
            return tl::unexpected(o->Error());
        }
    }

    const std::size_t threads = options.threads > 0
                                    ? static_cast<std::size_t>(options.threads)
                                    : std::max(1U, std::thread::hardware_concurrency());
    const std::size_t batch_lines = std::max<std::size_t>(1, options.batch_lines);
    LineReader reader(input, std::max<std::size_t>(1024, options.max_line_bytes));
    ReplaySummary summary;
    std::unordered_map<std::uint64_t, SegmentEntry> segments;
    std::vector<std::string> lines(batch_lines);
    std::vector<std::uint64_t> numbers(batch_lines);
    std::vector<bool> too_long(batch_lines);
    std::vector<std::optional<LineResult>> results(batch_lines);
    std::uint64_t line_number = 0;
    std::string wire;
    std::string text;
    bool more = true;
    while (more) {
        // Read a batch of non-blank lines.
        std::size_t n = 0;
        while (n < batch_lines) {
            bool long_line = false;
            if (!reader.Next(lines[n], long_line)) {
                more = false;
                break;
            }
            ++line_number;
            if (!long_line && TrimRight(lines[n]).empty()) {
                continue;
            }
            numbers[n] = line_number;
            too_long[n] = long_line;
            ++n;
        }
        if (reader.failed()) {
            return tl::unexpected("cannot read " + options.input + ": " + common::ErrnoText(errno));
        }
        // Ingest the batch in parallel: line i on worker i mod threads.
        const auto work = [&](std::size_t worker, std::size_t stride) {
            for (std::size_t i = worker; i < n; i += stride) {
                if (too_long[i]) {
                    LineResult r{numbers[i], Topic::kVehicle, {}, {}};
                    r.observations = tl::unexpected(Error{
                        ErrorCode::kOutOfRange,
                        "",
                        "line longer than " + std::to_string(options.max_line_bytes) + " bytes"});
                    results[i] = std::move(r);
                } else {
                    results[i] = IngestLine(ingest, numbers[i], lines[i]);
                }
            }
        };
        const std::size_t workers = std::min(threads, std::max<std::size_t>(1, n));
        {
            std::vector<std::jthread> pool;
            for (std::size_t t = 1; t < workers; ++t) {
                pool.emplace_back(work, t, workers);
            }
            work(0, workers);
        }
        // Fold in input order, exactly as ingest then wear would.
        for (std::size_t i = 0; i < n; ++i) {
            LineResult& r = *results[i];
            ++summary.lines;
            if (!r.observations) {
                ++summary.refused;
                dlq.Line(DlqJson(r, r.observations.error()));
                continue;
            }
            switch (r.topic) {
                case Topic::kVehicle:
                    ++summary.vehicle_messages;
                    break;
                case Topic::kEmbedded:
                    ++summary.embedded_messages;
                    break;
                case Topic::kHazardAction:
                    ++summary.hazard_actions;
                    break;
            }
            for (const auto& produced : *r.observations) {
                // Through the wire form, as the observations topic carries it.
                wire.clear();
                pipeline::EncodeObservation(produced, wire);
                auto o = pipeline::DecodeObservation(wire);
                if (!o) {
                    return tl::unexpected(
                        "internal: an observation did not survive its wire form: " +
                        o.error().Describe()
                    );
                }
                observations.Line(ObservationToJson(*o));
                ++summary.observations;
                SegmentEntry& entry = segments[o->segment.value()];
                pipeline::Apply(entry.state, *o, config);
                const auto kind = o->kind();
                if (kind == pipeline::ObservationKind::kTraversal ||
                    kind == pipeline::ObservationKind::kHazardEvent ||
                    kind == pipeline::ObservationKind::kHazardAction) {
                    TrackHazards(entry, o->t_ms, hazards, summary.hazards, options.matcher);
                }
            }
            results[i].reset();
        }
        if (!observations.ok() || !hazards.ok() || !dlq.ok()) {
            break;
        }
    }

    // Final records, in ascending segment id.
    std::vector<std::uint64_t> ids;
    ids.reserve(segments.size());
    for (const auto& [id, entry] : segments) {
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    Output conditions(dir / "conditions.jsonl");
    if (!conditions.ok()) {
        return tl::unexpected(conditions.Error());
    }
    Output history(dir / "history.jsonl");
    if (!history.ok()) {
        return tl::unexpected(history.Error());
    }
    for (const auto id : ids) {
        const SegmentEntry& entry = segments.at(id);
        conditions.Line(pipeline::ConditionToJson(entry.state, config));
        history.Line(pipeline::HistoryToJson(entry.state));
        for (const auto& h : entry.hazards) {
            hazards.Line(HazardJson(entry.state.segment, h, true, std::nullopt, options.matcher));
            ++summary.hazards;
        }
    }
    summary.segments = ids.size();
    for (Output* o : {&observations, &hazards, &dlq, &conditions, &history}) {
        if (auto closed = o->Close(); !closed) {
            return tl::unexpected(closed.error());
        }
    }
    summary.wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return summary;
}

}  // namespace pavewatch::replay
