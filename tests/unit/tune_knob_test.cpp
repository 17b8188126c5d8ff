// The knob layer on a fake /proc, /sys and cgroup tree: allowlist, bounds, steps,
// read-back, vanished objects; process knobs on a child of our own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tune/knob.h"
#include "tune/knobs.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

namespace fs = std::filesystem;

// A fake tree under a temporary directory, removed afterwards.
class FakeTree {
  public:
    FakeTree() {
        char tmpl[] = "/tmp/perfbpf-knobs.XXXXXX";
        root_ = mkdtemp(tmpl);
    }
    ~FakeTree() { fs::remove_all(root_); }
    void put(const std::string& rel, const std::string& text) const {
        fs::create_directories(fs::path(root_ + rel).parent_path());
        std::ofstream(root_ + rel) << text;
    }
    std::string get(const std::string& rel) const {
        return read_file(root_ + rel).value_or("<missing>");
    }
    const std::string& root() const { return root_; }
    KnobRoots roots() const {
        KnobRoots r;
        r.proc = root_ + "/proc";
        r.sys = root_ + "/sys";
        r.netns_dir = root_ + "/run/netns";
        r.cgroup2 = root_ + "/cgroup2";
        r.cgroup1["cpu"] = root_ + "/cgroup1/cpu";
        return r;
    }

  private:
    std::string root_;
};

KnobId ra(const std::string& dev) {
    return {KnobKind::block_queue, "read_ahead_kb", Scope::device(dev)};
}

TEST(KnobSpec, AllowlistHoldsEveryKindAndRefusesOthers) {
    EXPECT_TRUE(find_knob_spec(KnobKind::sysctl, "net.ipv4.tcp_rmem"));
    EXPECT_TRUE(find_knob_spec(KnobKind::block_queue, "scheduler"));
    EXPECT_TRUE(find_knob_spec(KnobKind::cgroup, "cpu.weight"));
    EXPECT_TRUE(find_knob_spec(KnobKind::cgroup, "cpu.shares"));
    EXPECT_TRUE(find_knob_spec(KnobKind::nice, "nice"));
    EXPECT_TRUE(find_knob_spec(KnobKind::affinity, "cpus"));
    EXPECT_FALSE(find_knob_spec(KnobKind::sysctl, "kernel.panic"));
    EXPECT_FALSE(find_knob_spec(KnobKind::block_queue, "../../../etc/passwd"));
}

TEST(KnobSpec, BoundsAndSteps) {
    const KnobSpec& s = *find_knob_spec(KnobKind::block_queue, "read_ahead_kb");
    KnobValue cur{"128", {}};
    EXPECT_EQ(check_change(s, cur, "256").value(), "256");
    EXPECT_EQ(check_change(s, cur, "512").value(), "512");  // 4x is one step
    EXPECT_FALSE(check_change(s, cur, "1024"));             // 8x is not
    EXPECT_EQ(check_change(s, cur, "32").value(), "32");
    EXPECT_FALSE(check_change(s, cur, "16"));
    EXPECT_EQ(check_change(s, cur, "130").value(), "128");  // rounded to whole pages
    EXPECT_FALSE(check_change(s, {"16384", {}}, "32768"));  // above the bound
    EXPECT_FALSE(check_change(s, cur, "abc"));
    // From 0 the step is measured from ratio_ref_min.
    EXPECT_EQ(check_change(s, {"0", {}}, "128").value(), "128");
    EXPECT_FALSE(check_change(s, {"0", {}}, "256"));

    const KnobSpec& nice = *find_knob_spec(KnobKind::nice, "nice");
    EXPECT_EQ(check_change(nice, {"0", {}}, "5").value(), "5");
    EXPECT_FALSE(check_change(nice, {"0", {}}, "6"));
    EXPECT_FALSE(check_change(nice, {"19", {}}, "20"));
}

