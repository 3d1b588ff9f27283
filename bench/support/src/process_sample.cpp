#include "pavewatch/bench/process_sample.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace pavewatch::bench {

ProcessSample SampleProcess(int pid) {
    ProcessSample s;
    const std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream stat(dir + "/stat");
    std::string text;
    if (!std::getline(stat, text)) {
        return s;
    }
    // The command name (field 2) may hold spaces and parentheses: the fields after it start
    // after the last ')', at field 3 (state).
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) {
        return s;
    }
    std::istringstream in(text.substr(close + 2));
    std::vector<std::string> f{"", "", ""};  // f[n] is field n, 1-based as in man 5 proc
    std::string field;
    while (in >> field) {
        f.push_back(field);
    }
    if (f.size() < 23) {
        return s;
    }
    const auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.alive = f[3] != "Z";
    s.cpu_seconds = (std::stod(f[14]) + std::stod(f[15])) / hz;
    s.threads = std::stoi(f[20]);
    double uptime = 0.0;
    std::ifstream("/proc/uptime") >> uptime;
    s.age_seconds = uptime - std::stod(f[22]) / hz;
    std::ifstream status(dir + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            s.vmhwm_kb = std::stoull(line.substr(6));
        } else if (line.rfind("VmRSS:", 0) == 0) {
            s.vmrss_kb = std::stoull(line.substr(6));
        }
    }
    return s;
}

}  // namespace pavewatch::bench
