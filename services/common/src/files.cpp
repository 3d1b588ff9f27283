#include "pavewatch/common/files.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pavewatch::common {

std::string ErrnoText(int error) {
    std::array<char, 256> buffer{};
    // GNU strerror_r: returns the text, either a static string or the filled buffer.
    return ::strerror_r(error, buffer.data(), buffer.size());
}

tl::expected<std::string, std::string> ReadWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return tl::unexpected("cannot read " + path + ": " + ErrnoText(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

tl::expected<void, std::string>
WriteWholeFile(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            return tl::unexpected("cannot write " + tmp + ": " + ErrnoText(errno));
        }
        out << content;
        if (!out) {
            return tl::unexpected("cannot write " + tmp + ": " + ErrnoText(errno));
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        return tl::unexpected("cannot rename " + tmp + " to " + path + ": " + ec.message());
    }
    return {};
}

}  // namespace pavewatch::common
