// The net-backlog tuner against a real kernel, touching only a network namespace the test
// creates: a listener there whose accept queue overflows under somaxconn 128 has somaxconn
// raised by `tune --auto --netns`, the overflows stop, the host's value is untouched, and
// `--rollback` restores the namespace's value. (netdev_max_backlog is host-wide: it is
// exercised only in the qemu guest, tests/vm/tune_backlog.sh.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::TempDir;

// A network namespace of ours with its loopback up, removed on destruction.
struct FloodNetns {
    std::string name = "perfbpf-backlog-" + std::to_string(getpid());
    bool ok = false;
    std::string error;
    FloodNetns() {
        made_ = test::run_steps({"ip netns add " + name}, &error);
        ok = made_ && test::run_steps({test::in_netns(name, "ip link set lo up")}, &error);
    }
    ~FloodNetns() {
        if (made_) test::run_command("ip netns del " + name + " 2>&1");
    }
    FloodNetns(const FloodNetns&) = delete;
    FloodNetns& operator=(const FloodNetns&) = delete;

    std::string sysctl(const std::string& file) const {
        return std::string(trim(test::run_command(test::in_netns(name, "cat " + file))));
    }
    bool set_sysctl(const std::string& file, const std::string& v) const {
        int st = -1;
        test::run_command(test::in_netns(name, "sh -c 'echo " + v + " > " + file + "'"), &st);
        return st == 0 && sysctl(file) == v;
    }
    // TcpExt ListenOverflows, as the namespace counts it.
    long long listen_overflows() const {
        std::string out = test::run_command(test::in_netns(
            name,
            "awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "
            "\"ListenOverflows\") c = i; h = 1 } else print $c }' /proc/net/netstat"));
        return out.empty() ? -1 : std::stoll(out);
    }

  private:
    bool made_ = false;
};

constexpr const char* kSomaxconn = "/proc/sys/net/core/somaxconn";

TEST(TuneNetBacklog, ListenOverflowsRaiseSomaxconnInTheNamespaceOnly) {
    PERFBPF_REQUIRE_ROOT();
    FloodNetns ns;
    if (!ns.ok) PERFBPF_SKIP_OR_FAIL("cannot make a network namespace: " + ns.error);
    const std::string host_before = std::string(trim(read_file(kSomaxconn).value_or("?")));
    ASSERT_TRUE(ns.set_sysctl(kSomaxconn, "128"));

    // 300 connections against an accept queue of 129, served 200 a second: overflows all
    // the time, until the queue holds them all (somaxconn 512).
    Child flood =
        Child::spawn({fixture("listen_flood"), "-n", ns.name, "5000", "4096", "300", "40"});
    const long long o0 = ns.listen_overflows();
    sleep(2);
    const long long o1 = ns.listen_overflows();
    std::printf("ListenOverflows under somaxconn 128: %lld in 2 s\n", o1 - o0);
    ASSERT_GT(o1 - o0, 40) << "the fixture did not overflow the accept queue";

    TempDir tmp;
    const std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
    Child tune = Child::spawn(
        {"/bin/sh", "-c",
         "exec " + test::perfbpf_binary() + " tune --auto --only net-backlog --netns " + ns.name +
             " --interval 0.5 --window 8 --settle 1 --duration 14 --state-dir " + state + " >" +
             log + " 2>&1"});
    EXPECT_EQ(tune.wait(), 0) << read_file(log).value_or("");
    std::printf("%s", read_file(log).value_or("").c_str());

    // The namespace's value was raised and kept; overflows stopped.
    EXPECT_EQ(ns.sysctl(kSomaxconn), "512");
    const long long o2 = ns.listen_overflows();
    sleep(2);
    const long long o3 = ns.listen_overflows();
    std::printf("ListenOverflows under somaxconn %s: %lld in 2 s\n", ns.sysctl(kSomaxconn).c_str(),
                o3 - o2);
    EXPECT_LT(o3 - o2, (o1 - o0) / 10);
    flood.kill();

    int st = -1;
    std::string out = test::run_perfbpf("tune --status --json --state-dir " + state, &st);
    ASSERT_EQ(st, 0) << out;
    json s = json::parse(out, nullptr, false);
    ASSERT_FALSE(s.is_discarded()) << out;
    bool found = false;
    for (const auto& c : s["changes"]) {
        EXPECT_EQ(c["scope"], "netns:" + ns.name) << c.dump();  // nothing else was touched
        if (c["knob"] != "net.core.somaxconn") continue;
        found = true;
        std::printf("journal: %s\n", c.dump().c_str());
        EXPECT_EQ(c["original"], "128");
        EXPECT_EQ(c["applied"], "512");
        EXPECT_EQ(c["outcome"], "kept") << c.dump();
    }
    EXPECT_TRUE(found) << out;
    EXPECT_EQ(std::string(trim(read_file(kSomaxconn).value_or("?"))), host_before);

    out = test::run_perfbpf("tune --rollback --netns " + ns.name + " --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    std::printf("%s", out.c_str());
    EXPECT_EQ(ns.sysctl(kSomaxconn), "128");
    EXPECT_EQ(std::string(trim(read_file(kSomaxconn).value_or("?"))), host_before);
}

}  // namespace
}  // namespace perfbpf
