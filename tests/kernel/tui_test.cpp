// `perfbpf top` full screen, end to end: the real binary with real probes in a tmux pane
// (a real pseudo-terminal with a screen we can read), driven by keys and signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;
using test::run_command;
using test::TempDir;

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A tmux server of our own (its socket at `socket`), one pane running `command`; the
// server and everything in it goes away with this object.
class Tmux {
  public:
    Tmux(const std::string& socket, const std::string& command, int cols, int rows)
        : socket_(socket) {
        int st = 0;
        std::string out =
            run_command(tmux("-f /dev/null new-session -d -s t -x " + std::to_string(cols) +
                             " -y " + std::to_string(rows) + " " + shell_quote(command)) +
                            " 2>&1",
                        &st);
        ok_ = st == 0;
        error_ = out;
    }
    ~Tmux() { run_command(tmux("kill-server") + " 2>/dev/null"); }
    Tmux(const Tmux&) = delete;
    Tmux& operator=(const Tmux&) = delete;

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }

    std::vector<std::string> screen() const {
        std::vector<std::string> lines;
        std::stringstream ss(run_command(tmux("capture-pane -p -t t")));
        for (std::string l; std::getline(ss, l);) lines.push_back(l);
        return lines;
    }
    std::string screen_text() const {
        std::string out;
        for (const auto& l : screen()) out += l + "\n";
        return out;
    }
    // Key names as tmux knows them ("q", "Enter", "Escape", "C-c").
    void keys(const std::string& k) const { run_command(tmux("send-keys -t t " + k)); }
    void text(const std::string& t) const {
        run_command(tmux("send-keys -t t -l " + shell_quote(t)));
    }
    std::string format(const std::string& f) const {
        std::string s = run_command(tmux("display-message -p -t t " + shell_quote(f)));
        while (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }
    void resize(int cols, int rows) const {
        run_command(
            tmux("resize-window -t t -x " + std::to_string(cols) + " -y " + std::to_string(rows)));
    }

  private:
    std::string tmux(const std::string& args) const {
        return "tmux -S " + shell_quote(socket_) + " " + args;
    }
    std::string socket_;
    bool ok_ = false;
    std::string error_;
};

bool tmux_installed() {
    int st = 0;
    run_command("tmux -V >/dev/null 2>&1", &st);
    return st == 0;
}

// Polls the screen until `pred` holds; returns whether it did within `seconds`.
bool wait_screen(const Tmux& t, const std::function<bool(const std::string&)>& pred,
                 double seconds = 15) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (pred(t.screen_text())) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pred(t.screen_text());
}

