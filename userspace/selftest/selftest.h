// `perfbpf selftest`: for each probe family, load it, run a workload of our own and check
// that the family saw the right events for the right pids.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "model/snapshot.h"

namespace perfbpf::selftest {

enum class Outcome { pass, fail, skip };
const char* outcome_name(Outcome o);

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

struct FamilyCheck {
    std::string family;
    // Runs the workload while `collector` (loaded with this family only) collects.
    std::function<CheckResult(Collector& collector)> run;
};

// Every family check, one entry per family (checks.cpp).
const std::vector<FamilyCheck>& family_checks();

// Runs the checks of `only` (all when empty) and returns the table.
std::vector<Row> run_selftest(const std::vector<std::string>& only);

// True when every probe the kernel supports passed.
bool all_passed(const std::vector<Row>& rows);

// Helpers for checks.
const ProcessSample* find_process(const Snapshot& s, int pid);

}  // namespace perfbpf::selftest
