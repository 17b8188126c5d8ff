// `perfbpf tune` against real kernels, touching only what the tests create: loop devices
// over files of ours (on the disk where readahead's effect is measured, else in /dev/shm),
// always named with --device, and state dirs under a temporary directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support.h"
#include "tune/knobs.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::TempDir;
namespace fs = std::filesystem;

// A loop device over a file of ours in `dir`; `fill_mib` of it written first, so reads of
// it are real I/O to the disk below (a sparse file's holes read as fast as memory).
std::optional<selftest::LoopDevice> make_loop(std::string* why, const std::string& dir = "/dev/shm",
                                              int fill_mib = 0) {
    auto d = selftest::LoopDevice::create(512ull << 20, dir);
    if (!d) {
        *why = d.error().message;
        return std::nullopt;
    }
    if (fill_mib > 0) {
        int st = -1;
        std::string out = test::run_command(
            "dd if=/dev/zero of=" + d->device() +
                " bs=1M oflag=direct status=none count=" + std::to_string(fill_mib) + " 2>&1",
            &st);
        if (st != 0) {
            *why = "filling " + d->device() + ": " + out;
            return std::nullopt;
        }
    }
    return std::optional<selftest::LoopDevice>(std::move(*d));
}

std::string queue_file(const selftest::LoopDevice& d, const std::string& key) {
    return "/sys/block/" + d.name() + "/queue/" + key;
}
std::string read_queue(const selftest::LoopDevice& d, const std::string& key) {
    return std::string(trim(read_file(queue_file(d, key)).value_or("?")));
}
void set_queue(const selftest::LoopDevice& d, const std::string& key, const std::string& v) {
    ASSERT_TRUE(write_file(queue_file(d, key), v + "\n"));
    ASSERT_EQ(read_queue(d, key), v);
}

// `perfbpf tune ARGS` as a child of ours, its output going to `log`.
Child spawn_tune(const std::string& args, const std::string& log) {
    return Child::spawn(
        {"/bin/sh", "-c",
         "exec " + test::perfbpf_binary() + " tune " + args + " >" + log + " 2>&1"});
}

json status_json(const std::string& state) {
    int st = -1;
    std::string out = test::run_perfbpf("tune --status --json --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    json j = json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
}

// Waits until `pred` holds, up to `seconds`.
template <class Pred>
bool wait_for(Pred pred, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
}

const std::string kFast = " --interval 0.5 --window 8 --settle 1";

// Runs tune --auto on the device while `mode` reads it; returns the journal's entry for
// read_ahead_kb. The outcome is kept or reverted: verification on a shared machine may
// find the gain within the noise, and then the knob must be back at its original.
json auto_readahead(const selftest::LoopDevice& loop, const std::string& mode, const TempDir& tmp) {
    Child reader = Child::spawn({fixture("blk_reader"), mode, loop.device(), "20"});
    const std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
    Child tune = spawn_tune(
        "--auto --duration 11 --device " + loop.name() + kFast + " --state-dir " + state, log);
    EXPECT_EQ(tune.wait(), 0) << read_file(log).value_or("");
    reader.kill();
    std::printf("%s", read_file(log).value_or("").c_str());
    json s = status_json(state);
    json entry;
    for (const auto& c : s["changes"]) {
        // Strict scope: nothing but our device was touched.
        EXPECT_EQ(c["scope"], "device:" + loop.name()) << c.dump();
        if (c["key"] == "read_ahead_kb") entry = c;
    }
    return entry;
}

TEST(Tune, SequentialReadsRaiseReadahead) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why, "/var/tmp", 512);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    set_queue(*loop, "read_ahead_kb", "128");
    TempDir tmp;
    json e = auto_readahead(*loop, "seq", tmp);
    ASSERT_TRUE(e.is_object()) << "no change of read_ahead_kb was made";
    EXPECT_EQ(e["tuner"], "block-io");
    EXPECT_EQ(e["knob"], "/sys/block/" + loop->name() + "/queue/read_ahead_kb");
    EXPECT_EQ(e["original"], "128");
    EXPECT_EQ(e["applied"], "512");
    EXPECT_GE(e["evidence"]["read_seq_pct"].get<double>(), 90);
    const std::string outcome = e["outcome"];
    ASSERT_TRUE(outcome == "kept" || outcome == "reverted") << e.dump(2);
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), outcome == "kept" ? "512" : "128");
    EXPECT_EQ(e["current"], read_queue(*loop, "read_ahead_kb"));
    EXPECT_GT(e["verification"]["target_samples"][1].get<int>(), 3) << e.dump(2);
}

