#pragma once

#include <optional>
#include <string_view>

namespace pavewatch::bench {

/// The value of `series` in a Prometheus text exposition (format 0.0.4). `series` is either a
/// metric name, and then every sample of that name is summed whatever its labels (a counter
/// with a `reason` label gives its total), or a name with its labels exactly as the page writes
/// them (`name{reason="too_slow"}`), and then that one sample. std::nullopt when no sample
/// matches or a matching value does not parse; comment lines never match.
std::optional<double> MetricSum(std::string_view text, std::string_view series);

}  // namespace pavewatch::bench
