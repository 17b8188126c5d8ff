// `perfbpf selftest`: for each probe family, load it, run a workload of our own and check
// that the family saw the right events for the right pids.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "model/snapshot.h"
#include "util/enum_table.h"

namespace perfbpf::selftest {

enum class Outcome { pass, fail, skip };
inline constexpr auto kOutcomeNames = enum_table<Outcome>(
    "outcome", {{Outcome::pass, "pass"}, {Outcome::fail, "FAIL"}, {Outcome::skip, "skip"}});
inline const char* outcome_name(Outcome o) {
    return kOutcomeNames.name(o);
}

struct Row {
    std::string family;
    std::string probe;  // "raw_tp/sched_switch", or "workload" for the family's check
    Outcome outcome = Outcome::skip;
    uint64_t events = 0;  // probe runs during the workload (or what the check counted)
    std::string reason;   // why it failed or was skipped
};

// What a family check reports about its workload.
struct CheckResult {
    bool passed = false;
    uint64_t events = 0;  // shown when run statistics are unavailable
    std::string detail;   // numbers seen (pass) or what was wrong (fail)
};

// The part of the mem check that makes a real OOM kill (in a memory cgroup of its own).
inline constexpr const char* kOomPart = "oom";

// What a run covers: the families in `only` (all when empty) less those in `skip`, which
// may also name kOomPart.
struct Selection {
    std::vector<std::string> only;
    std::set<std::string> skip;
    bool runs(const std::string& family) const;
};

struct FamilyCheck {
    std::string family;
    // Runs the workload while `collector` (loaded with this family only) collects.
    std::function<CheckResult(Collector& collector, const Selection& selection)> run;
};

// Every family check, one entry per family (checks.cpp).
const std::vector<FamilyCheck>& family_checks();

// The families' names, in the order they run.
std::vector<std::string> family_names();
// What --skip accepts: every family's name and kOomPart.
std::vector<std::string> skippable_parts();

inline constexpr uint64_t kDefaultIntervalNs = 1'000'000'000;

// Runs the selected checks, collecting at `interval_ns`, and returns the table. Each check
// follows its workload interval by interval until it ended (30 s of wall time at most), so
// the result does not depend on the interval or on how busy the machine is.
std::vector<Row> run_selftest(const Selection& selection,
                              uint64_t interval_ns = kDefaultIntervalNs);

// The intervals a check waits for its workload: 30 s at the collector's interval.
int max_intervals(const Collector& collector);

// True when every probe the kernel supports passed.
bool all_passed(const std::vector<Row>& rows);

// Helpers for checks.
const ProcessSample* find_process(const Snapshot& s, int pid);

}  // namespace perfbpf::selftest
