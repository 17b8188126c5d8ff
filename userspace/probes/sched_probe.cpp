#include "probes/sched_probe.h"

#include <algorithm>

#include "sched.skel.h"

namespace perfbpf {

std::unique_ptr<SchedProbe> SchedProbe::load(const SharedMaps& shared, const ProbeOptions& opts) {
    std::unique_ptr<SchedProbe> probe(new SchedProbe());
    // The cpu-clock sampler only adds run-queue length samples and early flushes; the
    // switch hooks carry the family.
    probe->table_.set_optional({"on_cpu_sample"});
    const uint32_t pid_max = read_pid_max();
    // User space sees a thread's totals as of its last flush, so each interval boundary
    // is blurred by up to one flush period: keep that within 2 % of the interval. A flush
    // is one hash update per running thread per period, far below the switch rate.
    const uint64_t flush_ns =
        std::clamp<uint64_t>(opts.interval_ns / 50, 5'000'000ULL, 100'000'000ULL);

    SkeletonOps<sched_bpf> ops{sched_bpf__open, sched_bpf__load, sched_bpf__destroy};
    auto skel =
        open_and_load<sched_bpf>(ops, shared, probe->table_, [&](sched_bpf* s) -> Result<void> {
            s->rodata->flush_period_ns = flush_ns;
            s->rodata->wakeup_slots = pid_max;
            return resize_map(s->maps.wakeup_ts, pid_max);
        });
    if (!skel) {
        probe->load_error_ = skel.error().message;
        return probe;
    }
    probe->skel_ = std::move(*skel);
    probe->links_ = probe->table_.attach(probe->skel_->obj);

    bpf_program* sampler = probe->skel_->progs.on_cpu_sample;
    if (bpf_program__autoload(sampler)) {
        auto links = attach_perf_event_all_cpus(sampler, opts.sample_hz);
        if (links) {
            probe->samples_ = std::move(*links);
            probe->table_.record("on_cpu_sample", "perf_event/cpu-clock", true, "",
                                 bpf_program__fd(sampler));
        } else {
            probe->table_.record("on_cpu_sample", "perf_event/cpu-clock", false,
                                 links.error().message);
        }
    }
    return probe;
}

SchedProbe::~SchedProbe() = default;

int SchedProbe::task_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.task_stats) : -1;
}

int SchedProbe::cpu_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.cpu_stats) : -1;
}

}  // namespace perfbpf
