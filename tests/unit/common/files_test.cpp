#include "pavewatch/common/files.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace pavewatch::common {
namespace {

TEST(ErrnoText, DescribesTheError) {
    EXPECT_EQ(ErrnoText(ENOENT), "No such file or directory");
    EXPECT_EQ(ErrnoText(EACCES), "Permission denied");
    EXPECT_NE(ErrnoText(12345).find("12345"), std::string::npos);  // "Unknown error 12345"
}

TEST(WholeFile, WritesAndReadsBack) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("pavewatch-files-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "a.txt").string();
    ASSERT_TRUE(WriteWholeFile(path, std::string("x\0y", 3)));
    const auto back = ReadWholeFile(path);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, std::string("x\0y", 3));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    std::filesystem::remove_all(dir);
}

TEST(WholeFile, NamesTheFileAndTheReasonWhenItCannotRead) {
    const auto r = ReadWholeFile("/nonexistent/pavewatch/file.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), "cannot read /nonexistent/pavewatch/file.json: No such file or directory");
}

TEST(WholeFile, NamesTheFileWhenItCannotWrite) {
    const auto r = WriteWholeFile("/nonexistent/pavewatch/file.json", "{}");
    ASSERT_FALSE(r);
    EXPECT_EQ(
        r.error(), "cannot write /nonexistent/pavewatch/file.json.tmp: No such file or directory"
    );
}

}  // namespace
}  // namespace pavewatch::common
