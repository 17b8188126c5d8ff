#include "probes/leaks_growth_probe.h"

#include "leaks_growth.skel.h"

namespace perfbpf {

Result<std::unique_ptr<LeaksGrowthProbe>> LeaksGrowthProbe::load(const SharedMaps& shared, int tgid,
                                                                 uint64_t sample_bytes) {
    std::unique_ptr<LeaksGrowthProbe> probe(new LeaksGrowthProbe());
    if (sample_bytes) probe->sample_bytes_ = sample_bytes;
    // Heap growth by syscalls is extra evidence; the page faults are the mode.
    probe->table_.set_optional({"on_sys_enter", "on_sys_exit"});
    SkeletonOps<leaks_growth_bpf> ops{leaks_growth_bpf__open, leaks_growth_bpf__load,
                                      leaks_growth_bpf__destroy};
    auto skel = open_and_load<leaks_growth_bpf>(
        ops, shared, probe->table_, [&](leaks_growth_bpf* s) -> Result<void> {
            s->rodata->target_tgid = static_cast<__u32>(tgid);
            s->rodata->sample_bytes = probe->sample_bytes_;
            return {};
        });
    if (!skel) return std::unexpected(skel.error());
    probe->skel_ = std::move(*skel);
    probe->links_ = probe->table_.attach(probe->skel_->obj);
    for (const auto& st : probe->table_.status()) {
        if (st.core && !st.attached) return fail("growth mode: " + st.probe + ": " + st.reason);
    }
    return probe;
}

LeaksGrowthProbe::~LeaksGrowthProbe() = default;

int LeaksGrowthProbe::samples_fd() const {
    return bpf_map__fd(skel_->maps.growth_samples);
}
growth_totals LeaksGrowthProbe::totals() const {
    return skel_->bss->totals;
}

}  // namespace perfbpf
