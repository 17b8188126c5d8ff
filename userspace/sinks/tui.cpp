#include "sinks/tui.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "sinks/timeline.h"
#include "sinks/top_view.h"
#include "util/fd.h"

// Function versions only: curses' macros (clear, erase, move, timeout, ...) would rewrite
// member calls of the same names.
#define NCURSES_NOMACROS
#include <curses.h>

namespace perfbpf {

bool tui_possible(int input_fd, int output_fd) {
    return ::isatty(input_fd) == 1 && ::isatty(output_fd) == 1;
}

namespace {

// ---------------------------------------------------------------------------------------
// Restoring the terminal from a fatal signal, where endwin() cannot be called: the bytes
// that leave the alternate screen and the terminal modes are prepared while the terminal
// is set up, and written with async-signal-safe calls only.

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

struct FatalRestore {
    char bytes[512];
    size_t len = 0;
    int output_fd = -1;
    int input_fd = -1;
    bool have_modes = false;
    termios modes{};
    struct sigaction previous[std::size(kFatalSignals)];
};

FatalRestore g_fatal;
std::atomic<bool> g_fatal_armed{false};

void on_fatal_signal(int sig) {
    if (g_fatal_armed.exchange(false)) {
        ssize_t ignored = ::write(g_fatal.output_fd, g_fatal.bytes, g_fatal.len);
        (void)ignored;
        if (g_fatal.have_modes) ::tcsetattr(g_fatal.input_fd, TCSANOW, &g_fatal.modes);
    }
    // SA_RESETHAND put the default action back: the signal ends the process as it would
    // have without us once this handler returns.
    ::raise(sig);
}

// A terminfo string without its padding ("$<5>"), or "" when the terminal lacks it.
std::string cap(const char* name) {
    char* s = ::tigetstr(const_cast<char*>(name));
    if (s == nullptr || s == reinterpret_cast<char*>(-1)) return {};
    std::string out;
    for (const char* p = s; *p; ++p) {
        if (p[0] == '$' && p[1] == '<') {
            const char* end = std::strchr(p, '>');
            if (end) {
                p = end;
                continue;
            }
        }
        out += *p;
    }
    return out;
}

void arm_fatal_restore(int input_fd, int output_fd, const termios* modes) {
    std::string bytes = cap("sgr0") + cap("cnorm") + cap("rmkx") + cap("rmcup") + "\r\n";
    g_fatal.len = std::min(bytes.size(), sizeof(g_fatal.bytes));
    std::memcpy(g_fatal.bytes, bytes.data(), g_fatal.len);
    g_fatal.output_fd = output_fd;
    g_fatal.input_fd = input_fd;
    g_fatal.have_modes = modes != nullptr;
    if (modes) g_fatal.modes = *modes;
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kFatalSignals); ++i)
        ::sigaction(kFatalSignals[i], &sa, &g_fatal.previous[i]);
    g_fatal_armed.store(true);
}

void disarm_fatal_restore() {
    g_fatal_armed.store(false);
    for (size_t i = 0; i < std::size(kFatalSignals); ++i)
        ::sigaction(kFatalSignals[i], &g_fatal.previous[i], nullptr);
}

// ---------------------------------------------------------------------------------------
// The curses session: everything set up in open() is undone by the destructor, so every
// way out of run_tui restores the terminal.

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

enum ColorPair : short { kPairWarning = 1, kPairCritical = 2, kPairTitle = 3 };

