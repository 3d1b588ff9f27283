#pragma once

// What must hold of any segment state the wear processor can come to hold (folded from
// observations DecodeObservation accepted): it is stored and restored unchanged (RocksDB and
// the changelog), its condition and roughness are in range, and its condition and history
// records are JSON that the gateway's readers accept.

#include "fuzz_support.hpp"
#include "pavewatch/pipeline/condition.hpp"
#include "pavewatch/pipeline/model_config.hpp"
#include "pavewatch/pipeline/segment_state.hpp"

#include <boost/json/parse.hpp>

#include <cmath>
#include <cstdio>
#include <string>

namespace pavewatch::fuzz {

inline void CheckFoldedState(const pipeline::SegmentState& s, const pipeline::ModelConfig& config) {
    const std::string bytes = pipeline::EncodeState(s);
    const auto decoded = pipeline::DecodeState(bytes);
    if (!decoded) {
        std::fprintf(stderr, "%s\n", decoded.error().Describe().c_str());
    }
    Check(decoded.has_value(), "a state decodes as it was encoded");
    Check(pipeline::EncodeState(*decoded) == bytes, "a state encodes the same after a decode");

    const auto snapshot = pipeline::Evaluate(s, config);
    if (snapshot.condition) {
        const double index = snapshot.condition->index;
        Check(std::isfinite(index) && index >= 0 && index <= 100, "condition index in [0, 100]");
    }
    if (snapshot.roughness) {
        const double iri = snapshot.roughness->iri_m_per_km;
        Check(std::isfinite(iri) && iri > 0, "segment IRI positive and finite");
        const double confidence = snapshot.roughness->confidence;
        Check(confidence >= 0 && confidence <= 1, "segment IRI confidence in [0, 1]");
    }

    const std::string condition = pipeline::ConditionToJson(s, config);
    boost::system::error_code ec;
    boost::json::parse(condition, ec);
    Check(!ec, "a condition record is JSON");
    const std::string history = pipeline::HistoryToJson(s);
    boost::json::parse(history, ec);
    Check(!ec, "a history record is JSON");
    const auto summary = pipeline::ParseConditionSummary(condition);
    if (!summary) {
        std::fprintf(stderr, "%s\n%s\n", summary.error().Describe().c_str(), condition.c_str());
    }
    Check(summary.has_value(), "a condition record reads back");
    Check(
        summary->segment == s.segment && summary->version == s.version,
        "a condition record names its segment and version"
    );

    const auto history_summary = pipeline::ParseHistorySummary(history);
    if (!history_summary) {
        std::fprintf(
            stderr, "%s\n%s\n", history_summary.error().Describe().c_str(), history.c_str()
        );
    }
    Check(history_summary.has_value(), "a history record reads back");
}

}  // namespace pavewatch::fuzz
