// read_regular_file: the size bound holds however the file reports its size.
#include <gtest/gtest.h>

#include <fstream>
#include <string_view>
#include <vector>

#include "support/temp_dir.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using Fields = std::vector<std::string_view>;

TEST(SplitFields, RunsOfAnySeparatorSplitOnceAndNoFieldIsEmpty) {
    EXPECT_EQ(split_fields("  a\tbb \n\n ccc  "), (Fields{"a", "bb", "ccc"}));
    EXPECT_EQ(split_fields("x"), (Fields{"x"}));
    EXPECT_EQ(split_fields(""), Fields{});
    EXPECT_EQ(split_fields(" \t\n"), Fields{});
    // Bytes above 127 are field text, not separators (a comm may be UTF-8).
    EXPECT_EQ(split_fields("\xc3\xa9t\xc3\xa9 ok"), (Fields{"\xc3\xa9t\xc3\xa9", "ok"}));
    EXPECT_EQ(split_fields("a,b;;c", ",;"), (Fields{"a", "b", "c"}));
}

TEST(SplitFields, OneSeparatorSkipsEmptyLines) {
    EXPECT_EQ(split_fields("\nl1\n\nl 2\n", "\n"), (Fields{"l1", "l 2"}));
    EXPECT_EQ(split_fields("no newline", "\n"), (Fields{"no newline"}));
    EXPECT_EQ(split_fields("\n\n", "\n"), Fields{});
}

TEST(ReadRegularFile, ExactlyTheLimitIsReadOneByteMoreIsRefused) {
    test::TempDir d;
    const std::string path = d.path() + "/f";
    std::ofstream(path) << "0123456789";
    auto ok = read_regular_file(path, 10);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, "0123456789");
    auto over = read_regular_file(path, 9);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().message, path + " is larger than 9 bytes: refusing to read it");
    auto missing = read_regular_file(d.path() + "/none", 10);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);
    // procfs reports size 0: the bound is enforced while reading, not from stat.
    auto proc = read_regular_file("/proc/self/maps", 8);
    ASSERT_FALSE(proc);
    EXPECT_NE(proc.error().message.find("larger than 8 bytes"), std::string::npos);
}

TEST(ReadRegularFile, DirectoriesAndDevicesAreNotRegularFiles) {
    for (const char* p : {"/dev/zero", "/dev/null", "/tmp"}) {
        auto r = read_regular_file(p, 1024);
        ASSERT_FALSE(r) << p;
        EXPECT_EQ(r.error().message, std::string(p) + " is not a regular file");
    }
}

}  // namespace
}  // namespace perfbpf
