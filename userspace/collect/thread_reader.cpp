#include "collect/thread_reader.h"

#include <charconv>
#include <ctime>

#include "collect/parse/procfs.h"
#include "collect/thread_ids.h"
#include "util/files.h"

namespace perfbpf {

namespace {

uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// "run_ns wait_ns timeslices": the first two.
bool parse_schedstat(std::string_view text, uint64_t& run_ns, uint64_t& wait_ns) {
    const char* p = text.data();
    const char* end = p + text.size();
    auto r = std::from_chars(p, end, run_ns);
    if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ' ') return false;
    r = std::from_chars(r.ptr + 1, end, wait_ns);
    return r.ec == std::errc{};
}

}  // namespace

Result<std::vector<ThreadSample>> ThreadReader::read(int pid) {
    auto tids = thread_ids(proc_root_, pid);
    if (!tids) return std::unexpected(tids.error());
    const std::string dir = proc_root_ + "/" + std::to_string(pid) + "/task/";
    std::vector<ThreadTotals> totals;
    for (int tid : *tids) {
        // A thread may exit between the listing and these reads: it is simply not shown.
        const std::string tdir = dir + std::to_string(tid);
        auto stat = read_file(tdir + "/stat");
        auto sched = read_file(tdir + "/schedstat");
        if (!stat || !sched) continue;
        auto parsed = parse_pid_stat(*stat);
        ThreadTotals t;
        if (!parsed || !parse_schedstat(*sched, t.oncpu_ns, t.runq_wait_ns)) continue;
        t.tid = tid;
        t.comm = parsed->comm;
        t.state = parsed->state;
        totals.push_back(std::move(t));
    }
    // In tid order, as thread_ids lists them.
    return deltas_.update(pid, totals, monotonic_ns());
}

}  // namespace perfbpf