bool wait_file(const std::string& path, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (!read_text(path).empty()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

auto has(std::initializer_list<std::string> needles) {
    std::vector<std::string> all(needles);
    return [all](const std::string& screen) {
        for (const auto& n : all)
            if (screen.find(n) == std::string::npos) return false;
        return true;
    };
}

// "1.5 MiB", "0", "512 B" -> bytes
double parse_bytes(const std::string& cell) {
    std::stringstream ss(cell);
    double v = 0;
    std::string unit;
    ss >> v >> unit;
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    for (int i = 0; i < 5; ++i)
        if (unit == units[i]) return v * std::pow(1024.0, i);
    return v;
}

// The pane runs perfbpf top under a shell that records the terminal modes before and
// after, and perfbpf's exit status; Ctrl-C reaches perfbpf (the shell only traps it).
struct TopInPane {
    TempDir dir;
    std::string status_file, before_file, after_file;
    std::unique_ptr<Tmux> tmux;

    TopInPane(int cols, int rows, const std::string& args = "-i 0.5") {
        status_file = dir.path() + "/status";
        before_file = dir.path() + "/stty.before";
        after_file = dir.path() + "/stty.after";
        std::string script = "trap : INT; stty -g > " + before_file + "; " +
                             test::perfbpf_binary() + " top " + args + "; echo $? > " +
                             status_file + "; stty -g > " + after_file + "; exec sleep 600";
        tmux = std::make_unique<Tmux>(dir.path() + "/tmux.sock", "sh -c " + shell_quote(script),
                                      cols, rows);
    }

    // Exit status of perfbpf, or -1 when it has not exited within `seconds`.
    int exit_status(double seconds) const {
        if (!wait_file(status_file, seconds) || !wait_file(after_file, 2)) return -1;
        return std::atoi(read_text(status_file).c_str());
    }
    bool modes_restored() const {
        return !read_text(before_file).empty() && read_text(before_file) == read_text(after_file);
    }
};

std::vector<std::string> split(const std::string& line) {
    std::stringstream ss(line);
    std::vector<std::string> out;
    for (std::string w; ss >> w;) out.push_back(w);
    return out;
}

// Lines of the process table: from the column titles to the status line.
std::vector<std::string> table_lines(const std::vector<std::string>& screen) {
    std::vector<std::string> out;
    bool in = false;
    for (size_t i = 0; i + 1 < screen.size(); ++i) {
        if (in && !screen[i].empty()) out.push_back(screen[i]);
        if (screen[i].find("PID COMMAND") != std::string::npos) in = true;
    }
    return out;
}

// Once the table is up, filters it to the process `pid`; whether it then shows only that
// process, named `name`.
bool show_only(const Tmux& t, const std::string& pid, const std::string& name) {
    if (!wait_screen(t, has({"PID COMMAND"}), 20)) return false;
    t.keys("/");
    t.text(pid);
    t.keys("Enter");
    return wait_screen(t, has({"processes 1-1 of 1", name}));
}

TEST(TopScreen, ShowsSortsFiltersSwitchesViewsAndRestores) {
    PERFBPF_REQUIRE_ROOT();
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    TempDir bin;
    const std::string name = "tuispin" + std::to_string(getpid() % 100000);  // <= 15: its comm
    const std::string spin_path = bin.path() + "/" + name;
    std::filesystem::copy_file(fixture("spin"), spin_path);
    std::filesystem::permissions(spin_path, std::filesystem::perms::owner_all);
    Child spin = Child::spawn({spin_path, "120"});

    TopInPane top(120, 40);
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;

    // First frame: the header and the spinner among the busiest processes.
    ASSERT_TRUE(wait_screen(t, has({"PID COMMAND", name}), 20)) << t.screen_text();
    EXPECT_EQ(t.format("#{alternate_on}"), "1");
    auto screen = t.screen();
    ASSERT_EQ(screen.size(), 40u);
    EXPECT_EQ(screen[0].rfind("perfbpf top", 0), 0u) << screen[0];
    EXPECT_NE(screen[0].find("load "), std::string::npos);
    std::string all = t.screen_text();
    for (const char* h : {"\nCPU ", "\nMEM ", "\nPSI ", "\nLOST ", "probes: sched"})
        EXPECT_NE(all.find(h), std::string::npos) << h << " missing:\n" << all;
    EXPECT_EQ(screen.back().rfind("processes 1-", 0), 0u) << screen.back();
    EXPECT_NE(screen.back().find("sort CPU% (high first)"), std::string::npos);
    bool found = false;
    for (const auto& line : table_lines(screen)) {
        auto f = split(line);
        if (f.size() > 2 && f[1] == name) {
            found = true;
            EXPECT_EQ(f[0], std::to_string(spin.pid()));
            EXPECT_GT(std::atof(f[2].c_str()), 5.0) << line;  // a spinner, on a shared busy machine
        }
    }
    EXPECT_TRUE(found) << all;

    // M: by RSS, high first, on real numbers.
    t.keys("M");
    ASSERT_TRUE(wait_screen(t, has({"sort RSS (high first)"}))) << t.screen_text();
    screen = t.screen();
    auto header = std::find_if(screen.begin(), screen.end(), [](const std::string& l) {
        return l.find("PID COMMAND") != std::string::npos;
    });
    ASSERT_NE(header, screen.end());
    // Numbers are right-aligned under their title; the RSS column is 8 wide.
    size_t rss_end = header->find(" RSS ") + 4;
    ASSERT_GT(rss_end, 8u) << *header;
    double prev = 1e300;
    size_t checked = 0;
    for (const auto& line : table_lines(screen)) {
        if (line.size() < rss_end) continue;
        double rss = parse_bytes(line.substr(rss_end - 8, 8));
        EXPECT_LE(rss, prev) << line;
        prev = rss;
        ++checked;
    }
    EXPECT_GT(checked, 5u) << t.screen_text();

    // Filter to the spinner.
    t.keys("/");
    t.text(name);
    ASSERT_TRUE(wait_screen(t, has({"Filter: " + name}))) << t.screen_text();
    t.keys("Enter");
    ASSERT_TRUE(wait_screen(t, has({"processes 1-1 of 1", "filter \"" + name + "\""})))
        << t.screen_text();
    auto rows = table_lines(t.screen());
    ASSERT_EQ(rows.size(), 1u) << t.screen_text();
    EXPECT_EQ(split(rows[0])[0], std::to_string(spin.pid()));

    // Devices view, help, then out.
    t.keys("d");
    ASSERT_TRUE(wait_screen(t, has({"DEVICE", "READ/s", "UTIL%", "sort UTIL%"})))
        << t.screen_text();
    EXPECT_EQ(t.screen_text().find(name), std::string::npos);  // the process table is gone
    t.keys("?");
    ASSERT_TRUE(wait_screen(t, has({"perfbpf top: keys", "pause the display"}))) << t.screen_text();
    t.keys("Escape");
    ASSERT_TRUE(wait_screen(t, [](const std::string& s) {
        return s.find("perfbpf top: keys") == std::string::npos;
    })) << t.screen_text();

    // 80x24 still shows the header, the table and the status line.
    t.resize(80, 24);
    t.keys("d");  // back to processes; the filter of that view is still on
    ASSERT_TRUE(wait_screen(t, has({"PID COMMAND", name, "processes 1-1 of 1"})))
        << t.screen_text();
    screen = t.screen();
    ASSERT_EQ(screen.size(), 24u);
    for (const auto& l : screen) EXPECT_LE(l.size(), 80u) << l;
    EXPECT_EQ(screen[0].rfind("perfbpf top", 0), 0u);
    EXPECT_EQ(screen.back().rfind("processes 1-1 of 1", 0), 0u) << screen.back();
    // The header keeps to five rows there (issue 12, item 5): the titles are on row 6 at most.
    auto titles = std::find_if(screen.begin(), screen.end(), [](const std::string& l) {
        return l.find("PID COMMAND") != std::string::npos;
    });
    EXPECT_LE(titles - screen.begin(), 5) << t.screen_text();

    t.keys("q");
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
    EXPECT_EQ(t.format("#{alternate_on}"), "0");
    EXPECT_TRUE(top.modes_restored());
}

// Issue 12 item 6 on a real process: Enter's pane shows its command line, r renices it
// (checked with getpriority), k asks and y sends SIGTERM (the child dies of it).
TEST(TopScreen, EnterRAndKActOnTheSelectedProcess) {
    PERFBPF_REQUIRE_ROOT();
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    TempDir bin;
    const std::string name = "tuiact" + std::to_string(getpid() % 100000);
    const std::string spin_path = bin.path() + "/" + name;
    std::filesystem::copy_file(fixture("spin"), spin_path);
    std::filesystem::permissions(spin_path, std::filesystem::perms::owner_all);
    Child spin = Child::spawn({spin_path, "120"});
    const std::string pid = std::to_string(spin.pid());

    TopInPane top(120, 40);
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;
    ASSERT_TRUE(show_only(t, pid, name)) << t.screen_text();

    t.keys("Enter");
    ASSERT_TRUE(wait_screen(
        t, has({"process " + pid + " " + name, "command line: " + spin_path + " 120", "cpu_pct"})))
        << t.screen_text();
    t.keys("Escape");
    ASSERT_TRUE(wait_screen(t, has({"PID COMMAND", "processes 1-1 of 1"}))) << t.screen_text();

    errno = 0;
    int before = getpriority(PRIO_PROCESS, static_cast<id_t>(spin.pid()));
    t.keys("r");
    ASSERT_TRUE(wait_screen(t, has({"renice " + pid + " " + name + " by:"}))) << t.screen_text();
    t.text("+3");
    t.keys("Enter");
    std::string said = "reniced " + pid + " " + name + " from " + std::to_string(before) + " to " +
                       std::to_string(std::min(before + 3, 19));
    ASSERT_TRUE(wait_screen(t, has({said}))) << t.screen_text();
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(spin.pid())), std::min(before + 3, 19));

    t.keys("k");
    ASSERT_TRUE(wait_screen(t, has({"send SIGTERM to " + pid + " " + name + "? [y/N]"})))
        << t.screen_text();
    t.keys("n");  // anything but y keeps it alive
    ASSERT_TRUE(wait_screen(t, has({"no signal sent"}))) << t.screen_text();
    EXPECT_FALSE(spin.exited());
    t.keys("k");
    ASSERT_TRUE(wait_screen(t, has({"[y/N]"}))) << t.screen_text();
    t.keys("y");
    ASSERT_TRUE(wait_screen(t, has({"sent SIGTERM to " + pid + " " + name}))) << t.screen_text();
    EXPECT_EQ(spin.wait(), -SIGTERM);

    t.keys("q");
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
}

