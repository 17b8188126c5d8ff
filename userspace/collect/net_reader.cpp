#include "collect/net_reader.h"

#include <bpf/bpf.h>
#include <unistd.h>

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

NetReader::NetReader(const NetProbe& probe) : probe_(probe) {
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
    std::vector<uint32_t> finished;
    for_each_entry<uint32_t, net_proc_stats>(
        probe_.proc_stats_fd(), [&](const uint32_t& tgid, const net_proc_stats& s) {
            NetProcessDelta d = deltas_.add_process(tgid, s);
            if (!d.empty()) {
                ProcessSample& p = builder.process(static_cast<int>(tgid));
                p.tcp_tx_bytes += d.tx_bytes;
                p.tcp_rx_bytes += d.rx_bytes;
                p.tcp_retransmits += d.retransmits;
            }
            if (exited.contains(static_cast<int>(tgid)) || (sweep && !process_alive(tgid)))
                finished.push_back(tgid);
        });
    deltas_.end_read();
    // Exited processes were kept for this read only.
    for (uint32_t tgid : finished) {
        bpf_map_delete_elem(probe_.proc_stats_fd(), &tgid);
        deltas_.forget_process(tgid);
    }
    uint32_t zero = 0;
    auto cpus = per_cpu_values<net_cpu_stats>(probe_.cpu_stats_fd(), &zero);
    if (!cpus.empty()) deltas_.add_system(sum_net_cpus(cpus), drop_labels_, builder.system());
}

}  // namespace perfbpf
