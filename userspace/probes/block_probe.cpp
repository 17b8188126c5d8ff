#include "probes/block_probe.h"

#include "block.skel.h"

namespace perfbpf {

std::unique_ptr<BlockProbe> BlockProbe::load(const SharedMaps& shared, const ProbeOptions&) {
    auto make = [] {
        std::unique_ptr<BlockProbe> probe(new BlockProbe());
        // Requeues only correct the in-flight level after a driver gives a started request
        // back.
        probe->table_.set_optional({"on_block_rq_requeue"});
        return probe;
    };
    return load_with_tp_btf_fallback(make, &BlockProbe::table_, &BlockProbe::load_and_attach,
                                     shared);
}

void BlockProbe::load_and_attach(const SharedMaps& shared) {
    SkeletonOps<block_bpf> ops{block_bpf__open, block_bpf__load, block_bpf__destroy};
    auto skel = open_and_load<block_bpf>(ops, shared, table_,
                                         [](block_bpf*) -> Result<void> { return {}; });
    if (!skel) {
        load_error_ = skel.error().message;
        return;
    }
    skel_ = std::move(*skel);
    auto mapped = table_.map_slots_then_attach(
        skel_->obj, skel_->maps.proc_stats, skel_->maps.proc_used, skel_->maps.proc_claims,
        PERFBPF_BLK_PROC_SLOTS, sizeof(block_proc_slot), links_);
    if (!mapped) {
        load_error_ = mapped.error().message;
        return;
    }
    procs_ = std::move(*mapped);
}

BlockProbe::~BlockProbe() = default;

int BlockProbe::dev_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.dev_stats) : -1;
}

int BlockProbe::dev_counters_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.dev_counters) : -1;
}

int BlockProbe::dev_claims_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.dev_claims) : -1;
}

void BlockProbe::set_inflight_epoch(uint64_t epoch) {
    if (skel_ && skel_->bss) __atomic_store_n(&skel_->bss->inflight_epoch, epoch, __ATOMIC_RELAXED);
}

void BlockProbe::bump_dev_generation() {
    if (skel_ && skel_->bss) __atomic_fetch_add(&skel_->bss->dev_generation, 1, __ATOMIC_RELAXED);
}

uint64_t BlockProbe::inflight_epoch() const {
    return skel_ && skel_->bss ? __atomic_load_n(&skel_->bss->inflight_epoch, __ATOMIC_RELAXED) : 0;
}

}  // namespace perfbpf