// Issue 12 item 6: H lists the selected process's threads under it, t shows the tree.
TEST(TopScreen, HShowsTheThreadsOfTheSelectedProcessAndTTheTree) {
    PERFBPF_REQUIRE_ROOT();
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    Child crowd = Child::spawn({fixture("thread_crowd"), "3", "10", "2000", "120"});
    const std::string pid = std::to_string(crowd.pid());

    TopInPane top(120, 40);
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;
    ASSERT_TRUE(show_only(t, pid, "thread_crowd")) << t.screen_text();

    t.keys("H");
    // The process and its four threads (the main one and three workers), each a row.
    ASSERT_TRUE(wait_screen(t, has({"threads of " + pid + " (H)", "processes 1-5 of 5"})))
        << t.screen_text();
    size_t thread_rows = 0;
    for (const auto& line : table_lines(t.screen()))
        if (line.find("`- thread_crowd") != std::string::npos) ++thread_rows;
    EXPECT_EQ(thread_rows, 4u) << t.screen_text();
    t.keys("H");
    ASSERT_TRUE(wait_screen(t, has({"processes 1-1 of 1"}))) << t.screen_text();

    t.keys("t");
    ASSERT_TRUE(wait_screen(t, has({"tree (t)"}))) << t.screen_text();
    t.keys("q");
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
}

