#include "pavewatch/evaluate/evaluate.hpp"

#include "pavewatch/pipeline/geo.hpp"
#include "pavewatch/pipeline/json_writer.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pavewatch::evaluate {
namespace {

namespace json = boost::json;
using EpochMs = std::int64_t;

std::optional<double> Ratio(std::uint64_t a, std::uint64_t b) {
    return b == 0 ? std::nullopt
                  : std::optional<double>(static_cast<double>(a) / static_cast<double>(b));
}

std::optional<double> Quantile(std::vector<double> v, double q) {
    if (v.empty()) {
        return std::nullopt;
    }
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(v.size() - 1, lo + 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::string RateKey(double rate_hz) {
    if (std::fabs(rate_hz - std::round(rate_hz)) < 1e-6) {
        return std::to_string(static_cast<long long>(std::llround(rate_hz)));
    }
    char text[32];
    std::snprintf(text, sizeof(text), "%g", rate_hz);
    return text;
}

/// Reads a JSONL file line by line, handing each parsed object to `f`; `filter` may skip lines
/// before parsing (cheap prefix checks).
template <typename Filter, typename F>
tl::expected<void, std::string>
ForEachLine(const std::string& path, bool required, Filter filter, F f) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!required) {
            return {};
        }
        return tl::unexpected("cannot read " + path);
    }
    std::string line;
    std::uint64_t number = 0;
    json::parser parser;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || !filter(std::string_view(line))) {
            continue;
        }
        boost::system::error_code ec;
        parser.reset();
        parser.write(line, ec);
        if (ec) {
            return tl::unexpected(path + ":" + std::to_string(number) + ": not JSON");
        }
        const json::value v = parser.release();
        if (!v.is_object()) {
            return tl::unexpected(path + ":" + std::to_string(number) + ": not a JSON object");
        }
        f(v.get_object(), number);
    }
    return {};
}

double Num(const json::object& o, std::string_view key, double fallback = 0.0) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<double>() : fallback;
}

std::optional<EpochMs> Time(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_number()) {
        return std::nullopt;
    }
    return static_cast<EpochMs>(v->to_number<double>());
}

std::string Str(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::uint64_t Key(const json::object& o, std::string_view key) {
    const std::string text = Str(o, key);
    std::uint64_t x = 0;
    std::from_chars(text.data(), text.data() + text.size(), x);
    return x;
}

int IriClass(double iri, const EvaluateOptions& o) {
    return iri < o.good_below_m_per_km ? 0 : (iri <= o.poor_above_m_per_km ? 1 : 2);
}

struct TruthPothole {
    std::string id;
    std::string segment;
    double centre_m = 0.0;
    std::optional<pipeline::LonLat> at;  ///< on the map, when the truth gives it
    std::optional<EpochMs> repaired_at_ms;
    std::set<std::uint64_t> hit_vehicles;  ///< distinct vehicles that hit it before its repair
    std::vector<EpochMs> passes;           ///< every accepted pass over it (hit or not)
    bool has_hazard = false;
};

struct HazardLine {
    std::string segment;
    double offset_m = 0.0;
    std::optional<pipeline::LonLat> at;
    EpochMs first_seen_ms = 0;
    std::optional<EpochMs> confirmed_ms;
    std::optional<EpochMs> closed_ms;
};

struct TimedEvent {
    EpochMs t_ms = 0;
    bool used = false;
};

}  // namespace

std::optional<double> Detection::precision() const {
    return Ratio(true_positives, true_positives + false_positives);
}
std::optional<double> Detection::recall() const {
    return Ratio(true_positives, true_positives + false_negatives);
}
std::optional<double> Detection::f1() const {
    return Ratio(2 * true_positives, 2 * true_positives + false_positives + false_negatives);
}

