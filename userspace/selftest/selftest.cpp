#include "selftest/selftest.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace perfbpf::selftest {

const ProcessSample* find_process(const Snapshot& s, int pid) {
    auto it = std::find_if(s.processes.begin(), s.processes.end(),
                           [&](const ProcessSample& p) { return p.pid == pid; });
    return it == s.processes.end() ? nullptr : &*it;
}

namespace {

void run_family(const FamilyCheck& check, const Selection& selection, uint64_t interval_ns,
                std::vector<Row>& rows) {
    // Per-program run counts show which hooks fired; off again when the fd closes.
    auto stats = enable_run_stats();
    CollectorOptions opts;
    opts.interval_ns = interval_ns;
    opts.families = {check.family};
    opts.command = "selftest";
    auto collector = Collector::create(opts);
    if (!collector) {
        rows.push_back(Row{check.family, "workload", Outcome::fail, 0, collector.error().message});
        return;
    }
    bool any_attached = false;
    std::set<std::string> core;  // probes that must fire for the family to pass
    std::set<std::string> attached;
    std::vector<Row> probe_rows;
    for (const auto& st : (*collector)->probe_status()) {
        if (st.family != check.family) continue;
        any_attached |= st.attached;
        if (st.attached) attached.insert(st.probe);
        if (st.core) core.insert(st.probe);
        Row r{st.family, st.probe, Outcome::skip, 0, st.reason};
        if (!st.attached) r.outcome = st.core ? Outcome::fail : Outcome::skip;
        probe_rows.push_back(std::move(r));
    }
    if (!any_attached) {
        rows.push_back(
            Row{check.family, "workload", Outcome::fail, 0, "no probe of the family attached"});
        rows.insert(rows.end(), probe_rows.begin(), probe_rows.end());
        return;
    }
    auto runs_before = (*collector)->run_counts()[check.family];
    CheckResult result = check.run(**collector, selection);
    auto runs_after = (*collector)->run_counts()[check.family];
    Row workload{check.family, "workload", result.passed ? Outcome::pass : Outcome::fail,
                 result.events, result.detail};
    // Attached probes share the family's verdict (the check reads what they all feed);
    // each shows how often it ran during the workload when run statistics are on, and
    // the workload row their sum.
    uint64_t runs = 0;
    for (auto& r : probe_rows) {
        // An attached probe may carry a note (a raw_tp fallback says why), kept on a pass.
        if (!attached.contains(r.probe)) continue;
        r.outcome = result.passed ? Outcome::pass : Outcome::fail;
        if (!result.passed) r.reason = "family check failed";
        if (!stats) continue;
        r.events = runs_after[r.probe] - runs_before[r.probe];
        runs += r.events;
        if (r.events == 0 && core.contains(r.probe)) {
            r.outcome = Outcome::fail;
            r.reason = "attached but never ran during the workload";
        } else if (r.events == 0) {
            r.outcome = Outcome::skip;
            r.reason = "optional; did not fire during the workload";
        }
    }
    if (stats) workload.events = runs;
    rows.push_back(std::move(workload));
    rows.insert(rows.end(), probe_rows.begin(), probe_rows.end());
}

}  // namespace

bool Selection::runs(const std::string& family) const {
    return (only.empty() || std::find(only.begin(), only.end(), family) != only.end()) &&
           !skip.contains(family);
}

std::vector<std::string> family_names() {
    std::vector<std::string> out;
    for (const auto& check : family_checks()) out.push_back(check.family);
    return out;
}

std::vector<std::string> skippable_parts() {
    std::vector<std::string> out = family_names();
    out.push_back(kOomPart);
    return out;
}

std::vector<Row> run_selftest(const Selection& selection, uint64_t interval_ns) {
    std::vector<Row> rows;
    for (const auto& check : family_checks())
        if (selection.runs(check.family)) run_family(check, selection, interval_ns, rows);
    return rows;
}

int max_intervals(const Collector& collector) {
    constexpr double kMaxWaitNs = 30e9;
    return static_cast<int>(std::ceil(
        kMaxWaitNs / static_cast<double>(std::max<uint64_t>(collector.interval_ns(), 1))));
}

bool all_passed(const std::vector<Row>& rows) {
    return !rows.empty() && std::none_of(rows.begin(), rows.end(),
                                         [](const Row& r) { return r.outcome == Outcome::fail; });
}

}  // namespace perfbpf::selftest
