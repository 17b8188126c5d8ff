// The full-screen view in a real pseudo-terminal: a forked child runs run_tui() on the
// pty with a synthetic source; the parent types keys, sends signals, resizes the window,
// and checks what reached the terminal and that its modes were restored.
#include "sinks/tui.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace perfbpf {
namespace {

using Clock = std::chrono::steady_clock;

// xterm's terminfo (ncurses-base): enter and leave the alternate screen.
constexpr const char* kSmcup = "\x1b[?1049h";
constexpr const char* kRmcup = "\x1b[?1049l";

TopUpdate update(int seq, const std::string& comm = "tuiunitproc") {
    TopUpdate u;
    Snapshot& s = u.snapshot;
    s.interval_ns = 1'000'000'000;
    s.end_unix_ms = 1'700'000'000'000 + seq * 1000;
    s.system.ncpus = 2;
    ProcessSample p;
    p.pid = 4242;
    p.comm = comm;
    p.cpu_pct = 42;
    p.rss_bytes = 1 << 20;
    s.processes.push_back(p);
    return u;
}

// Sleeps up to `seconds`, returning early (true) when `stop` is set.
bool stopped_within(const std::atomic<bool>& stop, double seconds) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
        if (stop.load()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return stop.load();
}

// One update at once, then an interval far longer than any test: whatever ends the view
// has to get through while the source is busy.
std::optional<TopUpdate> one_then_block(const std::atomic<bool>& stop, int& calls) {
    if (calls++ == 0) return update(0);
    stopped_within(stop, 60);
    return std::nullopt;
}

std::atomic<bool> g_child_stop{false};

void child_on_signal(int) {
    g_child_stop.store(true);
}

struct Step {
    std::string wait_for;  // in the output written since the previous step
    std::string send;      // bytes typed on the terminal
    int signal = 0;        // sent to the child
    unsigned short resize_cols = 0, resize_rows = 0;
    double delay_s = 0;  // after the text appears, before acting
};

struct PtyRun {
    std::string output;
    int status = -1;
    bool timed_out = false;
    size_t steps_done = 0;
    std::vector<size_t> marks;  // output length when each step acted
    double last_step_to_exit_s = 0;
    termios before{}, after{};
};

bool same_modes(const termios& a, const termios& b) {
    return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag &&
           a.c_lflag == b.c_lflag && std::memcmp(a.c_cc, b.c_cc, sizeof(a.c_cc)) == 0;
}

// Runs `body(tty_fd)` in a child whose controlling terminal is a fresh 80x24 pty, TERM
// set to `term`; its return value is the child's exit status.
PtyRun run_in_pty(const char* term, const std::function<int(int)>& body,
                  const std::vector<Step>& steps, double timeout_s = 20) {
    PtyRun r;
    int master = -1, slave = -1;
    winsize ws{24, 80, 0, 0};
    if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
        ADD_FAILURE() << "openpty: " << std::strerror(errno);
        return r;
    }
    tcgetattr(slave, &r.before);
    pid_t pid = fork();
    if (pid == 0) {
        ::close(master);
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        setenv("TERM", term, 1);
        struct sigaction sa {};
        sa.sa_handler = child_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        _exit(body(slave));
    }
    const auto start = Clock::now();
    auto last_step = start;
    size_t mark = 0;  // output before this was seen by an earlier step
    int wstatus = 0;
    bool exited = false;
    while (!exited) {
        if (Clock::now() - start > std::chrono::duration<double>(timeout_s)) {
            r.timed_out = true;
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            break;
        }
        pollfd p{master, POLLIN, 0};
        if (poll(&p, 1, 20) > 0) {
            char buf[4096];
            ssize_t n = read(master, buf, sizeof(buf));
            if (n > 0) r.output.append(buf, static_cast<size_t>(n));
        }
        if (r.steps_done < steps.size()) {
            const Step& s = steps[r.steps_done];
            size_t at = r.output.find(s.wait_for, mark);
            if (at != std::string::npos) {
                mark = at + s.wait_for.size();
                if (s.delay_s > 0) {
                    // Keep reading meanwhile, so the child never blocks on a full pty.
                    auto until = Clock::now() + std::chrono::duration<double>(s.delay_s);
                    while (Clock::now() < until) {
                        pollfd q{master, POLLIN, 0};
                        if (poll(&q, 1, 20) > 0) {
                            char buf[4096];
                            ssize_t n = read(master, buf, sizeof(buf));
                            if (n > 0) r.output.append(buf, static_cast<size_t>(n));
                        }
                    }
                }
                r.marks.push_back(r.output.size());
                if (s.resize_cols) {
                    winsize nws{s.resize_rows, s.resize_cols, 0, 0};
                    ioctl(master, TIOCSWINSZ, &nws);  // the kernel sends SIGWINCH
                }
                if (!s.send.empty()) {
                    ssize_t ignored = write(master, s.send.data(), s.send.size());
                    (void)ignored;
                }
                if (s.signal) kill(pid, s.signal);
                ++r.steps_done;
                last_step = Clock::now();
            }
        }
        if (waitpid(pid, &wstatus, WNOHANG) == pid) exited = true;
    }
    if (exited) {
        r.last_step_to_exit_s = std::chrono::duration<double>(Clock::now() - last_step).count();
        // Whatever the child wrote last.
        pollfd p{master, POLLIN, 0};
        while (poll(&p, 1, 50) > 0) {
            char buf[4096];
            ssize_t n = read(master, buf, sizeof(buf));
            if (n <= 0) break;
            r.output.append(buf, static_cast<size_t>(n));
        }
    }
    r.status = wstatus;
    tcgetattr(slave, &r.after);
    ::close(master);
    ::close(slave);
    return r;
}

