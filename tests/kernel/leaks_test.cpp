// `perfbpf trace --leaks` against the leak fixtures: exact byte totals and counts per leak
// site (function and file:line), for -- CMD and -p PID; sampled estimates; bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "../elf_relocs.h"
#include "leaks/inject.h"
#include "leaks/target.h"
#include "support.h"
#include "symbolize/proc_maps.h"
#include "symbolize/symbolizer.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::marker_line;
using test::TempDir;

struct Trace {
    int status = -1;
    std::string stderr_text;
    json report;
};

// Runs `perfbpf trace --leaks --json ARGS`, the report written to a file (the traced
// command shares stdout).
// `env` goes in front of the command ("SPDLOG_LEVEL=info"); `err`, when given, is where
// its stderr goes, for a caller that watches it while the trace runs.
Trace trace(const std::string& args, const std::string& env = "", std::string err = "") {
    TempDir dir;
    std::string out = dir.path() + "/report.json";
    if (err.empty()) err = dir.path() + "/stderr";
    Trace t;
    test::run_command(env + (env.empty() ? "" : " ") + test::perfbpf_binary() +
                          " trace --leaks --json -o " + out + " " + args + " >/dev/null 2>" + err,
                      &t.status);
    std::ifstream e(err);
    t.stderr_text.assign(std::istreambuf_iterator<char>(e), {});
    std::ifstream in(out);
    if (in) t.report = json::parse(in, nullptr, false);
    return t;
}

// Waits until the running trace's stderr holds a text, or the trace has ended.
using WaitForText = std::function<void(const char*)>;

// Runs trace(ARGS) and creates `go` once the trace says it is attached, or has ended (the
// fixture waiting for it then ends too): for a fixture that starts on it (wait_start.h), so
// none of its work falls before the tracer however slowly perfbpf starts. `attached`, when
// given, says which it was; `while_traced`, when given, runs after `go` is made, while the
// trace may still run.
Trace trace_then_go(const std::string& args, const std::string& go, bool* attached = nullptr,
                    const std::function<void(const WaitForText&)>& while_traced = {}) {
    const std::string err = go + ".stderr";
    Trace t;
    std::atomic<bool> ended{false};
    std::thread tracer([&] {
        t = trace(args, "SPDLOG_LEVEL=info", err);
        ended = true;
    });
    const WaitForText wait_for = [&](const char* text) {
        while (!ended && test::slurp(err).find(text) == std::string::npos)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    wait_for("attached, ");
    if (attached) *attached = test::slurp(err).find("attached, ") != std::string::npos;
    std::ofstream(go).put('\n');
    if (while_traced) while_traced(wait_for);
    tracer.join();
    return t;
}

// The stack whose frames include `function` at `source`:`line`.
const json* find_site(const json& report, const std::string& function, const std::string& source,
                      int line) {
    if (!report.contains("stacks")) return nullptr;
    for (const auto& s : report["stacks"]) {
        for (const auto& f : s["frames"]) {
            std::string file = f["file"];
            if (f["function"] == function && f["line"] == line && file.ends_with("/" + source))
                return &s;
        }
    }
    return nullptr;
}

void expect_site(const json& report, const std::string& function, const std::string& source,
                 const std::string& marker, double bytes, double allocs, const char* cls) {
    SCOPED_TRACE(function + " (" + marker + ")");
    const json* s = find_site(report, function, source, marker_line(source, marker));
    ASSERT_NE(s, nullptr) << "no stack with " << function << " at " << source << ":"
                          << marker_line(source, marker);
    EXPECT_EQ((*s)["outstanding_bytes"].get<double>(), bytes);
    EXPECT_EQ((*s)["outstanding_allocs"].get<double>(), allocs);
    if (cls) {
        EXPECT_EQ((*s)["class"], cls);
    }
}

bool has_note(const json& report, const std::string& text) {
    if (!report.contains("notes")) return false;
    for (const auto& n : report["notes"])
        if (n.get<std::string>().find(text) != std::string::npos) return true;
    return false;
}

// True when the process maps perfbpf's interposition library.
bool maps_shim(int pid) {
    return test::maps_path_containing(pid, "libperfbpf_shim");
}

// What the process's executable `exe` (a fixture) has in its GOT entry for `symbol` now,
// read from its memory at the relocation's address (from the file's section headers).
uint64_t got_entry(int pid, const std::string& exe, const std::string& symbol) {
    auto relocs = test::relocs_from_sections(exe);
    uint64_t offset = relocs[symbol].empty() ? 0 : *relocs[symbol].begin();
    EXPECT_NE(offset, 0u) << exe << " has no relocation for " << symbol;
    auto maps = read_proc_maps(pid);
    if (!maps || !offset) return 0;
    std::string name = exe.substr(exe.rfind('/'));
    uint64_t base = 0;
    for (const auto& m : *maps)
        if (m.path.ends_with(name) && m.file_offset == 0) base = m.start;
    uint64_t value = 0;
    iovec local{&value, sizeof(value)}, remote{reinterpret_cast<void*>(base + offset), 8};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != 8) return 0;
    return value;
}

// The GOT entry points into the interposition library.
bool entry_in_shim(int pid, uint64_t value) {
    auto maps = read_proc_maps(pid);
    if (!maps) return false;
    for (const auto& m : *maps)
        if (value >= m.start && value < m.end)
            return m.path.find("libperfbpf_shim") != std::string::npos;
    return false;
}

char process_state(int pid) {
    auto stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return 0;
    return (*stat)[stat->rfind(')') + 2];
}

TEST(LeaksExact, CommandReportsEachLeakSiteExactly) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leaky") + " 10");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["mode"], "exact");
    EXPECT_EQ(t.report["estimated"], false);
    EXPECT_EQ(t.report["comm"], "leaky");
    expect_site(t.report, "leak_malloc", "leaky.c", "LEAK:malloc", 10 * 1000, 10, "leak");
    expect_site(t.report, "leak_calloc", "leaky.c", "LEAK:calloc", 10 * 1000, 10, "leak");
    expect_site(t.report, "leak_strdup", "leaky.c", "LEAK:strdup", 10 * 24, 10, "leak");
    expect_site(t.report, "leak_memalign", "leaky.c", "LEAK:posix_memalign", 10 * 4096, 10, "leak");
    // The realloc'ed buffer: one block of its final size, from the realloc call.
    expect_site(t.report, "grow_buffer", "leaky.c", "LEAK:realloc", 10 * 1024, 1, nullptr);
    // Allocated and freed: seen, never outstanding.
    const json* churn = find_site(t.report, "churn", "leaky.c", marker_line("leaky.c", "CHURN:"));
    ASSERT_NE(churn, nullptr);
    EXPECT_EQ((*churn)["total_allocs"], 1000);
    EXPECT_EQ((*churn)["outstanding_bytes"], 0);
    EXPECT_EQ((*churn)["class"], "churn");
    // The fixture has no frame pointers: its stacks still reach _start.
    const json* m =
        find_site(t.report, "leak_malloc", "leaky.c", marker_line("leaky.c", "LEAK:malloc"));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ((*m)["truncated"], false);
    EXPECT_EQ((*m)["frames"].back()["function"], "_start");
}

