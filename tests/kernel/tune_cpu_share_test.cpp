// The cpu-share tuner against a real kernel, touching only cgroups the test creates: a
// bursty sleeper and a CPU hog pinned to one CPU from two sibling cgroups under a test root
// of ours. `tune --plan` proposes a larger weight for the sleeper and changes nothing;
// `tune --auto --cgroup ROOT` raises it, verifies that the sleeper waits less for the CPU and
// keeps it; the hog's weight is untouched; `--rollback` restores the original. Runs in the
// v1 cpu hierarchy (cpu.shares) and in cgroup v2 (cpu.weight) where v2 has the cpu
// controller; on a hybrid host whose cpu controller is on v1 the v2 case is skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::TempDir;

std::string read_trimmed(const std::string& path) {
    return std::string(trim(read_file(path).value_or("?")));
}

// Whether `file` (cgroup.controllers or cgroup.subtree_control) lists `controller`.
bool lists(const std::string& file, const std::string& controller) {
    std::string text = " " + read_file(file).value_or("") + " ";
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text.find(" " + controller + " ") != std::string::npos;
}

// The test root and its two children in one hierarchy, removed (children first) on
// destruction; `skip` says why they could not be made.
struct TestCgroups {
    test::CgroupHierarchy h;
    std::string key;                            // cpu.shares or cpu.weight
    std::string root_path, hog_path, lat_path;  // inside the hierarchy
    selftest::CgroupDir root, hog, lat;
    std::string skip, error;

    explicit TestCgroups(test::CgroupHierarchy hier) : h(std::move(hier)) {
        key = h.name == "v2" ? "cpu.weight" : "cpu.shares";
        auto own = selftest::own_cgroup(h.controller);
        if (!own) {
            error = "this process is in no " + h.name + " cgroup";
            return;
        }
        const std::string base = *own == "/" ? "" : *own;
        const std::string parent = h.root + base;
        if (h.name == "v2" && !lists(parent + "/cgroup.subtree_control", "cpu")) {
            skip = "cgroup v2 at " + h.root + " does not give its children the cpu controller (" +
                   parent + "/cgroup.subtree_control: '" +
                   read_trimmed(parent + "/cgroup.subtree_control") +
                   "'): cpu.weight exists only where it does";
            return;
        }
        const std::string tag = "perfbpf-cpushare-" + std::to_string(getpid());
        auto r = selftest::CgroupDir::create(parent, tag);
        if (!r) {
            error = r.error().message;
            return;
        }
        root = std::move(*r);
        if (h.name == "v2") {
            if (auto w = write_file(root.dir() + "/cgroup.subtree_control", "+cpu"); !w) {
                error = w.error().message;
                return;
            }
        }
        for (auto [dir, name] : {std::pair{&hog, "hog"}, std::pair{&lat, "lat"}}) {
            auto c = selftest::CgroupDir::create(root.dir(), name);
            if (!c) {
                error = c.error().message;
                return;
            }
            *dir = std::move(*c);
        }
        root_path = base + "/" + tag;
        hog_path = root_path + "/hog";
        lat_path = root_path + "/lat";
    }
    ~TestCgroups() {
        lat.remove();
        hog.remove();
        root.remove();
    }
    std::string weight(const selftest::CgroupDir& d) const {
        return read_trimmed(d.dir() + "/" + key);
    }
};