// The child's view on the pty, ended by its SIGINT/SIGTERM handler too.
TuiOptions child_options(int fd, int iterations) {
    TuiOptions o;
    o.stop = &g_child_stop;
    o.input_fd = fd;
    o.output_fd = fd;
    o.iterations = iterations;
    return o;
}

int tui_main(int fd, const TopSource& source, int iterations = 0) {
    auto r = run_tui(source, child_options(fd, iterations));
    if (!r) {
        std::string msg = "run_tui failed: " + r.error().message + "\n";
        ssize_t ignored = write(fd, msg.data(), msg.size());
        (void)ignored;
        return 2;
    }
    return 0;
}

int exit_code(const PtyRun& r) {
    return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// The alternate screen was entered, and left after the last thing drawn on it.
void expect_restored(const PtyRun& r) {
    size_t enter = r.output.find(kSmcup);
    size_t leave = r.output.rfind(kRmcup);
    ASSERT_NE(enter, std::string::npos) << "never entered the alternate screen";
    ASSERT_NE(leave, std::string::npos) << "never left the alternate screen";
    EXPECT_GT(leave, enter);
    EXPECT_EQ(r.output.find(kSmcup, enter + 1), std::string::npos) << "entered twice";
    EXPECT_TRUE(same_modes(r.before, r.after)) << "terminal modes not restored";
}

TEST(Tui, KeysAnswerWhileTheSourceBlocksAndQRestores) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(fd, [&](const std::atomic<bool>& s) {
                                  return one_then_block(s, calls);
                              });
                          },
                          {{"tuiunitproc", "?"}, {"Shift-Tab", "x"}, {"", "q"}});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.steps_done, 3u);
    EXPECT_EQ(exit_code(r), 0);
    EXPECT_LT(r.last_step_to_exit_s, 3.0);  // q while the source is 60 s into its interval
    expect_restored(r);
}

// Update n is named by 8 letters counting up from 'a' + n: each update changes every
// character of the name, so curses writes all of it (it sends only what changed).
std::string seq_name(int n) {
    std::string s;
    for (int i = 0; i < 8; ++i) s += static_cast<char>('a' + (n + i) % 26);
    return s;
}

// The last update whose name appears within [from, to) of the output, or -1.
int last_seq(const std::string& out, size_t from, size_t to, int max_seq) {
    int seq = -1;
    size_t best = 0;
    for (int n = 0; n <= max_seq; ++n) {
        size_t at = out.rfind(seq_name(n), to);
        if (at != std::string::npos && at >= from && at + 8 <= to && at >= best) {
            best = at;
            seq = n;
        }
    }
    return seq;
}

