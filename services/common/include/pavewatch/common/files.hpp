#pragma once

#include <tl/expected.hpp>

#include <string>

namespace pavewatch::common {

/// Whole content of a file; the error names the file and the reason.
tl::expected<std::string, std::string> ReadWholeFile(const std::string& path);

/// Writes a file atomically (temporary file, then rename).
tl::expected<void, std::string> WriteWholeFile(const std::string& path, const std::string& content);

}  // namespace pavewatch::common
