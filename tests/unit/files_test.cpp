// read_regular_file: the size bound holds however the file reports its size.
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"
#include "util/files.h"

namespace perfbpf {
namespace {

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