TEST(Tui, PauseFreezesTheScreenWhileCollectionGoesOn) {
    int calls = 0;
    PtyRun r = run_in_pty(
        "xterm",
        [&](int fd) {
            return tui_main(fd, [&](const std::atomic<bool>& s) -> std::optional<TopUpdate> {
                if (calls > 0 && stopped_within(s, 0.1)) return std::nullopt;
                ++calls;
                return update(calls, seq_name(calls));
            });
        },
        {{seq_name(3), "p"}, {"PAUSED", "p", 0, 0, 0, 0.8}, {"", "", 0, 0, 0, 0.3}, {"", "q"}});
    ASSERT_FALSE(r.timed_out) << "steps done: " << r.steps_done;
    ASSERT_EQ(r.marks.size(), 4u);
    EXPECT_EQ(exit_code(r), 0);
    const int max_seq = 25;  // names repeat after 26; the test sees about 15 updates
    int before = last_seq(r.output, 0, r.marks[0], max_seq);
    EXPECT_GE(before, 3);
    // Paused for 0.8 s: the source went on, the screen did not change.
    EXPECT_EQ(last_seq(r.output, r.output.find("PAUSED"), r.marks[1], max_seq), -1);
    int after = last_seq(r.output, r.marks[1], r.marks[2], max_seq);
    EXPECT_GE(after, before + 5) << "resuming shows the latest interval, not the next one";
    expect_restored(r);
}

TEST(Tui, ControlCRestoresAndEndsPromptly) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(fd, [&](const std::atomic<bool>& s) {
                                  return one_then_block(s, calls);
                              });
                          },
                          {{"tuiunitproc", "\x03"}});  // the line discipline turns it into SIGINT
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 0);
    EXPECT_LT(r.last_step_to_exit_s, 3.0);
    expect_restored(r);
}

TEST(Tui, SigtermRestores) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(fd, [&](const std::atomic<bool>& s) {
                                  return one_then_block(s, calls);
                              });
                          },
                          {{"tuiunitproc", "", SIGTERM}});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 0);
    expect_restored(r);
}

TEST(Tui, ResizeRedrawsForTheNewWidth) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(fd, [&](const std::atomic<bool>& s) {
                                  return one_then_block(s, calls);
                              });
                          },
                          {{"tuiunitproc", "", 0, 140, 30}, {"CGROUP", "q"}});
    ASSERT_FALSE(r.timed_out) << r.output;
    // At 80 columns the CGROUP column does not fit; at 140 it does.
    size_t first = r.output.find("tuiunitproc");
    EXPECT_EQ(r.output.rfind("CGROUP", first), std::string::npos);
    EXPECT_EQ(r.steps_done, 2u);
    EXPECT_EQ(exit_code(r), 0);
    expect_restored(r);
}

TEST(Tui, IterationsEndTheView) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(
                                  fd,
                                  [&](const std::atomic<bool>& s) -> std::optional<TopUpdate> {
                                      if (stopped_within(s, calls == 0 ? 0 : 0.05))
                                          return std::nullopt;
                                      return update(calls++);
                                  },
                                  3);
                          },
                          {});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 0);
    expect_restored(r);
}

TEST(Tui, TheLastUpdateStaysWhenTheSourceEnds) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              return tui_main(
                                  fd, [&](const std::atomic<bool>&) -> std::optional<TopUpdate> {
                                      if (calls < 2) return update(calls++);
                                      return std::nullopt;  // the end of a replay
                                  });
                          },
                          {{"END", "", 0}, {"", "q"}});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.steps_done, 2u);
    EXPECT_EQ(exit_code(r), 0);
    expect_restored(r);
}

// Runs `body`; an exception from it is written to the terminal ("caught: ...") and
// exits 3.
int exit_3_on_exception(int fd, const std::function<void()>& body) {
    try {
        body();
    } catch (const std::exception& e) {
        std::string msg = std::string("caught: ") + e.what() + "\n";
        ssize_t ignored = write(fd, msg.data(), msg.size());
        (void)ignored;
        return 3;
    }
    return 0;
}