pid_t child_of(pid_t parent) {
    std::string kids = read_text("/proc/" + std::to_string(parent) + "/task/" +
                                 std::to_string(parent) + "/children");
    return static_cast<pid_t>(std::atoi(kids.c_str()));
}

TEST(TopScreen, ControlCRestoresTheTerminalAndExitsZero) {
    PERFBPF_REQUIRE_ROOT();
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    // A long interval: Ctrl-C must not wait for it to end.
    TopInPane top(100, 30, "-i 30");
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;
    ASSERT_TRUE(wait_screen(t, has({"collecting the first interval"}), 20)) << t.screen_text();
    EXPECT_EQ(t.format("#{alternate_on}"), "1");
    auto start = std::chrono::steady_clock::now();
    t.keys("C-c");
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(took, 5.0);
    EXPECT_EQ(t.format("#{alternate_on}"), "0");
    EXPECT_TRUE(top.modes_restored());
}

TEST(TopScreen, SigtermRestoresTheTerminalAndExitsZero) {
    PERFBPF_REQUIRE_ROOT();
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    TopInPane top(100, 30, "-i 0.5");
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;
    ASSERT_TRUE(wait_screen(t, has({"PID COMMAND"}), 20)) << t.screen_text();
    pid_t shell = static_cast<pid_t>(std::atoi(t.format("#{pane_pid}").c_str()));
    pid_t perfbpf = child_of(shell);
    ASSERT_GT(perfbpf, 0);
    ASSERT_NE(read_text("/proc/" + std::to_string(perfbpf) + "/comm").find("perfbpf"),
              std::string::npos);
    ASSERT_EQ(kill(perfbpf, SIGTERM), 0);  // a process this test started
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
    EXPECT_EQ(t.format("#{alternate_on}"), "0");
    EXPECT_TRUE(top.modes_restored());
}

