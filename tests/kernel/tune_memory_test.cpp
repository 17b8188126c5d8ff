// `perfbpf tune --only memory` on a v2 cgroup of ours (removed afterwards): where this
// host's memory controller is on v1 (hybrid), the plan must say that memory.high needs
// cgroup v2 instead of staying silent; where it is on v2, no such note. Nothing is changed
// here either way (--plan); lowering memory.high is tested in the guest (tune_memory.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "collect/cgroup_source.h"
#include "selftest/cgroup.h"
#include "support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::TempDir;

TEST(TuneMemory, PlanOnAV2CgroupNamesWhatMemoryHighNeeds) {
    PERFBPF_REQUIRE_ROOT();
    CgroupRoots roots = CgroupSource::mounted_roots("/proc");
    if (roots.v2.empty()) PERFBPF_SKIP_OR_FAIL("no cgroup2 mount");
    auto own = selftest::own_cgroup("");
    ASSERT_TRUE(own) << "this process is in no v2 cgroup";
    const std::string own_rel = *own == "/" ? "" : *own;
    const std::string name = "perfbpf-test-mem-" + std::to_string(::getpid());
    auto cg = selftest::CgroupDir::create(roots.v2 + own_rel, name);
    ASSERT_TRUE(cg) << cg.error().message;
    const std::string rel = own_rel + "/" + name;
    const std::string controllers = read_file(cg->dir() + "/cgroup.controllers").value_or("");
    const bool memory_on_v2 = (" " + controllers + " ").find(" memory") != std::string::npos;

    const std::string procs = cg->dir() + "/cgroup.procs";
    auto holder = Child::start([procs] {
        if (!write_file(procs, std::to_string(::getpid()))) return 2;
        ::sleep(20);
        return 0;
    });
    ASSERT_TRUE(holder) << holder.error().message;
    TempDir tmp;
    int st = -1;
    std::string out = test::run_perfbpf(
        "tune --plan --json --only memory --duration 2.5 "
        "--interval 0.5 --cgroup " +
            rel + " --state-dir " + tmp.path() + "/state",
        &st);
    ASSERT_EQ(st, 0) << out;
    json j = json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    std::printf("[measured] memory controller on %s: %s\n", memory_on_v2 ? "v2" : "v1",
                j["changes"].dump().c_str());
    for (const auto& c : j["changes"]) EXPECT_EQ(c["scope"], "cgroup:" + rel) << c.dump();
    if (memory_on_v2) {
        // A sleeping shell is far under min_current_bytes: no change, and no note.
        EXPECT_TRUE(j["changes"].empty()) << out;
        return;
    }
    ASSERT_EQ(j["changes"].size(), 1u) << out;
    const json& c = j["changes"][0];
    EXPECT_EQ(c["tuner"], "memory");
    EXPECT_EQ(c["key"], "memory.high");
    EXPECT_EQ(c["proposed"], "");
    if (!roots.v1_memory.empty())
        EXPECT_EQ(c["unavailable"], "memory.high needs cgroup v2; the memory controller of " + rel +
                                        " is on v1 (hybrid host)");
    else  // no memory controller mounted anywhere
        EXPECT_EQ(c["unavailable"].get<std::string>().rfind("no memory data for " + rel, 0), 0u)
            << c.dump();
    EXPECT_EQ(c["blocked"], c["unavailable"]);
    // The text plan says so too.
    out = test::run_perfbpf("tune --plan --only memory --duration 1.5 --interval 0.5 --cgroup " +
                                rel + " --state-dir " + tmp.path() + "/state",
                            &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_NE(out.find("nothing to change"), std::string::npos) << out;
    EXPECT_NE(out.find("not applicable: " + c["unavailable"].get<std::string>()), std::string::npos)
        << out;
    holder->kill();
}

}  // namespace
}  // namespace perfbpf