TEST(TuneCpuShare, StarvedSleeperGetsMoreWeightAndKeepsIt) {
    PERFBPF_REQUIRE_ROOT();
    auto all = test::cgroup_hierarchies();
    if (all.empty()) PERFBPF_SKIP_OR_FAIL("neither a v1 cpu hierarchy nor cgroup v2 is mounted");
    std::vector<std::string> skipped;
    int ran = 0;
    for (const test::CgroupHierarchy& h : all) {
        SCOPED_TRACE("hierarchy " + h.name + " at " + h.root);
        TestCgroups cg(h);
        if (!cg.skip.empty()) {
            std::printf("[skipped] %s: %s\n", h.name.c_str(), cg.skip.c_str());
            skipped.push_back(cg.skip);
            continue;
        }
        ASSERT_TRUE(cg.error.empty()) << cg.error;
        ++ran;
        const std::string original = h.name == "v2" ? "100" : "1024";
        const std::string raised = h.name == "v2" ? "400" : "4096";
        ASSERT_EQ(cg.weight(cg.lat), original);
        ASSERT_EQ(cg.weight(cg.hog), original);

        // Both on CPU 0 for longer than the test needs; killed at the end.
        auto hog = test::start_in_cgroups(
            {cg.hog.dir() + "/cgroup.procs"}, [] { return selftest::spin_for(60); }, 0);
        ASSERT_TRUE(hog) << hog.error().message;
        auto lat = test::start_in_cgroups(
            {cg.lat.dir() + "/cgroup.procs"}, [] { return test::bursts(60, 200, 2000); }, 0);
        ASSERT_TRUE(lat) << lat.error().message;

        TempDir tmp;
        const std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
        const std::string scope = " --only cpu-share --cgroup " + cg.root_path;

        // --plan: the sleeper's weight is proposed, nothing is written.
        int st = -1;
        std::string out = test::run_perfbpf(
            "tune --plan --json --duration 3" + scope + " --state-dir " + tmp.path() + "/plan",
            &st);
        ASSERT_EQ(st, 0) << out;
        json plan = json::parse(out, nullptr, false);
        ASSERT_FALSE(plan.is_discarded()) << out;
        ASSERT_EQ(plan["changes"].size(), 1u) << out;
        const json& p = plan["changes"][0];
        std::printf("[measured] %s plan: %s\n", h.name.c_str(), p.dump().c_str());
        EXPECT_EQ(p["tuner"], "cpu-share");
        EXPECT_EQ(p["knob"], cg.lat.dir() + "/" + cg.key);
        EXPECT_EQ(p["scope"], "cgroup:" + cg.lat_path);
        EXPECT_EQ(p["current"], original);
        EXPECT_EQ(p["proposed"], raised);
        EXPECT_EQ(cg.weight(cg.lat), original);
        EXPECT_EQ(cg.weight(cg.hog), original);
        EXPECT_NE(::access((tmp.path() + "/plan").c_str(), F_OK), 0) << "plan created a state dir";

        // --auto: 3 s of evidence, the raise, 0.5 s settling, 3 s of verification; the next
        // raise would wait for --min-gap (60 s), beyond --duration.
        Child tune =
            Child::spawn({"/bin/sh", "-c",
                          "exec " + test::perfbpf_binary() + " tune --auto" + scope +
                              " --interval 0.5 --window 6 --settle 1 --duration 12 --state-dir " +
                              state + " >" + log + " 2>&1"});
        EXPECT_EQ(tune.wait(), 0) << read_file(log).value_or("");
        std::printf("%s", read_file(log).value_or("").c_str());
        const std::string lat_after = cg.weight(cg.lat), hog_after = cg.weight(cg.hog);

        out = test::run_perfbpf("tune --status --json --state-dir " + state, &st);
        ASSERT_EQ(st, 0) << out;
        json s = json::parse(out, nullptr, false);
        ASSERT_FALSE(s.is_discarded()) << out;
        ASSERT_EQ(s["changes"].size(), 1u) << out;  // nothing but the sleeper's weight
        const json& c = s["changes"][0];
        std::printf("[measured] %s %s of %s: %s -> %s (%s): %s\n", h.name.c_str(), cg.key.c_str(),
                    cg.lat_path.c_str(), c.value("original", "?").c_str(), lat_after.c_str(),
                    c.value("outcome", "?").c_str(), c.value("detail", "").c_str());
        EXPECT_EQ(c["knob"], cg.lat.dir() + "/" + cg.key);
        EXPECT_EQ(c["scope"], "cgroup:" + cg.lat_path);
        EXPECT_EQ(c["original"], original);
        EXPECT_EQ(c["applied"], raised);
        EXPECT_EQ(c["outcome"], "kept") << c.dump();
        EXPECT_EQ(lat_after, raised);
        EXPECT_EQ(hog_after, original);

        out = test::run_perfbpf(
            "tune --rollback --cgroup " + cg.root_path + " --state-dir " + state, &st);
        EXPECT_EQ(st, 0) << out;
        std::printf("%s", out.c_str());
        EXPECT_EQ(cg.weight(cg.lat), original);
        EXPECT_EQ(cg.weight(cg.hog), original);
        hog->kill();
        lat->kill();
    }
    if (ran == 0) PERFBPF_SKIP_OR_FAIL("no hierarchy with a CPU weight: " + skipped.front());
}

}  // namespace
}  // namespace perfbpf
