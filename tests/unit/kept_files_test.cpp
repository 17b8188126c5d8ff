// KeptFiles: a kept descriptor reads what opening the path would, and never outlives its
// object silently.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "support/temp_dir.h"
#include "util/kept_files.h"

namespace perfbpf {
namespace {

std::string own_name() {
    char name[16] = {};
    ::prctl(PR_GET_NAME, name);
    return name;
}

TEST(KeptFiles, AKeptProcFileReadsItsCurrentText) {
    const std::string before = own_name();
    KeptFiles files(4);
    auto first = files.read_first_line("/proc/thread-self/comm");
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(*first, before);
    EXPECT_EQ(files.open_count(), 1u);
    ASSERT_EQ(::prctl(PR_SET_NAME, "kept-files-t"), 0);
    auto second = files.read_first_line("/proc/thread-self/comm");
    ::prctl(PR_SET_NAME, before.c_str());
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(*second, "kept-files-t");
    EXPECT_EQ(files.open_count(), 1u);  // read through the kept descriptor
}

TEST(KeptFiles, AnExitedProcessFileFailsAndIsClosed) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    const std::string path = "/proc/" + std::to_string(child) + "/stat";
    KeptFiles files(4);
    auto alive = files.read(path);
    ASSERT_TRUE(alive) << alive.error().message;
    EXPECT_EQ(files.open_count(), 1u);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    auto gone = files.read(path);
    EXPECT_FALSE(gone);
    EXPECT_EQ(files.open_count(), 0u);
}

TEST(KeptFiles, FilesOnDiskAreNotKept) {
    test::TempDir d;
    const std::string path = d.path() + "/f";
    std::ofstream(path) << "old\n";
    KeptFiles files(4);
    EXPECT_EQ(files.read(path).value_or(""), "old\n");
    EXPECT_EQ(files.open_count(), 0u);
    // Replaced by a rename, as a test's fake tree may be: the new text is read.
    std::ofstream(path + ".new") << "new\n";
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
    EXPECT_EQ(files.read(path).value_or(""), "new\n");
    auto missing = files.read(d.path() + "/none");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("open " + d.path() + "/none"), std::string::npos);
}

TEST(KeptFiles, FilesNotReadForAPassAreClosedAndTheCapHolds) {
    KeptFiles files(2);
    ASSERT_TRUE(files.read("/proc/self/stat"));
    ASSERT_TRUE(files.read("/proc/self/statm"));
    ASSERT_TRUE(files.read("/proc/loadavg"));  // over the cap: read, not kept
    EXPECT_EQ(files.open_count(), 2u);
    ASSERT_TRUE(files.read("/proc/loadavg", false));
    EXPECT_EQ(files.open_count(), 2u);
    files.end_pass();
    ASSERT_TRUE(files.read("/proc/self/stat"));
    files.end_pass();  // statm was not read during this pass
    EXPECT_EQ(files.open_count(), 1u);
    files.end_pass();
    EXPECT_EQ(files.open_count(), 0u);
}

}  // namespace
}  // namespace perfbpf