tl::expected<Report, std::string> Evaluate(const EvaluateOptions& options) {
    Report report;
    const std::filesystem::path results(options.results_dir);
    const std::string hits_file =
        options.hits_file.empty()
            ? (std::filesystem::path(options.truth_file).parent_path() / "hits.jsonl").string()
            : options.hits_file;

    // Truth.
    std::ifstream truth_in(options.truth_file, std::ios::binary);
    if (!truth_in) {
        return tl::unexpected("cannot read " + options.truth_file);
    }
    std::stringstream truth_text;
    truth_text << truth_in.rdbuf();
    boost::system::error_code ec;
    const json::value truth = json::parse(truth_text.str(), ec);
    if (ec || !truth.is_object() || !truth.get_object().contains("segments")) {
        return tl::unexpected(options.truth_file + ": not a truth file of pavewatch simulate");
    }
    const EpochMs end_ms = Time(truth.get_object(), "end_ms").value_or(INT64_MAX);
    std::unordered_map<std::string, double> true_iri;
    std::vector<TruthPothole> potholes;
    std::unordered_map<std::string, std::size_t> pothole_index;
    std::unordered_map<std::string, std::vector<std::size_t>> potholes_of_segment;
    for (const auto& s : truth.at("segments").as_array()) {
        const auto& seg = s.as_object();
        const std::string id = Str(seg, "segment_id");
        true_iri[id] = Num(seg, "true_iri_m_per_km");
        for (const auto& p : seg.at("potholes").as_array()) {
            const auto& po = p.as_object();
            TruthPothole t;
            t.id = Str(po, "id");
            t.segment = id;
            t.centre_m = Num(po, "centre_m");
            if (po.contains("lat") && po.contains("lon")) {
                t.at = pipeline::LonLat{Num(po, "lon"), Num(po, "lat")};
            }
            t.repaired_at_ms = Time(po, "repaired_at_ms");
            pothole_index[t.id] = potholes.size();
            potholes_of_segment[id].push_back(potholes.size());
            potholes.push_back(std::move(t));
        }
    }
    report.segments = true_iri.size();
    report.potholes = potholes.size();

    // Refused lines (their messages produced nothing).
    std::unordered_set<std::uint64_t> refused;
    if (auto r = ForEachLine(
            (results / "dlq.jsonl").string(),
            false,
            [](std::string_view) { return true; },
            [&](const json::object& o, std::uint64_t) {
                refused.insert(static_cast<std::uint64_t>(Num(o, "line")));
            }
        );
        !r) {
        return tl::unexpected(r.error());
    }
    report.refused_lines = refused.size();

    // Hits: per vehicle the times its wheel hit a pothole, and per pothole its passes.
    std::unordered_map<std::uint64_t, std::vector<TimedEvent>> hits_by_vehicle;
    std::unordered_map<std::uint64_t, double> rate_of_vehicle;
    if (auto r = ForEachLine(
            hits_file,
            true,
            [](std::string_view) { return true; },
            [&](const json::object& o, std::uint64_t) {
                ++report.vehicle_messages;
                const bool corrupted = o.contains("corrupted") && o.at("corrupted").is_bool() &&
                                       o.at("corrupted").get_bool();
                const auto line = static_cast<std::uint64_t>(Num(o, "line"));
                if (corrupted || refused.contains(line)) {
                    return;
                }
                const std::uint64_t vehicle = Key(o, "vehicle_key");
                rate_of_vehicle[vehicle] = Num(o, "rate_hz");
                auto& vehicle_hits = hits_by_vehicle[vehicle];
                for (const auto& e : o.at("encounters").as_array()) {
                    const auto& eo = e.as_object();
                    const auto it = pothole_index.find(Str(eo, "pothole_id"));
                    if (it == pothole_index.end()) {
                        continue;
                    }
                    TruthPothole& p = potholes[it->second];
                    const EpochMs t = Time(eo, "t_ms").value_or(0);
                    p.passes.push_back(t);
                    if (eo.at("hit").as_bool()) {
                        p.hit_vehicles.insert(vehicle);
                        vehicle_hits.push_back({t, false});
                    }
                }
            }
        );
        !r) {
        return tl::unexpected(r.error());
    }

    // Detector events per vehicle.
    std::unordered_map<std::uint64_t, std::vector<TimedEvent>> events_by_vehicle;
    if (auto r = ForEachLine(
            (results / "observations.jsonl").string(),
            true,
            [](std::string_view line) { return line.starts_with(R"({"kind":"hazard_event")"); },
            [&](const json::object& o, std::uint64_t) {
                events_by_vehicle[Key(o, "vehicle_key")].push_back(
                    {Time(o, "t_ms").value_or(0), false}
                );
            }
        );
        !r) {
        return tl::unexpected(r.error());
    }

    // Single pass: per vehicle, each hit matches at most one event of the same vehicle within
    // the tolerance (closest pairs first).
    const auto tolerance_ms =
        static_cast<EpochMs>(std::llround(options.event_time_tolerance_s * 1000));
    std::set<std::uint64_t> vehicles;
    for (const auto& [v, h] : hits_by_vehicle) {
        vehicles.insert(v);
    }
    for (const auto& [v, e] : events_by_vehicle) {
        vehicles.insert(v);
    }
    for (const std::uint64_t v : vehicles) {
        auto& hits = hits_by_vehicle[v];
        auto& events = events_by_vehicle[v];
        const auto rate = rate_of_vehicle.find(v);
        Detection& d =
            report.single_pass[RateKey(rate == rate_of_vehicle.end() ? 0.0 : rate->second)];
        std::sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.t_ms < b.t_ms; });
        std::vector<std::tuple<EpochMs, std::size_t, std::size_t>> pairs;
        for (std::size_t i = 0; i < hits.size(); ++i) {
            const auto lo = std::lower_bound(
                events.begin(),
                events.end(),
                hits[i].t_ms - tolerance_ms,
                [](const TimedEvent& e, EpochMs t) { return e.t_ms < t; }
            );
            for (auto it = lo; it != events.end() && it->t_ms <= hits[i].t_ms + tolerance_ms;
                 ++it) {
                pairs.emplace_back(
                    std::abs(it->t_ms - hits[i].t_ms),
                    i,
                    static_cast<std::size_t>(it - events.begin())
                );
            }
        }
        std::sort(pairs.begin(), pairs.end());
        for (const auto& [dt, i, j] : pairs) {
            if (!hits[i].used && !events[j].used) {
                hits[i].used = events[j].used = true;
                ++d.true_positives;
            }
        }
        for (const auto& h : hits) {
            d.false_negatives += h.used ? 0 : 1;
        }
        for (const auto& e : events) {
            d.false_positives += e.used ? 0 : 1;
        }
    }

    // Roughness and structure from the final condition records.
    std::vector<double> abs_errors;
    std::vector<double> errors;
    std::uint64_t agree = 0;
    std::unordered_map<std::string, std::pair<double, double>> structural;  // esal, damage
    if (auto r = ForEachLine(
            (results / "conditions.jsonl").string(),
            true,
            [](std::string_view) { return true; },
            [&](const json::object& o, std::uint64_t) {
                const std::string id = Str(o, "segment_id");
                if (const auto* st = o.if_contains("structural");
                    st != nullptr && st->is_object()) {
                    structural[id] = {
                        Num(st->get_object(), "esal"), Num(st->get_object(), "fatigue_damage")};
                }
                const auto truth_it = true_iri.find(id);
                const auto* rough = o.if_contains("roughness");
                if (truth_it == true_iri.end() || rough == nullptr || !rough->is_object()) {
                    return;
                }
                ++report.segments_with_estimate;
                const double traversals = Num(rough->get_object(), "traversals");
                if (traversals < options.min_traversals) {
                    return;
                }
                const double estimate = Num(rough->get_object(), "iri_m_per_km");
                const double t = truth_it->second;
                ++report.segments_scored;
                errors.push_back(estimate / t - 1.0);
                abs_errors.push_back(std::fabs(estimate / t - 1.0));
                const int ct = IriClass(t, options);
                const int ce = IriClass(estimate, options);
                ++report.iri_confusion[ct][ce];
                agree += ct == ce ? 1 : 0;
            }
        );
        !r) {
        return tl::unexpected(r.error());
    }
    report.iri_median_abs_rel_error = Quantile(abs_errors, 0.5);
    report.iri_p90_abs_rel_error = Quantile(abs_errors, 0.9);
    report.iri_median_rel_error = Quantile(errors, 0.5);
    report.iri_class_agreement = Ratio(agree, report.segments_scored);

    // Structural: expected vs computed per instrumented segment.
    if (const auto* st = truth.get_object().if_contains("structural");
        st != nullptr && st->is_array()) {
        std::vector<double> esal_errors;
        std::vector<double> damage_errors;
        for (const auto& s : st->get_array()) {
            const auto& so = s.as_object();
            const auto it = structural.find(Str(so, "segment_id"));
            const double esal = Num(so, "expected_esal");
            const double damage = Num(so, "expected_fatigue_damage");
            ++report.structural_segments;
            const double got_esal = it == structural.end() ? 0.0 : it->second.first;
            const double got_damage = it == structural.end() ? 0.0 : it->second.second;
            if (esal > 0) {
                esal_errors.push_back(std::fabs(got_esal / esal - 1.0));
            }
            if (damage > 0) {
                damage_errors.push_back(std::fabs(got_damage / damage - 1.0));
            }
        }
        report.esal_median_abs_rel_error = Quantile(esal_errors, 0.5);
        report.fatigue_median_abs_rel_error = Quantile(damage_errors, 0.5);
    }

    // Hazards: confirmed ones against the potholes of their segment.
    std::vector<HazardLine> hazards;
    if (auto r = ForEachLine(
            (results / "hazards.jsonl").string(),
            true,
            [](std::string_view) { return true; },
            [&](const json::object& o, std::uint64_t) {
                HazardLine h;
                h.segment = Str(o, "segment_id");
                h.offset_m = Num(o, "offset_m");
                if (o.contains("lat") && o.contains("lon")) {
                    h.at = pipeline::LonLat{Num(o, "lon"), Num(o, "lat")};
                }
                h.first_seen_ms = Time(o, "first_seen_ms").value_or(0);
                h.confirmed_ms = Time(o, "confirmed_ms");
                h.closed_ms = Time(o, "closed_ms");
                if (h.confirmed_ms) {
                    hazards.push_back(std::move(h));
                }
            }
        );
        !r) {
        return tl::unexpected(r.error());
    }
    std::sort(hazards.begin(), hazards.end(), [](const auto& a, const auto& b) {
        return *a.confirmed_ms < *b.confirmed_ms;
    });
    report.confirmed_hazards = hazards.size();
    std::uint64_t true_hazards = 0;
    std::vector<double> position_errors;
    // Per pothole, the matched hazards (for repairs).
    std::vector<std::vector<const HazardLine*>> matched(potholes.size());
    for (const auto& h : hazards) {
        // On the map when both positions are known (a hazard put on the overlapping segment of
        // a road drawn twice is still at its pothole), else along the same segment.
        std::optional<std::size_t> best;
        double best_distance = options.match_radius_m;
        for (std::size_t k = 0; k < potholes.size(); ++k) {
            const auto& p = potholes[k];
            double distance = 0.0;
            if (h.at && p.at) {
                distance = pipeline::HaversineM(*h.at, *p.at);
            } else if (p.segment == h.segment) {
                distance = std::fabs(h.offset_m - p.centre_m);
            } else {
                continue;
            }
            const bool existed = !p.repaired_at_ms || h.first_seen_ms < *p.repaired_at_ms;
            if (existed && distance <= best_distance) {
                best = k;
                best_distance = distance;
            }
        }
        if (!best) {
            continue;
        }
        ++true_hazards;
        report.hazard_wrong_segment += potholes[*best].segment != h.segment ? 1 : 0;
        position_errors.push_back(best_distance);
        auto& p = potholes[*best];
        report.hazard_duplicates += p.has_hazard ? 1 : 0;
        p.has_hazard = true;
        matched[*best].push_back(&h);
        if (h.closed_ms && (!p.repaired_at_ms || *h.closed_ms < *p.repaired_at_ms)) {
            ++report.false_resolutions;
        }
    }
    std::uint64_t found_eligible = 0;
    std::uint64_t found_hit = 0;
    std::vector<double> repair_passes;
    std::vector<double> repair_seconds;
    for (std::size_t k = 0; k < potholes.size(); ++k) {
        const auto& p = potholes[k];
        const auto hits_before_repair = p.hit_vehicles.size();
        if (hits_before_repair > 0) {
            ++report.potholes_hit;
            found_hit += p.has_hazard ? 1 : 0;
        }
        if (hits_before_repair >= static_cast<std::size_t>(std::max(1, options.min_hit_vehicles))) {
            ++report.potholes_eligible;
            found_eligible += p.has_hazard ? 1 : 0;
        }
        if (!p.repaired_at_ms || *p.repaired_at_ms >= end_ms) {
            continue;
        }
        ++report.repairs;
        const EpochMs repaired = *p.repaired_at_ms;
        const HazardLine* open = nullptr;
        for (const HazardLine* h : matched[k]) {
            if (*h->confirmed_ms <= repaired && (!h->closed_ms || *h->closed_ms > repaired)) {
                open = h;
            }
        }
        if (open == nullptr) {
            continue;
        }
        ++report.repairs_tracked;
        if (!open->closed_ms) {
            continue;
        }
        ++report.repairs_detected;
        const auto passes = std::count_if(p.passes.begin(), p.passes.end(), [&](EpochMs t) {
            return t > repaired && t <= *open->closed_ms;
        });
        repair_passes.push_back(static_cast<double>(passes));
        repair_seconds.push_back(static_cast<double>(*open->closed_ms - repaired) / 1000.0);
    }
    report.hazard_precision = Ratio(true_hazards, report.confirmed_hazards);
    report.hazard_recall = Ratio(found_eligible, report.potholes_eligible);
    report.hazard_recall_any_hit = Ratio(found_hit, report.potholes_hit);
    if (report.hazard_precision && report.hazard_recall &&
        *report.hazard_precision + *report.hazard_recall > 0) {
        report.hazard_f1 = 2 * *report.hazard_precision * *report.hazard_recall /
                           (*report.hazard_precision + *report.hazard_recall);
    }
    report.hazard_median_position_error_m = Quantile(position_errors, 0.5);
    report.repair_detection_median_passes = Quantile(repair_passes, 0.5);
    report.repair_detection_median_s = Quantile(repair_seconds, 0.5);
    return report;
}

