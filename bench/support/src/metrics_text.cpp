#include "pavewatch/bench/metrics_text.hpp"

#include <cstdlib>
#include <string>

namespace pavewatch::bench {

std::optional<double> MetricSum(std::string_view text, std::string_view series) {
    std::optional<double> sum;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (!line.starts_with(series) || line.size() == series.size()) {
            continue;
        }
        // The name must end where `series` ends: `a_total` must not match `a_total_extra`.
        const char next = line[series.size()];
        if (next != ' ' && next != '{') {
            continue;
        }
        // A sample line is `series value [timestamp]`: the value follows the labels' last '}'
        // (a quoted label value may hold one too).
        const auto labels_end = next == '{' ? line.rfind('}') : series.size();
        if (labels_end == std::string_view::npos || labels_end < series.size()) {
            return std::nullopt;
        }
        const std::string value(line.substr(labels_end + 1));
        char* parsed_end = nullptr;
        const double v = std::strtod(value.c_str(), &parsed_end);
        if (parsed_end == value.c_str()) {
            return std::nullopt;
        }
        sum = sum.value_or(0.0) + v;
    }
    return sum;
}

}  // namespace pavewatch::bench