void expect_caught_after_restore(const PtyRun& r, const std::string& what) {
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 3);
    expect_restored(r);
    size_t caught = r.output.find("caught: " + what);
    ASSERT_NE(caught, std::string::npos) << r.output;
    EXPECT_GT(caught, r.output.rfind(kRmcup));  // the message lands on the normal screen
}

TEST(Tui, ErrorFromTheSourceRestoresFirstThenPropagates) {
    int calls = 0;
    PtyRun r =
        run_in_pty("xterm",
                   [&](int fd) {
                       return exit_3_on_exception(fd, [&] {
                           tui_main(fd, [&](const std::atomic<bool>&) -> std::optional<TopUpdate> {
                               if (calls++ == 0) return update(0);
                               std::this_thread::sleep_for(std::chrono::milliseconds(300));
                               throw std::runtime_error("collector broke");
                           });
                       });
                   },
                   {});
    expect_caught_after_restore(r, "collector broke");
}

TEST(Tui, FatalSignalStillRestoresTheTerminal) {
    int calls = 0;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              prctl(PR_SET_DUMPABLE, 0);  // no core file from this deliberate crash
                              return tui_main(
                                  fd, [&](const std::atomic<bool>&) -> std::optional<TopUpdate> {
                                      if (calls++ == 0) return update(0);
                                      std::this_thread::sleep_for(std::chrono::milliseconds(300));
                                      std::abort();
                                  });
                          },
                          {});
    ASSERT_FALSE(r.timed_out) << r.output;
    ASSERT_TRUE(WIFSIGNALED(r.status));
    EXPECT_EQ(WTERMSIG(r.status), SIGABRT);  // the default action still happens
    expect_restored(r);
}

TEST(Tui, UnknownTerminalFailsWithoutTouchingTheScreen) {
    PtyRun r = run_in_pty("no-such-terminal-type",
                          [&](int fd) {
                              return tui_main(
                                  fd, [&](const std::atomic<bool>&) -> std::optional<TopUpdate> {
                                      return std::nullopt;
                                  });
                          },
                          {});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 2);
    EXPECT_NE(r.output.find("cannot use terminal type \"no-such-terminal-type\""),
              std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find(kSmcup), std::string::npos);
    EXPECT_TRUE(same_modes(r.before, r.after));
}

TEST(Tui, NeedsTerminalsOnBothEnds) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    EXPECT_FALSE(tui_possible(fds[0], fds[1]));
    close(fds[0]);
    close(fds[1]);
}

// ---------------------------------------------------------------------------------------
// The seekable view (replay, history) over a synthetic source.

// xterm's keys in keypad mode (terminfo kcub1, kcuf1, khome, kend, kpp).
constexpr const char* kLeft = "\x1bOD";
constexpr const char* kRight = "\x1bOC";
constexpr const char* kHome = "\x1bOH";
constexpr const char* kEnd = "\x1bOF";
constexpr const char* kPageUp = "\x1b[5~";

// `count` snapshots 1 s apart, each `interval_s` long; the indices at() was asked for go
// to `asked`.
SeekableSource synthetic_source(size_t count, double interval_s, std::vector<size_t>& asked) {
    SeekableSource s;
    s.size = [count] { return count; };
    s.at = [&asked, interval_s](size_t i) {
        asked.push_back(i);
        TopUpdate u = update(static_cast<int>(i));
        u.snapshot.interval_ns = static_cast<uint64_t>(interval_s * 1e9);
        return u;
    };
    s.time_ms = [](size_t i) { return update(static_cast<int>(i)).snapshot.end_unix_ms; };
    s.marker = "REPLAY";
    return s;
}

int seekable_main(int fd, const SeekableSource& source, int iterations = 0) {
    return run_tui_seekable(source, child_options(fd, iterations)) ? 0 : 2;
}

