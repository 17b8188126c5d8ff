// The net family's delta logic and naming, fed recorded map values.
#include "collect/parse/net_deltas.h"

#include <gtest/gtest.h>

#include <map>

namespace perfbpf {
namespace {

net_proc_stats proc(uint64_t tx, uint64_t rx, uint64_t retrans) {
    net_proc_stats s{};
    s.tx_bytes = tx;
    s.rx_bytes = rx;
    s.retransmits = retrans;
    return s;
}

TEST(NetDeltas, FirstReadCountsFromLoad) {
    NetDeltas d;
    NetProcessDelta p = d.add_process(42, proc(1000, 20, 3));
    EXPECT_EQ(p.tx_bytes, 1000u);
    EXPECT_EQ(p.rx_bytes, 20u);
    EXPECT_EQ(p.retransmits, 3u);
}

TEST(NetDeltas, LaterReadsGiveTheGrowth) {
    NetDeltas d;
    d.add_process(42, proc(1000, 20, 3));
    d.end_read();
    NetProcessDelta p = d.add_process(42, proc(1500, 20, 5));
    EXPECT_EQ(p.tx_bytes, 500u);
    EXPECT_EQ(p.rx_bytes, 0u);
    EXPECT_EQ(p.retransmits, 2u);
    EXPECT_FALSE(p.empty());
    d.end_read();
    EXPECT_TRUE(d.add_process(42, proc(1500, 20, 5)).empty());
}

TEST(NetDeltas, ALowerTotalIsANewEntryCountedFromZero) {
    NetDeltas d;
    d.add_process(7, proc(5000, 5000, 9));
    d.end_read();
    // The tgid was reused by a process that has sent 100 bytes: only one total went down,
    // but the entry as a whole is new.
    NetProcessDelta p = d.add_process(7, proc(100, 6000, 9));
    EXPECT_EQ(p.tx_bytes, 100u);
    EXPECT_EQ(p.rx_bytes, 6000u);
    EXPECT_EQ(p.retransmits, 9u);
}

TEST(NetDeltas, ForgottenAndUnseenProcessesStartOver) {
    NetDeltas d;
    d.add_process(1, proc(10, 0, 0));
    d.add_process(2, proc(10, 0, 0));
    d.end_read();
    d.forget_process(1);              // exited: its entry was deleted after the read
    d.add_process(3, proc(1, 0, 0));  // 2 not seen in this read: its entry is gone
    d.end_read();
    EXPECT_EQ(d.add_process(1, proc(10, 0, 0)).tx_bytes, 10u);
    EXPECT_EQ(d.add_process(2, proc(10, 0, 0)).tx_bytes, 10u);
    EXPECT_EQ(d.add_process(3, proc(1, 0, 0)).tx_bytes, 0u);
}

TEST(NetCpus, SumsEveryCounter) {
    std::vector<net_cpu_stats> cpus(2);
    cpus[0].tx_bytes = 1;
    cpus[1].tx_bytes = 2;
    cpus[0].transitions[1][4] = 3;
    cpus[1].transitions[1][4] = 4;
    cpus[1].drops[3] = 5;
    cpus[0].srtt_hist[6] = 7;
    cpus[1].cwnd_sum = 8;
    net_cpu_stats s = sum_net_cpus(cpus);
    EXPECT_EQ(s.tx_bytes, 3u);
    EXPECT_EQ(s.transitions[1][4], 7u);
    EXPECT_EQ(s.drops[3], 5u);
    EXPECT_EQ(s.srtt_hist[6], 7u);
    EXPECT_EQ(s.cwnd_sum, 8u);
}

std::vector<std::string> labels_from(const std::map<long long, std::string>& names) {
    std::vector<std::string> out;
    for (uint32_t slot = 0; slot < PERFBPF_DROP_REASON_SLOTS; ++slot)
        out.push_back(drop_reason_label(slot, [&](long long v) {
            auto it = names.find(v);
            return it == names.end() ? std::string() : it->second;
        }));
    return out;
}

TEST(DropReasonLabel, KernelNamesWithoutThePrefix) {
    // As 6.18's enum skb_drop_reason numbers them.
    auto labels = labels_from({{0, "SKB_NOT_DROPPED_YET"},
                               {1, "SKB_CONSUMED"},
                               {2, "SKB_DROP_REASON_NOT_SPECIFIED"},
                               {3, "SKB_DROP_REASON_NO_SOCKET"}});
    EXPECT_EQ(labels[3], "NO_SOCKET");
    EXPECT_EQ(labels[2], "NOT_SPECIFIED");
    EXPECT_EQ(labels[1], "SKB_CONSUMED");
    EXPECT_EQ(labels[77], "REASON_77");  // a value this kernel's BTF does not name
    EXPECT_EQ(labels[PERFBPF_DROP_REASON_OTHER], "OTHER");
}

TEST(DropReasonLabel, SameNameFromDifferentNumbering) {
    // 6.1 has no SKB_CONSUMED, so NO_SOCKET is 2 there: names come from the running kernel.
    auto labels =
        labels_from({{1, "SKB_DROP_REASON_NOT_SPECIFIED"}, {2, "SKB_DROP_REASON_NO_SOCKET"}});
    EXPECT_EQ(labels[2], "NO_SOCKET");
}

TEST(TcpStates, NamesAndResets) {
    EXPECT_EQ(tcp_state_name(1), "ESTABLISHED");
    EXPECT_EQ(tcp_state_name(7), "CLOSE");
    EXPECT_EQ(tcp_state_name(10), "LISTEN");
    EXPECT_EQ(tcp_state_name(12), "NEW_SYN_RECV");
    EXPECT_EQ(tcp_state_name(15), "STATE_15");
    EXPECT_TRUE(is_reset_transition(1, 7));    // ESTABLISHED -> CLOSE: RST or abort
    EXPECT_TRUE(is_reset_transition(2, 7));    // SYN_SENT -> CLOSE: refused or timed out
    EXPECT_TRUE(is_reset_transition(8, 7));    // CLOSE_WAIT -> CLOSE
    EXPECT_FALSE(is_reset_transition(9, 7));   // LAST_ACK -> CLOSE: orderly passive close
    EXPECT_FALSE(is_reset_transition(5, 7));   // FIN_WAIT2 -> CLOSE: into TIME_WAIT
    EXPECT_FALSE(is_reset_transition(10, 7));  // a listener closes
    EXPECT_FALSE(is_reset_transition(1, 4));   // not a close at all
}

TEST(NetSystem, IntervalAmountsNamesAndPercentiles) {
    auto labels = labels_from({{3, "SKB_DROP_REASON_NO_SOCKET"}, {5, "SKB_DROP_REASON_TCP_CSUM"}});
    NetDeltas d;
    net_cpu_stats first{};
    first.tx_bytes = 1000;
    first.drops[3] = 10;
    SystemSample s0;
    d.add_system(first, labels, s0);
    EXPECT_EQ(s0.tcp_tx_bytes, 1000u);
    EXPECT_EQ(s0.packet_drops["NO_SOCKET"], 10u);

    net_cpu_stats now = first;
    now.tx_bytes += 4096;
    now.rx_bytes += 2048;
    now.retransmits = 6;
    now.retransmits_unattributed = 1;
    now.transitions[2][1] = 3;  // SYN_SENT -> ESTABLISHED
    now.transitions[1][7] = 2;  // ESTABLISHED -> CLOSE (resets)
    now.transitions[9][7] = 1;  // LAST_ACK -> CLOSE
    now.drops[3] += 4;
    now.drops[5] = 1;
    now.drops[PERFBPF_DROP_REASON_OTHER] = 2;
    // 100 RTT samples: 98 in [64, 128) µs, 2 in [1024, 2048) µs; cwnd 10 on average.
    now.srtt_hist[7] = 98;
    now.srtt_hist[11] = 2;
    now.rtt_samples = 100;
    now.cwnd_sum = 1000;
    SystemSample s;
    d.add_system(now, labels, s);
    EXPECT_EQ(s.tcp_tx_bytes, 4096u);
    EXPECT_EQ(s.tcp_rx_bytes, 2048u);
    EXPECT_EQ(s.tcp_retransmits, 6u);
    EXPECT_EQ(s.tcp_retransmits_unattributed, 1u);
    EXPECT_EQ(s.tcp_state_changes, 6u);
    EXPECT_EQ(s.tcp_states_entered["ESTABLISHED"], 3u);
    EXPECT_EQ(s.tcp_states_entered["CLOSE"], 3u);
    EXPECT_EQ(s.tcp_resets, 2u);
    EXPECT_EQ(s.packet_drops["NO_SOCKET"], 4u);
    EXPECT_EQ(s.packet_drops["TCP_CSUM"], 1u);
    EXPECT_EQ(s.packet_drops["OTHER"], 2u);
    EXPECT_EQ(s.packet_drops_total, 7u);
    EXPECT_EQ(s.tcp_rtt_samples, 100u);
    EXPECT_DOUBLE_EQ(s.tcp_cwnd_avg_segs, 10.0);
    // The 99th sample is in the slow slot.
    EXPECT_GE(s.tcp_srtt_p99_us, 1024.0);
    EXPECT_LE(s.tcp_srtt_p99_us, 2048.0);

    // Nothing happened: nothing reported, and no stale average.
    SystemSample quiet;
    d.add_system(now, labels, quiet);
    EXPECT_EQ(quiet.tcp_tx_bytes, 0u);
    EXPECT_TRUE(quiet.packet_drops.empty());
    EXPECT_TRUE(quiet.tcp_states_entered.empty());
    EXPECT_EQ(quiet.tcp_srtt_p99_us, 0.0);
    EXPECT_EQ(quiet.tcp_cwnd_avg_segs, 0.0);
}

}  // namespace
}  // namespace perfbpf
