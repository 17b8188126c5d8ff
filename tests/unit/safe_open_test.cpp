// Root must not follow planted symlinks: the tune lock and journal, the state dir itself,
// and output files. A symlink's target is never created, written or truncated.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sinks/snapshot_record.h"
#include "support/temp_dir.h"
#include "tune/journal.h"
#include "util/files.h"
#include "util/safe_open.h"

namespace perfbpf {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A file outside the state dir that a planted symlink points at.
struct Victim {
    explicit Victim(const TempDir& d) : path(d.path() + "/victim") {
        std::ofstream(path) << "precious\n";
    }
    bool untouched() const { return read_file(path).value_or("") == "precious\n"; }
    std::string path;
};

// A state dir as perfbpf makes it, beside a victim file.
struct PlantedLink : ::testing::Test {
    void SetUp() override { ASSERT_EQ(::mkdir(state.c_str(), 0700), 0); }
    TempDir d;
    Victim v{d};
    std::string state = d.path() + "/state";
};

TEST_F(PlantedLink, SymlinkedLockIsNotFollowed) {
    fs::create_symlink(v.path, state + "/tune.lock");
    auto j = tune::Journal::open(state, "test");
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message.find("tune.lock is a symlink"), std::string::npos)
        << j.error().message;
    EXPECT_TRUE(v.untouched());
    EXPECT_FALSE(tune::StateLock::holder(state));
}

TEST_F(PlantedLink, SymlinkedJournalIsNeitherReadNorWritten) {
    fs::create_symlink(v.path, state + "/tune.journal");
    auto j = tune::Journal::open(state, "test");
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message.find("tune.journal is a symlink"), std::string::npos)
        << j.error().message;
    auto st = tune::Journal::load(state);
    ASSERT_FALSE(st);
    EXPECT_TRUE(v.untouched());
    // A dangling one is not created through either.
    fs::remove(state + "/tune.journal");
    fs::create_symlink(d.path() + "/created", state + "/tune.journal");
    EXPECT_FALSE(tune::Journal::open(state, "test"));
    EXPECT_FALSE(fs::exists(d.path() + "/created"));
}

TEST(SafeOpen, StateDirThatIsASymlinkOrOpenToOthersIsRefused) {
    TempDir d;
    const std::string real = d.path() + "/real";
    ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
    fs::create_symlink(real, d.path() + "/link");
    auto link = tune::Journal::open(d.path() + "/link", "test");
    ASSERT_FALSE(link);
    EXPECT_EQ(link.error().message,
              "state dir " + d.path() + "/link is a symlink: refusing to follow it");
    EXPECT_TRUE(fs::is_empty(real));

    const std::string open = d.path() + "/open";
    ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
    const std::string refused =
        "state dir " + open + " is writable by group or others (mode 0777): refusing to use it";
    auto w = tune::Journal::open(open, "test");
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().message, refused);
    auto r = tune::Journal::load(open);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, refused);
    EXPECT_TRUE(fs::is_empty(open));
    ASSERT_EQ(::chmod(open.c_str(), 0750), 0);  // group may read: fine
    EXPECT_TRUE(tune::Journal::open(open, "test"));
}

TEST(SafeOpen, StateDirOfAnotherUserIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
    TempDir d;
    const std::string other = d.path() + "/other";
    ASSERT_EQ(::mkdir(other.c_str(), 0700), 0);
    ASSERT_EQ(::chown(other.c_str(), 65534, 65534), 0);
    auto r = tune::Journal::load(other);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "state dir " + other + " is owned by uid 65534, not root or us: refusing to use it");
}

TEST(SafeOpen, OutputFilesAndRecordingsDoNotFollowSymlinks) {
    TempDir d;
    Victim v(d);
    const std::string out = d.path() + "/report.txt";
    fs::create_symlink(v.path, out);
    auto f = create_output_file(out);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message, "output file " + out + " is a symlink: refusing to follow it");
    auto rec = Recorder::open(out);
    ASSERT_FALSE(rec);
    EXPECT_NE(rec.error().message.find("is a symlink"), std::string::npos);
    EXPECT_TRUE(v.untouched());
    // A plain file is truncated (or appended to), and the descriptor does not leak to exec.
    const std::string plain = d.path() + "/plain.txt";
    std::ofstream(plain) << "old";
    auto p = create_output_file(plain);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(fs::file_size(plain), 0u);
    EXPECT_TRUE(::fcntl(p->get(), F_GETFD) & FD_CLOEXEC);
    ASSERT_TRUE(write_all(p->get(), plain, "new"));
    auto a = create_output_file(plain, /*append=*/true);
    ASSERT_TRUE(a);
    ASSERT_TRUE(write_all(a->get(), plain, "er"));
    EXPECT_EQ(read_file(plain).value(), "newer");
}

// The daemon's status file: a reader sees the old text or the new, whole, also when it
// opened the file before the replacement; planted links are never written through.
TEST(ReplaceInDir, ReplacesWholeAndKeepsAnOpenReadersText) {
    TempDir d;
    UniqueFd dir(::open(d.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir.valid());
    const std::string path = d.path() + "/status";
    ASSERT_TRUE(replace_in_dir(dir.get(), d.path(), "status", "first\n"));
    EXPECT_EQ(read_file(path).value(), "first\n");
    UniqueFd reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(reader.valid());
    for (const char* text : {"second, longer\n", "3\n", "fourth\n"}) {
        ASSERT_TRUE(replace_in_dir(dir.get(), d.path(), "status", text));
        EXPECT_EQ(read_file(path).value(), text);
    }
    char buf[64] = {};
    EXPECT_EQ(::pread(reader.get(), buf, sizeof(buf) - 1, 0), 6);
    EXPECT_STREQ(buf, "first\n");
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(ReplaceInDir, PlantedLinksAreNotWrittenThrough) {
    TempDir d;
    Victim victim(d);
    const std::string dir_path = d.path() + "/state";
    fs::create_directory(dir_path);
    UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir.valid());
    fs::create_symlink(victim.path, dir_path + "/status");
    fs::create_symlink(victim.path, dir_path + "/status.tmp");
    ASSERT_TRUE(replace_in_dir(dir.get(), dir_path, "status", "ours\n"));
    EXPECT_TRUE(victim.untouched());
    EXPECT_FALSE(fs::is_symlink(dir_path + "/status"));
    EXPECT_EQ(read_file(dir_path + "/status").value(), "ours\n");
    ASSERT_TRUE(replace_in_dir(dir.get(), dir_path, "status", "again\n"));
    EXPECT_TRUE(victim.untouched());
    EXPECT_EQ(read_file(dir_path + "/status").value(), "again\n");
}

}  // namespace
}  // namespace perfbpf
