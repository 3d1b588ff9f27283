#pragma once

#include <tl/expected.hpp>

#include <string>

namespace pavewatch::common {

/// The system's description of an errno value ("No such file or directory"). Unlike
/// std::strerror, safe to call from several threads at once.
std::string ErrnoText(int error);

/// Whole content of a file; the error names the file and the reason.
tl::expected<std::string, std::string> ReadWholeFile(const std::string& path);

/// Writes a file atomically (temporary file, then rename).
tl::expected<void, std::string> WriteWholeFile(const std::string& path, const std::string& content);

}  // namespace pavewatch::common
