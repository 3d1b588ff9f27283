// segment_output_calls DAYS CALLS: writes one segment's condition record and history record
// CALLS times each (the segment's state as segment_output_bench builds it over DAYS days), for
// instruction counts that do not depend on what else the machine runs:
//
//   valgrind --tool=callgrind --callgrind-out-file=cg.out segment_output_calls 120 100
//   callgrind_annotate --inclusive=yes cg.out | grep -E 'WriteCondition|WriteHistory'
//
// (inclusive instructions / CALLS = instructions per record). Prints the bytes of each record.

#include "pavewatch/pipeline/condition.hpp"
#include "segment_states.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using pavewatch::pipeline::ModelConfig;
using pavewatch::pipeline::SegmentState;

[[gnu::noinline]] void
WriteCondition(const SegmentState& s, const ModelConfig& c, std::string& out) {
    out.clear();
    pavewatch::pipeline::ConditionToJson(s, c, out);
}

[[gnu::noinline]] void WriteHistory(const SegmentState& s, std::string& out) {
    out.clear();
    pavewatch::pipeline::HistoryToJson(s, out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::atoi(argv[1]) < 1 || std::atoi(argv[2]) < 1) {
        std::fprintf(stderr, "usage: segment_output_calls DAYS CALLS\n");
        return 2;
    }
    const ModelConfig config;
    const SegmentState s = pavewatch::pipeline::StateOver(std::atoi(argv[1]), config);
    std::string condition;
    std::string history;
    for (int i = 0; i < std::atoi(argv[2]); ++i) {
        WriteCondition(s, config, condition);
        WriteHistory(s, history);
    }
    std::printf(
        "days=%s closed_days=%zu condition_bytes=%zu history_bytes=%zu\n",
        argv[1],
        s.history.entries().size(),
        condition.size(),
        history.size()
    );
    return 0;
}
