#include "collect/net_reader.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>

#include "collect/bpf_map_iter.h"
#include "probes/kernel_btf.h"
#include "probes/net_probe.h"

namespace perfbpf {
namespace {

bool process_alive(uint32_t tgid) {
    std::string path = "/proc/" + std::to_string(tgid);
    return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

NetReader::NetReader(const NetProbe& probe)
    : probe_(probe), rcvbuf_grow_attached_(probe.attached("raw_tp/tcp_rcvbuf_grow")) {
    const auto& btf = KernelBtf::get();
    drop_labels_.reserve(PERFBPF_DROP_REASON_SLOTS);
    for (uint32_t slot = 0; slot < PERFBPF_DROP_REASON_SLOTS; ++slot)
        drop_labels_.push_back(drop_reason_label(
            slot, [&](long long v) { return btf.enum_value_name("skb_drop_reason", v); }));
}

void NetReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    const auto& exited = builder.context().exited;
    const bool sweep = ++reads_ % kSweepEveryReads == 0;
    std::vector<uint32_t> finished;  // slots
    const SlotTable& table = probe_.procs();
    const auto slots = table.slots<net_proc_slot>();
    table.for_each_claimed([&](uint32_t i) {
        const uint32_t tgid = __atomic_load_n(&slots[i].tgid, __ATOMIC_RELAXED);
        if (!tgid) return;
        const net_proc_slot& e = slots[i];
        net_proc_stats s{};
        s.tx_bytes = __atomic_load_n(&e.tx_bytes, __ATOMIC_RELAXED);
        s.rx_bytes = __atomic_load_n(&e.rx_bytes, __ATOMIC_RELAXED);
        s.retransmits = __atomic_load_n(&e.retransmits, __ATOMIC_RELAXED);
        NetProcessDelta d = deltas_.add_process(tgid, s);
        if (!d.empty()) {
            ProcessSample& p = builder.process(static_cast<int>(tgid));
            p.tcp_tx_bytes += d.tx_bytes;
            p.tcp_rx_bytes += d.rx_bytes;
            p.tcp_retransmits += d.retransmits;
        }
        if (exited.contains(static_cast<int>(tgid)) || (sweep && !process_alive(tgid)))
            finished.push_back(i);
    });
    deltas_.end_read();
    // Exited processes were kept for this read only.
    for (uint32_t i : finished) {
        deltas_.forget_process(slots[i].tgid);
        table.release(i);
    }
    uint32_t zero = 0;
    per_cpu_values(probe_.cpu_stats_fd(), &zero, cpus_);
    if (!cpus_.empty()) deltas_.add_system(sum_net_cpus(cpus_), drop_labels_, builder.system());
    collect_netns(builder);
}

void NetReader::collect_netns(SnapshotBuilder& builder) {
    const int fd = probe_.netns_stats_fd();
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return;
    auto& per_cpu = netns_per_cpu_;
    per_cpu.resize(static_cast<size_t>(ncpus));
    for (auto& slots : per_cpu) slots.assign(probe_.netns_slots(), net_ns_stats{});
    // One batch read of every slot (a system call per slot was 2 % of the daemon's own CPU
    // at 0.1 s, most of it the hypervisor's cost of entering the kernel).
    for_each_percpu_entry<uint32_t, net_ns_stats>(
        fd, [&](const uint32_t& slot, const std::vector<net_ns_stats>& copies) {
            if (slot >= probe_.netns_slots()) return;
            for (size_t cpu = 0; cpu < copies.size() && cpu < per_cpu.size(); ++cpu)
                per_cpu[cpu][slot] = copies[cpu];
        });
    NetnsGrowth growth = netns_slots_.add_read(per_cpu);
    for (const auto& [inum, d] : growth.counters)
        add_netns_counters(d, rcvbuf_grow_attached_, builder.netns(inum));
    // An idle slot is zeroed on every CPU at once; a count that lands between the read
    // above and this write is lost, which for a slot idle this long is none.
    const auto idle = netns_slots_.idle_slots();
    const std::vector<net_ns_stats> zeros(idle.empty() ? 0 : per_cpu.size());
    for (uint32_t slot : idle) {
        if (bpf_map_update_elem(fd, &slot, zeros.data(), BPF_ANY) == 0) netns_slots_.cleared(slot);
    }

    std::map<NetnsDropKey, uint64_t> drops;
    for_each_percpu_entry<net_ns_drop_key, uint64_t>(
        probe_.netns_drops_fd(), [&](const net_ns_drop_key& k, const std::vector<uint64_t>& v) {
            uint64_t sum = 0;
            for (uint64_t n : v) sum += n;
            drops[{k.inum, k.reason}] = sum;
        });
    for (const auto& [key, n] : netns_drops_.add_read(drops)) growth.drops[key] += n;
    for (const auto& [key, n] : growth.drops) {
        const uint32_t reason = key.second;
        add_netns_drops(reason < drop_labels_.size() ? drop_labels_[reason]
                                                     : "REASON_" + std::to_string(reason),
                        n, builder.netns(key.first));
    }
    for (const auto& [inum, reason] : netns_drops_.take_idle()) {
        net_ns_drop_key k{inum, reason};
        bpf_map_delete_elem(probe_.netns_drops_fd(), &k);
    }
}

}  // namespace perfbpf