class Terminal {
  public:
    static Result<std::unique_ptr<Terminal>> open(int input_fd, int output_fd) {
        std::unique_ptr<Terminal> t(new Terminal());
        termios modes{};
        bool have_modes = ::tcgetattr(input_fd, &modes) == 0;
        int in = ::dup(input_fd), out = ::dup(output_fd);
        if (in < 0 || out < 0) {
            int err = errno;
            if (in >= 0) ::close(in);
            if (out >= 0) ::close(out);
            return fail_errno("full-screen view: dup terminal fd", err);
        }
        t->in_.reset(::fdopen(in, "r"));
        t->out_.reset(::fdopen(out, "w"));
        if (!t->in_ || !t->out_) return fail_errno("full-screen view: fdopen", errno);
        const char* term = std::getenv("TERM");
        if (!term || !*term) return fail("full-screen view: TERM is not set");
        t->screen_ = ::newterm(nullptr, t->out_.get(), t->in_.get());
        if (!t->screen_)
            return fail(std::string("full-screen view: cannot use terminal type \"") + term + "\"");
        ::set_term(t->screen_);
        ::cbreak();  // keys at once; Ctrl-C still raises SIGINT, which the caller turns into `stop`
        ::noecho();
        ::nonl();
        ::keypad(::stdscr, TRUE);
        ::nodelay(::stdscr, TRUE);
        ::set_escdelay(50);
        ::curs_set(0);
        if (::has_colors()) {
            ::start_color();
            ::use_default_colors();
            ::init_pair(kPairWarning, COLOR_YELLOW, -1);
            ::init_pair(kPairCritical, COLOR_RED, -1);
            ::init_pair(kPairTitle, COLOR_BLACK, COLOR_CYAN);
            t->colors_ = true;
        }
        arm_fatal_restore(input_fd, output_fd, have_modes ? &modes : nullptr);
        return t;
    }

    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;
    ~Terminal() {
        if (!screen_) return;
        disarm_fatal_restore();
        ::curs_set(1);
        ::endwin();
        ::delscreen(screen_);
    }

    bool colors() const { return colors_; }

  private:
    Terminal() = default;
    File in_, out_;  // declared first: closed after the screen is deleted
    SCREEN* screen_ = nullptr;
    bool colors_ = false;
};

// ---------------------------------------------------------------------------------------
// The collecting thread hands its latest update to the screen through this box and wakes
// the screen's poll() with a byte on a pipe.

class Mailbox {
  public:
    static Result<std::unique_ptr<Mailbox>> create() {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
            return fail_errno("full-screen view: pipe", errno);
        auto m = std::make_unique<Mailbox>();
        m->read_.reset(fds[0]);
        m->write_.reset(fds[1]);
        return m;
    }

    void put(TopUpdate u) {
        {
            std::lock_guard lock(mu_);
            latest_ = std::make_shared<const TopUpdate>(std::move(u));
            ++count_;
        }
        wake();
    }
    void finish(std::exception_ptr error) {
        {
            std::lock_guard lock(mu_);
            finished_ = true;
            error_ = std::move(error);
        }
        wake();
    }
    int wake_fd() const { return read_.get(); }

    struct Taken {
        std::shared_ptr<const TopUpdate> update;  // null: nothing new
        int count = 0;                            // updates put so far
        bool finished = false;
        std::exception_ptr error;
    };
    Taken take() {
        char buf[64];
        while (::read(read_.get(), buf, sizeof(buf)) > 0) {
        }
        std::lock_guard lock(mu_);
        return {std::exchange(latest_, nullptr), count_, finished_, error_};
    }

  private:
    void wake() {
        char c = 1;
        ssize_t ignored = ::write(write_.get(), &c, 1);  // full pipe: a wake-up is pending
        (void)ignored;
    }

    std::mutex mu_;
    std::shared_ptr<const TopUpdate> latest_;
    int count_ = 0;
    bool finished_ = false;
    std::exception_ptr error_;
    UniqueFd read_, write_;
};

// Joins the collecting thread on every way out (before the terminal is restored).
class Worker {
  public:
    Worker(const TopSource& source, Mailbox& box)
        : thread_([this, &source, &box] {
              // Signals go to the screen's thread, whose poll() they interrupt.
              sigset_t all;
              sigfillset(&all);
              for (int sig : kFatalSignals) sigdelset(&all, sig);
              ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
              std::exception_ptr error;
              try {
                  while (!stop_.load()) {
                      auto u = source(stop_);
                      if (!u) break;
                      box.put(std::move(*u));
                  }
              } catch (...) {
                  error = std::current_exception();
              }
              box.finish(error);
          }) {}
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() {
        stop_.store(true);
        thread_.join();
    }

