#include "collect/thread_reader.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <memory>

#include "collect/parse/procfs.h"
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
    const std::string dir = proc_root_ + "/" + std::to_string(pid) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return fail_errno("threads of pid " + std::to_string(pid) + ": " + dir, errno);
    std::vector<ThreadTotals> totals;
    while (const dirent* e = ::readdir(d.get())) {
        int tid = 0;
        std::string_view name = e->d_name;
        auto r = std::from_chars(name.data(), name.data() + name.size(), tid);
        if (r.ec != std::errc{} || r.ptr != name.data() + name.size()) continue;
        // A thread may exit between the listing and these reads: it is simply not shown.
        auto stat = read_file(dir + "/" + std::string(name) + "/stat");
        auto sched = read_file(dir + "/" + std::string(name) + "/schedstat");
        if (!stat || !sched) continue;
        auto parsed = parse_pid_stat(*stat);
        ThreadTotals t;
        if (!parsed || !parse_schedstat(*sched, t.oncpu_ns, t.runq_wait_ns)) continue;
        t.tid = tid;
        t.comm = parsed->comm;
        t.state = parsed->state;
        totals.push_back(std::move(t));
    }
    std::sort(totals.begin(), totals.end(),
              [](const ThreadTotals& a, const ThreadTotals& b) { return a.tid < b.tid; });
    return deltas_.update(pid, totals, monotonic_ns());
}

}  // namespace perfbpf
