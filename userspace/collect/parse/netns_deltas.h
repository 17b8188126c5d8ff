// The net family's per-namespace counters turned into interval amounts, and a
// namespace's /proc/net/netstat into the NetnsSample fields. Pure (no map or file reads),
// so unit tests feed recorded values; collect/net_reader and collect/netns_source read.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "collect/parse/counter_field.h"
#include "model/snapshot.h"
#include "perfbpf/net.h"

namespace perfbpf {

// Drops per (namespace inode, drop-reason slot), each summed over CPUs.
using NetnsDropKey = std::pair<uint32_t, uint32_t>;

// Growth of the per-namespace slots in one read: counters by namespace inode (the drop
// ways left zero) and the drops the slots' ways counted.
struct NetnsGrowth {
    std::map<uint32_t, net_ns_stats> counters;
    std::map<NetnsDropKey, uint64_t> drops;
};

// Per-namespace slots (include/perfbpf/net.h): each CPU's copy of each slot is tagged with
// the namespace it counts for, and a slot may be freed and claimed by another namespace,
// so growth is tracked per CPU and slot.
class NetnsSlotDeltas {
  public:
    // A slot whose copies were all free or unchanged for this many reads may be freed.
    explicit NetnsSlotDeltas(uint64_t idle_reads) : idle_reads_(idle_reads) {}

    // One read of every slot: per_cpu[cpu][slot]. Returns the growth per namespace inode,
    // summed over CPUs. A copy with another tag than before, or with a counter lower than
    // before, was claimed anew and counts from zero; so does a drop way with another
    // reason or a lower count.
    NetnsGrowth add_read(const std::vector<std::vector<net_ns_stats>>& per_cpu);
    // Slots whose copies on every CPU are free or idle long enough (never one in use).
    std::vector<uint32_t> idle_slots() const;
    // The slot was cleared (every CPU's copy zeroed).
    void cleared(uint32_t slot);

  private:
    struct Seen {
        net_ns_stats last{};
        uint64_t unchanged_reads = 0;
    };
    uint64_t idle_reads_;
    size_t slots_ = 0;
    std::map<std::pair<size_t, uint32_t>, Seen> seen_;  // (cpu, slot)
};

// The hash of drops beyond the slots' ways.
class NetnsDropDeltas {
  public:
    explicit NetnsDropDeltas(uint64_t idle_reads) : idle_reads_(idle_reads) {}
    // Growth of each entry since the previous read; an entry that shrank was recreated.
    std::map<NetnsDropKey, uint64_t> add_read(const std::map<NetnsDropKey, uint64_t>& now);
    // Entries unchanged for idle_reads reads, to delete; forgotten here.
    std::vector<NetnsDropKey> take_idle();

  private:
    struct Seen {
        uint64_t last = 0;
        uint64_t unchanged_reads = 0;
    };
    uint64_t idle_reads_;
    std::map<NetnsDropKey, Seen> seen_;
};

// Adds interval amounts of one namespace's slots to `out`. rcvbuf_grow_attached: the
// tcp_rcvbuf_grow fields exist (else they stay nullopt).
void add_netns_counters(const net_ns_stats& d, bool rcvbuf_grow_attached, NetnsSample& out);

// Adds `count` drops with reason `label` to `out`.
void add_netns_drops(const std::string& label, uint64_t count, NetnsSample& out);

// The netstat counters a namespace's sample takes, each as its growth within the interval.
inline constexpr CounterField<NetnsSample> kNetnsNetstatFields[] = {
    {"TcpExt:ListenOverflows", &NetnsSample::listen_overflows},
    {"TcpExt:ListenDrops", &NetnsSample::listen_drops},
    {"TcpExt:TCPReqQFullDrop", &NetnsSample::syn_queue_drops},
    {"TcpExt:SyncookiesSent", &NetnsSample::syncookies_sent},
    {"TcpExt:TCPRcvQDrop", &NetnsSample::rcvq_drops},
    {"TcpExt:TCPBacklogDrop", &NetnsSample::backlog_drops},
    {"TcpExt:PruneCalled", &NetnsSample::prune_called},
    {"TcpExt:TCPMemoryPressures", &NetnsSample::memory_pressures},
};
// Their keys, for parse_netstat(text, only).
inline constexpr auto kNetnsNetstatKeys = [] {
    std::array<std::string_view, std::size(kNetnsNetstatFields)> keys{};
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = kNetnsNetstatFields[i].key;
    return keys;
}();

// Fills the netstat fields of `out` from the growth of the namespace's TcpExt counters
// (parse_netstat) since `before`.
void apply_netstat(const std::map<std::string, uint64_t>& now,
                   const std::map<std::string, uint64_t>& before, NetnsSample& out);

}  // namespace perfbpf