  private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// ---------------------------------------------------------------------------------------
// Painting

int key_from_curses(int ch) {
    switch (ch) {
        case KEY_UP:
            return top_key::up;
        case KEY_DOWN:
            return top_key::down;
        case KEY_PPAGE:
            return top_key::page_up;
        case KEY_NPAGE:
            return top_key::page_down;
        case KEY_HOME:
            return top_key::home;
        case KEY_END:
            return top_key::end;
        case KEY_LEFT:
            return top_key::left;
        case KEY_RIGHT:
            return top_key::right;
        case KEY_BTAB:
            return top_key::back_tab;
        case KEY_RESIZE:
            return top_key::resize;
        case KEY_BACKSPACE:
            return top_key::backspace;
        case KEY_ENTER:
        case '\r':
            return top_key::enter;
        default:
            return ch >= KEY_MIN ? -1 : ch;
    }
}

attr_t severity_attr(Severity s, bool colors) {
    switch (s) {
        case Severity::ok:
            return A_NORMAL;
        case Severity::warning:
            return colors ? COLOR_PAIR(kPairWarning) | A_BOLD : A_BOLD;
        case Severity::critical:
            return colors ? COLOR_PAIR(kPairCritical) | A_BOLD : A_BOLD | A_UNDERLINE;
    }
    return A_NORMAL;
}

void put_line(int y, const std::string& text, attr_t attr, int width, bool fill) {
    ::attrset(attr);
    if (fill) ::mvhline(y, 0, ' ', width);
    ::mvaddnstr(y, 0, text.c_str(), width);
    ::attrset(A_NORMAL);
}

void paint_help(const std::vector<std::string>& help, int width, int height) {
    size_t longest = 0;
    for (const auto& l : help) longest = std::max(longest, l.size());
    int w = std::min(width, static_cast<int>(longest) + 4);
    int h = std::min(height, static_cast<int>(help.size()) + 2);
    if (w < 3 || h < 3) return;
    WINDOW* win = ::newwin(h, w, (height - h) / 2, (width - w) / 2);
    if (!win) return;
    ::werase(win);
    ::wborder(win, '|', '|', '-', '-', '+', '+', '+', '+');  // ASCII: right in any locale
    for (int i = 0; i + 2 < h && i < static_cast<int>(help.size()); ++i)
        ::mvwaddnstr(win, i + 1, 2, help[static_cast<size_t>(i)].c_str(), w - 4);
    ::wnoutrefresh(win);
    ::delwin(win);
}

void paint(const TopFrame& f, bool colors, bool filtering) {
    int height = 0, width = 0;
    getmaxyx(::stdscr, height, width);
    ::werase(::stdscr);
    int y = 0;
    for (const auto& l : f.header) {
        attr_t a = l.severity != Severity::ok ? severity_attr(l.severity, colors)
                                              : (y == 0 ? A_BOLD : A_NORMAL);
        put_line(y++, l.text, a, width, false);
    }
    for (const auto& l : f.detail) {
        if (y >= height - 1) break;
        put_line(y++, l.text, l.emphasis ? A_BOLD : A_NORMAL, width, false);
    }
    if (!f.detail.empty()) y = height;  // the pane replaces the table
    if (y < height - 1) {
        attr_t title = colors ? COLOR_PAIR(kPairTitle) : A_REVERSE;
        put_line(y, f.column_line, title, width, true);
        for (const auto& c : f.columns)
            if (c.sorted && static_cast<int>(c.offset) < width)
                ::mvchgat(y, static_cast<int>(c.offset), static_cast<int>(c.width),
                          title | A_BOLD | A_UNDERLINE, colors ? kPairTitle : 0, nullptr);
        ++y;
    }
    for (const auto& r : f.rows) {
        if (y >= height - 1) break;
        attr_t a = severity_attr(r.severity, colors);
        if (r.exited) a |= A_DIM;
        if (r.selected) a |= A_REVERSE;
        put_line(y++, r.text, a, width, r.selected);
    }
    if (height > 0) {
        attr_t a = A_REVERSE;
        if (f.status.severity != Severity::ok) a |= A_BOLD;
        put_line(height - 1, f.status.text, a, width, true);
    }
    if (filtering && height > 0) {
        ::curs_set(1);
        ::move(height - 1, static_cast<int>(f.cursor_column));
    } else {
        ::curs_set(0);
    }
    ::wnoutrefresh(::stdscr);
    if (!f.help.empty()) paint_help(f.help, width, height);
    ::doupdate();
}

// H's threads, read again for each update while they are shown.
void read_threads(TopUiState& state, const TuiOptions& opts) {
    if (state.threads_pid == 0) return;
    if (!opts.threads) {
        state.threads_pid = 0;
        state.message = "H reads the threads of live processes; this is the past";
        return;
    }
    auto threads = opts.threads(state.threads_pid);
    if (!threads) {
        state.threads_pid = 0;
        state.threads.clear();
        state.message = threads.error().message;
        return;
    }
    state.threads = std::move(*threads);
}

// Hands what a key asked to TuiOptions::act and shows its answer.
void carry_out(TopUiState& state, const TuiOptions& opts) {
    TopAction a = std::exchange(state.action, {});
    if (a.kind == TopAction::Kind::none) return;
    if (a.kind == TopAction::Kind::threads) {
        read_threads(state, opts);
        return;
    }
    if (a.kind == TopAction::Kind::describe) {
        state.detail_cmdline = opts.act ? opts.act(a) : "";
        if (!opts.act) state.detail_cmdline = "(not recorded)";
        return;
    }
    state.message =
        opts.act ? opts.act(a) : "k and r act on live processes; this is the past, not sent";
}

// Builds the frame for the screen's current size and paints it; `frame` is kept for the
// key handler (rows on screen, page size).
void draw(TopFrame& frame, const TopUpdate* shown, const TopUiState& state, bool colors) {
    static const std::vector<Verdict> no_verdicts;
    static const FiringAlerts no_alerts;
    int height = 0, width = 0;
    getmaxyx(::stdscr, height, width);
    frame = build_top_frame(
        shown ? &shown->snapshot : nullptr, shown ? shown->verdicts : no_verdicts, state,
        static_cast<size_t>(std::max(width, 0)), static_cast<size_t>(std::max(height, 0)),
        shown ? shown->alerts : no_alerts);
    paint(frame, colors, state.mode == TopMode::filter || state.mode == TopMode::renice);
}

// The seekable view's loop; returns on q, `stop` or `iterations`, throws what the source
// throws (the caller restores the terminal first).
void seekable_loop(const SeekableSource& source, const TuiOptions& opts, bool colors) {
    using Clock = std::chrono::steady_clock;
    TopUiState state;
    Playback play;                         // from the first snapshot, playing
    std::optional<TopUpdate> shown, next;  // next: shown + 1, loaded to know its interval
    size_t shown_index = 0;
    Clock::time_point shown_since = Clock::now();  // or since playing resumed
    int shown_count = 0;
    TopFrame frame;
    bool dirty = true;
    for (;;) {
        if (opts.stop && opts.stop->load()) return;
        const size_t count = source.size();
        if (count > 0) {
            play.index = std::min(play.index, count - 1);
            if (!shown || shown_index != play.index) {
                if (next && shown && shown_index + 1 == play.index)
                    shown = std::move(next);
                else
                    shown = source.at(play.index);
                next.reset();
                shown_index = play.index;
                shown_since = Clock::now();
                ++shown_count;
                dirty = true;
            }
            if (play.playing && play.index + 1 >= count) play.playing = false;
            if (play.playing && !next) next = source.at(play.index + 1);
            if (play.playing && Clock::now() >= shown_since + std::chrono::nanoseconds(
                                                                  next->snapshot.interval_ns)) {
                ++play.index;
                continue;
            }
        }
        std::string timeline = count == 0
                                   ? source.marker + ": no snapshots"
                                   : timeline_line(source.marker, shown->snapshot.end_unix_ms,
                                                   shown_index, count, play.playing);
        bool ended = count == 0 || shown_index + 1 == count;
        if (timeline != state.timeline || ended != state.ended) {
            state.timeline = std::move(timeline);
            state.ended = ended;
            dirty = true;
        }
        if (dirty) {
            draw(frame, shown ? &*shown : nullptr, state, colors);
            dirty = false;
        }
        if (opts.iterations > 0 && shown_count >= opts.iterations) return;

        int wait_ms = 200;  // a backstop: keys and signals end the wait
        if (play.playing && next) {
            auto due = shown_since + std::chrono::nanoseconds(next->snapshot.interval_ns);
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
            wait_ms = static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 200));
        }
        pollfd fds[1] = {{opts.input_fd, POLLIN, 0}};
        ::poll(fds, 1, wait_ms);
        for (int ch; (ch = ::getch()) != ERR;) {
            int key = key_from_curses(ch);
            if (key < 0) continue;
            dirty = true;
            if (state.mode == TopMode::normal && is_time_key(key)) {
                state.message.clear();
                bool was_playing = play.playing;
                play = press_time_key(play, count, source.time_ms, key);
                if (play.playing && !was_playing) shown_since = Clock::now();
                continue;
            }
            state = handle_top_key(std::move(state), key, frame.key_context());
            carry_out(state, opts);
            if (state.quit) return;
        }
    }
}

}  // namespace

