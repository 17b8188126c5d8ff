#include "leaks/session_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>

#include "collect/collector.h"
#include "detect/leak_interval.h"
#include "leaks/frames.h"
#include "leaks/freeze.h"
#include "util/files.h"

namespace perfbpf {

namespace {

// Detaching uprobes waits for RCU grace periods (≈0.1 s here), which a traced command's
// run would otherwise include. A helper process that shares the probes' file descriptions
// holds the last references: the tracer closes its own cheaply and goes on; the helper
// closes its copies (the slow release) after the tracer lets it go, with stdio closed so
// nobody waits for its output.
class BackgroundRelease {
  public:
    BackgroundRelease() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[1]);
            for (int fd = 0; fd <= 2; ++fd) ::close(fd);
            char b;
            while (::read(fds[0], &b, 1) > 0) {
            }
            _exit(0);
        }
        ::close(fds[0]);
        if (pid < 0) {
            ::close(fds[1]);
            return;
        }
        go_ = fds[1];
    }
    // Call after the tracer has dropped its own references.
    void release() {
        if (go_ >= 0) ::close(go_);
        go_ = -1;
    }
    ~BackgroundRelease() { release(); }

  private:
    int go_ = -1;
};

// What the report leaves out because a table was full: said in the report itself.
void add_limit_notes(LeakReport& r, const LeaksTraceOptions& opts) {
    if (uint64_t n = r.counters["live_full"]) {
        const std::string limit =
            opts.max_live ? "--max-live " + std::to_string(opts.max_live)
                          : "--live-memory " + std::to_string(opts.live_memory_bytes >> 20) + " (" +
                                std::to_string(live_entries(opts)) + " allocations)";
        r.notes.push_back(std::to_string(n) +
                          " allocations untracked: outstanding bytes are a lower bound (the "
                          "table of outstanding allocations was full at " +
                          limit + ")");
    }
    const uint64_t full = r.counters["stack_full"] + r.counters["stack_range"];
    if (full || r.unattributed.allocs > 0) {
        r.notes.push_back(
            std::to_string(std::llround(r.unattributed.allocs)) +
            " allocations have no stored stack (" + std::to_string(full) +
            " because the stack table was full: --max-stacks " + std::to_string(opts.max_stacks) +
            (r.counters["images"] > 1 ? ", shared by the " + std::to_string(r.counters["images"]) +
                                            " program images exec'ed"
                                      : std::string()) +
            "): their " + std::to_string(std::llround(r.unattributed.outstanding_bytes)) +
            " outstanding bytes are attributed to no stack");
    }
}

// Sampled mode: what the estimates can say about a program that allocates little.
void add_sampling_notes(LeakReport& r, const LeaksTraceOptions& opts) {
    // The library states its mean in its first batch, which a program that allocated
    // nothing sampled may never have handed over.
    if (!r.sample_mean_bytes) r.sample_mean_bytes = opts.sample_bytes;
    const double mean = static_cast<double>(r.sample_mean_bytes);
    double allocated = 0;
    for (const auto& s : r.stacks) allocated += s.allocated_bytes;
    if (allocated >= 100 * mean || mean <= 0) return;
    const uint64_t suggest = std::max<uint64_t>(
        64, std::bit_floor(static_cast<uint64_t>(allocated > 0 ? allocated / 1000 : mean / 64)));
    if (r.stacks.empty()) {
        r.notes.push_back("nothing sampled; up to " +
                          std::to_string(std::llround(kNoSampleExpected95 * mean)) +
                          " bytes may be outstanding (95 %, at one sample per " +
                          std::to_string(r.sample_mean_bytes) +
                          " bytes); for a program that allocates little use a smaller "
                          "--sample-bytes, e.g. " +
                          std::to_string(suggest));
        return;
    }
    r.notes.push_back("the sampled allocations add up to about " +
                      std::to_string(std::llround(allocated)) +
                      " bytes, under 100 sampling means: the estimates rest on few samples; "
                      "--sample-bytes " +
                      std::to_string(suggest) + " would sample this program more finely");
}

