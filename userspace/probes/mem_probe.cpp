#include "probes/mem_probe.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "mem.skel.h"

namespace perfbpf {

Result<MappedMap> MappedMap::map(int map_fd, size_t bytes, const std::string& name) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t len = (bytes + page - 1) / page * page;
    void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (addr == MAP_FAILED) return fail_errno("mmap map '" + name + "'", errno);
    MappedMap m;
    m.addr_ = addr;
    m.bytes_ = len;
    return m;
}

MappedMap::MappedMap(MappedMap&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

MappedMap& MappedMap::operator=(MappedMap&& o) noexcept {
    if (this != &o) {
        if (addr_) ::munmap(addr_, bytes_);
        addr_ = std::exchange(o.addr_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
}

MappedMap::~MappedMap() {
    if (addr_) ::munmap(addr_, bytes_);
}

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
