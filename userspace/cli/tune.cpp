// `perfbpf tune`: evidence-driven tuning of sysctls, block queues, cgroups and processes.
// Argument wiring only; the engine, journal and knob layer live in tune/.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/finite.h"
#include "cli/signals.h"
#include "collect/collector.h"
#include "sinks/tune_sink.h"
#include "tune/engine.h"
#include "tune/filter_check.h"
#include "tune/registry.h"

namespace perfbpf::cli {
namespace {

using namespace perfbpf::tune;

struct TuneOptions {
    bool plan = false, automatic = false, rollback = false, status = false;
    bool json = false, dry_run = false, revert_on_exit = false;
    std::optional<double> duration_s;
    double interval_s = 1;
    size_t window = 5, verify_window = 0, settle = 1;
    double min_gap_s = 60, backoff_s = 600, reverse_gap_s = 300;
    std::vector<std::string> only, exclude, netns, cgroups, devices, pids;
    std::string state_dir = "/var/lib/perfbpf";
};

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

ScopeFilter filter_of(const TuneOptions& o) {
    ScopeFilter f;
    f.netns = o.netns;
    f.cgroups = o.cgroups;
    f.devices = o.devices;
    f.pids = o.pids;
    return f;
}

std::set<std::string> set_of(const std::vector<std::string>& v) {
    return {v.begin(), v.end()};
}

int error(const std::string& message) {
    std::fprintf(stderr, "perfbpf: %s\n", message.c_str());
    return 1;
}

Result<std::unique_ptr<Collector>> collector_for(const Engine& engine, double interval_s,
                                                 const char* command) {
    CollectorOptions co;
    co.interval_ns = static_cast<uint64_t>(std::llround(interval_s * 1e9));
    co.families = engine.families();
    co.command = command;
    auto c = Collector::create(co);
    if (!c) return std::unexpected(c.error());
    for (const auto& s : (*c)->probe_status())
        if (!s.attached && !s.skipped && s.core)
            std::fprintf(stderr, "perfbpf: warning: %s %s unavailable: %s\n", s.family.c_str(),
                         s.probe.c_str(), s.reason.c_str());
    return c;
}

EngineOptions engine_options(const TuneOptions& o) {
    EngineOptions eo;
    eo.only = set_of(o.only);
    eo.exclude = set_of(o.exclude);
    eo.filter = filter_of(o);
    eo.window = o.window;
    eo.verify_window = o.verify_window;
    eo.settle = o.settle;
    eo.gate.min_gap_ms = static_cast<int64_t>(o.min_gap_s * 1000);
    eo.gate.backoff_ms = static_cast<int64_t>(o.backoff_s * 1000);
    eo.gate.reverse_gap_ms = static_cast<int64_t>(o.reverse_gap_s * 1000);
    eo.dry_run = o.dry_run;
    return eo;
}

int run_plan(const TuneOptions& o, const Knobs& knobs) {
    auto tuners = select_tuners(set_of(o.only), set_of(o.exclude));
    if (!tuners) return error(tuners.error().message);
    Engine engine(knobs, std::move(*tuners), engine_options(o));
    // An unusable state dir is an error, not "no journal": the plan would show as originals
    // values this tool may have written.
    auto journal = Journal::load(o.state_dir);
    if (!journal) return error(journal.error().message);
    install_stop_handlers();
    auto collector = collector_for(engine, o.interval_s, "tune");
    if (!collector) return error(collector.error().message);
    const uint64_t want_ns = static_cast<uint64_t>(o.duration_s.value_or(10) * 1e9);
    std::vector<Snapshot> window;
    uint64_t watched_ns = 0;
    const auto& stop = stop_requested();
    // Seconds left, on a terminal only: a pipe or --json gets the plan alone.
    const bool progress = !o.json && ::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO);
    auto show = [&](const std::string& line) {
        if (progress) std::fprintf(stderr, "\r%s\033[K", line.c_str());
    };
    show(tune_progress_line(watched_ns, want_ns));
    while (watched_ns < want_ns && !stop.load()) {
        window.push_back((*collector)->next(&stop));
        watched_ns += window.back().interval_ns;
        show(tune_progress_line(watched_ns, want_ns));
    }
    show("");
    auto plan = engine.plan(window, &*journal);
    if (o.json)
        std::cout << tune_plan_json(plan, watched_ns).dump(2) << std::endl;
    else
        std::cout << tune_plan_text(plan, watched_ns) << std::flush;
    return 0;
}

void print_events(const std::vector<EngineEvent>& events) {
    for (const auto& e : events) std::cout << "perfbpf tune: " << e.text << std::endl;
}

int run_auto(const TuneOptions& o, const Knobs& knobs) {
    auto tuners = select_tuners(set_of(o.only), set_of(o.exclude));
    if (!tuners) return error(tuners.error().message);
    Engine engine(knobs, std::move(*tuners), engine_options(o));
    // The journal first: a state dir we cannot write is refused before anything runs.
    auto journal = Journal::open(
        o.state_dir, o.dry_run ? "perfbpf tune --auto --dry-run" : "perfbpf tune --auto");
    if (!journal) return error(journal.error().message);
    install_stop_handlers();
    auto collector = collector_for(engine, o.interval_s, "tune");
    if (!collector) return error(collector.error().message);
    std::cout << "perfbpf tune: watching every " << o.interval_s << " s"
              << (o.dry_run ? " (dry run: nothing is changed)" : "") << "; journal "
              << journal->path() << "; Ctrl-C stops" << std::endl;
    const auto& stop = stop_requested();
    const int64_t end_ms = o.duration_s && *o.duration_s > 0
                               ? now_ms() + static_cast<int64_t>(*o.duration_s * 1000)
                               : INT64_MAX;
    int status = 0;
    while (!stop.load() && now_ms() < end_ms) {
        Snapshot s = (*collector)->next(&stop);
        if (stop.load()) break;  // a cut-short interval would skew the windows
        auto events = engine.step(std::move(s), *journal, now_ms());
        if (!events) {
            status = error(events.error().message);
            break;
        }
        print_events(*events);
    }
    auto stopped = engine.stop(*journal);
    if (!stopped) return error(stopped.error().message);
    print_events(*stopped);
    if (o.revert_on_exit && !engine.kept().empty()) {
        auto rep = rollback(*journal, knobs, filter_of(o), {}, "exit", engine.kept());
        if (!rep) return error(rep.error().message);
        for (const auto& l : rep->lines) std::cout << "perfbpf tune: restored " << l << std::endl;
        if (rep->failures) status = 1;
    } else if (!engine.kept().empty()) {
        std::string names;
        for (const auto& id : engine.kept())
            names += (names.empty() ? "" : ", ") + knobs.display_name(id);
        std::cout << "perfbpf tune: left " << engine.kept().size() << " verified change"
                  << (engine.kept().size() == 1 ? "" : "s") << " in place (" << names
                  << "); `perfbpf tune --rollback` restores the originals" << std::endl;
    } else {
        std::cout << "perfbpf tune: no change of this run is in place" << std::endl;
    }
    return status;
}

int run_rollback(const TuneOptions& o, const Knobs& knobs) {
    if (auto t = select_tuners(set_of(o.only), set_of(o.exclude)); !t)
        return error(t.error().message);
    // Read first: a missing state dir or journal is nothing to do (and no dir is created),
    // one we cannot read is an error.
    auto recorded = Journal::load(o.state_dir);
    if (!recorded) return error(recorded.error().message);
    if (recorded->records == 0) {
        std::cout << "nothing to roll back: no journal in " << o.state_dir << std::endl;
        return 0;
    }
    auto journal = Journal::open(o.state_dir, "perfbpf tune --rollback");
    if (!journal) return error(journal.error().message);
    // The tuners --only/--exclude select, by name (the journal names each change's tuner).
    std::set<std::string> only;
    if (!o.only.empty() || !o.exclude.empty()) {
        auto selected = select_tuners(set_of(o.only), set_of(o.exclude));
        if (!selected) return error(selected.error().message);
        for (const auto& t : *selected) only.emplace(t->name());
    }
    auto rep = rollback(*journal, knobs, filter_of(o), only, "rollback");
    if (!rep) return error(rep.error().message);
    for (const auto& l : rep->lines) std::cout << l << std::endl;
    std::cout << tune_rollback_summary(*rep) << std::endl;
    return rep->failures ? 1 : 0;
}

int run_status(const TuneOptions& o, const Knobs& knobs) {
    auto journal = Journal::load(o.state_dir);
    if (!journal) return error(journal.error().message);
    auto entries = status(*journal, knobs, filter_of(o), set_of(o.only));
    auto writer = StateLock::holder(o.state_dir);
    if (o.json)
        std::cout << tune_status_json(entries, writer).dump(2) << std::endl;
    else
        std::cout << tune_status_text(entries, writer) << std::flush;
    return 0;
}

int run_tune(const TuneOptions& given) {
    KnobRoots roots = KnobRoots::discover();
    // Named objects that do not exist are usage errors, found before any state dir is made;
    // rollback and status also take objects the journal has, gone or not.
    std::set<Scope> recorded;
    if (given.rollback || given.status)
        if (auto st = Journal::load(given.state_dir))
            for (const auto& [id, rec] : st->knobs) recorded.insert(id.scope);
    auto filter = check_filter(filter_of(given), roots, recorded);
    if (!filter) {
        std::fprintf(stderr, "perfbpf: %s\n", filter.error().message.c_str());
        return 2;
    }
    TuneOptions o = given;
    o.cgroups = filter->cgroups;
    Knobs knobs(std::move(roots));
    if (o.automatic) return run_auto(o, knobs);
    if (o.rollback) return run_rollback(o, knobs);
    if (o.status) return run_status(o, knobs);
    return run_plan(o, knobs);
}

}  // namespace