// "AT: 0 1 199 ..." written after the view closed, so the parent can read it.
void report_asked(int fd, const std::vector<size_t>& asked) {
    std::string msg = "AT:";
    for (size_t i : asked) msg += " " + std::to_string(i);
    msg += "\n";
    ssize_t ignored = write(fd, msg.data(), msg.size());
    (void)ignored;
}

std::vector<size_t> reported_asked(const std::string& output) {
    std::vector<size_t> out;
    size_t at = output.rfind("AT:");
    if (at == std::string::npos) return out;
    std::stringstream ss(output.substr(at + 3, output.find('\n', at) - at - 3));
    for (size_t i; ss >> i;) out.push_back(i);
    return out;
}

TEST(TuiSeekable, TimeKeysMoveThroughTheSnapshots) {
    std::vector<size_t> asked;
    auto act = [](const char* keys) { return Step{"", keys, 0, 0, 0, 0.3}; };
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              int rc = seekable_main(fd, synthetic_source(200, 1.0, asked));
                              report_asked(fd, asked);
                              return rc;
                          },
                          {{"(1/200)", " "},  // pause before the first second is up
                           act(kEnd),
                           act(kPageUp),
                           act(kLeft),
                           act(kHome),
                           act((std::string(kRight) + kRight + kRight).c_str()),
                           act("q")});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.steps_done, 7u);
    EXPECT_EQ(exit_code(r), 0);
    expect_restored(r);
    EXPECT_NE(r.output.find("REPLAY "), std::string::npos);
    std::vector<size_t> got = reported_asked(r.output);
    ASSERT_FALSE(got.empty()) << r.output;
    EXPECT_EQ(got.front(), 0u);  // it starts at the first
    auto end = std::find(got.begin(), got.end(), 199u);
    ASSERT_NE(end, got.end()) << r.output;
    // End, a minute back, one back, the first, then three forward typed at once: only
    // where they lead is read (held keys do not load every snapshot on the way).
    EXPECT_EQ(std::vector<size_t>(end, got.end()), (std::vector<size_t>{199, 139, 138, 0, 3}));
}

TEST(TuiSeekable, PlaysAtTheRecordedPace) {
    std::vector<size_t> asked;
    Clock::duration took{};
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              auto start = Clock::now();
                              // Leaves once the fourth snapshot is on screen.
                              int rc = seekable_main(fd, synthetic_source(4, 0.3, asked), 4);
                              took = Clock::now() - start;
                              report_asked(fd, asked);
                              double s = std::chrono::duration<double>(took).count();
                              return rc != 0 ? 200 : static_cast<int>(s * 10);  // tenths
                          },
                          {});
    ASSERT_FALSE(r.timed_out) << r.output;
    // Three intervals of 0.3 s between the first and the fourth.
    EXPECT_GE(exit_code(r), 9) << r.output;
    EXPECT_LT(exit_code(r), 30);
    EXPECT_EQ(reported_asked(r.output), (std::vector<size_t>{0, 1, 2, 3}));
    expect_restored(r);
}

TEST(TuiSeekable, ControlCEndsAndAnEmptySourceSaysSo) {
    std::vector<size_t> asked;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) { return seekable_main(fd, synthetic_source(0, 1, asked)); },
                          {{"no snapshots", "\x03"}});
    ASSERT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(exit_code(r), 0);
    EXPECT_LT(r.last_step_to_exit_s, 3.0);
    EXPECT_TRUE(asked.empty());
    expect_restored(r);
}

TEST(TuiSeekable, ErrorFromTheSourceRestoresFirstThenPropagates) {
    std::vector<size_t> asked;
    PtyRun r = run_in_pty("xterm",
                          [&](int fd) {
                              SeekableSource s = synthetic_source(5, 0.2, asked);
                              auto ok = s.at;
                              s.at = [ok](size_t i) -> TopUpdate {
                                  if (i == 2) throw std::runtime_error("history broke");
                                  return ok(i);
                              };
                              return exit_3_on_exception(fd, [&] { seekable_main(fd, s); });
                          },
                          {});
    expect_caught_after_restore(r, "history broke");
}

}  // namespace
}  // namespace perfbpf
