#include "collect/parse/thread_deltas.h"

namespace perfbpf {

namespace {

uint64_t since(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;  // a reused tid restarts its totals
}

}  // namespace

std::vector<ThreadSample> ThreadDeltas::update(int pid, const std::vector<ThreadTotals>& now,
                                               uint64_t now_ns) {
    if (pid != pid_) last_.clear();
    const uint64_t wall_ns = last_.empty() ? 0 : since(now_ns, last_ns_);
    std::vector<ThreadSample> out;
    std::map<int, ThreadTotals> next;
    for (const auto& t : now) {
        ThreadSample s{t.tid, t.comm, t.state};
        auto before = last_.find(t.tid);
        if (before != last_.end() && wall_ns > 0) {
            s.measured = true;
            s.oncpu_ns = since(t.oncpu_ns, before->second.oncpu_ns);
            s.runq_wait_ns = since(t.runq_wait_ns, before->second.runq_wait_ns);
            s.cpu_pct = 100.0 * static_cast<double>(s.oncpu_ns) / static_cast<double>(wall_ns);
        }
        next[t.tid] = t;
        out.push_back(std::move(s));
    }
    pid_ = pid;
    last_ns_ = now_ns;
    last_ = std::move(next);
    return out;
}

}  // namespace perfbpf