// Exact mode at the end: the target held still while its memory is scanned for pointers
// to the outstanding blocks; each stack's bytes split by memcheck's classes. A launched
// command is stopped by its tracer (`child`, held at its exit when it exited), a running
// process is seized here. Why it could not be done goes into the notes.
void add_reachability(LeakReport& r, const LeaksReader& reader, int pid, SpawnedTarget* child,
                      const std::string& not_held) {
    auto skip = [&](const std::string& why) {
        r.notes.push_back("no reachability scan: " + why +
                          " (outstanding bytes are not split into lost and reachable)");
    };
    if (!not_held.empty()) return skip(not_held);
    if (child) {
        if (!child->traced() && child->exited())
            return skip(
                "the command ended before its memory could be held (another thread "
                "than the first ended it, or its first thread exited alone)");
        if (auto s = child->stop_traced(); !s) return skip(s.error().message);
    } else if (!check_pid(pid).empty()) {
        return skip("process " + std::to_string(pid) + " exited before the end of the trace");
    }
    const uint64_t t0 = monotonic_ns();
    FrozenTarget frozen = FrozenTarget::freeze(pid, child ? pid : 0);
    const auto blocks = reader.outstanding_blocks();
    auto reach = scan_target(pid, frozen, blocks);
    const size_t threads = frozen.threads().size();
    frozen.thaw();
    if (child) child->release_hold();
    if (!reach) return skip(reach.error().message);
    std::map<uint32_t, LeakStack*> by_index;
    for (auto& s : r.stacks) by_index[s.index] = &s;
    auto& sum = r.reach;
    // By Reach's order: definitely lost, indirectly lost, possibly lost, reachable.
    constexpr double LeakStack::*kField[] = {&LeakStack::lost_bytes, &LeakStack::indirect_bytes,
                                             &LeakStack::possible_bytes,
                                             &LeakStack::reachable_bytes};
    for (size_t i = 0; i < blocks.size(); ++i) {
        auto it = by_index.find(blocks[i].stack);
        if (it != by_index.end())
            it->second->*kField[static_cast<size_t>(reach->reach[i])] +=
                static_cast<double>(blocks[i].size);
    }
    sum.scanned = true;
    sum.lost_bytes = static_cast<double>(reach->definitely_lost.bytes);
    sum.lost_blocks = reach->definitely_lost.blocks;
    sum.indirect_bytes = static_cast<double>(reach->indirectly_lost.bytes);
    sum.indirect_blocks = reach->indirectly_lost.blocks;
    sum.possible_bytes = static_cast<double>(reach->possibly_lost.bytes);
    sum.possible_blocks = reach->possibly_lost.blocks;
    sum.reachable_bytes = static_cast<double>(reach->reachable.bytes);
    sum.reachable_blocks = reach->reachable.blocks;
    sum.root_bytes = reach->root_bytes;
    sum.threads = threads;
    r.counters["reach_scan_us"] = (monotonic_ns() - t0) / 1000;
    if (frozen.skipped())
        r.notes.push_back("reachability: " + std::to_string(frozen.skipped()) +
                          " thread(s) could not be stopped; their registers and stacks were "
                          "not scanned");
}

}  // namespace

Result<LeakReport> final_report(const LeaksTraceOptions& opts, TraceTarget& t, TraceProbes& p,
                                TraceSampling& s) {
    const bool command = t.command;
    const int pid = t.pid;
    const uint64_t now = monotonic_ns();
    if (!t.gone()) s.refresh_maps();
    if (t.maps_file && !t.maps_file->path.empty()) {
        if (auto text = read_file(t.maps_file->path); text && !text->empty())
            s.maps.merge(parse_proc_maps(*text));
    }
    if (t.gone() && s.growth_reader) s.sample(now);  // final stack totals (RSS is gone)
    LeakReport report = s.build(now);
    for (auto& proc : report.processes) proc.comm = t.comm;
    report.pid = pid;
    report.comm = t.comm;
    report.notes = p.notes;
    for (const auto& n : s.end_notes) report.notes.push_back(n);
    if (s.reader && opts.mode == "exact")
        add_reachability(report, *s.reader, pid, t.child ? &*t.child : nullptr, t.not_held);
    if (s.reader) add_limit_notes(report, opts);
    if (s.reader && opts.mode == "sampled") add_sampling_notes(report, opts);
    if (!command && opts.mode == "exact")
        report.notes.push_back(
            std::string("exact mode on a running process: allocations made before the ") +
            (p.injected ? "library was injected" : "trace started") +
            " are not known, so their frees are ignored");
    if (t.child) {
        report.target_exited = t.child->exited();
        if (report.target_exited) report.exit_code = t.child->exit_code();
    } else {
        report.target_exited = t.gone();
    }
    if (t.child && !report.target_exited) t.child->terminate();
    // The library announces itself when it starts; a command in which it never did was not
    // watched at all (a loader refused it, or the program dropped LD_PRELOAD), and its empty
    // report would read as "no leaks".
    const bool never_started = command && p.probe && p.probe->images() == 0;
    {
        BackgroundRelease helper;
        s.reader.reset();
        s.growth_reader.reset();
        s.kernel_reader.reset();
        p.probe.reset();
        p.growth.reset();
        p.kernel.reset();
        p.shared.reset();
        helper.release();
    }
    if (never_started)
        return fail("nothing was traced: the interposition library never started in " + t.comm +
                    " (its loader did not load it, or the program dropped LD_PRELOAD); "
                    "--mode growth needs no library");
    symbolize_report(report, s.maps, s.symbolizer, s.ksyms.get());
    return report;
}

}  // namespace perfbpf
