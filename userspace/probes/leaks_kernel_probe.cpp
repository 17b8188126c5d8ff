#include "probes/leaks_kernel_probe.h"

#include "leaks_kernel.skel.h"

namespace perfbpf {

Result<std::unique_ptr<LeaksKernelProbe>> LeaksKernelProbe::load(const SharedMaps& shared,
                                                                 int tgid) {
    std::unique_ptr<LeaksKernelProbe> probe(new LeaksKernelProbe());
    probe->table_.set_optional({"on_page_alloc", "on_page_free"});
    SkeletonOps<leaks_kernel_bpf> ops{leaks_kernel_bpf__open, leaks_kernel_bpf__load,
                                      leaks_kernel_bpf__destroy};
    auto skel = open_and_load<leaks_kernel_bpf>(
        ops, shared, probe->table_, [&](leaks_kernel_bpf* s) -> Result<void> {
            s->rodata->target_tgid = static_cast<__u32>(tgid);
            return {};
        });
    if (!skel) return std::unexpected(skel.error());
    probe->skel_ = std::move(*skel);
    probe->links_ = probe->table_.attach(probe->skel_->obj);
    bool any_alloc = false;
    std::string why;
    for (const auto& st : probe->table_.status()) {
        if ((st.probe == "raw_tp/kmalloc" || st.probe == "raw_tp/kmem_cache_alloc") && st.attached)
            any_alloc = true;
        if (!st.attached && why.empty()) why = st.probe + ": " + st.reason;
    }
    if (!any_alloc) return fail("kernel mode: no allocation tracepoint attached (" + why + ")");
    return probe;
}

LeaksKernelProbe::~LeaksKernelProbe() = default;

int LeaksKernelProbe::live_fd() const {
    return bpf_map__fd(skel_->maps.klive);
}
int LeaksKernelProbe::stats_fd() const {
    return bpf_map__fd(skel_->maps.kstats);
}
int LeaksKernelProbe::stacks_fd() const {
    return bpf_map__fd(skel_->maps.kstacks);
}
int LeaksKernelProbe::user_stacks_fd() const {
    return bpf_map__fd(skel_->maps.kustacks);
}
kleaks_user_totals LeaksKernelProbe::user_totals() const {
    return skel_->bss->utotals;
}
uint64_t LeaksKernelProbe::live_full() const {
    return skel_->bss->klive_full;
}
uint64_t LeaksKernelProbe::stack_errors() const {
    return skel_->bss->kstack_errors;
}

}  // namespace perfbpf