namespace {

void Optional(pipeline::JsonWriter& w, std::string_view key, const std::optional<double>& x) {
    w.Key(key);
    if (x) {
        w.Number(std::round(*x * 1e4) / 1e4);
    } else {
        w.Null();
    }
}

std::string Text(const std::optional<double>& x, const char* format = "%.3f") {
    if (!x) {
        return "-";
    }
    char text[32];
    std::snprintf(text, sizeof(text), format, *x);
    return text;
}

std::string Percent(const std::optional<double>& x) {
    return x ? Text(*x * 100.0, "%.1f %%") : "-";
}

/// Rates in descending numeric order.
std::vector<std::string> RateKeys(const Report& r) {
    std::vector<std::string> keys;
    for (const auto& [k, d] : r.single_pass) {
        keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
        return std::stod(a) > std::stod(b);
    });
    return keys;
}

}  // namespace

std::string ReportToJson(const Report& r) {
    std::string out;
    pipeline::JsonWriter w(out);
    w.BeginObject();
    w.Key("segments").UInt(r.segments);
    w.Key("segments_with_estimate").UInt(r.segments_with_estimate);
    w.Key("segments_scored").UInt(r.segments_scored);
    Optional(w, "iri_median_abs_rel_error", r.iri_median_abs_rel_error);
    Optional(w, "iri_p90_abs_rel_error", r.iri_p90_abs_rel_error);
    Optional(w, "iri_median_rel_error", r.iri_median_rel_error);
    Optional(w, "iri_class_agreement", r.iri_class_agreement);
    static constexpr const char* kClasses[] = {"good", "fair", "poor"};
    w.Key("iri_confusion").BeginObject();
    for (int t = 0; t < 3; ++t) {
        w.Key(kClasses[t]).BeginObject();
        for (int e = 0; e < 3; ++e) {
            w.Key(kClasses[e]).UInt(r.iri_confusion[t][e]);
        }
        w.EndObject();
    }
    w.EndObject();
    w.Key("potholes").UInt(r.potholes);
    w.Key("potholes_hit").UInt(r.potholes_hit);
    w.Key("potholes_eligible").UInt(r.potholes_eligible);
    w.Key("confirmed_hazards").UInt(r.confirmed_hazards);
    w.Key("hazard_duplicates").UInt(r.hazard_duplicates);
    w.Key("hazard_wrong_segment").UInt(r.hazard_wrong_segment);
    w.Key("false_resolutions").UInt(r.false_resolutions);
    Optional(w, "hazard_precision", r.hazard_precision);
    Optional(w, "hazard_recall", r.hazard_recall);
    Optional(w, "hazard_recall_any_hit", r.hazard_recall_any_hit);
    Optional(w, "hazard_f1", r.hazard_f1);
    Optional(w, "hazard_median_position_error_m", r.hazard_median_position_error_m);
    const auto keys = RateKeys(r);
    w.Key("single_pass_f1").BeginObject();
    for (const auto& k : keys) {
        Optional(w, k, r.single_pass.at(k).f1());
    }
    w.EndObject();
    w.Key("single_pass").BeginObject();
    for (const auto& k : keys) {
        const auto& d = r.single_pass.at(k);
        w.Key(k).BeginObject();
        w.Key("true_positives").UInt(d.true_positives);
        w.Key("false_positives").UInt(d.false_positives);
        w.Key("false_negatives").UInt(d.false_negatives);
        Optional(w, "precision", d.precision());
        Optional(w, "recall", d.recall());
        Optional(w, "f1", d.f1());
        w.EndObject();
    }
    w.EndObject();
    w.Key("repairs").UInt(r.repairs);
    w.Key("repairs_tracked").UInt(r.repairs_tracked);
    w.Key("repairs_detected").UInt(r.repairs_detected);
    Optional(w, "repair_detection_median_passes", r.repair_detection_median_passes);
    Optional(w, "repair_detection_median_s", r.repair_detection_median_s);
    w.Key("structural_segments").UInt(r.structural_segments);
    Optional(w, "esal_median_abs_rel_error", r.esal_median_abs_rel_error);
    Optional(w, "fatigue_median_abs_rel_error", r.fatigue_median_abs_rel_error);
    w.Key("vehicle_messages").UInt(r.vehicle_messages);
    w.Key("refused_lines").UInt(r.refused_lines);
    w.EndObject();
    out.push_back('\n');
    return out;
}

