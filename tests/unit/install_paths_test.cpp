#include "util/install_paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace perfbpf {
namespace {

namespace fs = std::filesystem;

class ShimLookup : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "perfbpf-install-paths.XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root_ = tmpl;
        fs::create_directories(root_ / "usr/bin");
        fs::create_directories(root_ / "usr/lib/perfbpf");
        fs::create_directories(root_ / "build");
    }
    void TearDown() override { fs::remove_all(root_); }
    void touch(const fs::path& p) { std::ofstream(p) << "elf"; }
    fs::path root_;
};

TEST_F(ShimLookup, BuildTreeNextToTheBinary) {
    touch(root_ / "build" / kShimLibraryName);
    auto r = find_shim_library_for(root_ / "build/perfbpf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (root_ / "build" / kShimLibraryName).string());
}

TEST_F(ShimLookup, InstalledUnderLibPerfbpf) {
    touch(root_ / "usr/lib/perfbpf" / kShimLibraryName);
    auto r = find_shim_library_for(root_ / "usr/bin/perfbpf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (root_ / "usr/lib/perfbpf" / kShimLibraryName).string());
}

TEST_F(ShimLookup, NextToTheBinaryWinsOverLib) {
    touch(root_ / "usr/bin" / kShimLibraryName);
    touch(root_ / "usr/lib/perfbpf" / kShimLibraryName);
    auto r = find_shim_library_for(root_ / "usr/bin/perfbpf");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (root_ / "usr/bin" / kShimLibraryName).string());
}

TEST_F(ShimLookup, MissingNamesEveryPlaceTried) {
    auto r = find_shim_library_for(root_ / "usr/bin/perfbpf");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find((root_ / "usr/bin" / kShimLibraryName).string()),
              std::string::npos);
    EXPECT_NE(r.error().message.find((root_ / "usr/lib/perfbpf" / kShimLibraryName).string()),
              std::string::npos);
}

TEST_F(ShimLookup, ADirectoryOfThatNameIsNotTheLibrary) {
    fs::create_directories(root_ / "usr/bin" / kShimLibraryName);
    EXPECT_FALSE(find_shim_library_for(root_ / "usr/bin/perfbpf"));
}

}  // namespace
}  // namespace perfbpf