TEST(Tune, RandomMappedReadsLowerReadahead) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why, "/var/tmp", 512);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    set_queue(*loop, "read_ahead_kb", "128");
    TempDir tmp;
    json e = auto_readahead(*loop, "mmap-rand", tmp);
    ASSERT_TRUE(e.is_object()) << "no change of read_ahead_kb was made";
    EXPECT_EQ(e["original"], "128");
    EXPECT_EQ(e["applied"], "32");
    EXPECT_LE(e["evidence"]["read_seq_pct"].get<double>(), 20);
    const std::string outcome = e["outcome"];
    ASSERT_TRUE(outcome == "kept" || outcome == "reverted") << e.dump(2);
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), outcome == "kept" ? "32" : "128");
}

TEST(Tune, PlanChangesNothing) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    set_queue(*loop, "read_ahead_kb", "128");
    const std::string sched = read_file(queue_file(*loop, "scheduler")).value_or("");
    Child reader = Child::spawn({fixture("blk_reader"), "seq", loop->device(), "10"});
    TempDir tmp;
    int st = -1;
    std::string out = test::run_perfbpf("tune --plan --json --duration 3 --device " + loop->name() +
                                            " --state-dir " + tmp.path() + "/state",
                                        &st);
    reader.kill();
    ASSERT_EQ(st, 0) << out;
    json j = json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    ASSERT_EQ(j["changes"].size(), 1u) << out;
    const json& c = j["changes"][0];
    EXPECT_EQ(c["tuner"], "block-io");
    EXPECT_EQ(c["scope"], "device:" + loop->name());
    EXPECT_EQ(c["current"], "128");
    EXPECT_EQ(c["original"], "128");
    EXPECT_EQ(c["proposed"], "512");
    for (const char* f : {"knob", "evidence", "reason", "expected"})
        EXPECT_TRUE(c.contains(f)) << f;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "128");
    EXPECT_EQ(read_file(queue_file(*loop, "scheduler")).value_or(""), sched);
    EXPECT_NE(::access((tmp.path() + "/state").c_str(), F_OK), 0) << "plan created a state dir";
}

// A loop device whose read_ahead_kb `tune --auto` (a child of ours) has just raised from 128
// to 512 for a sequential reader, the change still being verified (a verification window
// that outlasts the test). Children die before the device goes.
struct PendingRaise {
    std::optional<selftest::LoopDevice> loop;
    TempDir tmp;
    std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
    Child reader, tune;
    std::string skip, failure;  // why it could not be set up
};

std::unique_ptr<PendingRaise> pending_raise() {
    auto p = std::make_unique<PendingRaise>();
    p->loop = make_loop(&p->skip);
    if (!p->loop) {
        p->skip = "no loop device: " + p->skip;
        return p;
    }
    if (!write_file(queue_file(*p->loop, "read_ahead_kb"), "128\n")) {
        p->failure = "cannot set read_ahead_kb";
        return p;
    }
    p->reader = Child::spawn({fixture("blk_reader"), "seq", p->loop->device(), "30"});
    p->tune =
        spawn_tune("--auto --device " + p->loop->name() +
                       " --interval 0.5 --window 6 --verify-window 1000 --state-dir " + p->state,
                   p->log);
    if (!wait_for([&] { return read_queue(*p->loop, "read_ahead_kb") == "512"; }, 20))
        p->failure = "read_ahead_kb was not raised: " + read_file(p->log).value_or("");
    return p;
}

#define PENDING_RAISE(p)                                 \
    auto p = pending_raise();                            \
    if (!p->skip.empty()) PERFBPF_SKIP_OR_FAIL(p->skip); \
    ASSERT_TRUE(p->failure.empty()) << p->failure;       \
    auto& loop = p->loop