TEST(LeaksExact, CppNewAndNewArray) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leaky_cpp") + " 20");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "demo::leak_new()", "leaky_cpp.cpp", "LEAK:new", 20 * 48, 20, "leak");
    expect_site(t.report, "demo::leak_new_array()", "leaky_cpp.cpp", "LEAK:new[]", 20 * 1024, 20,
                "leak");
}

TEST(LeaksExact, LeaksFromSeveralThreads) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leaky_threads") + " 4 300");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "thread_leak", "leaky_threads.c", "LEAK:thread", 4 * 300 * 512, 4 * 300,
                "leak");
}

TEST(LeaksExact, LeakInsideDlopenedLibrary) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leaky_dlopen") + " 15");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "plugin_leak", "libleaky_plugin.c", "LEAK:plugin", 15 * 2048, 15, "leak");
    const json* s = find_site(t.report, "plugin_leak", "libleaky_plugin.c",
                              marker_line("libleaky_plugin.c", "LEAK:plugin"));
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE((*s)["frames"][0]["module"].get<std::string>().ends_with("libleaky_plugin.so"));
}

// A leak's frames in one source file, innermost first: (unqualified function, line).
using SourceFrames = std::vector<std::pair<std::string, int>>;

// Each record of `valgrind --leak-check=full CMD`, lost or still reachable (perfbpf counts
// what is outstanding at exit, stdout's buffer too, which valgrind would otherwise free
// with __libc_freeres first): its frames in `source` and the bytes of its own blocks,
// summed per frame list.
std::map<SourceFrames, double> valgrind_leaks(const std::string& cmd, const std::string& source) {
    std::map<SourceFrames, double> out;
    std::string command =
        "valgrind --leak-check=full --show-leak-kinds=all --run-libc-freeres=no "
        "--run-cxx-freeres=no " +
        cmd + " 2>&1 >/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(command.c_str(), "r"), ::pclose);
    if (!p) return out;
    auto number = [](std::string_view s) {
        double n = 0;
        for (char c : s) {
            if (c == ',') continue;
            if (c < '0' || c > '9') break;
            n = n * 10 + (c - '0');
        }
        return n;
    };
    SourceFrames frames;
    double bytes = -1;
    auto flush = [&] {
        if (bytes >= 0 && !frames.empty()) out[frames] += bytes;
        frames.clear();
        bytes = -1;
    };
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), p.get())) {
        std::string_view l(buf);
        auto body = l.find("== ");
        if (body == std::string_view::npos) continue;
        l.remove_prefix(body + 3);
        if (l.find(" in loss record ") != std::string_view::npos) {
            flush();
            // "1,632 (96 direct, 1,536 indirect) bytes in 3 blocks are definitely lost ..."
            auto paren = l.find('(');
            bytes = number(paren != std::string_view::npos && paren < l.find(" bytes")
                               ? l.substr(paren + 1)
                               : l);
            continue;
        }
        // "   by 0x10925B: Session (leaky_inline.cpp:19)"
        auto colon = l.find(": "), open = l.rfind(" ("), sep = l.rfind(':');
        if (l.find("by 0x") == std::string_view::npos || colon == std::string_view::npos ||
            open == std::string_view::npos || sep <= open)
            continue;
        if (l.substr(open + 2, sep - open - 2) != source) continue;
        frames.emplace_back(std::string(l.substr(colon + 2, open - colon - 2)),
                            static_cast<int>(number(l.substr(sep + 1))));
    }
    flush();
    return out;
}

// The same for perfbpf's report: outstanding bytes per list of frames in `source`, each
// function without its namespaces and classes (valgrind prints DW_AT_name alone).
std::map<SourceFrames, double> perfbpf_leaks(const json& report, const std::string& source) {
    std::map<SourceFrames, double> out;
    for (const auto& s : report["stacks"]) {
        SourceFrames frames;
        for (const auto& f : s["frames"]) {
            if (!f["file"].get<std::string>().ends_with("/" + source)) continue;
            std::string fn = f["function"];
            if (auto c = fn.rfind("::"); c != std::string::npos) fn = fn.substr(c + 2);
            frames.emplace_back(fn, f["line"].get<int>());
        }
        double bytes = s["outstanding_bytes"];
        if (!frames.empty() && bytes > 0) out[frames] += bytes;
    }
    return out;
}

// Allocations inside functions -O1 and -O2 inline into main: each stack names every
// inlined function at its call site, the same stacks and bytes valgrind reports.
class LeaksInlined : public testing::TestWithParam<const char*> {};

TEST_P(LeaksInlined, NameEachInlinedFunctionAsValgrindDoes) {
    PERFBPF_REQUIRE_ROOT();
    const std::string bin = fixture(GetParam()), src = "leaky_inline.cpp";
    Trace t = trace("-- " + bin + " 20");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "app::(anonymous namespace)::Session::Session", src, "LEAK:buffer",
                20 * 512, 20, "leak");
    const json* s = find_site(t.report, "app::(anonymous namespace)::Session::Session", src,
                              marker_line(src, "LEAK:buffer"));
    ASSERT_NE(s, nullptr);
    const auto& frames = (*s)["frames"];
    size_t i = 0;
    while (i < frames.size() &&
           frames[i]["function"] != "app::(anonymous namespace)::Session::Session")
        ++i;
    ASSERT_LT(i + 2, frames.size()) << frames.dump(1);
    EXPECT_EQ(frames[i]["inlined"], true);
    EXPECT_EQ(frames[i + 1]["function"], "app::(anonymous namespace)::Server::accept");
    EXPECT_EQ(frames[i + 1]["line"], marker_line(src, "LEAK:session"));
    EXPECT_EQ(frames[i + 2]["function"], "main");
    EXPECT_EQ(frames[i + 2]["line"], marker_line(src, "CALL:accept"));
    EXPECT_EQ(frames[i + 2]["inlined"], false);

    auto theirs = valgrind_leaks(bin + " 20", src);
    if (theirs.empty()) PERFBPF_SKIP_OR_FAIL("valgrind not installed or reported no leak");
    auto ours = perfbpf_leaks(t.report, src);
    auto show = [](const std::map<SourceFrames, double>& m) {
        std::string o;
        for (const auto& [fs, b] : m) {
            for (const auto& [fn, line] : fs) o += fn + ":" + std::to_string(line) + " ";
            o += "= " + std::to_string(b) + "\n";
        }
        return o;
    };
    EXPECT_EQ(ours, theirs) << "perfbpf:\n" << show(ours) << "valgrind:\n" << show(theirs);
}

INSTANTIATE_TEST_SUITE_P(Levels, LeaksInlined,
                         testing::Values("leaky_inline_O1", "leaky_inline_O2"));

TEST(LeaksExact, LeakFreeProgramReportsNothingOfItsOwn) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leak_free") + " 200");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    ASSERT_TRUE(t.report.contains("stacks"));
    int own_stacks = 0;
    for (const auto& s : t.report["stacks"]) {
        for (const auto& f : s["frames"]) {
            std::string file = f["file"];
            // printf's stdio buffer is libc's, allocated on the program's behalf.
            if (!file.ends_with("/leak_free.c") ||
                f["line"] == marker_line("leak_free.c", "printf"))
                continue;
            ++own_stacks;
            EXPECT_EQ(s["outstanding_bytes"], 0) << s.dump();
            EXPECT_EQ(s["class"], "churn");
            break;
        }
    }
    // malloc, calloc, strdup, realloc, posix_memalign, aligned_alloc, memalign, mmap
    EXPECT_GE(own_stacks, 8);
}

// Runs many_live holding `blocks` at once, then freeing them all, with room for `room` in
// the table of outstanding allocations: those the table had no room for were neither
// outstanding nor freed, so nothing is left outstanding. Returns the trace.
Trace expect_all_freed(const std::string& options, uint64_t blocks, uint64_t room) {
    Trace t = trace(options + " -- " + fixture("many_live") + " " + std::to_string(blocks));
    EXPECT_EQ(t.status, 0) << t.stderr_text;
    const json* s =
        find_site(t.report, "main", "many_live.c", marker_line("many_live.c", "HOLD:malloc"));
    EXPECT_NE(s, nullptr) << t.report.dump();
    if (!s) return t;
    EXPECT_EQ((*s)["total_allocs"], blocks);
    EXPECT_EQ((*s)["outstanding_bytes"], 0);
    EXPECT_EQ((*s)["outstanding_allocs"], 0);
    EXPECT_NE((*s)["class"], "leak");
    const uint64_t untracked = t.report["counters"]["live_full"];
    const uint64_t site_untracked = (*s)["untracked_allocs"];
    if (room >= blocks) {
        EXPECT_EQ(untracked, 0u);
        EXPECT_EQ((*s)["total_frees"], blocks);
    } else {
        EXPECT_GE(site_untracked, blocks - room);
    }
    EXPECT_LE(site_untracked, untracked);
    return t;
}

// More blocks held at once than --max-live: the report says how many were not tracked.
// A tracer killed with -9 cannot remove its maps file from /tmp; the next session removes
// those whose tracer is gone (issue 14, item 8), and nothing else: not a live tracer's, not
// a link, not another user's.
TEST(LeaksExact, MapsFilesOfKilledTracersAreRemovedAtTheNextStart) {
    PERFBPF_REQUIRE_ROOT();
    auto dead = Child::start([] { return 0; });
    ASSERT_TRUE(dead) << dead.error().message;
    ASSERT_EQ(dead->wait(), 0);  // reaped: its pid is no process's now
    const std::string tmp = "/tmp/perfbpf-maps.";
    const std::string stale = tmp + std::to_string(dead->pid()) + ".tEsT01";
    const std::string live = tmp + std::to_string(::getpid()) + ".tEsT02";
    const std::string link = tmp + std::to_string(dead->pid()) + ".tEsT03";
    const std::string others = tmp + std::to_string(dead->pid()) + ".tEsT04";
    TempDir dir;
    const std::string target = dir.path() + "/target";
    std::ofstream(target) << "kept";
    for (const std::string& f : {stale, live, others}) {
        std::ofstream(f).put('\n');
        ASSERT_EQ(::access(f.c_str(), F_OK), 0) << f;
    }
    ASSERT_EQ(::chown(others.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    Trace t = trace("-- " + fixture("leak_free") + " 1");
    EXPECT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_NE(::access(stale.c_str(), F_OK), 0) << stale << " is still there";
    EXPECT_EQ(::access(live.c_str(), F_OK), 0) << "a live tracer's file was removed";
    EXPECT_EQ(::access(others.c_str(), F_OK), 0) << "another user's file was removed";
    struct stat st {};
    EXPECT_EQ(::lstat(link.c_str(), &st), 0) << "a link was removed";
    EXPECT_EQ(read_file(target).value_or(""), "kept");
    for (const std::string& f : {stale, live, link, others}) ::unlink(f.c_str());
}

TEST(LeaksExact, AllocationsPastMaxLiveAreNotPhantomLeaks) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = expect_all_freed("--max-live 1024", 5000, 1024);
    const uint64_t untracked = t.report["counters"]["live_full"];
    EXPECT_TRUE(has_note(t.report, std::to_string(untracked) +
                                       " allocations untracked: outstanding bytes are a lower "
                                       "bound"))
        << t.report["notes"].dump();
}

// More blocks than the preallocated part of the table (262,144 of the default budget's
// 2,097,152 entries): the rest go to the part allocated as needed, and their frees are
// found there.
TEST(LeaksExact, AllocationsPastThePreallocatedTableAreTrackedAndFreed) {
    PERFBPF_REQUIRE_ROOT();
    expect_all_freed("--live-prealloc 262144", 300000, 2097152);
}

// The default on a machine with the memory: the whole budget preallocated.
TEST(LeaksExact, AllocationsInAWhollyPreallocatedTableAreTrackedAndFreed) {
    PERFBPF_REQUIRE_ROOT();
    expect_all_freed("--live-prealloc 2097152", 300000, 2097152);
}

// Both parts full (1,024 entries past the preallocated ones): no phantom bytes.
TEST(LeaksExact, AllocationsPastBothPartsOfTheTableAreNotPhantomLeaks) {
    PERFBPF_REQUIRE_ROOT();
    expect_all_freed("--max-live 263168 --live-prealloc 262144", 300000, 263168);
}

// A wholly preallocated table that is full: no phantom bytes either.
TEST(LeaksExact, AllocationsPastAWhollyPreallocatedTableAreNotPhantomLeaks) {
    PERFBPF_REQUIRE_ROOT();
    expect_all_freed("--max-live 262144 --live-prealloc 262144", 300000, 262144);
}

// 100 leak sites and room for 63 stacks: the allocations whose stack found no room are
// counted and reported as totals, never as one frameless leak site.
TEST(LeaksExact, StacksPastMaxStacksAreCountedNotLumped) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("--max-stacks 64 -- " + fixture("many_sites"));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    double site_bytes = 0;
    int sites = 0;
    for (const auto& s : t.report["stacks"]) {
        EXPECT_FALSE(s["frames"].empty()) << s.dump();
        if (find_site(json{{"stacks", json::array({s})}}, "leak_here", "many_sites.c",
                      marker_line("many_sites.c", "LEAK:site"))) {
            ++sites;
            site_bytes += s["outstanding_bytes"].get<double>();
        }
    }
    EXPECT_GT(sites, 0);
    EXPECT_LT(sites, 64);
    const uint64_t full = t.report["counters"]["stack_full"];
    EXPECT_GE(full, static_cast<uint64_t>(100 - sites));
    const json& u = t.report["unattributed"];
    EXPECT_GE(u["allocs"].get<uint64_t>(), full);
    // Every leaked byte is either at a site or among the unattributed.
    EXPECT_EQ(site_bytes + u["outstanding_bytes"].get<double>() >= 100 * 1000, true);
    EXPECT_GE(u["outstanding_bytes"].get<double>(), (100 - sites) * 1000.0);
    EXPECT_TRUE(has_note(t.report, "allocations have no stored stack (" + std::to_string(full) +
                                       " because the stack table was full"))
        << t.report["notes"].dump();
}

// A stripped program's stacks that reach its _start (nameless here) are not truncated.
TEST(LeaksExact, StrippedProgramStacksReachingStartAreWhole) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("stripped_leak") + " 10");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    bool leak_seen = false;
    for (const auto& s : t.report["stacks"]) {
        EXPECT_EQ(s["truncated"], false) << s.dump();
        if (s["outstanding_bytes"] == 10 * 700) {
            leak_seen = true;
            // main and _start have no names: the frames say module+0xoffset.
            const std::string last = s["frames"].back()["function"];
            EXPECT_TRUE(last.starts_with("stripped_leak+0x")) << last;
        }
    }
    EXPECT_TRUE(leak_seen) << t.report.dump();
    EXPECT_EQ(t.report["truncated_stacks"], 0);
}

TEST(LeaksExact, RunningProcessByPidThroughUprobes) {
    PERFBPF_REQUIRE_ROOT();
    // Waits 1.5 s (the trace attaches meanwhile), then leaks 20 rounds 50 ms apart.
    Child c = Child::spawn({fixture("leaky"), "20", "1.5", "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Trace t = trace("--mode exact --inject=never -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["pid"], c.pid());
    EXPECT_EQ(t.report["target_exited"], true);
    expect_site(t.report, "leak_malloc", "leaky.c", "LEAK:malloc", 20 * 1000, 20, nullptr);
    expect_site(t.report, "leak_calloc", "leaky.c", "LEAK:calloc", 20 * 1000, 20, nullptr);
    expect_site(t.report, "leak_memalign", "leaky.c", "LEAK:posix_memalign", 20 * 4096, 20,
                nullptr);
    expect_site(t.report, "grow_buffer", "leaky.c", "LEAK:realloc", 20 * 1024, 1, nullptr);
    // strdup allocates inside libc: without frame pointers in the program, the kernel's
    // frame-pointer walk stops at strdup, and the report says the stack is truncated.
    bool strdup_seen = false;
    for (const auto& s : t.report["stacks"]) {
        if (s["frames"].empty() ||
            s["frames"][0]["function"].get<std::string>().find("strdup") == std::string::npos)
            continue;
        strdup_seen = true;
        EXPECT_EQ(s["outstanding_bytes"], 20 * 24);
        EXPECT_EQ(s["outstanding_allocs"], 20);
        if (s["frames"].size() == 1) {
            EXPECT_EQ(s["truncated"], true);
        }
    }
    EXPECT_TRUE(strdup_seen);
    EXPECT_TRUE(has_note(t.report, "uprobes in")) << t.report["notes"].dump();
    EXPECT_FALSE(maps_shim(c.pid())) << "--inject=never must not load the library";
}

// ---- -p PID through the injected interposition library ----

TEST(LeaksInject, RunningCProgramWithoutFramePointers) {
    PERFBPF_REQUIRE_ROOT();
    // Waits 1.5 s (the library is injected meanwhile), then leaks 20 rounds 50 ms apart.
    Child c = Child::spawn({fixture("leaky"), "20", "1.5", "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Trace t = trace("--mode exact -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_TRUE(has_note(t.report, "perfbpf loaded")) << t.report["notes"].dump();
    EXPECT_EQ(t.report["target_exited"], true);
    expect_site(t.report, "leak_malloc", "leaky.c", "LEAK:malloc", 20 * 1000, 20, "leak");
    expect_site(t.report, "leak_calloc", "leaky.c", "LEAK:calloc", 20 * 1000, 20, "leak");
    expect_site(t.report, "leak_memalign", "leaky.c", "LEAK:posix_memalign", 20 * 4096, 20, "leak");
    expect_site(t.report, "grow_buffer", "leaky.c", "LEAK:realloc", 20 * 1024, 1, nullptr);
    // strdup allocates inside libc, through libc's own GOT entry: seen, with the whole
    // stack (the library unwinds with DWARF, not frame pointers).
    expect_site(t.report, "leak_strdup", "leaky.c", "LEAK:strdup", 20 * 24, 20, "leak");
    const json* m =
        find_site(t.report, "leak_malloc", "leaky.c", marker_line("leaky.c", "LEAK:malloc"));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ((*m)["truncated"], false);
    EXPECT_EQ((*m)["frames"].back()["function"], "_start");
    const json* churn = find_site(t.report, "churn", "leaky.c", marker_line("leaky.c", "CHURN:"));
    ASSERT_NE(churn, nullptr);
    EXPECT_EQ((*churn)["total_allocs"], 2000);
    EXPECT_EQ((*churn)["outstanding_bytes"], 0);
}

TEST(LeaksInject, RunningCppProgram) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leaky_cpp"), "20", "1.5", "20"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Trace t = trace("--mode exact --inject=always -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "demo::leak_new()", "leaky_cpp.cpp", "LEAK:new", 20 * 48, 20, "leak");
    expect_site(t.report, "demo::leak_new_array()", "leaky_cpp.cpp", "LEAK:new[]", 20 * 1024, 20,
                "leak");
}

TEST(LeaksInject, LibraryDlopenedAfterInjection) {
    PERFBPF_REQUIRE_ROOT();
    // The plugin is loaded 1.2 s after start (the library is injected before), then leaks
    // 15 times from its own code, which calls malloc through its own GOT.
    Child c = Child::spawn({fixture("leaky_dlopen"), "15", "1.2", "0.5"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Trace t = trace("--mode exact --inject=always -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    expect_site(t.report, "plugin_leak", "libleaky_plugin.c", "LEAK:plugin", 15 * 2048, 15, "leak");
}

TEST(LeaksInject, FreesOfOlderBlocksDoNotHideLeaksAtTheirAddresses) {
    PERFBPF_REQUIRE_ROOT();
    // 30 blocks allocated before the trace are freed after it started, and each address is
    // at once reused by a leak.
    for (const char* inject : {"always", "never"}) {
        SCOPED_TRACE(inject);
        TempDir dir;
        const std::string go = dir.path() + "/go";
        Child c = Child::spawn({fixture("leaky_reuse"), "30", go});
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its 30 blocks
        Trace t = trace_then_go(
            std::string("--mode exact --inject=") + inject + " -p " + std::to_string(c.pid()), go);
        ASSERT_EQ(t.status, 0) << t.stderr_text;
        expect_site(t.report, "leak_again", "leaky_reuse.c", "LEAK:reuse", 30 * 200, 30, nullptr);
        EXPECT_GE(t.report["counters"]["unknown_free"].get<double>(), 30);
    }
}

TEST(LeaksInject, DetachRestoresEveryEntry) {
    PERFBPF_REQUIRE_ROOT();
    // Leaks every 20 ms for 8 s: it is still running when the 1 s trace ends.
    Child c = Child::spawn({fixture("leaky"), "400", "0", "20"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t before = got_entry(c.pid(), fixture("leaky"), "malloc");
    Trace t = trace("--mode exact --inject=always --duration 1 -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["target_exited"], false);
    EXPECT_TRUE(has_note(t.report, "restored")) << t.report["notes"].dump();
    const json* m =
        find_site(t.report, "leak_malloc", "leaky.c", marker_line("leaky.c", "LEAK:malloc"));
    ASSERT_NE(m, nullptr);
    EXPECT_GE((*m)["outstanding_allocs"].get<double>(), 20);
    // The library stays loaded, idle: no entry points into it any more.
    EXPECT_TRUE(maps_shim(c.pid()));
    for (const char* fn : {"malloc", "calloc", "realloc", "posix_memalign", "free"}) {
        uint64_t now = got_entry(c.pid(), fixture("leaky"), fn);
        EXPECT_FALSE(entry_in_shim(c.pid(), now)) << fn;
    }
    EXPECT_EQ(got_entry(c.pid(), fixture("leaky"), "malloc"), before);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(c.exited()) << "the target must keep running";
    EXPECT_NE(process_state(c.pid()), 't');
    // A second trace attaches to the library already loaded, and sees the leaks again.
    Trace again = trace("--mode exact --inject=always --duration 1 -p " + std::to_string(c.pid()));
    ASSERT_EQ(again.status, 0) << again.stderr_text;
    m = find_site(again.report, "leak_malloc", "leaky.c", marker_line("leaky.c", "LEAK:malloc"));
    ASSERT_NE(m, nullptr);
    EXPECT_GE((*m)["outstanding_allocs"].get<double>(), 20);
    EXPECT_FALSE(entry_in_shim(c.pid(), got_entry(c.pid(), fixture("leaky"), "malloc")));
}

TEST(LeaksInject, KilledTracerLeavesTheTargetRunningUnpatched) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leaky"), "600", "0", "20"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    TempDir dir;
    Child tracer = Child::spawn({test::perfbpf_binary(), "trace", "--leaks", "--mode", "exact",
                                 "--inject=always", "--duration", "60", "-o",
                                 dir.path() + "/report", "-p", std::to_string(c.pid())});
    bool patched = false;
    for (int i = 0; i < 100 && !patched; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        patched = entry_in_shim(c.pid(), got_entry(c.pid(), fixture("leaky"), "malloc"));
    }
    ASSERT_TRUE(patched) << "the library was not injected within 5 s";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    tracer.kill();  // SIGKILL: no detach call
    // The library notices the heartbeat stopped (2 s) at its next batch and restores.
    bool restored = false;
    for (int i = 0; i < 100 && !restored; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        restored = !entry_in_shim(c.pid(), got_entry(c.pid(), fixture("leaky"), "malloc"));
    }
    EXPECT_TRUE(restored) << "GOT still patched 5 s after perfbpf was killed";
    EXPECT_FALSE(c.exited()) << "the target must keep running";
    EXPECT_NE(process_state(c.pid()), 't') << "left stopped";
}

TEST(LeaksInject, TargetUnderAnotherTracer) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    const std::string go = dir.path() + "/go";
    Child c = Child::spawn({fixture("leaky"), "20", go, "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int target = c.pid();
    // Another tracer (as gdb would be), holding the process without stopping it.
    auto holder = Child::start([target] {
        if (::ptrace(PTRACE_SEIZE, target, nullptr, nullptr) != 0) return 1;
        ::pause();
        return 0;
    });
    ASSERT_TRUE(holder);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Trace t = trace("--mode exact --inject=always -p " + std::to_string(target));
    EXPECT_EQ(t.status, 1);
    EXPECT_NE(t.stderr_text.find("already traced by pid " + std::to_string(holder->pid())),
              std::string::npos)
        << t.stderr_text;
    EXPECT_EQ(std::count(t.stderr_text.begin(), t.stderr_text.end(), '\n'), 1) << t.stderr_text;
    // auto: uprobes instead, said in one line.
    Trace a = trace_then_go("--mode exact -p " + std::to_string(target), go);
    ASSERT_EQ(a.status, 0) << a.stderr_text;
    EXPECT_TRUE(has_note(a.report, "injection not possible")) << a.report["notes"].dump();
    expect_site(a.report, "leak_malloc", "leaky.c", "LEAK:malloc", 20 * 1000, 20, nullptr);
    EXPECT_FALSE(maps_shim(target));
}

TEST(LeaksInject, StoppedTargetIsLeftStopped) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leaky"), "20", "30", "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(c.pid(), SIGSTOP);
    for (int i = 0; i < 50 && process_state(c.pid()) != 'T'; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    Trace t = trace("--mode exact --inject=always -p " + std::to_string(c.pid()));
    EXPECT_EQ(t.status, 1);
    EXPECT_NE(t.stderr_text.find("is stopped"), std::string::npos) << t.stderr_text;
    EXPECT_EQ(process_state(c.pid()), 'T');
    EXPECT_FALSE(maps_shim(c.pid()));
    ::kill(c.pid(), SIGCONT);
}

TEST(LeaksInject, ProcessExitingDuringInjection) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leaky"), "20", "30", "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto libc = find_mapped_libc(c.pid());
    ASSERT_TRUE(libc) << libc.error().message;
    InjectOptions o;
    o.library = test::shim_library();
    const int pid = c.pid();
    o.on_phase = [pid](InjectPhase p) {
        if (p == InjectPhase::Stopped) ::kill(pid, SIGKILL);  // with its thread stopped
    };
    auto r = inject_shim(pid, *libc, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("exited during injection"), std::string::npos)
        << r.error().message;
    // And killed after dlopen returned: the same clear error.
    Child c2 = Child::spawn({fixture("leaky"), "20", "30", "50"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int pid2 = c2.pid();
    o.on_phase = [pid2](InjectPhase p) {
        if (p == InjectPhase::Loaded) ::kill(pid2, SIGKILL);
    };
    auto libc2 = find_mapped_libc(pid2);
    ASSERT_TRUE(libc2);
    r = inject_shim(pid2, *libc2, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("exited during injection"), std::string::npos)
        << r.error().message;
}

// Each leak site of `leaky ROUNDS` and its true bytes.
struct Site {
    const char* function;
    const char* marker;
    double bytes_per_round;
};
const Site kLeakySites[] = {{"leak_malloc", "LEAK:malloc", 1000},
                            {"leak_calloc", "LEAK:calloc", 1000},
                            {"leak_memalign", "LEAK:posix_memalign", 4096}};

TEST(LeaksSampled, SmallMeanEstimatesEachLeakWithin15Percent) {
    PERFBPF_REQUIRE_ROOT();
    const int rounds = 3000;  // 3 MB, 3 MB, 12 MB
    const int mean = 8192;    // ≥ 360 samples per leak
    Trace t = trace("--mode sampled --sample-bytes " + std::to_string(mean) + " --seed 7 -- " +
                    fixture("leaky") + " " + std::to_string(rounds));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["estimated"], true);
    for (const auto& site : kLeakySites) {
        SCOPED_TRACE(site.function);
        const json* s =
            find_site(t.report, site.function, "leaky.c", marker_line("leaky.c", site.marker));
        ASSERT_NE(s, nullptr);
        const double truth = site.bytes_per_round * rounds;
        EXPECT_NEAR((*s)["outstanding_bytes"].get<double>(), truth, 0.15 * truth);
        EXPECT_GE((*s)["samples"].get<double>(), 200);
        EXPECT_LE((*s)["outstanding_bytes_lo"].get<double>(),
                  (*s)["outstanding_bytes"].get<double>());
        EXPECT_GE((*s)["outstanding_bytes_hi"].get<double>(),
                  (*s)["outstanding_bytes"].get<double>());
    }
}

TEST(LeaksSampled, DefaultMeanIntervalHoldsTheTruth) {
    PERFBPF_REQUIRE_ROOT();
    const int rounds = 9000;  // malloc 9 MB, calloc 9 MB, posix_memalign 36.9 MB: all ≥ 8 MiB
    Trace t =
        trace("--mode sampled --seed 11 -- " + fixture("leaky") + " " + std::to_string(rounds));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["sample_mean_bytes"], 512 * 1024);
    double sites = 0;
    for (const auto& site : kLeakySites) {
        SCOPED_TRACE(site.function);
        const json* s =
            find_site(t.report, site.function, "leaky.c", marker_line("leaky.c", site.marker));
        ASSERT_NE(s, nullptr);
        const double truth = site.bytes_per_round * rounds;
        sites += truth;
        ASSERT_GE(truth, 8.0 * 1024 * 1024);
        EXPECT_LE((*s)["outstanding_bytes_lo"].get<double>(), truth);
        EXPECT_GE((*s)["outstanding_bytes_hi"].get<double>(), truth);
    }
    // The whole program's interval, every stack's samples together, holds what the fixture
    // keeps: the three sites, the realloc'ed buffer (1024 B a round) and strdup's copies (24
    // B a round), plus a few KiB of libc's own (stdio's buffer).
    const double kept = sites + (1024 + 24) * rounds;
    const auto& whole = t.report["outstanding"];
    double sum = t.report["unattributed"]["outstanding_bytes"].get<double>();
    for (const auto& s : t.report["stacks"]) sum += s["outstanding_bytes"].get<double>();
    EXPECT_NEAR(whole["bytes"].get<double>(), sum, 0.001 * sum + 2);
    EXPECT_GE(whole["samples"].get<double>(), 50);
    EXPECT_LE(whole["bytes_lo"].get<double>(), kept);
    EXPECT_GE(whole["bytes_hi"].get<double>(), kept + 64 * 1024);
}

TEST(LeaksGrowth, NamesTheLeakAndCallsTheCachePlateau) {
    PERFBPF_REQUIRE_ROOT();
    // Every 20 ms: the cache adds a 64 KiB entry until it holds 60 (1.2 s), then replaces
    // them; the leak adds 32 KiB and never frees. Stacks are sampled (one per 64 KiB of
    // growth on average): the cache must still be filling for a good part of the trace.
    // Attaching took longer than that under load: the fixture starts ticking once the
    // trace says it is attached.
    TempDir dir;
    const std::string go = dir.path() + "/go", ticks_file = dir.path() + "/ticks";
    Child c = Child::spawn({fixture("cache_plateau"), "60", "20", "60", go, ticks_file});
    bool attached = false;
    long ticks = 0;
    Trace t = trace_then_go("-p " + std::to_string(c.pid()) + " --duration 4 -i 0.25", go,
                            &attached, [&](const WaitForText& wait_for) {
                                // The ticks the fixture made while traced: read when the trace
                                // stops sampling (a tick or two late at most), as a loaded
                                // machine runs fewer than 4 s / 20 ms.
                                wait_for("stopped after");
                                ticks = std::atol(test::slurp(ticks_file).c_str());
                            });
    ASSERT_TRUE(attached) << "the trace never said it was attached";
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["mode"], "growth");
    ASSERT_TRUE(t.report.contains("processes"));
    const auto& proc = t.report["processes"][0];
    EXPECT_EQ(proc["pid"], c.pid());
    EXPECT_EQ(proc["comm"], "cache_plateau");
    EXPECT_EQ(proc["trend"]["class"], "leak") << proc.dump();
    auto has_frame = [](const json& s, const std::string& fn) {
        for (const auto& f : s["frames"])
            if (f["function"] == fn) return true;
        return false;
    };
    double leak_bytes = 0, cache_bytes = 0, biggest_cache = 0;
    std::string biggest_cache_class;
    for (const auto& s : t.report["stacks"]) {
        const double bytes = s["outstanding_bytes"].get<double>();
        if (has_frame(s, "leak_chunk") && s["class"] == "leak") leak_bytes += bytes;
        if (has_frame(s, "cache_put")) {
            cache_bytes += bytes;
            if (bytes > biggest_cache) {
                biggest_cache = bytes;
                biggest_cache_class = s["class"];
            }
        }
    }
    // The cache's paths (its memset's faults, malloc's heap growth) stopped adding memory.
    EXPECT_GT(cache_bytes, 512 * 1024) << "no stack through cache_put";
    EXPECT_EQ(biggest_cache_class, "plateau");
    // 32 KiB a tick (≈6 MiB in 4 s unloaded, seen twice: faults and heap growth); at least
    // half of what ran must be attributed.
    EXPECT_GT(ticks, 50) << "the fixture hardly ran: nothing to judge";
    EXPECT_GT(leak_bytes, 0.5 * 32 * 1024 * static_cast<double>(ticks)) << ticks << " ticks";
}

// The frames of a growth-mode stack from `module` (a path suffix), innermost first.
std::vector<const json*> frames_in(const json& stack, const std::string& module) {
    std::vector<const json*> out;
    for (const auto& f : stack["frames"])
        if (f["module"].get<std::string>().ends_with("/" + module)) out.push_back(&f);
    return out;
}

// Growth mode for 3 s on a running growth_chain (or its stripped twin) that grows for 20 s.
Trace growth_trace(const std::string& name) {
    Child c = Child::spawn({fixture(name), "20"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return trace("-p " + std::to_string(c.pid()) + " --duration 3 -i 0.5");
}

// growth_chain grows through grow_outer -> grow_middle -> grow_inner, built without frame
// pointers: the kernel's frame-pointer walk sees only the allocator; the DWARF unwind of
// the sampled stack copies must name all three, in order, and reach _start.
TEST(LeaksGrowth, UnwindsAProgramWithoutFramePointers) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = growth_trace("growth_chain");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    ASSERT_EQ(t.report["mode"], "growth");
    double chain_bytes = 0, all_bytes = 0;
    int whole_chains = 0;
    for (const auto& s : t.report["stacks"]) {
        all_bytes += s["outstanding_bytes"].get<double>();
        std::vector<std::string> fns;
        for (const json* f : frames_in(s, "growth_chain")) fns.push_back((*f)["function"]);
        auto at = [&](const std::string& fn) {
            return std::find(fns.begin(), fns.end(), fn) - fns.begin();
        };
        const long inner = at("grow_inner"), middle = at("grow_middle"), outer = at("grow_outer"),
                   main_at = at("main");
        if (inner == static_cast<long>(fns.size())) continue;
        EXPECT_LT(inner, middle) << s.dump();
        EXPECT_LT(middle, outer) << s.dump();
        EXPECT_LT(outer, main_at) << s.dump();
        if (main_at < static_cast<long>(fns.size())) {
            chain_bytes += s["outstanding_bytes"].get<double>();
            whole_chains += !s["truncated"].get<bool>();
        }
    }
    // 32 KiB every 10 ms: ≈9 MiB in 3 s on an idle machine; a loaded one ticks less often.
    EXPECT_GT(chain_bytes, 1.0 * 1024 * 1024) << t.report.dump();
    EXPECT_GT(chain_bytes, 0.7 * all_bytes) << "most growth must be attributed to the chain";
    EXPECT_GT(whole_chains, 0);
    EXPECT_GT(t.report["counters"]["samples"].get<double>(), 10);
}

// The same program stripped of its symbol table and debug info: frames have no names, but
// the unwind through .eh_frame still passes the three functions (named here by the twin
// that has symbols: same code, same addresses) and reaches _start (not truncated).
TEST(LeaksGrowth, UnwindsAStrippedProgramByItsEhFrame) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = growth_trace("growth_chain_stripped");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    Symbolizer sym;
    double chain_bytes = 0;
    int whole_chains = 0;
    for (const auto& s : t.report["stacks"]) {
        std::vector<std::string> fns;
        for (const json* f : frames_in(s, "growth_chain_stripped")) {
            auto named = sym.file(fixture("growth_chain"), (*f)["offset"].get<uint64_t>(), true);
            fns.push_back(named.empty() ? "" : named.back().function);
        }
        if (fns.size() >= 4 && fns[0] == "grow_inner" && fns[1] == "grow_middle" &&
            fns[2] == "grow_outer" && fns[3] == "main") {
            chain_bytes += s["outstanding_bytes"].get<double>();
            whole_chains += !s["truncated"].get<bool>();
        }
    }
    EXPECT_GT(chain_bytes, 1.0 * 1024 * 1024) << t.report.dump();
    EXPECT_GT(whole_chains, 0) << t.report.dump();
}

// Faults on a file's pages add no anonymous memory, even for a file mapped and unmapped
// between two reads of /proc/PID/maps: file_faults reads a 16 MiB file mapping every tick
// (4096 faults) next to a 32 KiB leak. The leak must be found; the file's faults must not
// be growth.
TEST(LeaksGrowth, FaultsOnFilePagesAreNotGrowth) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    Child c = Child::spawn({fixture("file_faults"), dir.path(), "20"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Trace t = trace("-p " + std::to_string(c.pid()) + " --duration 3 -i 0.5");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    double file_path_bytes = 0, leak_bytes = 0;
    for (const auto& s : t.report["stacks"]) {
        for (const auto& f : s["frames"]) {
            if (f["function"] == "touch_file")
                file_path_bytes += s["outstanding_bytes"].get<double>();
            if (f["function"] == "leak_some") leak_bytes += s["outstanding_bytes"].get<double>();
        }
    }
    // The file's faults outnumber the leak's pages 512 to 1: some are sampled, none count.
    EXPECT_GT(t.report["counters"]["file_fault_samples_bytes"].get<double>(), 8.0 * 1024 * 1024);
    EXPECT_EQ(file_path_bytes, 0) << t.report.dump();
    EXPECT_GT(leak_bytes, 512 * 1024) << t.report.dump();
}

TEST(LeaksKernel, SeesPipeAllocationsAProcessHolds) {
    PERFBPF_REQUIRE_ROOT();
    const int pipes = 300;
    TempDir dir;
    const std::string go = dir.path() + "/go";
    Child c = Child::spawn({fixture("pipe_holder"), std::to_string(pipes), go, "4"});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Trace t =
        trace_then_go("--kernel -p " + std::to_string(c.pid()) + " --duration 2.5 -i 0.5", go);
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["mode"], "kernel");
    // Each pipe allocates its buffer array (kcalloc) and its pipe_inode_info in
    // alloc_pipe_info; they stay allocated while the process holds the pipes.
    double held = 0;
    for (const auto& s : t.report["stacks"]) {
        bool in_pipe_alloc = false;
        for (const auto& f : s["frames"]) in_pipe_alloc |= f["function"] == "alloc_pipe_info";
        if (!in_pipe_alloc) continue;
        EXPECT_EQ(s["kernel"], true);
        held = std::max(held, s["outstanding_allocs"].get<double>());
    }
    EXPECT_GE(held, pipes) << "no kernel stack through alloc_pipe_info holding the pipes";
}

// The user part of a kernel-mode stack (the frames after its kernel frames), innermost
// first; empty when a kernel frame follows a user one (the order is broken).
std::vector<std::string> user_part(const json& stack) {
    std::vector<std::string> out;
    for (const auto& f : stack["frames"]) {
        if (!f["kernel"].get<bool>())
            out.push_back(f["function"]);
        else if (!out.empty())
            return {};
    }
    return out;
}

// kernel_chain, built without frame pointers, opens and keeps pipes through make_pipes
// from two callers of the same frame size: the stacks through alloc_pipe_info continue
// with each path into the program, unwound from its stack copy with DWARF, the two kept
// apart.
TEST(LeaksKernel, ShowsTheUserPathOfAProgramWithoutFramePointers) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("kernel_chain"), "60"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Trace t = trace("--kernel -p " + std::to_string(c.pid()) + " --duration 3 -i 0.5");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["mode"], "kernel");
    double left = 0, right = 0, without_user = 0;
    for (const auto& s : t.report["stacks"]) {
        bool in_pipe_alloc = false;
        for (const auto& f : s["frames"]) in_pipe_alloc |= f["function"] == "alloc_pipe_info";
        if (!in_pipe_alloc) continue;
        const auto user = user_part(s);
        const double allocs = s["total_allocs"].get<double>();
        auto path_is = [&](const std::string& holder) {
            auto pipe = std::find(user.begin(), user.end(), "make_pipes");
            return pipe != user.end() && pipe + 2 < user.end() && pipe[1] == holder &&
                   pipe[2] == "main";
        };
        if (path_is("hold_from_left"))
            left += allocs;
        else if (path_is("hold_from_right"))
            right += allocs;
        else
            without_user += allocs;
    }
    // Both holders make the same number of pipes (3 every 20 ms each, two allocations in
    // alloc_pipe_info per pipe); a stack credited to the wrong one would tilt the split.
    EXPECT_GT(left, 20) << t.report.dump();
    EXPECT_GT(right, 20) << t.report.dump();
    EXPECT_NEAR(left / (left + right), 0.5, 0.1) << left << " left, " << right << " right";
    EXPECT_LT(without_user, 0.05 * (left + right)) << t.report.dump();
    EXPECT_GE(t.report["counters"]["user_contexts"].get<double>(), 2);
    EXPECT_EQ(t.report["counters"]["malformed_contexts"], 0);

    // The text report: the kernel frames, the mark, then the program's functions.
    TempDir dir;
    const std::string out = dir.path() + "/report.txt";
    int status = -1;
    test::run_command(test::perfbpf_binary() + " trace --leaks --kernel -p " +
                          std::to_string(c.pid()) + " --duration 2 -i 0.5 -o " + out +
                          " >/dev/null 2>&1",
                      &status);
    ASSERT_EQ(status, 0);
    const std::string text = test::slurp(out);
    const auto kernel = text.find("alloc_pipe_info"), mark = text.find("-- user space --", kernel);
    ASSERT_NE(kernel, std::string::npos) << text;
    ASSERT_NE(mark, std::string::npos) << text;
    const auto pipes = text.find("make_pipes", mark);
    ASSERT_NE(pipes, std::string::npos) << text;
    EXPECT_LT(text.find("    hold_from_", pipes), text.find("    main ", pipes)) << text;
}

// ---- bad input: one clear line, non-zero exit, nothing left running ----

TEST(LeaksBadInput, UnknownPid) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-p 4000000");
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.stderr_text.find("no process 4000000"), std::string::npos) << t.stderr_text;
}

TEST(LeaksBadInput, CommandNotFoundOrNotExecutable) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- /nonexistent/prog");
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.stderr_text.find("/nonexistent/prog"), std::string::npos) << t.stderr_text;
    Trace t2 = trace("-- no-such-command-perfbpf");
    EXPECT_NE(t2.status, 0);
    EXPECT_NE(t2.stderr_text.find("command not found"), std::string::npos) << t2.stderr_text;
    TempDir dir;
    std::string file = dir.path() + "/not-exec";
    std::ofstream(file) << "#!/bin/sh\n";
    Trace t3 = trace("-- " + file);
    EXPECT_NE(t3.status, 0);
    EXPECT_NE(t3.stderr_text.find("not executable"), std::string::npos) << t3.stderr_text;
}

TEST(LeaksBadInput, TargetWithoutLibc) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("static_sleeper"), "10"});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Trace t = trace("--mode exact -p " + std::to_string(c.pid()));
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.stderr_text.find("maps no C library"), std::string::npos) << t.stderr_text;
    EXPECT_FALSE(c.exited()) << "the traced process must be left alone";
}

// LD_PRELOAD cannot reach a static program or one the loader runs in secure mode: the trace
// must refuse, not report "0 leaking stacks" for a program nothing watched.
TEST(LeaksBadInput, CommandTheLibraryCannotLoadInto) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("static_sleeper") + " 1");
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.stderr_text.find("statically linked"), std::string::npos) << t.stderr_text;
    EXPECT_FALSE(t.report.contains("stacks")) << "no report may be written";

    TempDir dir;
    const std::string suid = dir.path() + "/leaky_suid", sgid = dir.path() + "/leaky_sgid";
    for (const auto& copy : {suid, sgid}) {
        std::filesystem::copy_file(fixture("leaky"), copy);
        ASSERT_EQ(::chown(copy.c_str(), copy == suid ? 65534 : 0, 65534), 0);
        ASSERT_EQ(::chmod(copy.c_str(), copy == suid ? 04755 : 02755), 0);
    }
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    Trace u = trace("-- " + suid + " 2");
    EXPECT_NE(u.status, 0);
    EXPECT_NE(u.stderr_text.find("setuid to another user"), std::string::npos) << u.stderr_text;
    Trace g = trace("-- " + sgid + " 2");
    EXPECT_NE(g.status, 0);
    EXPECT_NE(g.stderr_text.find("setgid to another group"), std::string::npos) << g.stderr_text;

    // The same file without the bit is traced as usual (the check is not the file's path).
    ASSERT_EQ(::chmod(suid.c_str(), 0755), 0);
    Trace ok = trace("-- " + suid + " 2");
    EXPECT_EQ(ok.status, 0) << ok.stderr_text;
    EXPECT_TRUE(ok.report.contains("stacks")) << ok.stderr_text;
}

TEST(LeaksBadInput, AllocatorLibWithoutAllocator) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leaky"), "1", "10"});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Trace t =
        trace("--mode exact -p " + std::to_string(c.pid()) + " --allocator-lib " + fixture("spin"));
    EXPECT_NE(t.status, 0);
    EXPECT_NE(t.stderr_text.find("no allocator symbols"), std::string::npos) << t.stderr_text;
}

TEST(LeaksBadInput, NoPermission) {
    PERFBPF_REQUIRE_ROOT();
    int st = 0;
    std::string out = test::run_command(
        // Root without any capability (empty bounding set): like an ordinary user, but
        // able to read the build tree wherever it lives.
        "setpriv --bounding-set=-all --inh-caps=-all " + test::perfbpf_binary() +
            " trace --leaks -- " + fixture("leaky") + " 1 2>&1",
        &st);
    EXPECT_NE(st, 0);
    EXPECT_NE(out.find("trace --leaks"), std::string::npos) << out;
    EXPECT_EQ(out.find("ready"), std::string::npos) << "the command must not have been started";
}

// Reachability at the end: each outstanding block of leak_reach.c by memcheck's classes.
void expect_reach(const json& report, const std::string& function, const std::string& marker,
                  double bytes, const char* field) {
    SCOPED_TRACE(marker);
    const json* s =
        find_site(report, function, "leak_reach.c", marker_line("leak_reach.c", marker));
    ASSERT_NE(s, nullptr) << report.dump(1);
    EXPECT_EQ((*s)["outstanding_bytes"].get<double>(), bytes);
    for (const char* f : {"lost_bytes", "indirect_bytes", "possible_bytes", "reachable_bytes"})
        EXPECT_EQ((*s)[f].get<double>(), std::string(f) == field ? bytes : 0.0) << f;
}

void expect_reach_fixture(const json& report, bool interior) {
    ASSERT_TRUE(report.contains("reachability")) << report.dump(1);
    expect_reach(report, "make_lost", "REACH:lost", 4001, "lost_bytes");
    expect_reach(report, "make_lost", "REACH:indirect", 3002, "indirect_bytes");
    expect_reach(report, "make_global", "REACH:global", 2003, "reachable_bytes");
    expect_reach(report, "main", "REACH:stack", 1004, "reachable_bytes");
    if (interior) expect_reach(report, "make_global", "REACH:interior", 5005, "possible_bytes");
    // The fixture's own blocks are the only lost ones.
    EXPECT_EQ(report["reachability"]["lost_bytes"], 4001);
    EXPECT_EQ(report["reachability"]["indirect_bytes"], 3002);
}

TEST(LeaksReach, ClassesAtTheCommandsExit) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leak_reach"));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["target_exited"], true);
    EXPECT_EQ(t.report["exit_code"], 0);  // the exit status survives the hold at exit
    expect_reach_fixture(t.report, true);
    EXPECT_EQ(t.report["reachability"]["threads"], 1);
    // The text report leads with what is definitely lost.
    TempDir dir;
    const std::string out = dir.path() + "/report.txt";
    int status = -1;
    test::run_perfbpf(
        "trace --leaks -o " + out + " -- " + fixture("leak_reach") + " >/dev/null 2>&1", &status);
    ASSERT_EQ(status, 0);
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto lost = text.find("definitely lost: 3.9 KiB in 1 block");
    ASSERT_NE(lost, std::string::npos) << text;
    const auto first_stack = text.find("\n[");
    ASSERT_NE(first_stack, std::string::npos) << text;
    EXPECT_LT(lost, first_stack);
    EXPECT_EQ(text.substr(first_stack, 18), "\n[definitely lost]") << text;
}

