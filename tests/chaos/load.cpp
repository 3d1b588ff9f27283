#include "load.hpp"

#include "pavewatch/kafka/kafka.hpp"
#include "pavewatch/pipeline/bytes.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/simulate/synthetic_load.hpp"
#include "pavewatch/test_support/kafka_helpers.hpp"
#include "pavewatch/test_support/process.hpp"

#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>

namespace pavewatch::chaos {

std::vector<std::string> ProduceLoad(
    const std::string& topic,
    std::uint64_t first,
    std::uint64_t last,
    std::uint64_t segments,
    std::uint64_t seed,
    int poison
) {
    kafka::ClientConfig client;
    client.brokers = test_support::Brokers();
    client.client_id = "chaos-load";
    std::string failure;
    kafka::ProducerOptions options;
    options.linger = std::chrono::milliseconds(20);
    options.on_delivery_failure = [&](const kafka::KafkaError& e, std::string_view) {
        failure = e.Describe();
    };
    auto producer = kafka::Producer::Create(client, options);
    if (!producer) {
        throw std::runtime_error(producer.error().Describe());
    }
    const auto produce = [&](const std::string& key, const std::string& value) {
        if (auto r = producer->ProduceWaiting(topic, key, value); !r) {
            throw std::runtime_error("produce: " + r.error().Describe());
        }
    };
    std::vector<std::string> poison_values;
    const std::uint64_t count = last - first;
    const std::uint64_t poison_every =
        poison > 0 ? std::max<std::uint64_t>(1, count / static_cast<std::uint64_t>(poison)) : 0;
    std::string value;
    for (std::uint64_t i = first; i < last; ++i) {
        const auto o = simulate::SyntheticObservation(i, segments, seed);
        value.clear();
        pipeline::EncodeObservation(o, value);
        const std::string key = pipeline::SegmentKey(o.segment);
        produce(key, value);
        if (poison_every > 0 && (i - first) % poison_every == poison_every / 2 &&
            static_cast<int>(poison_values.size()) < poison) {
            // Every other one undecodable bytes; the others well formed with a value no ingest
            // writes (an event time in the year 3.6 million, as tests/fuzz first found).
            std::string bad;
            if (poison_values.size() % 2 == 0) {
                bad = "\xB5\x01\x63not an observation #" + std::to_string(i);
            } else {
                auto far = o;
                far.t_ms = 115816896954368008;
                pipeline::EncodeObservation(far, bad);
            }
            produce(key, bad);
            poison_values.push_back(bad);
        }
        if ((i & 4095U) == 0) {
            producer->Poll(std::chrono::milliseconds(0));
        }
    }
    if (auto f = producer->Flush(std::chrono::seconds(60)); !f) {
        throw std::runtime_error("flush: " + f.error().Describe());
    }
    if (!failure.empty()) {
        throw std::runtime_error("delivery: " + failure);
    }
    return poison_values;
}

std::map<std::uint64_t, pipeline::SegmentState> ReferenceFold(
    std::uint64_t count,
    std::uint64_t segments,
    std::uint64_t seed,
    const pipeline::ModelConfig& config
) {
    std::map<std::uint64_t, pipeline::SegmentState> states;
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto o = simulate::SyntheticObservation(i, segments, seed);
        pipeline::Apply(states[o.segment.value()], o, config);
    }
    return states;
}

std::map<std::uint64_t, pipeline::SegmentState> ChangelogStates(
    const std::string& topic,
    std::map<std::int32_t, pipeline::InputPositions>* positions
) {
    std::map<std::uint64_t, pipeline::SegmentState> states;
    for (const auto& r : test_support::ConsumeToEnd(topic, std::chrono::seconds(120))) {
        if (r.key == pipeline::kPositionsKey) {
            const auto read = pipeline::DecodePositions(r.value);
            if (!read) {
                throw std::runtime_error(
                    "an unreadable positions record at offset " + std::to_string(r.offset)
                );
            }
            if (positions != nullptr) {
                (*positions)[r.partition] = *read;
            }
            continue;
        }
        const auto id = pipeline::ParseSegmentKey(r.key);
        auto state = pipeline::DecodeState(r.value);
        if (!id || !state) {
            throw std::runtime_error(
                "an unreadable changelog record at offset " + std::to_string(r.offset)
            );
        }
        states[id->value()] = std::move(*state);
    }
    return states;
}

Comparison Compare(
    const std::map<std::uint64_t, pipeline::SegmentState>& reference,
    const std::map<std::uint64_t, pipeline::SegmentState>& actual
) {
    Comparison c;
    c.segments = reference.size();
    const auto near = [](double a, double b) {
        return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
    };
    for (const auto& [id, want] : reference) {
        const auto it = actual.find(id);
        if (it == actual.end()) {
            ++c.missing;
            continue;
        }
        const auto& got = it->second;
        const bool counts =
            got.version == want.version && got.count_by_kind == want.count_by_kind &&
            got.iri_estimates == want.iri_estimates && got.hazard_events == want.hazard_events &&
            got.structural.axles == want.structural.axles &&
            got.structural.strain_peaks == want.structural.strain_peaks;
        const bool sums = near(got.iri_sum, want.iri_sum) &&
                          near(got.iri_sum_squares, want.iri_sum_squares) &&
                          near(got.hazard_peak_sum_ms2, want.hazard_peak_sum_ms2) &&
                          near(got.structural.esal_total, want.structural.esal_total) &&
                          near(got.structural.fatigue_damage, want.structural.fatigue_damage);
        if (!counts) {
            ++c.count_mismatch;
        } else if (!sums) {
            ++c.sum_mismatch;
        }
        if ((!counts || !sums) && c.first_difference.empty()) {
            c.first_difference =
                "segment " + std::to_string(id) + ": version " + std::to_string(got.version) +
                " (want " + std::to_string(want.version) + "), iri_sum " +
                std::to_string(got.iri_sum) + " (want " + std::to_string(want.iri_sum) + ")";
        }
        if (pipeline::EncodeState(got) == pipeline::EncodeState(want)) {
            ++c.identical;
        } else if (c.first_unidentical.empty()) {
            const pipeline::ModelConfig config;
            const auto part = [](const auto& x) {
                std::string out;
                pipeline::ByteWriter w(out);
                x.Encode(w);
                return out;
            };
            std::string parts;
            parts += part(got.roughness) == part(want.roughness) ? "" : " roughness";
            parts += part(got.hazards) == part(want.hazards) ? "" : " hazards";
            parts += part(got.structural) == part(want.structural) ? "" : " structural";
            parts += part(got.history) == part(want.history) ? "" : " history";
            parts +=
                got.open_day == want.open_day && got.open_day_esal_start == want.open_day_esal_start
                    ? ""
                    : " day";
            parts +=
                got.iri_sum == want.iri_sum && got.hazard_peak_sum_ms2 == want.hazard_peak_sum_ms2
                    ? ""
                    : " sums";
            c.first_unidentical = "segment " + std::to_string(id) + " differs in:" + parts +
                                  "\n got:  " + pipeline::ConditionToJson(got, config) +
                                  "\n want: " + pipeline::ConditionToJson(want, config);
        }
    }
    for (const auto& [id, state] : actual) {
        if (!reference.contains(id)) {
            ++c.extra;
        }
    }
    return c;
}

}  // namespace pavewatch::chaos