// The text plan in human units, with the command that applies it; seconds left while it
// watches on a terminal (script(1) gives it one), never into a pipe.
TEST(Tune, PlanTextShowsProgressOnATerminalOnly) {
    PERFBPF_REQUIRE_ROOT();
    if (std::system("command -v script >/dev/null 2>&1") != 0)
        PERFBPF_SKIP_OR_FAIL("script(1) is not installed (bsdutils)");
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    set_queue(*loop, "read_ahead_kb", "128");
    Child reader = Child::spawn({fixture("blk_reader"), "seq", loop->device(), "20"});
    TempDir tmp;
    const std::string args = "tune --plan --duration 3 --device " + loop->name() + " --state-dir " +
                             tmp.path() + "/state";
    int st = -1;
    const std::string tty = test::run_command(
        "script -q -e -c '" + test::perfbpf_binary() + " " + args + "' /dev/null 2>&1", &st);
    ASSERT_EQ(st, 0) << tty;
    const std::string piped = test::run_perfbpf(args + " 2>&1", &st);
    reader.kill();
    ASSERT_EQ(st, 0) << piped;
    EXPECT_NE(tty.find(" s left (Ctrl-C stops early)"), std::string::npos) << tty;
    EXPECT_EQ(piped.find(" s left"), std::string::npos) << piped;
    for (const std::string* out : {&tty, &piped}) {
        EXPECT_NE(out->find("128 KiB -> 512 KiB"), std::string::npos) << *out;
        EXPECT_NE(
            out->find("apply: sudo perfbpf tune --auto --only block-io --device " + loop->name()),
            std::string::npos)
            << *out;
    }
    std::printf("plan on a terminal:\n%s\n", tty.c_str());
}

TEST(Tune, RollbackAfterKillNineRestoresTheOriginal) {
    PERFBPF_REQUIRE_ROOT();
    PENDING_RAISE(p);
    const std::string& state = p->state;
    Child& tune = p->tune;
    Child& reader = p->reader;
    // A second writer is refused and told who holds the state dir.
    int st = -1;
    std::string second = test::run_perfbpf("tune --rollback --state-dir " + state + " 2>&1", &st);
    EXPECT_EQ(st, 1);
    EXPECT_NE(second.find("pid " + std::to_string(tune.pid())), std::string::npos) << second;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "512");

    tune.kill();  // SIGKILL: no exit handler runs
    reader.kill();
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "512");
    json s = status_json(state);
    ASSERT_EQ(s["changes"].size(), 1u) << s.dump(2);
    EXPECT_EQ(s["changes"][0]["outcome"], "pending");
    EXPECT_TRUE(s["writer"].is_null());

    std::string out = test::run_perfbpf("tune --rollback --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "128") << out;
    s = status_json(state);
    EXPECT_EQ(s["changes"][0]["outcome"], "rolled-back");
    EXPECT_EQ(s["changes"][0]["changed"], false);
    // Idempotent.
    out = test::run_perfbpf("tune --rollback --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_NE(out.find("0 restored"), std::string::npos) << out;
    // The knob is still in the journal, and the summary counts it.
    EXPECT_NE(out.find("1 knob in the journal"), std::string::npos) << out;
    EXPECT_NE(out.find("1 restored earlier"), std::string::npos) << out;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "128");
}

