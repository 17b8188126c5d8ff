#include "collect/parse/sched_slots.h"

#include <cstring>

namespace perfbpf {

bool decode_thread_slot(const sched_thread_slot& s, sched_task_stats& out) {
    if (!s.tag || !s.seen) return false;
    if (s.oncpu_ns < s.base_oncpu_ns || s.run_delay_ns < s.base_run_delay_ns ||
        s.pcount < s.base_pcount)
        return false;
    out.pid = s.pid;
    out.tgid = s.tgid;
    out.start_ns = s.start_ns;
    out.oncpu_ns = s.oncpu_ns - s.base_oncpu_ns;
    out.runq_wait_ns = s.run_delay_ns - s.base_run_delay_ns;
    out.offcpu_ns = s.offcpu_ns;
    out.runq_waits = s.pcount - s.base_pcount;
    // Switch counts are refreshed at a flush only; the first one may come after a read.
    out.nvcsw = s.nvcsw >= s.base_nvcsw ? s.nvcsw - s.base_nvcsw : 0;
    out.nivcsw = s.nivcsw >= s.base_nivcsw ? s.nivcsw - s.base_nivcsw : 0;
    out.flags = s.flags;
    std::memcpy(out.comm, s.comm, sizeof out.comm);
    std::memcpy(out.runq_hist, s.runq_hist, sizeof out.runq_hist);
    if (s.pending_hist)
        out.runq_hist[s.pending_hist & (PERFBPF_HIST_SLOTS - 1)] +=
            static_cast<uint32_t>(s.pending_hist >> 8);
    return true;
}

}  // namespace perfbpf
