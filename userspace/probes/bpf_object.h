// What every probe family does with its skeleton: share the tool-wide maps, skip programs
// whose hook this kernel lacks, load (retrying without a program the verifier rejects),
// attach each program on its own, and record per program what attached and why not.
//
// A hook with both a SEC("tp_btf/HOOK") program and a SEC("raw_tp/HOOK") twin (the same
// body, BTF_OR_RAW_TP in bpf/common.bpf.h) loads the tp_btf one; when the verifier rejects
// it or it fails to attach, the family is loaded again with the raw_tp twin in its place,
// whose status says why. PERFBPF_NO_TP_BTF=1 in the environment picks every raw_tp twin.
#pragma once

#include <bpf/libbpf.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model/probe_status.h"
#include "probes/mapped_map.h"
#include "probes/slot_table.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// The maps all families share: one ring buffer for discrete events, one per-CPU array of
// drop counters. Created once; each skeleton reuses them before load.
class SharedMaps {
  public:
    static Result<SharedMaps> create(uint32_t ring_bytes = 1u << 20);
    int events_fd() const { return events_.get(); }
    int drops_fd() const { return drops_.get(); }
    // Points the object's maps named "events" and "drops" at the shared ones.
    Result<void> reuse_in(bpf_object* obj) const;

  private:
    UniqueFd events_;
    UniqueFd drops_;
};

// Options every family receives.
struct ProbeOptions {
    // Set by the Collector from CollectorOptions::interval_ns.
    uint64_t interval_ns = 1'000'000'000;
    int sample_hz = 49;  // cpu-clock sampling per CPU
    // sched: measure run-queue waits with wakeup hooks even when the kernel counts them
    // (the fallback for kernels without CONFIG_SCHED_INFO; tests use it to cover it).
    bool sched_measure_waits = false;
    // Threads running when the families load, which sizes the sched family's slots (0: the
    // minimum). collect/families.cpp reads it from /proc/loadavg when left 0.
    uint64_t threads_at_load = 0;
};

// Tracks a family's programs: which were skipped, which attached.
class ProgramTable {
  public:
    explicit ProgramTable(std::string family) : family_(std::move(family)) {}

    // Programs that may be missing without failing doctor (e.g. a tracepoint added in a
    // later kernel than the oldest we support).
    void set_optional(std::set<std::string> program_names) { optional_ = std::move(program_names); }

    // Before load: disables programs whose raw tracepoint is not in this kernel, those
    // that failed a previous load attempt, and one of each tp_btf/raw_tp pair.
    void prepare(bpf_object* obj);
    // The tp_btf program failed (reason): its raw_tp twin replaces it from the next load.
    // False when it has no twin or already fell back.
    bool fall_back(const std::string& program, const std::string& reason);
    // A tp_btf program with a raw_tp twin failed to attach: the family must load and
    // attach once more (the twin replaces it then).
    bool reload_needed() const { return reload_needed_; }
    // Marks a program as not loadable (verifier rejection) for the next attempt.
    void reject(const std::string& program, const std::string& reason);
    // Leaves a program out on purpose (not needed on this kernel); reported, not a failure.
    void skip(const std::string& program, const std::string& reason);
    // Leaves a program out silently: a variant of another for load-time settings other
    // than this load's (the status names the variant loaded).
    void leave_out(const std::string& program) { left_out_.insert(program); }
    bool rejected(const std::string& program) const;
    // After load: attaches every loaded raw_tp/tp program; perf_event programs are left to
    // the family (attach_perf_event_all_cpus).
    std::vector<LinkPtr> attach(bpf_object* obj);
    // Records the outcome of a program the family attached itself (prog_fd: for run
    // counts, when attached).
    void record(const std::string& program, const std::string& probe, bool attached,
                const std::string& reason, int prog_fd = -1);
    // The whole family failed to load: every program is reported with this reason.
    void fail_all(bpf_object* obj, const std::string& reason);
    // After load, for a family whose slots user space reads through a mapping: maps the
    // table (SlotTable::map), then attaches into `links`; when the mapping fails every
    // program is reported with why and nothing is attached.
    Result<SlotTable> map_slots_then_attach(bpf_object* obj, bpf_map* slots, bpf_map* used,
                                            bpf_map* claims, uint32_t count, size_t slot_bytes,
                                            std::vector<LinkPtr>& links);

    const std::vector<ProbeStatus>& status() const { return status_; }
    const std::string& family() const { return family_; }

    // How many times each attached program ran (by probe name); counts only grow while
    // run statistics are enabled (enable_run_stats).
    std::map<std::string, uint64_t> run_counts() const;
    // Total run time of the attached programs, ns (grows only while statistics are on).
    uint64_t run_time_ns() const;