// perfbpf killed after journaling a change but before writing the knob: the journal holds
// an open change the knob never saw. Status must say so, not "changed".
TEST(Tune, StatusReadsTheKnobAfterAKillBeforeItsWrite) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL(why);
    TempDir tmp;
    const std::string state = tmp.path() + "/state";
    ASSERT_TRUE(fs::create_directory(state));
    fs::permissions(state, fs::perms::owner_all, fs::perm_options::replace);
    const std::string original = read_queue(*loop, "read_ahead_kb");
    const std::string to = original == "4096" ? "2048" : "4096";
    const json knob = {{"kind", "block_queue"},
                       {"key", "read_ahead_kb"},
                       {"scope", "device"},
                       {"name", loop->name()}};
    const json records[] = {{{"v", 1},
                             {"type", "original"},
                             {"seq", 1},
                             {"ts_ms", 1},
                             {"pid", 1},
                             {"knob", knob},
                             {"display", loop->name() + " read_ahead_kb"},
                             {"identity", ""},
                             {"value", original}},
                            {{"v", 1},
                             {"type", "change"},
                             {"seq", 2},
                             {"ts_ms", 2},
                             {"pid", 1},
                             {"knob", knob},
                             {"tuner", "block-io"},
                             {"from", original},
                             {"to", to},
                             {"reason", "test"}}};
    {
        std::ofstream j(state + "/tune.journal");
        for (const auto& r : records) j << r.dump() << "\n";
    }
    json s = status_json(state);
    ASSERT_EQ(s["changes"].size(), 1u) << s.dump(2);
    EXPECT_EQ(s["changes"][0]["current"], original);
    EXPECT_EQ(s["changes"][0]["changed"], false) << s.dump(2);
    EXPECT_NE(s["changes"][0].value("note", "").find("not applied"), std::string::npos)
        << s.dump(2);
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), original) << "status must write nothing";

    // The value on the knob (the write happened, its "done" did not): changed.
    set_queue(*loop, "read_ahead_kb", to);
    s = status_json(state);
    EXPECT_EQ(s["changes"][0]["changed"], true) << s.dump(2);
    set_queue(*loop, "read_ahead_kb", original);
}

TEST(Tune, AnAdministratorsChangeWins) {
    PERFBPF_REQUIRE_ROOT();
    PENDING_RAISE(p);
    const std::string& state = p->state;
    const std::string& log = p->log;
    Child& tune = p->tune;
    Child& reader = p->reader;
    set_queue(*loop, "read_ahead_kb", "256");  // someone else
    ASSERT_TRUE(wait_for(
        [&] {
            return read_file(log).value_or("").find("changed by someone else") != std::string::npos;
        },
        5))
        << read_file(log).value_or("");
    tune.kill();
    reader.kill();
    EXPECT_EQ(status_json(state)["changes"][0]["outcome"], "overridden");
    int st = -1;
    std::string out = test::run_perfbpf("tune --rollback --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "256") << out;  // left as they set it
}

TEST(Tune, BadInputIsAClearErrorAndChangesNothing) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    set_queue(*loop, "read_ahead_kb", "128");
    TempDir tmp;
    int st = -1;

    // The knob layer on the real device: outside the allowlist, out of bounds, too far.
    tune::Knobs knobs(tune::KnobRoots::discover());
    auto nomerges = knobs.write(
        {tune::KnobKind::block_queue, "nomerges", tune::Scope::device(loop->name())}, "2");
    ASSERT_FALSE(nomerges);
    EXPECT_NE(nomerges.error().message.find("allowlist"), std::string::npos);
    tune::KnobId ra{tune::KnobKind::block_queue, "read_ahead_kb",
                    tune::Scope::device(loop->name())};
    EXPECT_FALSE(knobs.write(ra, "100000"));
    EXPECT_FALSE(knobs.write(ra, "4096"));  // 32x in one step
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "128");

    // Unknown tuner, a missing state dir parent, a read-only state dir.
    std::string out =
        test::run_perfbpf("tune --auto --only no-such --device " + loop->name() + " 2>&1", &st);
    EXPECT_EQ(st, 1);
    EXPECT_NE(out.find("unknown tuner 'no-such'"), std::string::npos) << out;
    out = test::run_perfbpf("tune --auto --duration 1 --device " + loop->name() + " --state-dir " +
                                tmp.path() + "/no/such 2>&1",
                            &st);
    EXPECT_EQ(st, 1);
    EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
    const std::string ro = tmp.path() + "/ro";
    ASSERT_EQ(::mkdir(ro.c_str(), 0700), 0);
    ASSERT_EQ(::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=1m,mode=0700"), 0)
        << strerror(errno);
    out = test::run_perfbpf(
        "tune --auto --duration 1 --device " + loop->name() + " --state-dir " + ro + " 2>&1", &st);
    ::umount(ro.c_str());
    EXPECT_EQ(st, 1);
    EXPECT_NE(out.find("not writable"), std::string::npos) << out;
    EXPECT_EQ(read_queue(*loop, "read_ahead_kb"), "128");

    // A corrupt journal: rollback and status refuse, the file stays as it was.
    const std::string state = tmp.path() + "/state";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    const std::string journal = state + "/tune.journal";
    std::ofstream(journal) << "{\"v\":1,\"type\":\"bogus\",\"seq\":1}\n{}\n";
    out = test::run_perfbpf("tune --rollback --state-dir " + state + " 2>&1", &st);
    EXPECT_EQ(st, 1);
    EXPECT_NE(out.find("corrupt"), std::string::npos) << out;
    out = test::run_perfbpf("tune --status --state-dir " + state + " 2>&1", &st);
    EXPECT_EQ(st, 1);
    EXPECT_EQ(read_file(journal).value_or(""), "{\"v\":1,\"type\":\"bogus\",\"seq\":1}\n{}\n");
}

