#include "probes/sched_probe.h"

#include <time.h>

#include <algorithm>
#include <bit>

#include "probes/kernel_btf.h"
#include "sched.skel.h"

namespace perfbpf {

namespace {

uint64_t monotonic_now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

std::string sched_switch_program(uint32_t slot_bits) {
    return slot_bits == PERFBPF_THREAD_SLOT_BITS_MIN
               ? "on_sched_switch"
               : "on_sched_switch_" + std::to_string(slot_bits);
}

uint32_t thread_slot_bits(uint64_t threads) {
    const uint64_t want = std::max<uint64_t>(threads, 1) * 4;
    const auto bits = static_cast<uint32_t>(std::bit_width(want - 1));
    return std::clamp<uint32_t>(bits, PERFBPF_THREAD_SLOT_BITS_MIN, PERFBPF_THREAD_SLOT_BITS_MAX);
}

std::unique_ptr<SchedProbe> SchedProbe::load(const SharedMaps& shared, const ProbeOptions& opts) {
    std::unique_ptr<SchedProbe> probe(new SchedProbe());
    // The cpu-clock sampler only adds run-queue length samples and early flushes; the
    // switch hooks carry the family.
    probe->table_.set_optional({"on_cpu_sample"});
    const uint32_t pid_max = read_pid_max();
    // A thread's off-CPU time and switch counts are as of its last flush, so each interval
    // boundary blurs them by up to one flush period: keep that within 2 % of the interval.
    // A flush reads the clock, the comm and the cgroup: per running thread per period,
    // far below the switch rate.
    const uint64_t flush_ns =
        std::clamp<uint64_t>(opts.interval_ns / 50, 5'000'000ULL, 100'000'000ULL);

    // With CONFIG_SCHED_INFO the kernel counts run-queue waits itself and the switch hook
    // reads them; the wakeup hooks and the pid-indexed array are the fallback.
    const bool kernel_counts_waits =
        !opts.sched_measure_waits && KernelBtf::get().has_member("task_struct", "sched_info");
    if (kernel_counts_waits) {
        const std::string why = "not needed: the kernel counts run-queue waits (CONFIG_SCHED_INFO)";
        probe->table_.skip("on_sched_wakeup", why);
        probe->table_.skip("on_sched_wakeup_new", why);
    }
    const uint32_t wakeup_slots = kernel_counts_waits ? 1 : pid_max;
    const uint32_t slot_bits = thread_slot_bits(opts.threads_at_load);
    const uint32_t slots = 1U << slot_bits;
    // The switch program whose table size is this one (sched.bpf.c says why one per size).
    for (uint32_t bits = PERFBPF_THREAD_SLOT_BITS_MIN; bits <= PERFBPF_THREAD_SLOT_BITS_MAX; ++bits)
        if (bits != slot_bits) probe->table_.leave_out(sched_switch_program(bits));

    SkeletonOps<sched_bpf> ops{sched_bpf__open, sched_bpf__load, sched_bpf__destroy};
    auto skel =
        open_and_load<sched_bpf>(ops, shared, probe->table_, [&](sched_bpf* s) -> Result<void> {
            s->rodata->flush_period_ns = flush_ns;
            s->rodata->wakeup_slots = wakeup_slots;
            s->rodata->attach_ns = monotonic_now_ns();
            s->rodata->measure_waits = !kernel_counts_waits;
            s->rodata->thread_slot_bits = slot_bits;
            for (auto [map, entries] :
                 {std::pair{s->maps.thread_slots, slots}, std::pair{s->maps.thread_claims, slots},
                  std::pair{s->maps.thread_used, slots / 64}})
                if (auto r = resize_map(map, entries); !r) return r;
            return resize_map(s->maps.wakeup_ts, wakeup_slots);
        });
    if (!skel) {
        probe->load_error_ = skel.error().message;
        return probe;
    }
    probe->skel_ = std::move(*skel);
    auto mapped = probe->table_.map_slots_then_attach(
        probe->skel_->obj, probe->skel_->maps.thread_slots, probe->skel_->maps.thread_used,
        probe->skel_->maps.thread_claims, slots, sizeof(sched_thread_slot), probe->links_);
    if (!mapped) {
        probe->load_error_ = mapped.error().message;
        return probe;
    }
    probe->threads_ = std::move(*mapped);

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

int SchedProbe::cpu_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.cpu_stats) : -1;
}

}  // namespace perfbpf