// The first line of the screen in a replay: "REPLAY 2026-11-23 17:59:39 (1/3)  playing".
std::string timeline(const Tmux& t) {
    auto screen = t.screen();
    return screen.empty() ? "" : screen[0];
}

// A recording on screen (no root needed): marked as one from the first frame, known
// numbers, the last frame stays, and the time keys move through it.
TEST(TopScreen, ReplayShowsTheRecordingStaysAtItsEndAndMovesThroughTime) {
    if (!tmux_installed()) PERFBPF_SKIP_OR_FAIL("tmux is not installed (scripts/install-deps.sh)");
    TopInPane top(
        100, 30,
        "--replay " + std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(top.tmux->ok()) << top.tmux->error();
    const Tmux& t = *top.tmux;
    ASSERT_TRUE(wait_screen(t, has({"PID COMMAND"}), 10)) << t.screen_text();
    EXPECT_EQ(timeline(t).rfind("REPLAY 20", 0), 0u) << t.screen_text();
    EXPECT_NE(timeline(t).find("/3)"), std::string::npos) << timeline(t);
    // Three 0.5 s intervals, shown at their pace, then the end, paused there.
    ASSERT_TRUE(wait_screen(t, has({"(3/3)  paused", "END of data"}), 10)) << t.screen_text();
    auto screen = t.screen();
    std::string all = t.screen_text();
    // The rule that made it critical first, then the numbers; 30 rows get the short
    // header, and the verdict says it covers the three 0.5 s intervals.
    EXPECT_NE(all.find("\ncpu critical: "), std::string::npos) << all;
    EXPECT_NE(all.find("[1.5s] PSI cpu some 46 % >= 40 %; runq p99 16 ms on 2 CPUs"),
              std::string::npos)
        << all;
    auto rows = table_lines(screen);
    ASSERT_GE(rows.size(), 5u) << all;
    EXPECT_EQ(split(rows[0])[0], "8802");
    EXPECT_EQ(split(rows[0])[1], "cc1plus");
    EXPECT_EQ(split(rows[0])[2], "50.8");
    for (size_t i = 2; i < 5; ++i) EXPECT_EQ(split(rows[i])[1], "spin") << rows[i];
    t.keys("1");
    ASSERT_TRUE(wait_screen(t, has({"BUSY%", "cpus 1-2 of 2"}))) << t.screen_text();

    const std::string last = timeline(t);
    t.keys("Left");
    ASSERT_TRUE(wait_screen(t, has({"(2/3)  paused"}))) << t.screen_text();
    EXPECT_EQ(t.screen_text().find("END of data"), std::string::npos);
    t.keys("Left");
    ASSERT_TRUE(wait_screen(t, has({"(1/3)  paused"}))) << t.screen_text();
    EXPECT_NE(timeline(t), last);
    t.keys("Right");
    ASSERT_TRUE(wait_screen(t, has({"(2/3)  paused"}))) << t.screen_text();
    t.keys("End");
    ASSERT_TRUE(wait_screen(t, has({"(3/3)  paused"}))) << t.screen_text();
    EXPECT_EQ(timeline(t), last);
    t.keys("Home");
    ASSERT_TRUE(wait_screen(t, has({"(1/3)  paused"}))) << t.screen_text();
    t.keys("Space");  // plays again, to the end
    ASSERT_TRUE(wait_screen(t, has({"(3/3)  paused", "END of data"}), 10)) << t.screen_text();
    t.keys("?");
    ASSERT_TRUE(wait_screen(t, has({"perfbpf top: keys", "one interval back / forward"})))
        << t.screen_text();
    t.keys("q");  // from help too
    EXPECT_EQ(top.exit_status(10), 0) << t.screen_text();
    EXPECT_EQ(t.format("#{alternate_on}"), "0");
    EXPECT_TRUE(top.modes_restored());
}

}  // namespace
}  // namespace perfbpf
