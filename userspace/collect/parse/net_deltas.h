// The net family's cumulative map values turned into interval amounts and names. Pure (no
// map reads), so unit tests feed recorded values; collect/net_reader reads the maps.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "perfbpf/net.h"

namespace perfbpf {

struct NetProcessDelta {
    uint64_t tx_bytes = 0;
    uint64_t rx_bytes = 0;
    uint64_t retransmits = 0;
    bool empty() const { return !tx_bytes && !rx_bytes && !retransmits; }
};

// "ESTABLISHED", "SYN_SENT", ... for include/net/tcp_states.h numbers; "STATE_<n>" else.
std::string tcp_state_name(int state);

// An abnormal end of a connection: CLOSE reached straight from a state where the
// connection was being set up, was open, or had only begun an orderly close (a reset
// received or sent, an abort, a refused or timed-out connect). Orderly ends reach CLOSE
// from LAST_ACK, FIN_WAIT2, CLOSING or TIME_WAIT; listeners and unused sockets from
// LISTEN or CLOSE.
bool is_reset_transition(int old_state, int new_state);

// Label of an enum skb_drop_reason value: the kernel's enumerator without its
// "SKB_DROP_REASON_" prefix ("NO_SOCKET"), as tracefs prints it. `enum_name` maps a value
// to the running kernel's enumerator name ("" when unknown). The last slot collects values
// too large for the BPF side's table.
std::string drop_reason_label(uint32_t slot,
                              const std::function<std::string(long long)>& enum_name);

// Sum of the per-CPU copies.
net_cpu_stats sum_net_cpus(const std::vector<net_cpu_stats>& per_cpu);

class NetDeltas {
  public:
    // Growth of one process's totals since the previous read. When any total is lower
    // than before, the entry is new (deleted and recreated, or the tgid was reused) and
    // counts from zero.
    NetProcessDelta add_process(uint32_t tgid, const net_proc_stats& now);
    // Forgets processes not seen since the previous end_read (their entry was removed).
    void end_read();
    void forget_process(uint32_t tgid) { prev_.erase(tgid); }

    // Fills the network fields of `out` with the growth of the system-wide totals since
    // the previous call (since zero, the value at load, on the first). `drop_labels` has
    // one label per drop-reason slot.
    void add_system(const net_cpu_stats& now, const std::vector<std::string>& drop_labels,
                    SystemSample& out);

  private:
    std::map<uint32_t, net_proc_stats> prev_;
    std::set<uint32_t> seen_;
    net_cpu_stats prev_system_{};
};

}  // namespace perfbpf
