#pragma once

#include <string>

namespace pavewatch::test_support {

/// Absolute path of a file of the source tree, e.g. ProjectPath("data/almaty_roads.geojson").
/// The root comes from PAVEWATCH_SOURCE_DIR when set (CTest sets it), else from the build.
std::string ProjectPath(const std::string& relative);

/// Whole content of a file; throws std::runtime_error when it cannot be read (tests only).
std::string ReadFile(const std::string& path);

}  // namespace pavewatch::test_support