  private:
    void set_status(const std::string& program, const std::string& probe, bool attached,
                    const std::string& reason);
    // Left out without a status line: the unused one of a tp_btf/raw_tp pair, or a variant
    // for other load-time settings (leave_out).
    bool silently_unloaded(const std::string& program) const {
        return unused_twins_.contains(program) || left_out_.contains(program);
    }
    // The status reason of an attached raw_tp twin: why its tp_btf program is not used.
    std::string fallback_note(const std::string& program) const;
    std::string family_;
    std::set<std::string> optional_;
    std::map<std::string, std::string> rejected_;  // program -> reason
    std::map<std::string, std::string> skipped_;   // program -> reason
    std::vector<ProbeStatus> status_;
    std::map<std::string, int> prog_fds_;  // probe -> program fd (owned by the object)
    // tp_btf program -> its raw_tp twin, found by prepare.
    std::map<std::string, std::string> raw_twin_;
    std::map<std::string, std::string> fallen_back_;  // tp_btf program -> why
    std::set<std::string> unused_twins_;              // of each pair, the program not loaded
    std::set<std::string> left_out_;                  // variants not loaded (leave_out)
    bool reload_needed_ = false;
};

// Turns on the kernel's per-program run counters (BPF_ENABLE_STATS) for as long as the
// returned fd is open; the kernel turns them off again when it is closed.
Result<UniqueFd> enable_run_stats();

// The program the verifier rejected, parsed from libbpf's log ("prog 'NAME': ..."), and
// the most useful line of the verifier's message.
struct LoadFailure {
    std::string program;
    std::string reason;
};
LoadFailure parse_load_failure(const std::string& libbpf_log);

// Owns the skeleton of one family. Ops are the bpftool-generated functions.
template <class Skel>
struct SkeletonOps {
    Skel* (*open)();
    int (*load)(Skel*);
    void (*destroy)(Skel*);
};

template <class Skel>
class Skeleton {
  public:
    Skeleton() = default;
    Skeleton(Skel* s, void (*destroy)(Skel*)) : ptr_(s, Deleter{destroy}) {}
    Skel* operator->() const { return ptr_.get(); }
    Skel* get() const { return ptr_.get(); }
    explicit operator bool() const { return ptr_ != nullptr; }

  private:
    struct Deleter {
        void (*destroy)(Skel*);
        void operator()(Skel* s) const {
            if (s) destroy(s);
        }
    };
    std::unique_ptr<Skel, Deleter> ptr_{nullptr, Deleter{nullptr}};
};

// Opens, configures (rodata, map sizes), shares maps and loads a skeleton; a program the
// verifier rejects is disabled and the load retried, so one bad hook costs one feature,
// not the family. Returns an error only when nothing could be loaded.
Result<void> load_object_with_retry(const std::function<Result<bpf_object*>()>& open_and_configure,
                                    const std::function<int()>& load,
                                    const std::function<void()>& destroy, const SharedMaps& shared,
                                    ProgramTable& table);

template <class Skel>
Result<Skeleton<Skel>> open_and_load(const SkeletonOps<Skel>& ops, const SharedMaps& shared,
                                     ProgramTable& table,
                                     const std::function<Result<void>(Skel*)>& configure) {
    Skeleton<Skel> skel;
    auto result = load_object_with_retry(
        [&]() -> Result<bpf_object*> {
            Skel* raw = ops.open();
            if (!raw) return fail_errno("open " + table.family() + " BPF object", errno);
            skel = Skeleton<Skel>(raw, ops.destroy);
            if (auto r = configure(raw); !r) return std::unexpected(r.error());
            return raw->obj;
        },
        [&] { return ops.load(skel.get()); }, [&] { skel = Skeleton<Skel>(); }, shared, table);
    if (!result) return std::unexpected(result.error());
    return skel;
}

// Makes a family's probe (make) and loads it (attempt: open, load, map, attach); when a
// tp_btf program failed to attach, the first probe goes (its links with it) and a fresh one
// is loaded with the same table, which now puts the raw_tp twin in that program's place.
template <class Probe, class Make>
std::unique_ptr<Probe> load_with_tp_btf_fallback(const Make& make, ProgramTable Probe::*table,
                                                 void (Probe::*attempt)(const SharedMaps&),
                                                 const SharedMaps& shared) {
    std::unique_ptr<Probe> probe = make();
    ((*probe).*attempt)(shared);
    if (!((*probe).*table).reload_needed()) return probe;
    std::unique_ptr<Probe> again = make();
    (*again).*table = std::move((*probe).*table);
    probe.reset();
    ((*again).*attempt)(shared);
    return again;
}

// perf_event links on every online CPU for a software cpu-clock at `hz`.
struct PerfEventLinks {
    std::vector<UniqueFd> fds;
    std::vector<LinkPtr> links;
};
Result<PerfEventLinks> attach_perf_event_all_cpus(bpf_program* prog, int hz);

// Sets a map's max_entries before load; an error names the map.
Result<void> resize_map(bpf_map* map, uint32_t entries);

// /proc/sys/kernel/pid_max (fallback 4194304, the largest possible).
uint32_t read_pid_max();

}  // namespace perfbpf
