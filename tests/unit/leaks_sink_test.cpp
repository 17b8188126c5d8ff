// The leak report's reachability and sampled-total output (text and JSON).
#include <gtest/gtest.h>

#include <algorithm>

#include "sinks/leaks_sink.h"

namespace perfbpf {
namespace {

LeakStack stack(const char* fn, double outstanding, LeakClass cls) {
    LeakStack s;
    s.outstanding_bytes = outstanding;
    s.outstanding_allocs = 1;
    s.trend.cls = cls;
    s.frames.push_back({fn, "a.c", 1, "/bin/a", 0x10, false});
    return s;
}

LeakReport scanned_report() {
    LeakReport r;
    r.mode = "exact";
    r.stacks.push_back(stack("cache_fill", 90000, LeakClass::leak));
    r.stacks.back().reachable_bytes = 90000;
    r.stacks.push_back(stack("lose_it", 4001, LeakClass::plateau));
    r.stacks.back().lost_bytes = 4001;
    r.stacks.push_back(stack("child_of_lost", 3002, LeakClass::plateau));
    r.stacks.back().indirect_bytes = 3002;
    r.reach = {true, 4001, 3002, 0, 90000, 1, 1, 0, 1, 123456, 2};
    return r;
}

TEST(LeaksSink, TextLeadsWithDefinitelyLost) {
    const std::string text = leaks_text(scanned_report(), 10, true);
    const auto summary = text.find("definitely lost: 3.9 KiB in 1 block; indirectly lost: ");
    ASSERT_NE(summary, std::string::npos) << text;
    // The lost stack comes first although the growing one holds more and classes first.
    const auto lost = text.find("[definitely lost] 3.9 KiB"), cache = text.find("cache_fill");
    ASSERT_NE(lost, std::string::npos) << text;
    EXPECT_LT(summary, lost);
    EXPECT_LT(lost, cache);
    EXPECT_LT(lost, text.find("lose_it"));
    EXPECT_LT(text.find("lose_it"), cache);
}

TEST(LeaksSink, JsonHasEachStacksClassesAndTheTotals) {
    auto j = leaks_json(scanned_report());
    EXPECT_EQ(j["reachability"]["lost_bytes"], 4001);
    EXPECT_EQ(j["reachability"]["indirect_blocks"], 1);
    EXPECT_EQ(j["reachability"]["threads"], 2);
    EXPECT_EQ(j["stacks"][1]["lost_bytes"], 4001);
    EXPECT_EQ(j["stacks"][2]["indirect_bytes"], 3002);
    EXPECT_EQ(j["stacks"][0]["reachable_bytes"], 90000);
    EXPECT_EQ(j["stacks"][0]["possible_bytes"], 0);
    EXPECT_FALSE(j.contains("outstanding"));
}

TEST(LeaksSink, NoScanNoReachabilityFields) {
    LeakReport r = scanned_report();
    r.reach = {};
    auto j = leaks_json(r);
    EXPECT_FALSE(j.contains("reachability"));
    EXPECT_FALSE(j["stacks"][0].contains("lost_bytes"));
    EXPECT_EQ(leaks_text(r, 10, true).find("definitely lost"), std::string::npos);
}

TEST(LeaksSink, SampledReportGivesTheWholeProgramsInterval) {
    LeakReport r;
    r.mode = "sampled";
    r.estimated = true;
    r.sample_mean_bytes = 524288;
    r.sampled_total = {0, 0, 1570626, 0};
    auto j = leaks_json(r);
    EXPECT_EQ(j["outstanding"]["bytes"], 0);
    EXPECT_EQ(j["outstanding"]["bytes_hi"], 1570626);
    EXPECT_EQ(j["outstanding"]["samples"], 0);
}

// The JSON text the tracer writes is the tree's dump, byte for byte, whatever the report
// holds: stacks with and without frames, strings that need escaping, every optional part.
TEST(LeaksSink, JsonTextIsTheTreesDump) {
    LeakReport scanned = scanned_report();
    scanned.stacks[0].frames.push_back(
        {"ns::f<\"q\">(char\\)", "dir/é.c", 0, "/lib/x\tso", 0xffffffffffffffffULL, true});
    scanned.stacks[1].frames.clear();
    scanned.stacks[2].series = {{0.5, 10}, {1.5, 3002}};
    scanned.stacks[2].trend.confidence = 0.9090909090909091;
    scanned.counters = {{"stacks", 3}, {"events", 12}};
    scanned.notes = {"a \"note\"\n  \"stacks\": []", "second"};
    scanned.target_exited = true;
    scanned.exit_code = 3;
    EXPECT_EQ(leaks_json_text(scanned), leaks_json(scanned).dump(2));

    LeakReport sampled = scanned;
    sampled.reach = {};
    sampled.estimated = true;
    sampled.sample_mean_bytes = 524288;
    sampled.sampled_total = {1, 0, 1570626, 2};
    sampled.stacks[0].outstanding_bytes_hi = 7;
    sampled.stacks[0].samples = 2;
    EXPECT_EQ(leaks_json_text(sampled), leaks_json(sampled).dump(2));

    LeakReport growth;
    growth.mode = "growth";
    ProcessGrowth p;
    p.pid = 7;
    p.comm = "x";
    p.rss = {{1, 4096}};
    growth.processes.push_back(p);
    EXPECT_EQ(leaks_json_text(growth), leaks_json(growth).dump(2));
    EXPECT_EQ(leaks_json_text(LeakReport{}), leaks_json(LeakReport{}).dump(2));
}

// Frames are written once per distinct frame and repeated from there: frames that differ
// in any one field are not taken for each other.
TEST(LeaksSink, JsonTextOfRepeatedAndNearlyEqualFrames) {
    LeakReport r = scanned_report();
    const LeakFrame base{"f", "a.c", 7, "/bin/a", 0x10, false, false};
    std::vector<LeakFrame> variants(7, base);
    variants[1].function = "g";
    variants[2].file = "b.c";
    variants[3].line = 8;
    variants[4].module = "/bin/b";
    variants[5].offset = 0x11;
    variants[6].inlined = true;
    LeakFrame kernel = base;
    kernel.kernel = true;
    variants.push_back(kernel);
    // The same frames in every stack, in another order in the last one.
    for (auto& s : r.stacks) s.frames = variants;
    std::reverse(r.stacks.back().frames.begin(), r.stacks.back().frames.end());
    const std::string text = leaks_json_text(r);
    EXPECT_EQ(text, leaks_json(r).dump(2));
    const auto parsed = nlohmann::json::parse(text);
    EXPECT_EQ(parsed["stacks"][0]["frames"][3]["line"], 8);
    EXPECT_EQ(parsed["stacks"][2]["frames"][0]["kernel"], true);
    EXPECT_EQ(parsed["stacks"][2]["frames"][1]["inlined"], true);
}

// Kernel mode with a target: the kernel frames, then the user call path that led to them.
TEST(LeaksSink, KernelStackThenItsUserPath) {
    LeakReport r;
    r.mode = "kernel";
    LeakStack s = stack("alloc_pipe_info", 4096, LeakClass::plateau);
    s.kernel = true;
    s.frames[0].kernel = true;
    s.frames.push_back({"do_pipe2", "", 0, "[kernel]", 0, false, true});
    s.frames.push_back({"make_pipes", "k.c", 9, "/bin/k", 0x40, false, false});
    s.frames.push_back({"main", "k.c", 20, "/bin/k", 0x80, false, false});
    r.stacks.push_back(s);
    const std::string text = leaks_text(r, 10, true);
    const auto kernel = text.find("do_pipe2"), mark = text.find("-- user space --"),
               user = text.find("make_pipes");
    ASSERT_NE(mark, std::string::npos) << text;
    EXPECT_LT(kernel, mark);
    EXPECT_LT(mark, user);
    EXPECT_EQ(text.find("-- user space --", mark + 1), std::string::npos) << "said once";
    auto j = leaks_json(r);
    EXPECT_EQ(j["stacks"][0]["frames"][1]["kernel"], true);
    EXPECT_EQ(j["stacks"][0]["frames"][2]["kernel"], false);
    EXPECT_EQ(j["stacks"][0]["frames"][2]["function"], "make_pipes");

    // A user-mode report has no kernel frames and no mark.
    EXPECT_EQ(leaks_text(scanned_report(), 10, true).find("-- user space --"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf
