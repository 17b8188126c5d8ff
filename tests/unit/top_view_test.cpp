#include "sinks/top_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

#include "model/catalogue.h"
#include "sinks/text_sink.h"

namespace perfbpf {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

ProcessSample proc(int pid, std::string comm, double cpu, uint64_t rss_mib, std::string cgroup) {
    ProcessSample p;
    p.pid = pid;
    p.comm = std::move(comm);
    p.cpu_pct = cpu;
    p.oncpu_ns = static_cast<uint64_t>(cpu * 1e7);
    p.rss_bytes = rss_mib * kMiB;
    p.cgroup = std::move(cgroup);
    return p;
}

// Three processes whose orders differ by CPU, RSS and name; sched attached, block not.
Snapshot sample() {
    Snapshot s;
    s.interval_ns = 2'000'000'000;
    s.end_unix_ms = 1'700'000'000'000;
    s.system.ncpus = 2;
    s.system.loadavg[0] = 1.25;
    s.system.total_tasks = 120;
    s.system.running = 3;
    s.system.cpu_busy_pct = 70;
    s.system.mem_total_bytes = 4096 * kMiB;
    s.system.mem_available_bytes = 1024 * kMiB;
    s.system.psi_cpu.available = true;
    s.system.psi_cpu.some.interval_pct = 12.5;
    s.processes.push_back(proc(10, "alpha", 50, 100, "/system.slice/alpha.service"));
    s.processes.push_back(proc(20, "beta", 10, 500, "/user.slice/user-0.slice"));
    s.processes.push_back(proc(30, "gamma", 80, 1, "/system.slice/gamma.service"));
    s.processes[0].runq_lat_p99_us = 1500;
    s.processes[0].read_bytes = 4 * kMiB;
    s.processes[0].write_bytes = 1 * kMiB;
    s.processes[1].read_bytes = 2 * kMiB;
    s.processes[1].write_bytes = 8 * kMiB;
    s.processes[2].exited = true;
    CgroupSample a;
    a.path = "/system.slice";
    a.cpu_pct = 130;
    CgroupSample b;
    b.path = "/user.slice";
    b.cpu_pct = 10;
    s.cgroups = {b, a};
    DeviceSample d1;
    d1.name = "sda";
    d1.util_pct = 20;
    DeviceSample d2;
    d2.name = "loop3";
    d2.util_pct = 90;
    s.devices = {d1, d2};
    CpuSample c0, c1;
    c0.cpu = 0;
    c0.busy_pct = 30;
    c1.cpu = 1;
    c1.busy_pct = 95;
    s.cpus = {c1, c0};
    s.probes.push_back({"sched", "raw_tp/sched_switch", true, true, ""});
    s.probes.push_back({"block", "raw_tp/block_rq_issue", false, false, "not built"});
    return s;
}

std::vector<std::string> column(const TopFrame& f, const std::string& id) {
    size_t at = f.columns.size();
    for (size_t i = 0; i < f.columns.size(); ++i)
        if (f.columns[i].id == id) at = i;
    std::vector<std::string> out;
    if (at == f.columns.size()) return out;
    for (const auto& r : f.rows) out.push_back(r.cells[at]);
    return out;
}

bool has_column(const TopFrame& f, const std::string& id) {
    return std::any_of(f.columns.begin(), f.columns.end(),
                       [&](const TopColumn& c) { return c.id == id; });
}

TopUiState press(TopUiState s, const std::string& keys, TopKeyContext ctx = {}) {
    for (char k : keys) s = handle_top_key(std::move(s), static_cast<unsigned char>(k), ctx);
    return s;
}

TopFrame frame(const Snapshot& s, const TopUiState& st, size_t w = 200, size_t h = 40,
               const std::vector<Verdict>& v = {}) {
    return build_top_frame(&s, v, st, w, h);
}

using Names = std::vector<std::string>;

TEST(TopView, DefaultSortsProcessesByCpuHighFirst) {
    Snapshot s = sample();
    TopFrame f = frame(s, TopUiState{});
    EXPECT_EQ(column(f, "comm"), (Names{"gamma", "alpha", "beta"}));
    EXPECT_EQ(f.total_rows, 3u);
    auto sorted = std::find_if(f.columns.begin(), f.columns.end(),
                               [](const TopColumn& c) { return c.sorted; });
    ASSERT_NE(sorted, f.columns.end());
    EXPECT_EQ(sorted->id, "cpu");
    EXPECT_NE(f.status.text.find("sort CPU% (high first)"), std::string::npos) << f.status.text;
}

TEST(TopView, SortKeysLikeTop) {
    Snapshot s = sample();
    TopUiState st = press({}, "M");
    EXPECT_EQ(st.current_sort().column, "rss");
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"beta", "alpha", "gamma"}));
    st = press(st, "R");
    EXPECT_FALSE(st.current_sort().descending);
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"gamma", "alpha", "beta"}));
    st = press(st, "N");  // pid, low first
    EXPECT_EQ(column(frame(s, st), "pid"), (Names{"10", "20", "30"}));
    st = press(st, "Q");
    EXPECT_EQ(column(frame(s, st), "comm").front(), "alpha");
}

TEST(TopView, RepeatedKeyCyclesThroughItsColumns) {
    TopUiState st = press({}, "I");
    EXPECT_EQ(st.current_sort().column, "read");
    st = press(st, "I");
    EXPECT_EQ(st.current_sort().column, "write");
    st = press(st, "I");
    EXPECT_EQ(st.current_sort().column, "read");
    st = press(st, "T");
    EXPECT_EQ(st.current_sort().column, "tx");
    st = press(st, "T");
    EXPECT_EQ(st.current_sort().column, "rx");
}

TEST(TopView, AngleBracketsMoveTheSortColumn) {
    TopUiState st = press({}, "<");
    EXPECT_EQ(st.current_sort().column, "comm");
    EXPECT_FALSE(st.current_sort().descending);  // names A-Z when first chosen
    st = press(st, "<<<");                       // stops at the first column
    EXPECT_EQ(st.current_sort().column, "pid");
    st = press(st, ">>>");
    EXPECT_EQ(st.current_sort().column, "runq");
    EXPECT_TRUE(st.current_sort().descending);
    auto ids = top_column_ids(TopView::processes);
    st = press(st, std::string(ids.size() + 3, '>'));  // stops at the last column
    EXPECT_EQ(st.current_sort().column, ids.back());
}

TEST(TopView, EveryColumnOfEveryViewSorts) {
    Snapshot s = sample();
    for (char v : std::string("\0cd1", 4)) {
        TopUiState st = v ? press({}, std::string(1, v)) : TopUiState{};
        st = press(st, std::string(20, '<'));
        for (const auto& id : top_column_ids(st.view)) {
            SCOPED_TRACE(std::string(top_view_name(st.view)) + " " + id);
            EXPECT_EQ(st.current_sort().column, id);
            TopFrame f = frame(s, st);
            EXPECT_TRUE(has_column(f, id));
            st = press(st, ">");
        }
    }
}

TEST(TopView, SortKeyWithoutColumnLeavesSortAndSaysWhy) {
    TopUiState st = press({}, "d");
    ASSERT_EQ(st.view, TopView::devices);
    TopSort before = st.current_sort();
    st = press(st, "M");
    EXPECT_EQ(st.current_sort().column, before.column);
    EXPECT_NE(st.message.find("no column for M"), std::string::npos);
    EXPECT_NE(frame(sample(), st).status.text.find("no column for M"), std::string::npos);
    st = press(st, "U");
    EXPECT_TRUE(st.message.empty());  // a message lasts one key
}

TEST(TopView, SortIsKeptPerView) {
    TopUiState st = press({}, "M");  // processes by RSS
    st = press(st, "c");             // cgroups keep their own sort
    EXPECT_EQ(st.current_sort().column, "cpu");
    st = press(st, "c");
    EXPECT_EQ(st.view, TopView::processes);
    EXPECT_EQ(st.current_sort().column, "rss");
}

TEST(TopView, ViewsSwitchWithTabAndTheirKeys) {
    Snapshot s = sample();
    TopUiState st;
    st.selected = 2;
    st = handle_top_key(st, top_key::tab, {});
    EXPECT_EQ(st.view, TopView::cgroups);
    EXPECT_EQ(st.selected, 0u);
    EXPECT_EQ(column(frame(s, st), "cgroup"), (Names{"/system.slice", "/user.slice"}));
    st = handle_top_key(st, top_key::tab, {});
    EXPECT_EQ(st.view, TopView::devices);
    EXPECT_EQ(column(frame(s, st), "device"), (Names{"loop3", "sda"}));  // by util
    st = handle_top_key(st, top_key::tab, {});
    EXPECT_EQ(st.view, TopView::cpus);
    EXPECT_EQ(column(frame(s, st), "cpu"), (Names{"0", "1"}));  // by CPU number
    st = handle_top_key(st, top_key::tab, {});
    EXPECT_EQ(st.view, TopView::processes);
    st = handle_top_key(st, top_key::back_tab, {});
    EXPECT_EQ(st.view, TopView::cpus);
    st = press({}, "d");
    EXPECT_EQ(st.view, TopView::devices);
    EXPECT_TRUE(has_column(frame(s, st), "util"));
    st = press(st, "d");
    EXPECT_EQ(st.view, TopView::processes);
    st = press(st, "1");
    EXPECT_EQ(st.view, TopView::cpus);
    st = press(st, "c");
    EXPECT_EQ(st.view, TopView::cgroups);
}

TEST(TopView, FilterPreviewsWhileTypingAndAppliesOnEnter) {
    Snapshot s = sample();
    TopUiState st = press({}, "/alp");
    EXPECT_EQ(st.mode, TopMode::filter);
    EXPECT_TRUE(st.filter().empty());
    TopFrame f = frame(s, st);
    EXPECT_EQ(column(f, "comm"), (Names{"alpha"}));
    EXPECT_EQ(f.status.text.rfind("Filter: alp", 0), 0u) << f.status.text;
    EXPECT_EQ(f.cursor_column, std::string("Filter: alp").size());
    st = handle_top_key(st, top_key::escape, {});  // cancel: back to everything
    EXPECT_EQ(st.mode, TopMode::normal);
    EXPECT_EQ(frame(s, st).total_rows, 3u);

    st = press(st, "/BEx");
    st = handle_top_key(st, top_key::backspace, {});
    st = handle_top_key(st, top_key::enter, {});
    EXPECT_EQ(st.filter(), "BE");
    f = frame(s, st);
    EXPECT_EQ(column(f, "comm"), (Names{"beta"}));  // case-insensitive
    EXPECT_NE(f.status.text.find("filter \"BE\""), std::string::npos);

    st = press(st, "/");
    EXPECT_EQ(st.filter_edit, "BE");  // editing starts from the applied filter
    st = handle_top_key(st, top_key::ctrl_u, {});
    st = press(st, "q");  // text while editing, not quit
    EXPECT_FALSE(st.quit);
    EXPECT_EQ(st.filter_edit, "q");
    st = handle_top_key(st, top_key::escape, {});
    EXPECT_EQ(st.filter(), "BE");  // cancel keeps the applied one
    st = handle_top_key(st, top_key::escape, {});
    EXPECT_TRUE(st.filter().empty());  // Esc outside editing clears it
}

TEST(TopView, EachViewKeepsItsOwnFilter) {
    Snapshot s = sample();
    TopUiState st = press({}, "/gamma");
    st = handle_top_key(st, top_key::enter, {});
    EXPECT_EQ(frame(s, st).total_rows, 1u);
    st = press(st, "d");  // a process name would hide every device
    EXPECT_TRUE(st.filter().empty());
    EXPECT_EQ(frame(s, st).total_rows, 2u);
    st = press(st, "d");
    EXPECT_EQ(st.filter(), "gamma");
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"gamma"}));
}

TEST(TopView, FilterMatchesPidExactlyAndCgroupBySubstring) {
    Snapshot s = sample();
    TopUiState st;
    st.filter() = "20";
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"beta"}));
    Snapshot hex = s;
    hex.processes[0].cgroup = "/process_api/a75d07c63663bf20";  // digits inside a hex id
    EXPECT_EQ(column(frame(hex, st), "comm"), (Names{"beta"}));
    st.filter() = "2";
    EXPECT_EQ(frame(s, st).total_rows, 0u);
    EXPECT_NE(frame(s, st).status.text.find("processes: no rows"), std::string::npos);
    st.filter() = "system.slice";
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"gamma", "alpha"}));
    st.view = TopView::devices;
    st.filter() = "loop";
    EXPECT_EQ(column(frame(s, st), "device"), (Names{"loop3"}));
    st.view = TopView::cpus;
    st.filter() = "1";
    EXPECT_EQ(column(frame(s, st), "cpu"), (Names{"1"}));
}

TEST(TopView, PauseAndHelpAndQuit) {
    Snapshot s = sample();
    TopUiState st = press({}, "p");
    EXPECT_TRUE(st.paused);
    EXPECT_NE(frame(s, st).status.text.find("PAUSED"), std::string::npos);
    st = press(st, "p");
    EXPECT_FALSE(st.paused);
    st.ended = true;
    EXPECT_NE(frame(s, st).status.text.find("END of data"), std::string::npos);
    st.ended = false;

    st = press(st, "?");
    EXPECT_EQ(st.mode, TopMode::help);
    TopFrame f = frame(s, st);
    ASSERT_FALSE(f.help.empty());
    EXPECT_EQ(f.help.front(), "perfbpf top: keys");
    st = press(st, "x");  // any key closes help and does nothing else
    EXPECT_EQ(st.mode, TopMode::normal);
    EXPECT_TRUE(frame(s, st).help.empty());
    EXPECT_TRUE(st.message.empty());
    st = press(st, "?q");  // q quits from help too
    EXPECT_TRUE(st.quit);
    EXPECT_TRUE(press({}, "q").quit);
}

TEST(TopView, UnknownKeySaysSoResizeIsSilent) {
    TopUiState st = press({}, "Z");
    EXPECT_EQ(st.message, "unknown key (? for help)");
    st = handle_top_key(st, top_key::resize, {});
    EXPECT_TRUE(st.message.empty());
    EXPECT_FALSE(st.quit);
}

TEST(TopView, FitsEightyColumnsDroppingByPriority) {
    Snapshot s = sample();
    TopFrame f = frame(s, TopUiState{}, 80, 24);
    EXPECT_LE(f.column_line.size(), 80u);
    for (const auto& l : f.header) EXPECT_LE(l.text.size(), 80u);
    for (const auto& r : f.rows) EXPECT_LE(r.text.size(), 80u);
    EXPECT_LE(f.status.text.size(), 80u);
    EXPECT_TRUE(f.status.text.ends_with("? help  q quit")) << f.status.text;
    for (const char* id : {"pid", "comm", "cpu", "rss", "runq", "read", "write"})
        EXPECT_TRUE(has_column(f, id)) << id;
    for (const char* id : {"retrans", "cgroup"}) EXPECT_FALSE(has_column(f, id)) << id;
    // Columns keep their order, left to right, without overlapping.
    for (size_t i = 1; i < f.columns.size(); ++i)
        EXPECT_EQ(f.columns[i].offset, f.columns[i - 1].offset + f.columns[i - 1].width + 1);

    // The sorted column is never dropped.
    TopUiState st = press({}, "X");
    EXPECT_TRUE(has_column(frame(s, st, 80, 24), "retrans"));

    f = frame(s, TopUiState{}, 40, 24);
    for (const char* id : {"pid", "comm", "cpu"}) EXPECT_TRUE(has_column(f, id)) << id;
    EXPECT_LE(f.column_line.size(), 40u);
}

TEST(TopView, WideScreenShowsEveryColumnAndGivesSpareWidthToPaths) {
    Snapshot s = sample();
    TopFrame f = frame(s, TopUiState{}, 220, 40);
    EXPECT_EQ(f.columns.size(), top_column_ids(TopView::processes).size());
    EXPECT_GT(f.columns.back().width, 12u);
    EXPECT_EQ(column(f, "cgroup").front(), "/system.slice/gamma.service");
    // Narrower: a long path keeps its tail, the part that names the service.
    f = frame(s, TopUiState{}, 140, 40);
    ASSERT_TRUE(has_column(f, "cgroup"));
    const TopColumn& cg = f.columns.back();
    std::string cell = f.rows.front().text.substr(cg.offset);
    EXPECT_EQ(cell.substr(0, 2), "..") << cell;
    EXPECT_NE(cell.find("gamma.service"), std::string::npos) << cell;
}

TEST(TopView, CellsShowRatesAndDashForAbsentProbes) {
    Snapshot s = sample();
    TopUiState st = press({}, "N");
    TopFrame f = frame(s, st);
    EXPECT_EQ(column(f, "runq"), (Names{"1.5 ms", "0", "0"}));  // sched attached
    EXPECT_EQ(column(f, "read"), (Names{"-", "-", "-"}));       // block not attached
    EXPECT_EQ(column(f, "rss"), (Names{"100 MiB", "500 MiB", "1.0 MiB"}));
    EXPECT_EQ(column(f, "cpu"), (Names{"50.0", "10.0", "80.0"}));
    s.probes[1].attached = true;
    f = frame(s, st);
    EXPECT_EQ(column(f, "read"), (Names{"2.0 MiB", "1.0 MiB", "0"}));  // per second over 2 s
    EXPECT_TRUE(f.rows[2].exited);
    EXPECT_FALSE(f.rows[0].exited);
}

TEST(TopView, HeaderShowsLoadCpuMemoryPsiDropsAndVerdicts) {
    Snapshot s = sample();
    std::vector<Verdict> v = {
        {"cpu", Severity::critical, "runq p99 30 ms on 2 CPUs", "pid 30 gamma"},
        {"disk", Severity::warning, "loop3: util 90 %", "loop3"},
        {"memory", Severity::ok, "available 25 %", ""},
        {"network", Severity::ok, "0 retransmits/s", ""},
    };
    TopFrame f = frame(s, TopUiState{}, 200, 40, v);
    ASSERT_GE(f.header.size(), 8u);
    EXPECT_NE(f.header[0].text.find("load 1.25"), std::string::npos) << f.header[0].text;
    EXPECT_NE(f.header[0].text.find("tasks 120, 3 running"), std::string::npos);
    EXPECT_EQ(f.header[1].text.rfind("CPU   70% busy", 0), 0u) << f.header[1].text;
    EXPECT_NE(f.header[2].text.find("1.0 GiB available of 4.0 GiB (25%)"), std::string::npos)
        << f.header[2].text;
    EXPECT_NE(f.header[3].text.find("cpu 12.5%"), std::string::npos) << f.header[3].text;
    EXPECT_NE(f.header[3].text.find("memory -"), std::string::npos);  // no PSI for memory
    EXPECT_EQ(f.header[4].text.rfind("LOST 0 events", 0), 0u) << f.header[4].text;
    EXPECT_NE(f.header[4].text.find("sched 1/1, block 0/1"), std::string::npos) << f.header[4].text;
    EXPECT_EQ(f.header[5].severity, Severity::critical);
    EXPECT_EQ(f.header[5].text.rfind("cpu      critical runq p99 30 ms", 0), 0u);
    EXPECT_EQ(f.header[6].severity, Severity::warning);
    EXPECT_EQ(f.header[7].text, "ok: memory, network");
    // The process a verdict names is marked in the table.
    EXPECT_EQ(f.rows[0].cells[1], "gamma");
    EXPECT_EQ(f.rows[0].severity, Severity::critical);
    EXPECT_EQ(f.rows[1].severity, Severity::ok);
    TopUiState st = press({}, "d");
    f = frame(s, st, 200, 40, v);
    EXPECT_EQ(f.rows[0].cells[0], "loop3");
    EXPECT_EQ(f.rows[0].severity, Severity::warning);
}

TEST(TopView, LostEventsAreAWarningWithTheirKinds) {
    Snapshot s = sample();
    s.drops.total = 12;
    s.drops.by_kind = {{"ring_full", 10}, {"map_full", 2}, {"other", 0}};
    TopFrame f = frame(s, TopUiState{});
    EXPECT_EQ(f.header[4].severity, Severity::warning);
    EXPECT_EQ(f.header[4].text.rfind("LOST 12 events (map_full 2, ring_full 10)", 0), 0u)
        << f.header[4].text;
}

TEST(TopView, ScreenHeightBoundsTheTableAndSelectionScrolls) {
    Snapshot s = sample();
    s.processes.clear();
    for (int i = 1; i <= 100; ++i)
        s.processes.push_back(proc(i, "p" + std::to_string(i), i, 1, "/"));
    TopUiState st;
    TopFrame f = frame(s, st, 80, 24);
    EXPECT_EQ(f.header.size() + 2 + f.page_rows, 24u);
    EXPECT_EQ(f.rows.size(), f.page_rows);
    EXPECT_TRUE(f.rows[0].selected);
    EXPECT_EQ(f.rows[0].cells[1], "p100");

    st = handle_top_key(st, top_key::page_down, f.key_context());
    EXPECT_EQ(st.selected, f.page_rows);
    f = frame(s, st, 80, 24);
    EXPECT_EQ(f.first_row, 1u);  // scrolled just enough to show the selection
    EXPECT_TRUE(f.rows.back().selected);
    EXPECT_NE(f.status.text.find("processes 2-"), std::string::npos) << f.status.text;

    st = handle_top_key(st, top_key::end, f.key_context());
    EXPECT_EQ(st.selected, 99u);
    f = frame(s, st, 80, 24);
    EXPECT_EQ(f.rows.back().cells[1], "p1");
    EXPECT_TRUE(f.rows.back().selected);
    st = handle_top_key(st, top_key::home, f.key_context());
    EXPECT_EQ(st.selected, 0u);
    EXPECT_EQ(st.first_row, 0u);
    st = handle_top_key(st, top_key::up, f.key_context());  // stays at the top
    EXPECT_EQ(st.selected, 0u);
    st = handle_top_key(st, top_key::down, f.key_context());
    st = handle_top_key(st, top_key::down, f.key_context());
    EXPECT_EQ(st.selected, 2u);

    // Fewer rows than the selection (data changed, filter applied): clamped on screen.
    st.selected = 500;
    st.first_row = 480;
    f = frame(s, st, 80, 24);
    EXPECT_TRUE(f.rows.back().selected);
    EXPECT_EQ(f.rows.back().cells[1], "p1");
}

TEST(TopView, TinyScreensAndNoSnapshotDoNotBreak) {
    Snapshot s = sample();
    for (size_t w : {0u, 1u, 10u, 30u})
        for (size_t h : {0u, 1u, 2u, 3u, 5u}) {
            TopFrame f = build_top_frame(&s, {}, TopUiState{}, w, h);
            EXPECT_LE(f.header.size() + 2 + f.rows.size(), std::max<size_t>(h, 2));
            for (const auto& r : f.rows) EXPECT_LE(r.text.size(), w);
            EXPECT_LE(f.status.text.size(), w);
        }
    TopFrame f = build_top_frame(nullptr, {}, TopUiState{}, 80, 24);
    ASSERT_EQ(f.header.size(), 1u);
    EXPECT_NE(f.header[0].text.find("collecting the first interval"), std::string::npos);
    EXPECT_TRUE(f.rows.empty());
    EXPECT_EQ(f.total_rows, 0u);
}

TEST(TopView, HelpFitsEightyByTwentyFour) {
    auto help = top_help_lines();
    EXPECT_LE(help.size() + 2, 24u);
    for (const auto& l : help) EXPECT_LE(l.size() + 4, 80u) << l;
}

// The daemon's firing alerts: one line right under the first, critical first, coloured by
// the worst.
TEST(TopView, HeaderShowsTheDaemonsFiringAlertsWorstFirst) {
    Snapshot s = sample();
    FiringAlerts alerts = {{"disk_latency_p99", Severity::warning, "sda p99 60 ms", 0},
                           {"cpu_busy", Severity::critical, "host CPU busy 91 %", 0}};
    TopFrame f = build_top_frame(&s, {}, TopUiState{}, 200, 40, alerts);
    ASSERT_GE(f.header.size(), 2u);
    const TopLine& line = f.header[1];
    EXPECT_EQ(line.severity, Severity::critical);
    EXPECT_EQ(line.text.rfind("ALERTS 2 firing  critical cpu_busy: host CPU busy 91 %", 0), 0u)
        << line.text;
    EXPECT_NE(line.text.find("warning disk_latency_p99: sda p99 60 ms"), std::string::npos);
    // None firing: no line.
    TopFrame quiet = build_top_frame(&s, {}, TopUiState{}, 200, 40);
    for (const auto& l : quiet.header) EXPECT_EQ(l.text.find("ALERTS"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// Verdicts as detect/verdict.cpp words them: the rules crossed, the numbers, the subject.
Verdict long_verdict(const std::string& resource, Severity sev) {
    if (resource == "cpu")
        return {"cpu", sev,
                "runq p99 30 ms >= 20 ms, tasks waiting per CPU 2.10 >= 1.00; runq p99 30 ms on 2 "
                "CPUs, 4.20 tasks waiting on average, busy 100 %, PSI cpu some 45 %; top waiter: "
                "pid 30 gamma (waited 1.2 s)",
                "pid 30 gamma"};
    if (resource == "disk")
        return {"disk", sev,
                "sda util 97 % >= 95 %; sda: util 97 %, queue 4.1, p99 41 ms, 310 IOPS, PSI io "
                "some 22 %",
                "sda"};
    if (resource == "memory")
        return {"memory", sev,
                "available 4 % <= 5 %; available 4 % of 4.0 GiB, 120 major faults/s, 0 pages "
                "swapped out/s; fastest RSS growth: pid 20 beta +300 MiB",
                "pid 20 beta"};
    return {"network", sev,
            "TCP retransmits 45.0/s >= 20.0/s; 45.0 TCP retransmits/s, 0.0 packet drops/s; most "
            "retransmits: pid 10 alpha",
            "pid 10 alpha"};
}

std::vector<Verdict> with_ok(Verdict bad) {
    std::vector<Verdict> out{std::move(bad)};
    for (const char* r : {"cpu", "disk", "memory", "network"})
        if (out[0].resource != r) out.push_back({r, Severity::ok, "fine", ""});
    return out;
}

std::string header_text(const TopFrame& f) {
    std::string out;
    for (const auto& l : f.header) out += l.text + "\n";
    return out;
}

// Issue 12 item 5: at 80x24 the header keeps to five rows, the verdict is never cut
// silently, its subject survives, and the table keeps the columns that show the problem.
TEST(TopView, EightyByTwentyFourKeepsTheHeaderInFiveRowsForEachVerdictKind) {
    Snapshot s = sample();
    s.probes.push_back({"block", "raw_tp/block_rq_complete", true, true, ""});
    s.probes.push_back({"net", "tp/tcp_retransmit_skb", true, true, ""});
    const std::map<std::string, std::vector<std::string>> kept = {
        {"cpu", {"runq"}},
        {"disk", {"read", "write", "iolat"}},
        {"memory", {"rss", "rss_growth"}},
        {"network", {"tx", "rx", "retrans"}},
    };
    for (const auto& [kind, cols] : kept) {
        for (Severity sev : {Severity::warning, Severity::critical}) {
            std::vector<Verdict> v = with_ok(long_verdict(kind, sev));
            TopFrame f = frame(s, TopUiState{}, 80, 24, v);
            SCOPED_TRACE(kind + "\n" + header_text(f));
            EXPECT_LE(f.header.size(), 5u);
            EXPECT_EQ(f.header.size() + 2 + f.page_rows, 24u);
            for (const auto& l : f.header) EXPECT_LE(l.text.size(), 80u);
            // The verdict lines come right after load, CPU+MEM and PSI+LOST.
            ASSERT_GE(f.header.size(), 4u);
            EXPECT_EQ(f.header[3].text.rfind(kind + " " + severity_name(sev) + ": ", 0), 0u);
            EXPECT_EQ(f.header[3].severity, sev);
            EXPECT_NE(header_text(f).find(v[0].subject), std::string::npos);
            // Everything the verdict says is there, or the cut is marked.
            std::string said;
            for (size_t i = 3; i < f.header.size() && f.header[i].severity == sev; ++i)
                said += f.header[i].text + " ";
            bool whole =
                said.find(v[0].evidence.substr(v[0].evidence.size() - 20)) != std::string::npos;
            EXPECT_TRUE(whole || said.find("... ") != std::string::npos) << said;
            for (const auto& c : cols) EXPECT_TRUE(has_column(f, c)) << c;
        }
    }
    // The short header still says which numbers it has: PSI some, the lost events, memory.
    TopFrame f = frame(s, TopUiState{}, 80, 24, with_ok(long_verdict("cpu", Severity::warning)));
    EXPECT_EQ(f.header[2].text.rfind("PSI some cpu 12.5%", 0), 0u) << f.header[2].text;
    EXPECT_NE(f.header[2].text.find("LOST 0 events"), std::string::npos);
    EXPECT_NE(f.header[1].text.find("MEM avail 1.0 GiB (25%)"), std::string::npos);
    // Tall screens keep the full header.
    EXPECT_GT(frame(s, TopUiState{}, 80, 50, with_ok(long_verdict("cpu", Severity::warning)))
                  .header.size(),
              5u);
}

TEST(TopView, ShortHeaderPutsTheWorstVerdictFirstAndMergesTheRest) {
    Snapshot s = sample();
    std::vector<Verdict> v = {long_verdict("disk", Severity::warning),
                              long_verdict("network", Severity::warning),
                              long_verdict("cpu", Severity::critical),
                              {"memory", Severity::ok, "fine", ""}};
    TopFrame f = frame(s, TopUiState{}, 80, 24, v);
    SCOPED_TRACE(header_text(f));
    ASSERT_EQ(f.header.size(), 5u);
    EXPECT_EQ(f.header[3].text.rfind("cpu critical: ", 0), 0u);
    EXPECT_EQ(f.header[4].text.rfind("also disk warning (sda); network warning (pid 10 alpha)", 0),
              0u);
    EXPECT_EQ(f.header[4].severity, Severity::warning);
    // A short verdict is whole on its line with the ok ones beside it.
    std::vector<Verdict> one = {{"disk", Severity::warning, "sda util 90 % >= 80 %", "sda"},
                                {"cpu", Severity::ok, "", ""},
                                {"memory", Severity::ok, "", ""}};
    f = frame(s, TopUiState{}, 80, 24, one);
    ASSERT_EQ(f.header.size(), 5u);
    EXPECT_EQ(f.header[3].text, "disk warning: sda util 90 % >= 80 %");
    EXPECT_EQ(f.header[4].text, "ok: cpu, memory");
    // Nothing wrong: one line.
    f = frame(s, TopUiState{}, 80, 24, {{"cpu", Severity::ok, "", ""}});
    EXPECT_EQ(f.header.back().text, "ok: cpu");
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TopUiState key(TopUiState s, int k, const TopFrame& f) {
    return handle_top_key(std::move(s), k, f.key_context());
}

// Issue 12 item 6: Enter opens the selected row's pane, Esc closes it.
TEST(TopActions, EnterOpensTheSelectedRowsPaneWithEveryFieldAndEscClosesIt) {
    Snapshot s = sample();
    s.processes[0].runq_hist.add_slot(3, 5);
    s.processes[0].runq_hist.add_slot(10, 1);
    TopUiState st = press({}, "N");  // by pid: alpha (10) first
    TopFrame f = frame(s, st, 100, 24);
    ASSERT_EQ(f.selected.pid, 10);
    st = key(st, top_key::down, f);
    f = frame(s, st, 100, 24);
    EXPECT_EQ(f.selected.id, "20");
    st = key(st, top_key::up, f);
    f = frame(s, st, 100, 24);
    st = key(st, top_key::enter, f);
    EXPECT_EQ(st.mode, TopMode::detail);
    EXPECT_EQ(st.detail, "10");
    // The tui is asked for the command line, which only it may read.
    EXPECT_EQ(st.action.kind, TopAction::Kind::describe);
    EXPECT_EQ(st.action.pid, 10);
    st.detail_cmdline = "/usr/bin/alpha --serve";

    f = frame(s, st, 100, 200);  // tall enough for the whole pane
    std::string pane;
    for (const auto& l : f.detail) pane += l.text + "\n";
    EXPECT_EQ(f.detail[0].text.rfind("process 10 alpha", 0), 0u) << pane;
    EXPECT_NE(pane.find("command line: /usr/bin/alpha --serve"), std::string::npos) << pane;
    EXPECT_NE(pane.find("cgroup: /system.slice/alpha.service"), std::string::npos);
    // Every catalogue field that is not a histogram has its line, with its unit.
    for (const auto& fld : fields<ProcessSample>()) {
        if (fld.kind == FieldKind::histogram) {
            EXPECT_NE(pane.find("  " + std::string(fld.name) + ": "), std::string::npos)
                << fld.name;
            continue;
        }
        size_t at = pane.find("  " + std::string(fld.name) + " ");
        ASSERT_NE(at, std::string::npos) << fld.name << "\n" << pane;
        std::string line = pane.substr(at, pane.find('\n', at) - at);
        if (!fld.unit.empty()) {
            EXPECT_NE(line.find(" " + std::string(fld.unit) + " "), std::string::npos) << line;
        }
    }
    EXPECT_NE(pane.find("rss_bytes"), std::string::npos);
    EXPECT_NE(pane.find("100 MiB"), std::string::npos) << pane;
    // The run-queue histogram as bars, its empty I/O one said to be empty.
    EXPECT_NE(pane.find("runq_hist: 6 samples"), std::string::npos) << pane;
    // Each estimate names the bucket it lies in (p99: the sample in slot 10, 512-1024 us).
    EXPECT_NE(pane.find("p99 768 us (in 512 us .. 1.0 ms)"), std::string::npos) << pane;
    EXPECT_NE(pane.find("5 |########"), std::string::npos) << pane;
    EXPECT_NE(pane.find("io_lat_hist: nothing measured"), std::string::npos) << pane;
    EXPECT_EQ(f.status.text.rfind("detail lines 1-", 0), 0u) << f.status.text;
    if (std::getenv("PERFBPF_SHOW_PANE")) std::cout << pane;

    // Short screen: the pane scrolls and stops at its end.
    f = frame(s, st, 100, 24);
    size_t total = f.total_rows;
    EXPECT_GT(total, f.detail.size());
    st = key(st, top_key::page_down, f);
    st = key(st, top_key::page_down, f);
    st = key(st, top_key::page_down, f);
    f = frame(s, st, 100, 24);
    EXPECT_EQ(f.first_row + f.detail.size(), total);
    EXPECT_EQ(f.detail.back().text, "  io_lat_hist: nothing measured");

    st = key(st, top_key::escape, f);
    EXPECT_EQ(st.mode, TopMode::normal);
    EXPECT_TRUE(st.detail.empty());
    f = frame(s, st, 100, 24);
    EXPECT_TRUE(f.detail.empty());
    EXPECT_FALSE(f.rows.empty());

    // Other views: a device's pane, no command line asked for.
    st = press({}, "d");
    f = frame(s, st, 100, 60);
    st = key(st, top_key::enter, f);
    EXPECT_EQ(st.action.kind, TopAction::Kind::none);
    f = frame(s, st, 100, 60);
    EXPECT_EQ(f.detail[0].text.rfind("device loop3", 0), 0u);
    // The row gone from a later interval: said so.
    s.devices.clear();
    f = frame(s, st, 100, 60);
    EXPECT_NE(f.detail[1].text.find("not in this interval"), std::string::npos);
    // No rows: nothing to open.
    TopUiState none = handle_top_key({}, top_key::enter, {});
    EXPECT_EQ(none.mode, TopMode::normal);
    EXPECT_EQ(none.message, "no row to show");
}

TEST(TopActions, KAsksBeforeSendingSigtermAndOnlyYSends) {
    Snapshot s = sample();
    TopUiState st = press({}, "N");
    TopFrame f = frame(s, st, 80, 24);
    st = key(st, 'k', f);
    EXPECT_EQ(st.mode, TopMode::confirm_signal);
    EXPECT_EQ(st.action.kind, TopAction::Kind::none);  // nothing yet
    f = frame(s, st, 80, 24);
    EXPECT_EQ(f.status.text, "send SIGTERM to 10 alpha? [y/N]");
    TopUiState yes = key(st, 'y', f);
    EXPECT_EQ(yes.mode, TopMode::normal);
    EXPECT_EQ(yes.action.kind, TopAction::Kind::signal);
    EXPECT_EQ(yes.action.pid, 10);
    EXPECT_EQ(yes.action.value, SIGTERM);
    // The action is for one key only.
    EXPECT_EQ(key(yes, top_key::down, f).action.kind, TopAction::Kind::none);
    for (int other : {int{'n'}, int{'N'}, top_key::enter, top_key::escape, int{'k'}}) {
        TopUiState no = key(st, other, f);
        EXPECT_EQ(no.mode, TopMode::normal);
        EXPECT_EQ(no.action.kind, TopAction::Kind::none);
        EXPECT_EQ(no.message, "no signal sent");
    }
    // Not a process view: says why.
    st = press({}, "d");
    st = key(st, 'k', frame(s, st, 80, 24));
    EXPECT_EQ(st.mode, TopMode::normal);
    EXPECT_NE(st.message.find("none selected here"), std::string::npos);
}

TEST(TopActions, RAsksForAnIncrementAndRejectsAnythingElse) {
    Snapshot s = sample();
    TopUiState st = press({}, "N");
    TopFrame f = frame(s, st, 80, 24);
    st = key(st, 'r', f);
    EXPECT_EQ(st.mode, TopMode::renice);
    st = press(st, "+x5");  // letters are not taken
    EXPECT_EQ(st.prompt_edit, "+5");
    f = frame(s, st, 80, 24);
    EXPECT_EQ(f.status.text.rfind("renice 10 alpha by: +5", 0), 0u) << f.status.text;
    EXPECT_EQ(f.cursor_column, std::string("renice 10 alpha by: +5").size());
    TopUiState done = key(st, top_key::enter, f);
    EXPECT_EQ(done.action.kind, TopAction::Kind::renice);
    EXPECT_EQ(done.action.pid, 10);
    EXPECT_EQ(done.action.value, 5);

    st = press(key(TopUiState{}, 'r', f), "-3");
    EXPECT_EQ(key(st, top_key::enter, f).action.value, -3);
    for (const char* bad : {"", "+", "0", "-40", "99"}) {
        TopUiState b = press(key(TopUiState{}, 'r', f), bad);
        b = key(b, top_key::enter, f);
        EXPECT_EQ(b.action.kind, TopAction::Kind::none) << bad;
        EXPECT_NE(b.message.find("is not an increment"), std::string::npos) << bad;
    }
    TopUiState esc = key(key(TopUiState{}, 'r', f), top_key::escape, f);
    EXPECT_EQ(esc.mode, TopMode::normal);
    EXPECT_EQ(esc.action.kind, TopAction::Kind::none);
}

TEST(TopActions, EHidesExitedAndShortLivedProcesses) {
    Snapshot s = sample();
    s.end_monotonic_ns = 1000'000'000'000ULL;     // 1000 s after boot; the interval is 2 s
    s.processes[0].start_time_ticks = 100 * 100;  // 900 s old
    s.processes[1].start_time_ticks = 997 * 100;  // 3 s old: younger than 2 intervals
    s.processes[2].start_time_ticks = 100 * 100;  // old, but exited
    s.processes.push_back(proc(40, "seen", 1, 1, "/"));
    s.processes.back().start_time_ticks = 995 * 100;  // 5 s: kept
    TopUiState st = press({}, "N");
    EXPECT_EQ(column(frame(s, st), "comm"), (Names{"alpha", "beta", "gamma", "seen"}));
    st = press(st, "e");
    EXPECT_TRUE(st.hide_short_lived);
    TopFrame f = frame(s, st);
    EXPECT_EQ(column(f, "comm"), (Names{"alpha", "seen"}));
    EXPECT_NE(f.status.text.find("short-lived hidden (e)"), std::string::npos) << f.status.text;
    st = press(st, "e");
    EXPECT_EQ(column(frame(s, st), "comm").size(), 4u);
}

// Issue 12 item 6: t shows processes as a tree by parent, siblings in the sort order.
TEST(TopActions, TShowsProcessesAsATreeByParent) {
    Snapshot s = sample();
    s.processes = {proc(1, "init", 0, 1, "/"),     proc(10, "alpha", 5, 1, "/"),
                   proc(20, "beta", 50, 1, "/"),   proc(30, "gamma", 20, 1, "/"),
                   proc(40, "orphan", 90, 1, "/"), proc(50, "delta", 1, 1, "/")};
    s.processes[1].ppid = 1;
    s.processes[2].ppid = 10;
    s.processes[3].ppid = 1;
    s.processes[4].ppid = 999;  // its parent has no row: a root
    s.processes[5].ppid = 10;
    TopUiState st;  // by CPU, high first
    EXPECT_EQ(column(frame(s, st), "comm"),
              (Names{"orphan", "beta", "gamma", "alpha", "delta", "init"}));
    st = press(st, "t");
    EXPECT_TRUE(st.tree);
    TopFrame f = frame(s, st);
    EXPECT_EQ(column(f, "comm"),
              (Names{"orphan", "init", "`- gamma", "`- alpha", "  `- beta", "  `- delta"}));
    EXPECT_EQ(column(f, "pid"), (Names{"40", "1", "30", "10", "20", "50"}));
    EXPECT_NE(f.status.text.find("tree (t)"), std::string::npos) << f.status.text;
    // Sorting still orders the siblings: by PID, low first.
    st = press(st, "N");
    EXPECT_EQ(column(frame(s, st), "pid"), (Names{"1", "10", "20", "50", "30", "40"}));
    // The selection follows the tree's order.
    st.selected = 2;
    EXPECT_EQ(frame(s, st).selected.pid, 20);
    st = press(st, "t");
    EXPECT_FALSE(st.tree);
    EXPECT_EQ(column(frame(s, st), "pid"), (Names{"1", "10", "20", "30", "40", "50"}));
}

// In the cgroups view t nests each cgroup under the nearest ancestor that has a row.
TEST(TopActions, TShowsCgroupsAsATreeByPath) {
    Snapshot s = sample();
    auto cg = [](std::string path, double cpu) {
        CgroupSample c;
        c.path = std::move(path);
        c.cpu_pct = cpu;
        return c;
    };
    s.cgroups = {cg("/user.slice/user-0.slice", 40), cg("/system.slice/a.service", 30),
                 cg("/", 100), cg("/system.slice", 50), cg("/system.slice/b.service", 20)};
    TopUiState st = press({}, "ct");
    EXPECT_EQ(column(frame(s, st), "cgroup"),
              (Names{"/", "`- system.slice", "  `- a.service", "  `- b.service",
                     "`- user.slice/user-0.slice"}));
    // Devices have no tree: t says where it works.
    st = press(st, "dt");
    EXPECT_NE(st.message.find("processes and cgroups"), std::string::npos) << st.message;
}

// Issue 12 item 6: H shows the selected process's threads under it, read by the tui.
TEST(TopActions, HShowsTheSelectedProcesssThreadsUnderIt) {
    Snapshot s = sample();
    TopUiState st = press({}, "N");  // alpha (10) selected
    TopFrame f = frame(s, st);
    ASSERT_EQ(f.selected.pid, 10);
    st = key(st, 'H', f);
    EXPECT_EQ(st.threads_pid, 10);
    EXPECT_EQ(st.action.kind, TopAction::Kind::threads);
    EXPECT_EQ(st.action.pid, 10);
    // What the tui read: one thread measured over the interval, one seen for the first time.
    st.threads = {ThreadSample{10, "alpha", 'S', true, 2.5, 50'000'000, 0},
                  ThreadSample{11, "alpha-io", 'R', true, 47.5, 950'000'000, 1'000},
                  ThreadSample{12, "alpha-new", 'R', false}};
    f = frame(s, st);
    EXPECT_EQ(column(f, "pid"), (Names{"10", "10", "11", "12", "20", "30"}));
    EXPECT_EQ(column(f, "comm"),
              (Names{"alpha", "`- alpha", "`- alpha-io", "`- alpha-new", "beta", "gamma"}));
    auto cpu = column(f, "cpu");
    EXPECT_EQ(cpu[2], "47.5");
    EXPECT_EQ(cpu[3], "-");  // not measured yet: no 0
    // A thread has no RSS of its own: "-", never the process's number or 0.
    EXPECT_EQ(column(f, "rss")[2], "-");
    EXPECT_NE(f.status.text.find("threads of 10 (H)"), std::string::npos) << f.status.text;
    // H on one of the threads hides them.
    st = key(st, top_key::down, f);
    st = key(st, top_key::down, f);
    f = frame(s, st);
    EXPECT_TRUE(f.selected.thread);
    EXPECT_EQ(f.selected.pid, 11);
    // A thread has no pane of its own: Enter says so and leaves the table.
    TopUiState entered = key(st, top_key::enter, f);
    EXPECT_EQ(entered.mode, TopMode::normal);
    EXPECT_NE(entered.message.find("thread 11 of 10"), std::string::npos) << entered.message;
    st = key(st, 'H', f);
    EXPECT_EQ(st.threads_pid, 0);
    EXPECT_TRUE(st.threads.empty());
    EXPECT_EQ(column(frame(s, st), "pid"), (Names{"10", "20", "30"}));
    // Another view: nothing to show threads of.
    st = press(st, "c");
    st = key(st, 'H', frame(s, st));
    EXPECT_EQ(st.threads_pid, 0);
    EXPECT_NE(st.message.find("none selected here"), std::string::npos) << st.message;
}

TEST(TopActions, HelpNamesTheActionKeys) {
    std::string help;
    for (const auto& l : top_help_lines()) help += l + "\n";
    for (const char* k :
         {"  Enter ", "  e ", "  k  r ", "Esc closes", "asks y/N", "  H ", " t ", "tree by parent"})
        EXPECT_NE(help.find(k), std::string::npos) << k;
    for (bool seekable : {false, true}) {
        auto lines = top_help_lines(seekable);
        EXPECT_LE(lines.size() + 2, 24u);
        for (const auto& l : lines) EXPECT_LE(l.size() + 4, 80u) << l;
    }
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) out.push_back(l);
    return out;
}

// The table of a plain render: the lines after its column titles, first words.
std::vector<std::string> first_words(const std::string& text, const std::string& titles) {
    std::vector<std::string> out;
    bool in = false;
    for (const auto& l : lines_of(text)) {
        if (in) {
            std::stringstream ss(l);
            std::string w;
            ss >> w;
            if (std::all_of(w.begin(), w.end(), ::isupper)) break;  // the next table's titles
            out.push_back(w);
        }
        if (l.find(titles) != std::string::npos) in = true;
    }
    return out;
}

// Issue 12 item 6: --plain with --view and --sort, exited processes marked.
TEST(TopPlain, ViewAndSortPickTheTableAndItsOrderAndExitedRowsAreMarked) {
    Snapshot s = sample();
    TextView v;
    std::string text = render_text(s, {}, v);
    EXPECT_EQ(first_words(text, "PID COMMAND"), (Names{"30", "10", "20"}));  // by CPU
    EXPECT_NE(text.find("DEVICE"), std::string::npos);  // processes, then devices
    for (const auto& l : lines_of(text)) {
        bool gamma = l.find(" gamma ") != std::string::npos;
        EXPECT_EQ(l.ends_with(kExitedMark), gamma) << l;  // only pid 30 exited
    }

    v.sort = top_sort_by(TopView::processes, "RSS");
    EXPECT_EQ(first_words(render_text(s, {}, v), "PID COMMAND"), (Names{"20", "10", "30"}));
    v.max_rows = 1;
    EXPECT_EQ(first_words(render_text(s, {}, v), "PID COMMAND"), (Names{"20"}));

    v = {};
    v.view = TopView::devices;
    v.sort = top_sort_by(TopView::devices, "device");  // by name, A-Z
    text = render_text(s, {}, v);
    EXPECT_EQ(text.find("PID COMMAND"), std::string::npos);  // only the devices
    EXPECT_EQ(first_words(text, "DEVICE").size(), 2u);
    v.sort = top_sort_by(TopView::devices, "util%");
    EXPECT_EQ(first_words(render_text(s, {}, v), "DEVICE"), (Names{"loop3", "sda"}));
    v.view = TopView::cpus;
    v.sort = top_sort_by(TopView::cpus, "busy");
    EXPECT_EQ(first_words(render_text(s, {}, v), "CPU  BUSY%"), (Names{"1", "0"}));
    // Few rows asked for: the header is still the full one.
    v.max_rows = 1;
    EXPECT_NE(render_text(s, {}, v).find("\nLOST 0 events"), std::string::npos);
}

TEST(TopPlain, SortAndViewNamesAreCheckedAgainstTheColumns) {
    EXPECT_EQ(top_sort_by(TopView::processes, "rss")->column, "rss");
    EXPECT_EQ(top_sort_by(TopView::processes, "RSS+")->column, "rss_growth");
    EXPECT_EQ(top_sort_by(TopView::processes, "iolat99")->column, "iolat");
    EXPECT_TRUE(top_sort_by(TopView::processes, "rss")->descending);
    EXPECT_FALSE(top_sort_by(TopView::processes, "comm")->descending);
    EXPECT_FALSE(top_sort_by(TopView::processes, "util"));  // a devices column
    EXPECT_TRUE(top_sort_by(TopView::devices, "util"));
    EXPECT_FALSE(top_sort_by(TopView::processes, ""));
    for (size_t i = 0; i < kTopViewCount; ++i) {
        TopView v = static_cast<TopView>(i);
        EXPECT_EQ(parse_top_view(top_view_name(v)), v);
    }
    EXPECT_FALSE(parse_top_view("process"));
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// Issue 12 item 4: the CPU line's p99 covers one interval, a verdict's the whole window;
// each says which.
TEST(TopView, HeaderNumbersSayWhichWindowTheyCover) {
    Snapshot s = sample();  // 2 s intervals
    Verdict cpu = long_verdict("cpu", Severity::warning);
    cpu.window_s = 10;
    std::vector<Verdict> v = with_ok(cpu);
    TopFrame f = frame(s, TopUiState{}, 200, 40, v);
    EXPECT_NE(f.header[1].text.find(" [2s]"), std::string::npos) << f.header[1].text;
    EXPECT_EQ(f.header[5].text.rfind("cpu      warning  [10s] runq p99 30 ms >= 20 ms", 0), 0u)
        << f.header[5].text;
    f = frame(s, TopUiState{}, 80, 24, v);
    EXPECT_NE(f.header[1].text.find(" [2s]"), std::string::npos) << f.header[1].text;
    EXPECT_EQ(f.header[3].text.rfind("cpu warning: (pid 30 gamma) [10s] runq p99", 0), 0u)
        << f.header[3].text;
    // Unknown windows (verdicts made by hand) carry no tag.
    cpu.window_s = 0;
    f = frame(s, TopUiState{}, 200, 40, with_ok(cpu));
    EXPECT_EQ(f.header[5].text.find('['), std::string::npos) << f.header[5].text;
    std::string help;
    for (const auto& l : top_help_lines()) help += l + "\n";
    EXPECT_NE(help.find("[10s]: the window"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf
