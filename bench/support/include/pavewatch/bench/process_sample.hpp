#pragma once

#include <cstdint>

namespace pavewatch::bench {

/// One look at a process under benchmark, from /proc/<pid>/stat and /proc/<pid>/status.
struct ProcessSample {
    bool alive = false;          ///< running (a zombie or a missing process is not)
    double cpu_seconds = 0.0;    ///< utime + stime of every thread; also read from a zombie
    double age_seconds = 0.0;    ///< since the process started
    std::uint64_t vmhwm_kb = 0;  ///< peak resident set
    std::uint64_t vmrss_kb = 0;  ///< resident set now
    int threads = 0;
};

/// Samples process `pid`; every field stays zero when /proc has no such process.
ProcessSample SampleProcess(int pid);

}  // namespace pavewatch::bench
