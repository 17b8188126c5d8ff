// The tune journal: write and replay, the original recorded once, torn last lines,
// corruption, the lock naming its holder, unusable state dirs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"
#include "tune/journal.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

const KnobId kRa{KnobKind::block_queue, "read_ahead_kb", Scope::device("loop3")};
const KnobId kRmem{KnobKind::sysctl, "net.ipv4.tcp_rmem", Scope::netns("blue")};

// One full change: original, intent, done, outcome.
void change(Journal& j, const KnobId& id, const std::string& from, const std::string& to,
            Outcome o = Outcome::kept) {
    if (!j.state().knobs.contains(id) || j.state().knobs.at(id).closed()) {
        ASSERT_TRUE(j.original(id, "display", "diskseq 1", from));
    }
    Journal::Change c{id,  "block-io", from, to, "sequential reads", "more throughput",
                      "t", "g",        {}};
    auto seq = j.change(c);
    ASSERT_TRUE(seq) << seq.error().message;
    ASSERT_TRUE(j.done(*seq, to));
    ASSERT_TRUE(j.outcome(*seq, o, "numbers"));
}

// A journal holding one kept change of kRa; its path, or "" when it could not be made.
std::string journal_with_one_change(const TempDir& d) {
    auto j = Journal::open(d.path(), "test");
    if (!j) {
        ADD_FAILURE() << j.error().message;
        return "";
    }
    change(*j, kRa, "128", "256");
    return j->path();
}

TEST(Journal, ReplayGivesEveryKnobItsOriginalAndLatestChange) {
    TempDir d;
    {
        auto j = Journal::open(d.path(), "test");
        ASSERT_TRUE(j) << j.error().message;
        change(*j, kRa, "128", "256");
        change(*j, kRa, "256", "512", Outcome::reverted);
        change(*j, kRmem, "4096 131072 6291456", "4096 131072 12582912");
    }
    auto st = Journal::load(d.path());
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_EQ(st->knobs.size(), 2u);
    const KnobRecord& ra = st->knobs.at(kRa);
    EXPECT_EQ(ra.original, "128");  // recorded once, not replaced by the second change
    EXPECT_EQ(ra.to, "512");
    EXPECT_EQ(ra.outcome, Outcome::reverted);
    EXPECT_EQ(ra.left, "512");  // the revert's own write is a restore record (none here)
    EXPECT_EQ(ra.written, (std::set<std::string>{"256", "512"}));
    EXPECT_FALSE(ra.closed());
    EXPECT_EQ(st->knobs.at(kRmem).outcome, Outcome::kept);
    EXPECT_FALSE(st->torn_tail);
}

TEST(Journal, RestoreToTheOriginalClosesTheKnob) {
    TempDir d;
    auto j = Journal::open(d.path(), "test");
    ASSERT_TRUE(j);
    change(*j, kRa, "128", "256");
    auto r = j->restore(kRa, "128", "rollback");
    ASSERT_TRUE(r);
    ASSERT_TRUE(j->done(*r, std::string("128")));
    EXPECT_TRUE(j->state().knobs.at(kRa).closed());
    EXPECT_EQ(j->state().knobs.at(kRa).outcome, Outcome::rolled_back);
    // A later episode records the original again (it may have changed meanwhile).
    EXPECT_TRUE(j->original(kRa, "display", "diskseq 1", "64"));
    EXPECT_EQ(j->state().knobs.at(kRa).original, "64");
    // ... but never while a change of ours is on the knob.
    change(*j, kRa, "64", "128");
    EXPECT_FALSE(j->original(kRa, "display", "diskseq 1", "128"));
}

TEST(Journal, AWriteAnnouncedButNeverConfirmedStaysOpen) {
    TempDir d;
    {
        auto j = Journal::open(d.path(), "test");
        ASSERT_TRUE(j);
        ASSERT_TRUE(j->original(kRa, "x", "", "128"));
        ASSERT_TRUE(j->change({kRa, "block-io", "128", "256", "", "", "", "", {}}));
        // killed here: the knob may or may not hold 256
    }
    auto st = Journal::load(d.path());
    ASSERT_TRUE(st);
    const KnobRecord& k = st->knobs.at(kRa);
    EXPECT_NE(k.open_write, 0u);
    EXPECT_FALSE(k.closed());
    EXPECT_TRUE(k.written.contains("256"));
}

TEST(Journal, TornLastLineIsIgnoredAndCutOffBeforeTheNextAppend) {
    TempDir d;
    const std::string path = journal_with_one_change(d);  // lines 1-4, seq 1-4
    ASSERT_FALSE(path.empty());
    const std::string good = read_file(path).value();
    std::ofstream(path, std::ios::app) << R"({"v":1,"type":"change","seq":99,"kn)";
    auto st = Journal::load(d.path());
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_TRUE(st->torn_tail);
    EXPECT_EQ(st->knobs.at(kRa).to, "256");
    {
        auto j = Journal::open(d.path(), "test");
        ASSERT_TRUE(j) << j.error().message;
        EXPECT_EQ(read_file(path).value(), good);  // the torn line is gone
        change(*j, kRa, "256", "512");
    }
    auto again = Journal::load(d.path());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->torn_tail);
    EXPECT_EQ(again->knobs.at(kRa).to, "512");
}

TEST(Journal, CorruptionInTheMiddleIsAClearError) {
    TempDir d;
    const std::string path = journal_with_one_change(d);  // lines 1-4, seq 1-4
    ASSERT_FALSE(path.empty());
    std::string text = read_file(path).value();
    text.insert(text.find('\n') + 1, "garbage\n");
    std::ofstream(path, std::ios::trunc) << text;
    auto st = Journal::load(d.path());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("line 2"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("corrupt"), std::string::npos) << st.error().message;
    auto j = Journal::open(d.path(), "test");
    ASSERT_FALSE(j);
    EXPECT_EQ(read_file(path).value(), text);  // left as it was

    // A record that refers to nothing is corruption too.
    std::ofstream(path, std::ios::trunc) << R"({"v":1,"type":"done","seq":1,"ref":7,"ok":true})"
                                         << "\n"
                                         << R"({"v":1,"type":"done","seq":2,"ref":7,"ok":true})"
                                         << "\n";
    EXPECT_FALSE(Journal::load(d.path()));
}

TEST(Journal, DeeplyNestedLineIsRefusedWithItsLineNumber) {
    TempDir d;
    const std::string path = journal_with_one_change(d);  // lines 1-4, seq 1-4
    ASSERT_FALSE(path.empty());
    const std::string knob = knob_id_json(kRa).dump();
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    // Before the fix, replaying this change overflowed the stack copying its evidence.
    std::ofstream(path, std::ios::app)
        << R"({"v":1,"type":"change","seq":5,"to":"512","knob":)" << knob << R"(,"evidence":)"
        << deep << "}\n"
        << R"({"v":1,"type":"gone","seq":6,"knob":)" << knob << "}\n";
    const std::string text = read_file(path).value();
    auto st = Journal::load(d.path());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("line 5: nested deeper than 64 levels"), std::string::npos)
        << st.error().message;
    EXPECT_FALSE(Journal::open(d.path(), "test"));
    EXPECT_EQ(read_file(path).value(), text);
}

TEST(Journal, RecordsTheReplayWouldRefuseAreNeverWritten) {
    TempDir d;
    auto j = Journal::open(d.path(), "test");
    ASSERT_TRUE(j);
    EXPECT_FALSE(j->change({kRa, "block-io", "128", "256", "", "", "", "", {}}));  // no original
    EXPECT_FALSE(j->done(42, std::string("x")));
    auto st = Journal::load(d.path());
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->records, 0u);
}

TEST(Journal, OneWriterAtATimeAndTheSecondIsToldWho) {
    TempDir d;
    auto first = Journal::open(d.path(), "perfbpf tune --auto");
    ASSERT_TRUE(first);
    auto holder = StateLock::holder(d.path());
    ASSERT_TRUE(holder);
    EXPECT_NE(holder->find("pid " + std::to_string(getpid())), std::string::npos) << *holder;
    // flock is per open file description: a second open in this process conflicts too.
    auto second = Journal::open(d.path(), "perfbpf tune --rollback");
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("pid " + std::to_string(getpid())), std::string::npos)
        << second.error().message;
    EXPECT_NE(second.error().message.find("tune --auto"), std::string::npos);
    // Readers need no lock.
    EXPECT_TRUE(Journal::load(d.path()));
}

TEST(Journal, ALockOfAProcessThatDiedIsFree) {
    TempDir d;
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto j = Journal::open(d.path(), "child");
        _exit(j ? 0 : 1);  // dies holding it, as kill -9 would
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    EXPECT_FALSE(StateLock::holder(d.path()));
    EXPECT_TRUE(Journal::open(d.path(), "test"));
}

TEST(Journal, MissingOrUnusableStateDirs) {
    TempDir d;
    // The last component is created, a missing parent is an error.
    EXPECT_TRUE(Journal::open(d.path() + "/state", "test"));
    auto deep = Journal::open(d.path() + "/no/such/dir", "test");
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message.find("does not exist"), std::string::npos)
        << deep.error().message;
    std::ofstream(d.path() + "/file") << "x";
    auto file = Journal::open(d.path() + "/file", "test");
    ASSERT_FALSE(file);
    EXPECT_NE(file.error().message.find("not a directory"), std::string::npos);
    // Readers of a dir without a journal see nothing changed.
    auto empty = Journal::load(d.path() + "/nothing");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->knobs.empty());
}

TEST(Journal, AJournalThatIsNoFileOrTooLongALineIsRefused) {
    TempDir d;
    const std::string path = d.path() + "/tune.journal";
    ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    auto fifo = Journal::load(d.path());  // blocked in open() before
    ASSERT_FALSE(fifo);
    EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos)
        << fifo.error().message;
    fs::remove(path);
    std::ofstream(path) << std::string(kMaxJournalLineBytes + 1, '{') << "\n{}\n";
    auto st = Journal::load(d.path());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("line 1 is longer than"), std::string::npos)
        << st.error().message;
}

TEST(Journal, ACompleteLastLineThatIsNotJsonIsCorruption) {
    TempDir d;
    const std::string path = journal_with_one_change(d);  // lines 1-4, seq 1-4
    ASSERT_FALSE(path.empty());
    // It has its newline, so it was written whole (records are one write each): not torn.
    std::ofstream(path, std::ios::app) << "not json\n";
    const std::string text = read_file(path).value();
    auto st = Journal::load(d.path());
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("line 5: not valid JSON"), std::string::npos)
        << st.error().message;
    EXPECT_FALSE(Journal::open(d.path(), "test"));
    EXPECT_EQ(read_file(path).value(), text);  // not cut off
}

}  // namespace
}  // namespace perfbpf::tune