TEST(Tune, RollbackOfAVanishedDeviceSaysSo) {
    PERFBPF_REQUIRE_ROOT();
    PENDING_RAISE(p);
    const std::string state = p->state, name = loop->name();
    p->tune.kill();
    p->reader.kill();
    // Detach it and remove the device node itself, so /sys/block/NAME is gone.
    loop.reset();
    {
        int ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        ASSERT_GE(ctl, 0);
        int rc = ::ioctl(ctl, LOOP_CTL_REMOVE, std::stoi(name.substr(4)));
        ::close(ctl);
        if (rc != 0)
            PERFBPF_SKIP_OR_FAIL(name + " was taken by someone else before it could be removed");
    }
    int st = -1;
    std::string out = test::run_perfbpf("tune --rollback --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_NE(out.find("not restored"), std::string::npos) << out;
    EXPECT_NE(out.find("1 left alone"), std::string::npos) << out;
    json s = status_json(state);
    EXPECT_EQ(s["changes"][0]["outcome"], "gone") << s.dump(2);
}

// A network namespace of ours, named under /run/netns as `ip netns add` makes it.
struct TestNetns {
    std::string name = "perfbpf-tune-" + std::to_string(getpid());
    bool ok = false;
    TestNetns() {
        int st = -1;
        test::run_command("ip netns add " + name + " 2>&1", &st);
        ok = st == 0;
    }
    ~TestNetns() {
        if (ok) test::run_command("ip netns del " + name + " 2>&1");
    }
};

TEST(Tune, SysctlsAreWrittenInsideTheNamedNetworkNamespaceOnly) {
    PERFBPF_REQUIRE_ROOT();
    TestNetns ns;
    if (!ns.ok) PERFBPF_SKIP_OR_FAIL("cannot create a network namespace with ip netns add");
    const std::string host_before = read_file("/proc/sys/net/ipv4/tcp_rmem").value_or("?");
    const fs::path our_netns = fs::read_symlink("/proc/thread-self/ns/net");
    tune::Knobs knobs(tune::KnobRoots::discover());
    tune::KnobId rmem{tune::KnobKind::sysctl, "net.ipv4.tcp_rmem", tune::Scope::netns(ns.name)};
    auto before = knobs.read(rmem);
    ASSERT_TRUE(before) << before.error().message;
    auto fields = tune::parse_int_fields(before->value).value();
    const std::string raised = std::to_string(fields[0]) + " " + std::to_string(fields[1]) + " " +
                               std::to_string(fields[2] * 2);
    auto w = knobs.write(rmem, raised);
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_EQ(w->value, raised);
    // Seen from inside the namespace by another process, and not on the host.
    int st = -1;
    std::string inside = test::run_command(
        "nsenter --net=/run/netns/" + ns.name + " cat /proc/sys/net/ipv4/tcp_rmem", &st);
    ASSERT_EQ(st, 0);
    EXPECT_EQ(tune::parse_knob_value(
                  *tune::find_knob_spec(tune::KnobKind::sysctl, "net.ipv4.tcp_rmem"), inside)
                  ->value,
              raised);
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/tcp_rmem").value_or("?"), host_before);
    // Our own thread never moved.
    EXPECT_EQ(fs::read_symlink("/proc/thread-self/ns/net"), our_netns);
    // Host-wide sysctls have no per-namespace value.
    EXPECT_FALSE(knobs.write(
        {tune::KnobKind::sysctl, "net.core.rmem_max", tune::Scope::netns(ns.name)}, "8388608"));
}

}  // namespace
}  // namespace perfbpf