TEST(LeaksReach, ACrashIsScannedWhereItDied) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("-- " + fixture("leak_reach") + " crash");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["exit_code"], 128 + SIGSEGV);
    expect_reach_fixture(t.report, true);
}

TEST(LeaksReach, ClassesOfARunningCommandAtDuration) {
    PERFBPF_REQUIRE_ROOT();
    Trace t = trace("--duration 1.5 -- " + fixture("leak_reach") + " wait");
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    EXPECT_EQ(t.report["target_exited"], false);
    expect_reach_fixture(t.report, true);
}

TEST(LeaksReach, RunningProcessIsScannedAndLetGo) {
    PERFBPF_REQUIRE_ROOT();
    Child c = Child::spawn({fixture("leak_reach"), "wait"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Trace t = trace("--mode exact --duration 1 -p " + std::to_string(c.pid()));
    ASSERT_EQ(t.status, 0) << t.stderr_text;
    // Its blocks predate the trace, so none is known; the scan still ran on every thread.
    ASSERT_TRUE(t.report.contains("reachability")) << t.report.dump(1);
    EXPECT_EQ(t.report["reachability"]["threads"], 1);
    EXPECT_GT(t.report["reachability"]["root_bytes"].get<double>(), 0);
    // Running again and traced by nobody.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(process_state(c.pid()), 'S');
    auto status = read_file("/proc/" + std::to_string(c.pid()) + "/status");
    ASSERT_TRUE(status);
    EXPECT_NE(status->find("TracerPid:\t0\n"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf
