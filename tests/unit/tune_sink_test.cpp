// tune's text around the plan: the command that applies an entry, the progress line while a
// plan watches, and the rollback summary.
#include <gtest/gtest.h>

#include "sinks/tune_sink.h"

namespace perfbpf {
namespace {

using tune::KnobId;
using tune::KnobKind;
using tune::PlanEntry;
using tune::Scope;

PlanEntry entry(const std::string& tuner, KnobId knob) {
    PlanEntry e;
    e.tuner = tuner;
    e.rec.knob = std::move(knob);
    e.rec.current = "128";
    e.rec.proposed = "512";
    e.display = e.rec.knob.key;
    e.original = "128";
    return e;
}

TEST(TuneSink, ApplyCommandNamesTheTunerAndTheObject) {
    EXPECT_EQ(tune_apply_command(entry(
                  "block-io", {KnobKind::block_queue, "read_ahead_kb", Scope::device("sdb")})),
              "perfbpf tune --auto --only block-io --device sdb");
    EXPECT_EQ(tune_apply_command(entry(
                  "tcp-buffers", tune::sysctl_knob("net.ipv4.tcp_rmem", Scope::netns("blue")))),
              "perfbpf tune --auto --only tcp-buffers --netns blue");
    EXPECT_EQ(tune_apply_command(
                  entry("memory", {KnobKind::cgroup, "memory.high", Scope::cgroup("/batch/a b")})),
              "perfbpf tune --auto --only memory --cgroup '/batch/a b'");
    EXPECT_EQ(tune_apply_command(entry("cpu-share", {KnobKind::nice, "nice", Scope::pid(42)})),
              "perfbpf tune --auto --only cpu-share --pid 42");
    // Host-wide knobs need no object.
    EXPECT_EQ(tune_apply_command(entry(
                  "net-backlog", tune::sysctl_knob("net.core.netdev_max_backlog", Scope::host()))),
              "perfbpf tune --auto --only net-backlog");
}

TEST(TuneSink, PlanLinesSayHowToApplyUnlessBlocked) {
    PlanEntry e = entry("block-io", {KnobKind::block_queue, "read_ahead_kb", Scope::device("sdb")});
    std::string text = tune_plan_text({e}, 10'000'000'000);
    EXPECT_NE(text.find("  apply: sudo perfbpf tune --auto --only block-io --device sdb\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(tune_plan_json({e}, 1)["changes"][0]["apply_command"],
              "perfbpf tune --auto --only block-io --device sdb");
    e.blocked = "outside the allowlist's bounds";
    text = tune_plan_text({e}, 10'000'000'000);
    EXPECT_EQ(text.find("apply:"), std::string::npos) << text;
    EXPECT_FALSE(tune_plan_json({e}, 1)["changes"][0].contains("apply_command"));
}

TEST(TuneSink, ProgressLineCountsTheSecondsLeft) {
    EXPECT_EQ(tune_progress_line(0, 10'000'000'000), "watching: 10 s left (Ctrl-C stops early)");
    // A partial second left is still a second.
    EXPECT_EQ(tune_progress_line(9'500'000'000, 10'000'000'000),
              "watching: 1 s left (Ctrl-C stops early)");
    EXPECT_EQ(tune_progress_line(11'000'000'000, 10'000'000'000),
              "watching: 0 s left (Ctrl-C stops early)");
}

TEST(TuneSink, RollbackSummaryCountsEveryKnobOfTheJournal) {
    tune::RollbackReport r;
    r.in_journal = 1;
    r.restored_earlier = 1;
    const std::string s = tune_rollback_summary(r);
    EXPECT_EQ(s,
              "rolled back: 1 knob in the journal: 0 restored, 0 already at their originals, 1 "
              "restored earlier, 0 left alone, 0 failed");
    r = {};
    r.in_journal = 3;
    r.restored = 1;
    r.left_alone = 1;
    r.left_alone_earlier = 1;
    EXPECT_EQ(tune_rollback_summary(r),
              "rolled back: 3 knobs in the journal: 1 restored, 0 already at their originals, 1 "
              "left alone, 1 left to someone else earlier, 0 failed");
}

}  // namespace
}  // namespace perfbpf