TEST(KnobSpec, ListsChoicesAndLimits) {
    const KnobSpec& rmem = *find_knob_spec(KnobKind::sysctl, "net.ipv4.tcp_rmem");
    auto v = parse_knob_value(rmem, "4096\t131072\t6291456\n");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->value, "4096 131072 6291456");
    EXPECT_EQ(check_change(rmem, *v, "4096 131072 12582912").value(), "4096 131072 12582912");
    EXPECT_FALSE(check_change(rmem, *v, "4096 131072"));            // two fields
    EXPECT_FALSE(check_change(rmem, *v, "4096 131072 100000000"));  // > 4x
    EXPECT_FALSE(check_change(rmem, *v, "4096 8000000 6291456"));   // default > max
    EXPECT_FALSE(parse_knob_value(rmem, "1 2"));

    const KnobSpec& sched = *find_knob_spec(KnobKind::block_queue, "scheduler");
    auto s = parse_knob_value(sched, "none [mq-deadline] kyber\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->value, "mq-deadline");
    EXPECT_EQ(s->choices, (std::vector<std::string>{"none", "mq-deadline", "kyber"}));
    EXPECT_EQ(check_change(sched, *s, "none").value(), "none");
    EXPECT_FALSE(check_change(sched, *s, "bfq"));   // allowed, not available here
    EXPECT_FALSE(check_change(sched, *s, "noop"));  // not allowed

    const KnobSpec& high = *find_knob_spec(KnobKind::cgroup, "memory.high");
    EXPECT_EQ(check_change(high, {"max", {}}, "1073741825").value(), "1073741824");
    EXPECT_EQ(check_change(high, {"1073741824", {}}, "max").value(), "max");
    EXPECT_FALSE(check_change(high, {"1073741824", {}}, "268435456"));  // halving twice at once
    EXPECT_FALSE(check_change(*find_knob_spec(KnobKind::cgroup, "cpu.weight"), {"100", {}}, "max"));

    const KnobSpec& cpus = *find_knob_spec(KnobKind::affinity, "cpus");
    EXPECT_EQ(check_change(cpus, {"0-3", {}}, "0,1,2", {0, 1, 2, 3}).value(), "0-2");
    EXPECT_FALSE(check_change(cpus, {"0-3", {}}, "7", {0, 1, 2, 3}));
    EXPECT_FALSE(check_change(cpus, {"0-3", {}}, "", {0, 1, 2, 3}));
    EXPECT_EQ(format_cpu_list(parse_cpu_list("0-2,4,6-7").value()), "0-2,4,6-7");

    EXPECT_FALSE(
        check_change(*find_knob_spec(KnobKind::block_queue, "rotational"), {"1", {}}, "0"));
}

TEST(KnobSpec, ScopesFitTheirKnobs) {
    const KnobSpec& rmem = *find_knob_spec(KnobKind::sysctl, "net.ipv4.tcp_rmem");
    const KnobSpec& rmax = *find_knob_spec(KnobKind::sysctl, "net.core.rmem_max");
    EXPECT_TRUE(check_scope(rmem, Scope::netns("blue")));
    EXPECT_TRUE(check_scope(rmem, Scope::host()));
    EXPECT_FALSE(check_scope(rmax, Scope::netns("blue")));  // host-wide only
    EXPECT_FALSE(check_scope(rmem, Scope::device("sda")));
    const KnobSpec& ra_spec = *find_knob_spec(KnobKind::block_queue, "read_ahead_kb");
    EXPECT_FALSE(check_scope(ra_spec, Scope::device("../sda")));
    EXPECT_FALSE(check_scope(ra_spec, Scope::device("..")));
    const KnobSpec& w = *find_knob_spec(KnobKind::cgroup, "cpu.weight");
    EXPECT_TRUE(check_scope(w, Scope::cgroup("/a/b")));
    EXPECT_FALSE(check_scope(w, Scope::cgroup("a/b")));
    EXPECT_FALSE(check_scope(w, Scope::cgroup("/a/../../etc")));
}

TEST(ScopeFilter, NamingAnObjectExcludesEverythingElse) {
    ScopeFilter f;
    EXPECT_TRUE(f.allows(Scope::host()));
    f.devices = {"loop3"};
    EXPECT_TRUE(f.allows(Scope::device("loop3")));
    EXPECT_FALSE(f.allows(Scope::device("loop30")));
    EXPECT_FALSE(f.allows(Scope::host()));
    EXPECT_FALSE(f.allows(Scope::netns("blue")));
    f.cgroups = {"/test"};
    EXPECT_TRUE(f.allows(Scope::cgroup("/test/a")));
    EXPECT_FALSE(f.allows(Scope::cgroup("/testing")));
}

TEST(Knobs, ReadWriteReadBackOnAFakeTree) {
    FakeTree t;
    t.put("/sys/block/loop3/queue/read_ahead_kb", "128\n");
    t.put("/sys/block/loop3/diskseq", "17\n");
    t.put("/sys/block/loop3/queue/scheduler", "[none] mq-deadline\n");
    Knobs k(t.roots());
    auto v = k.read(ra("loop3"));
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->value, "128");
    auto w = k.write(ra("loop3"), "256");
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_EQ(t.get("/sys/block/loop3/queue/read_ahead_kb"), "256\n");
    EXPECT_EQ(k.identity(Scope::device("loop3")).value(), "diskseq 17");
    EXPECT_EQ(k.display_name(ra("loop3")), "/sys/block/loop3/queue/read_ahead_kb");
    EXPECT_EQ(k.display_name({KnobKind::nice, "nice", Scope::pid(42)}), "nice of pid 42");
    EXPECT_EQ(k.display_name({KnobKind::affinity, "cpus", Scope::pid(42)}), "cpus of pid 42");
    // Restoring may be several steps away.
    t.put("/sys/block/loop3/queue/read_ahead_kb", "16384\n");
    auto back = k.restore(ra("loop3"), "128");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(t.get("/sys/block/loop3/queue/read_ahead_kb"), "128\n");
    EXPECT_FALSE(k.write(ra("loop3"), "100000"));
    EXPECT_EQ(t.get("/sys/block/loop3/queue/read_ahead_kb"), "128\n");
}

