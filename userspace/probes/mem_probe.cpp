#include "probes/mem_probe.h"

#include <utility>

#include "mem.skel.h"

namespace perfbpf {

std::unique_ptr<MemProbe> MemProbe::load(const SharedMaps& shared, const ProbeOptions&) {
    std::unique_ptr<MemProbe> probe(new MemProbe());
    // OOM kills and exit records are worth having even where rss_stat is missing, and
    // RSS levels are worth having without them.
    probe->table_.set_optional({"on_mark_victim"});
    const uint32_t pid_max = read_pid_max();

    SkeletonOps<mem_bpf> ops{mem_bpf__open, mem_bpf__load, mem_bpf__destroy};
    auto skel = open_and_load<mem_bpf>(ops, shared, probe->table_, [&](mem_bpf* s) -> Result<void> {
        s->rodata->rss_slots = pid_max;
        return resize_map(s->maps.rss, pid_max);
    });
    if (!skel) return probe;
    probe->skel_ = std::move(*skel);
    auto mapped = MappedMap::map(bpf_map__fd(probe->skel_->maps.rss),
                                 size_t{pid_max} * sizeof(mem_rss_slot), "rss");
    if (!mapped) {
        probe->table_.fail_all(probe->skel_->obj, mapped.error().message);
        return probe;
    }
    probe->rss_map_ = std::move(*mapped);
    probe->slots_ = pid_max;
    probe->links_ = probe->table_.attach(probe->skel_->obj);
    bool rss_stat = false, fork = false, exit = false;
    for (const auto& s : probe->table_.status()) {
        if (!s.attached) continue;
        rss_stat |= s.probe == "raw_tp/rss_stat";
        fork |= s.probe == "raw_tp/sched_process_fork";
        exit |= s.probe == "raw_tp/sched_process_exit";
    }
    probe->rss_tracked_ = rss_stat && fork && exit && probe->rss_map_.data();
    return probe;
}

MemProbe::~MemProbe() = default;

std::span<uint64_t> MemProbe::rss_words() const {
    static_assert(sizeof(mem_rss_slot) == sizeof(uint64_t));
    if (!rss_map_.data()) return {};
    return {static_cast<uint64_t*>(rss_map_.data()), slots_};
}

int MemProbe::exits_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.exits) : -1;
}

}  // namespace perfbpf
