#include "pavewatch/test_support/paths.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pavewatch::test_support {

std::string ProjectPath(const std::string& relative) {
    const char* root = std::getenv("PAVEWATCH_SOURCE_DIR");  // NOLINT(concurrency-mt-unsafe)
    return std::string(root != nullptr ? root : PAVEWATCH_SOURCE_DIR_DEFAULT) + "/" + relative;
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace pavewatch::test_support