std::string ReportToTable(const Report& r) {
    std::ostringstream out;
    const auto row = [&](const std::string& name, const std::string& value) {
        out << "  " << name << std::string(name.size() < 44 ? 44 - name.size() : 1, ' ') << value
            << "\n";
    };
    out << "Roughness (IRI)\n";
    row("segments (truth)", std::to_string(r.segments));
    row("segments with an estimate", std::to_string(r.segments_with_estimate));
    row("segments scored (>= traversals)", std::to_string(r.segments_scored));
    row("median |error|", Percent(r.iri_median_abs_rel_error));
    row("90th percentile |error|", Percent(r.iri_p90_abs_rel_error));
    row("median error (bias)", Percent(r.iri_median_rel_error));
    row("class agreement (good/fair/poor)", Percent(r.iri_class_agreement));
    out << "  confusion (rows truth, columns estimate: good fair poor)\n";
    static constexpr const char* kClasses[] = {"good", "fair", "poor"};
    for (int t = 0; t < 3; ++t) {
        out << "    " << kClasses[t] << std::string(6 - std::strlen(kClasses[t]), ' ');
        for (int e = 0; e < 3; ++e) {
            out << " " << r.iri_confusion[t][e];
        }
        out << "\n";
    }
    out << "Hazards (confirmed, cross-vehicle)\n";
    row("potholes / hit / eligible",
        std::to_string(r.potholes) + " / " + std::to_string(r.potholes_hit) + " / " +
            std::to_string(r.potholes_eligible));
    row("confirmed hazards (duplicates)",
        std::to_string(r.confirmed_hazards) + " (" + std::to_string(r.hazard_duplicates) + ")");
    row("matched but on another segment", std::to_string(r.hazard_wrong_segment));
    row("precision", Text(r.hazard_precision));
    row("recall (eligible)", Text(r.hazard_recall));
    row("recall (hit at least once)", Text(r.hazard_recall_any_hit));
    row("F1", Text(r.hazard_f1));
    row("median position error, m", Text(r.hazard_median_position_error_m, "%.2f"));
    row("resolved while the pothole remained", std::to_string(r.false_resolutions));
    out << "Single pass (detector events vs the potholes each pass hit)\n";
    for (const auto& k : RateKeys(r)) {
        const auto& d = r.single_pass.at(k);
        row(k + " Hz: precision / recall / F1",
            Text(d.precision()) + " / " + Text(d.recall()) + " / " + Text(d.f1()) + "  (TP " +
                std::to_string(d.true_positives) + ", FP " + std::to_string(d.false_positives) +
                ", FN " + std::to_string(d.false_negatives) + ")");
    }
    out << "Repairs\n";
    row("repaired / tracked / detected",
        std::to_string(r.repairs) + " / " + std::to_string(r.repairs_tracked) + " / " +
            std::to_string(r.repairs_detected));
    row("median passes until resolved", Text(r.repair_detection_median_passes, "%.1f"));
    row("median time until resolved, s", Text(r.repair_detection_median_s, "%.0f"));
    out << "Structural (instrumented segments)\n";
    row("segments", std::to_string(r.structural_segments));
    row("ESAL median |error|", Percent(r.esal_median_abs_rel_error));
    row("fatigue damage median |error|", Percent(r.fatigue_median_abs_rel_error));
    out << "Input\n";
    row("vehicle messages / refused lines",
        std::to_string(r.vehicle_messages) + " / " + std::to_string(r.refused_lines));
    return out.str();
}

}  // namespace pavewatch::evaluate