Result<void> run_tui(const TopSource& source, const TuiOptions& opts) {
    auto box = Mailbox::create();
    if (!box) return std::unexpected(box.error());
    auto terminal = Terminal::open(opts.input_fd, opts.output_fd);
    if (!terminal) return std::unexpected(terminal.error());
    std::exception_ptr error;
    {
        Worker worker(source, **box);  // joined before the terminal is restored
        TopUiState state;
        std::shared_ptr<const TopUpdate> latest, shown;  // shown stays put while paused
        TopFrame frame;
        bool dirty = true;
        for (;;) {
            if (opts.stop && opts.stop->load()) break;
            if (dirty) {
                draw(frame, shown.get(), state, (*terminal)->colors());
                dirty = false;
            }
            pollfd fds[2] = {{opts.input_fd, POLLIN, 0}, {(*box)->wake_fd(), POLLIN, 0}};
            // Signals (SIGWINCH, SIGINT) interrupt the wait; the timeout is a backstop.
            ::poll(fds, 2, 200);
            auto taken = (*box)->take();
            if (taken.update) {
                latest = taken.update;
                if (!state.paused) {
                    shown = latest;
                    read_threads(state, opts);  // the threads' shares over the same interval
                }
                dirty = true;
            }
            for (int ch; (ch = ::getch()) != ERR;) {
                int key = key_from_curses(ch);
                if (key < 0) continue;
                bool was_paused = state.paused;
                state = handle_top_key(std::move(state), key, frame.key_context());
                carry_out(state, opts);
                if (was_paused && !state.paused) shown = latest;
                dirty = true;
                if (state.quit) break;
            }
            if (taken.error) {
                error = taken.error;
                break;
            }
            if (taken.finished && !state.ended) {
                state.ended = true;  // a replay's last frame stays until q
                dirty = true;
            }
            if (state.quit) break;
            if (opts.iterations > 0 && taken.count >= opts.iterations) break;
        }
    }
    terminal->reset();  // restore before any error is reported on the terminal
    if (error) std::rethrow_exception(error);
    return {};
}

Result<void> run_tui_seekable(const SeekableSource& source, const TuiOptions& opts) {
    auto terminal = Terminal::open(opts.input_fd, opts.output_fd);
    if (!terminal) return std::unexpected(terminal.error());
    std::exception_ptr error;
    try {
        seekable_loop(source, opts, (*terminal)->colors());
    } catch (...) {
        error = std::current_exception();
    }
    terminal->reset();  // restore before any error is reported on the terminal
    if (error) std::rethrow_exception(error);
    return {};
}

}  // namespace perfbpf