TEST(Knobs, ReadBackMismatchRestoresTheOldValue) {
    // A choice file in a fake tree reads back as written ("bfq"), without brackets around a
    // list: the layer parses one word as the value, so a mismatch needs another value. A
    // directory in place of a file makes the write itself fail instead.
    FakeTree t;
    t.put("/sys/block/loop3/diskseq", "1\n");
    fs::create_directories(t.root() + "/sys/block/loop3/queue/read_ahead_kb");
    Knobs k(t.roots());
    auto w = k.write(ra("loop3"), "256");
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message.find("read_ahead_kb"), std::string::npos) << w.error().message;
}

TEST(Knobs, VanishedAndUnknownObjectsAreClearErrors) {
    FakeTree t;
    Knobs k(t.roots());
    auto r = k.read(ra("loop9"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("device loop9 is gone"), std::string::npos)
        << r.error().message;
    auto n = k.read({KnobKind::sysctl, "kernel.panic", Scope::host()});
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("allowlist"), std::string::npos);
    auto ns = k.read({KnobKind::sysctl, "net.ipv4.tcp_rmem", Scope::netns("nope")});
    ASSERT_FALSE(ns);
    EXPECT_NE(ns.error().message.find("network namespace nope is gone"), std::string::npos)
        << ns.error().message;
    EXPECT_FALSE(k.identity(Scope::cgroup("/gone")));
    EXPECT_FALSE(k.identity(Scope::pid(999999)));
}

TEST(Knobs, SysctlAndCgroupFiles) {
    FakeTree t;
    t.put("/proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");
    t.put("/cgroup2/test/a/cpu.weight", "100\n");
    t.put("/cgroup1/cpu/test/a/cpu.shares", "1024\n");
    Knobs k(t.roots());
    KnobId rmem{KnobKind::sysctl, "net.ipv4.tcp_rmem", Scope::host()};
    ASSERT_TRUE(k.write(rmem, "4096 131072 12582912"));
    EXPECT_EQ(t.get("/proc/sys/net/ipv4/tcp_rmem"), "4096 131072 12582912\n");
    KnobId weight{KnobKind::cgroup, "cpu.weight", Scope::cgroup("/test/a")};
    ASSERT_TRUE(k.write(weight, "200"));
    EXPECT_EQ(t.get("/cgroup2/test/a/cpu.weight"), "200\n");
    KnobId shares{KnobKind::cgroup, "cpu.shares", Scope::cgroup("/test/a")};
    ASSERT_TRUE(k.write(shares, "2048"));
    EXPECT_EQ(t.get("/cgroup1/cpu/test/a/cpu.shares"), "2048\n");
    EXPECT_EQ(k.display_name(shares), t.root() + "/cgroup1/cpu/test/a/cpu.shares");
    KnobRoots v2only = t.roots();
    v2only.cgroup1.clear();
    auto e = Knobs(v2only).read(shares);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("v1 cpu hierarchy"), std::string::npos) << e.error().message;
}

TEST(Knobs, NetnsThatIsNotANamespaceFailsWithoutMovingUs) {
    FakeTree t;
    t.put("/run/netns/fake", "");
    t.put("/proc/sys/net/ipv4/tcp_rmem", "4096 131072 6291456\n");
    Knobs k(t.roots());
    auto r = k.read({KnobKind::sysctl, "net.ipv4.tcp_rmem", Scope::netns("fake")});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("join network namespace"), std::string::npos)
        << r.error().message;
}

TEST(Knobs, NiceAndAffinityOfAChildOfOurs) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    // Killed on every way out of the test, or it would hold our output pipe open.
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
        }
    } reaper{child};
    Knobs k(KnobRoots{});
    KnobId nice{KnobKind::nice, "nice", Scope::pid(child)};
    auto before = k.read(nice);
    ASSERT_TRUE(before) << before.error().message;
    const int n0 = std::stoi(before->value);
    if (n0 <= 14) {
        auto w = k.write(nice, std::to_string(n0 + 5));  // raising nice needs no privilege
        EXPECT_TRUE(w) << w.error().message;
        EXPECT_EQ(k.read(nice)->value, std::to_string(n0 + 5));
    }
    EXPECT_FALSE(k.write(nice, std::to_string(n0 + 6 > 19 ? 13 : n0 + 11)));  // > one step
    KnobId cpus{KnobKind::affinity, "cpus", Scope::pid(child)};
    auto all = k.read(cpus);
    ASSERT_TRUE(all) << all.error().message;
    auto one = k.write(cpus, "0");
    EXPECT_TRUE(one) << one.error().message;
    EXPECT_EQ(k.read(cpus)->value, "0");
    EXPECT_TRUE(k.identity(Scope::pid(child)).value().starts_with("start "));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    reaper.pid = 0;
    auto gone = k.read(nice);
    ASSERT_FALSE(gone);
    EXPECT_NE(gone.error().message.find("is gone"), std::string::npos) << gone.error().message;
}

}  // namespace
}  // namespace perfbpf::tune
