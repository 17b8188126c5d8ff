// A process perfbpf injects into must survive perfbpf's death at any moment (issue 14): a
// tracer is SIGKILLed at each phase of an injection and at random moments of it, and
// inject_victim, which checks its own registers, errno, signal mask and sleeps, must keep
// working. PERFBPF_INJECT_KILLS sets the number of random kills (default 30).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <thread>

#include "leaks/inject.h"
#include "leaks/target.h"
#include "support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;
using test::shim_library;
using test::TempDir;
using Clock = std::chrono::steady_clock;

char thread_state(int pid) {
    auto stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
    if (!stat || stat->rfind(')') == std::string::npos) return 0;
    return (*stat)[stat->rfind(')') + 2];
}

bool maps_shim(int pid) {
    return test::maps_path_containing(pid, "libperfbpf_shim");
}

// A running inject_victim: MODE "sleep" (its main thread sleeps, the one injected into
// first) or "busy".
class Victim {
  public:
    explicit Victim(const std::string& mode)
        : progress_(dir_.path() + "/progress"),
          child_(Child::spawn({fixture("inject_victim"), mode, progress_, "60"})) {}

    int pid() const { return child_.pid(); }
    // The busy thread's progress count as last published, 0 before the first.
    uint64_t progress() {
        auto line = read_first_line(progress_);
        if (!line) return 0;
        auto n = parse_u64(*line);
        return n ? *n : 0;
    }
    // "" when the process is alive, not stopped, and publishes new progress twice within
    // `timeout`; else what is wrong.
    std::string working(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
        const auto deadline = Clock::now() + timeout;
        uint64_t last = progress();
        int advanced = 0;
        while (advanced < 2) {
            if (child_.exited())
                return "the target died (status " + std::to_string(child_.wait()) + ")";
            if (Clock::now() > deadline) {
                char s = thread_state(pid());
                return std::string("the target made no progress (state ") + (s ? s : '?') +
                       ", progress " + std::to_string(last) + ")";
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            uint64_t now = progress();
            if (now > last) {
                ++advanced;
                last = now;
            }
        }
        char s = thread_state(pid());
        if (s == 't' || s == 'T') return std::string("the target is left stopped (") + s + ")";
        return {};
    }

  private:
    TempDir dir_;
    std::string progress_;
    Child child_;
};

// A tracer of ours that does what `trace --leaks --mode exact -p` does to the target:
// inject and attach, rescan, detach. With `die_at`, it SIGKILLs itself at the
// `occurrence`-th time (from 1) the injection reaches that phase.
Child start_tracer(int pid, std::optional<InjectPhase> die_at = {}, int occurrence = 1) {
    auto libc = find_mapped_libc(pid);
    EXPECT_TRUE(libc) << libc.error().message;
    const std::string libc_path = libc ? *libc : "";
    auto r = Child::start([=] {
        InjectOptions o;
        o.library = shim_library();
        int seen = 0;
        if (die_at)
            o.on_phase = [&](InjectPhase p) {
                if (p == *die_at && ++seen == occurrence) ::raise(SIGKILL);
            };
        auto say = [](const char* what, const Error& e) {
            std::fprintf(stderr, "tracer: %s: %s\n", what, e.message.c_str());
        };
        auto shim = inject_shim(pid, libc_path, o);
        if (!shim) return say("inject", shim.error()), 1;
        if (auto r = rescan_shim(*shim, o); !r) return say("rescan", r.error()), 2;
        if (auto r = detach_shim(*shim, o); !r) return say("detach", r.error()), 3;
        return 0;
    });
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : Child();
}

// Starts a victim and waits until it works.
std::unique_ptr<Victim> working_victim(const std::string& mode) {
    auto v = std::make_unique<Victim>(mode);
    std::string why = v->working();
    EXPECT_EQ(why, "") << "before any injection";
    return why.empty() ? std::move(v) : nullptr;
}

int kills_from_env() {
    const char* n = std::getenv("PERFBPF_INJECT_KILLS");
    if (!n) return 30;
    auto v = parse_u64(n);
    return v ? static_cast<int>(*v) : 30;
}

// Starts `kills` tracers (start(pid)) into victims, alternately sleeping and busy, and
// SIGKILLs each after delay_us(); every victim must keep working. Stops after 3 failures.
void kill_tracers(int kills, const std::function<Child(int)>& start,
                  const std::function<uint64_t()>& delay_us, const std::string& window) {
    int failures = 0;
    for (int i = 0; i < kills && failures < 3; ++i) {
        const char* mode = i % 2 ? "busy" : "sleep";
        auto v = working_victim(mode);
        ASSERT_TRUE(v);
        const uint64_t delay = delay_us();
        Child tracer = start(v->pid());
        std::this_thread::sleep_for(std::chrono::microseconds(delay));
        tracer.kill();
        std::string why = v->working();
        if (!why.empty()) ++failures;
        EXPECT_EQ(why, "") << "kill " << i + 1 << " of " << kills << " (" << mode << "), " << delay
                           << " us after the start (" << window << ")";
    }
}

uint64_t micros_since(Clock::time_point t0) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

TEST(LeaksInjectKill, UndisturbedTracerLeavesTheTargetWorking) {
    PERFBPF_REQUIRE_ROOT();
    for (const char* mode : {"sleep", "busy"}) {
        SCOPED_TRACE(mode);
        auto v = working_victim(mode);
        ASSERT_TRUE(v);
        Child tracer = start_tracer(v->pid());
        EXPECT_EQ(tracer.wait(), 0) << "inject, rescan and detach must succeed";
        EXPECT_TRUE(maps_shim(v->pid()));
        EXPECT_EQ(v->working(), "");
    }
}

TEST(LeaksInjectKill, TargetSurvivesTracerKilledAtEachPhase) {
    PERFBPF_REQUIRE_ROOT();
    // Each session (inject, rescan, detach) reaches every phase once; dlopen only in the
    // first.
    struct Case {
        InjectPhase phase;
        int occurrence;
        const char* what;
    };
    const Case cases[] = {
        {InjectPhase::Stopped, 1, "stopped for the injection"},
        {InjectPhase::Armed, 1, "armed for the injection"},
        {InjectPhase::Loaded, 1, "dlopen returned"},
        {InjectPhase::Returned, 1, "attach returned"},
        {InjectPhase::Stopped, 2, "stopped for the rescan"},
        {InjectPhase::Armed, 2, "armed for the rescan"},
        {InjectPhase::Returned, 2, "rescan returned"},
        {InjectPhase::Stopped, 3, "stopped for the detach"},
        {InjectPhase::Armed, 3, "armed for the detach"},
        {InjectPhase::Returned, 3, "detach returned"},
    };
    for (const auto& c : cases)
        for (const char* mode : {"sleep", "busy"}) {
            SCOPED_TRACE(std::string(c.what) + ", " + mode);
            auto v = working_victim(mode);
            ASSERT_TRUE(v);
            Child tracer = start_tracer(v->pid(), c.phase, c.occurrence);
            EXPECT_EQ(tracer.wait(), -SIGKILL) << "the tracer did not reach the phase";
            EXPECT_EQ(v->working(), "");
        }
}

TEST(LeaksInjectKill, TargetSurvivesTracerKilledAtRandomMoments) {
    PERFBPF_REQUIRE_ROOT();
    std::mt19937 rng(std::random_device{}());
    // How long one undisturbed tracer takes here now (the machine may be loaded): the kills
    // fall anywhere in that span.
    uint64_t span_us = 0;
    {
        auto v = working_victim("sleep");
        ASSERT_TRUE(v);
        const auto t0 = Clock::now();
        Child tracer = start_tracer(v->pid());
        ASSERT_EQ(tracer.wait(), 0);
        span_us = micros_since(t0);
    }
    kill_tracers(
        kills_from_env(), [](int pid) { return start_tracer(pid); },
        [&] { return rng() % (span_us + span_us / 10 + 1); },
        "an undisturbed tracer took " + std::to_string(span_us) + " us");
}

TEST(LeaksInjectKill, TargetSurvivesTraceCommandKilledDuringInjection) {
    PERFBPF_REQUIRE_ROOT();
    // The command as users run it: perfbpf starts (loads its probes), then injects. When the
    // shim appears in the target's maps marks the injection; kills fall around it.
    std::mt19937 rng(std::random_device{}());
    TempDir dir;
    // Its notes go to a file (sh execs perfbpf: the pid killed is perfbpf's).
    auto trace_cmd = [&](int pid) {
        return Child::spawn({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>>" + dir.path() + "/stderr",
                             test::perfbpf_binary(), "trace", "--leaks", "--mode", "exact",
                             "--inject=always", "--duration", "0.3", "-o", dir.path() + "/report",
                             "-p", std::to_string(pid)});
    };
    uint64_t inject_us = 0;
    {
        auto v = working_victim("sleep");
        ASSERT_TRUE(v);
        const auto t0 = Clock::now();
        Child tracer = trace_cmd(v->pid());
        while (!maps_shim(v->pid()) && !tracer.exited() &&
               Clock::now() - t0 < std::chrono::seconds(20))
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        inject_us = micros_since(t0);
        ASSERT_TRUE(maps_shim(v->pid())) << "the trace command never injected";
        ASSERT_EQ(tracer.wait(), 0) << test::slurp(dir.path() + "/stderr");
    }
    kill_tracers(
        std::max(1, kills_from_env() / 3), trace_cmd,
        [&] { return inject_us / 2 + rng() % (inject_us + 1); },
        "the shim appeared " + std::to_string(inject_us) + " us after the start");
}

}  // namespace
}  // namespace perfbpf