void add_tune(CLI::App& app) {
    auto o = std::make_shared<TuneOptions>();
    std::string tuners;
    for (const auto& t : make_all_tuners())
        tuners += "  " + std::string(t->name()) + ": " + std::string(t->summary()) + "\n";
    auto* cmd = app.add_subcommand(
        "tune",
        "Evidence-driven tuning through sysctl, block queue, cgroup and process knobs.\n"
        "--plan (the default) watches for --duration and prints what it would change and why;\n"
        "nothing is changed. --auto applies recommendations one at a time: each write is\n"
        "journaled (fsync'd) first and read back, then verified against a target metric and a\n"
        "guard metric over a window before and after; a change that did not help beyond the\n"
        "noise is reverted and not retried for a back-off period. Ctrl-C leaves verified\n"
        "changes in place (--revert-on-exit restores them). --rollback restores every knob the\n"
        "journal lists to its original, also after a crash or kill -9. --status shows what is\n"
        "changed now. A knob someone else changes is left to them. Naming objects (--device,\n"
        "--netns, --cgroup, --pid) restricts every mode to those objects alone.\nTuners:\n" +
            tuners);
    auto* plan =
        cmd->add_flag("--plan", o->plan, "Print recommendations, change nothing (default)");
    auto* autom =
        cmd->add_flag("--auto", o->automatic, "Apply, verify and keep or revert, until stopped");
    auto* rb = cmd->add_flag("--rollback", o->rollback,
                             "Restore every knob this tool changed (idempotent)");
    auto* st = cmd->add_flag("--status", o->status,
                             "Show what is changed now, by which tuner, why, outcome");
    plan->excludes(autom, rb, st);
    autom->excludes(rb, st);
    rb->excludes(st);
    cmd->add_flag("--json", o->json,
                  "JSON for --plan and --status ({\"changes\": [...]}, see README)");
    cmd->add_option("--duration", o->duration_s,
                    "Seconds to watch: --plan (default 10), --auto (default: until stopped)")
        ->check(finite_number())
        ->check(CLI::Range(0.1, 1e9));
    cmd->add_option("--interval", o->interval_s, "Seconds per sample (default 1)")
        ->check(finite_number())
        ->check(CLI::Range(0.1, 3600.0));
    cmd->add_option("--window", o->window,
                    "Samples a decision looks at, and that verify a change after it (default 5)")
        ->check(CLI::Range(3, 1000));
    cmd->add_option("--verify-window", o->verify_window,
                    "Samples that verify a change after it (default: --window)")
        ->check(CLI::Range(3, 100000));
    cmd->add_option("--settle", o->settle,
                    "Samples after a change that neither window counts (default 1; a knob "
                    "that takes longer to act waits at least its own time: vm.swappiness 8 s)")
        ->check(CLI::Range(0, 100));
    cmd->add_option("--min-gap", o->min_gap_s,
                    "Seconds between two changes of one knob (default 60)")
        ->check(finite_number())
        ->check(CLI::Range(0.0, 1e7));
    cmd->add_option("--backoff", o->backoff_s,
                    "Seconds before a reverted change is tried again, doubling (default 600)")
        ->check(finite_number())
        ->check(CLI::Range(0.0, 1e7));
    cmd->add_option("--reverse-gap", o->reverse_gap_s,
                    "Seconds before a knob may move back the way it came (default 300)")
        ->check(finite_number())
        ->check(CLI::Range(0.0, 1e7));
    cmd->add_option("--only", o->only, "Run only these tuners (comma-separated)")->delimiter(',');
    cmd->add_option("--exclude", o->exclude, "Do not run these tuners (comma-separated)")
        ->delimiter(',');
    cmd->add_option("--netns", o->netns, "Only this network namespace (a name under /run/netns)")
        ->delimiter(',');
    cmd->add_option("--cgroup", o->cgroups, "Only this cgroup path and below (e.g. /batch)")
        ->delimiter(',');
    cmd->add_option("--device", o->devices, "Only this block device (e.g. sdb, loop3)")
        ->delimiter(',');
    cmd->add_option("--pid", o->pids, "Only this process (nice, affinity)")->delimiter(',');
    cmd->add_flag("--dry-run", o->dry_run, "With --auto: say what would change, change nothing");
    cmd->add_option("--state-dir", o->state_dir,
                    "Journal and lock directory (default /var/lib/perfbpf)");
    cmd->add_flag("--revert-on-exit", o->revert_on_exit,
                  "With --auto: restore this run's verified changes when it stops");
    cmd->footer(
        "Examples:\n"
        "  sudo perfbpf tune                         plan for 10 s: what would change and why\n"
        "  sudo perfbpf tune --auto --only block-io --device sdb\n"
        "  sudo perfbpf tune --status --json\n"
        "  sudo perfbpf tune --rollback              restore everything tune changed");
    cmd->callback([o] { exit_status() = run_tune(*o); });
}

}  // namespace perfbpf::cli
