// Per-namespace delta logic of the net family (slots tagged per CPU, drops per reason) and
// the netstat fields, fed recorded values.
#include "collect/parse/netns_deltas.h"
#include "collect/parse/procfs.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

constexpr uint32_t kA = 4026532179, kB = 4026532248;

net_ns_stats slot(uint32_t inum, uint64_t tx, uint64_t rcvqueue_full = 0) {
    net_ns_stats s{};
    s.inum = inum;
    s.tx_bytes = tx;
    s.rcvqueue_full = rcvqueue_full;
    return s;
}

// Two CPUs, four slots each.
std::vector<std::vector<net_ns_stats>> read_of(std::vector<net_ns_stats> cpu0,
                                               std::vector<net_ns_stats> cpu1) {
    cpu0.resize(4);
    cpu1.resize(4);
    return {cpu0, cpu1};
}

TEST(NetnsSlotDeltas, SumsANamespaceOverCpusAndSlots) {
    NetnsSlotDeltas d(3);
    // A is in slot 0 on CPU 0 and, after a collision there, in slot 1 on CPU 1.
    auto first =
        d.add_read(read_of({slot(kA, 100), slot(kB, 5)}, {slot(kB, 1), slot(kA, 50)})).counters;
    EXPECT_EQ(first[kA].tx_bytes, 150u);
    EXPECT_EQ(first[kB].tx_bytes, 6u);
    auto second =
        d.add_read(read_of({slot(kA, 130), slot(kB, 5)}, {slot(kB, 1), slot(kA, 60, 2)})).counters;
    EXPECT_EQ(second[kA].tx_bytes, 40u);
    EXPECT_EQ(second[kA].rcvqueue_full, 2u);
    EXPECT_FALSE(second.contains(kB));  // nothing grew
}

TEST(NetnsSlotDeltas, ASlotClaimedByAnotherNamespaceCountsFromZero) {
    NetnsSlotDeltas d(3);
    d.add_read(read_of({slot(kA, 1000)}, {}));
    // Freed, then claimed by B, which has counted 10 since.
    auto r = d.add_read(read_of({slot(kB, 10)}, {})).counters;
    EXPECT_EQ(r[kB].tx_bytes, 10u);
    EXPECT_FALSE(r.contains(kA));
    // Zeroed and reclaimed by A itself: lower than before, so new.
    d.add_read(read_of({slot(kA, 1000)}, {}));
    EXPECT_EQ(d.add_read(read_of({slot(kA, 4)}, {})).counters[kA].tx_bytes, 4u);
}

TEST(NetnsSlotDeltas, OnlySlotsIdleOnEveryCpuAreFreed) {
    NetnsSlotDeltas d(2);
    auto busy = [&](uint64_t tx) {
        return read_of({slot(kA, 1), slot(kB, tx)}, {{}, slot(kB, 1)});
    };
    d.add_read(busy(1));
    EXPECT_TRUE(d.idle_slots().empty());  // just claimed
    d.add_read(busy(2));
    d.add_read(busy(3));
    // Slot 0 (A, idle on CPU 0, free on CPU 1) may go; slot 1 is busy on CPU 0 even though
    // its CPU 1 copy is idle.
    EXPECT_EQ(d.idle_slots(), std::vector<uint32_t>{0});
    d.cleared(0);
    auto after = d.add_read(read_of({slot(kA, 3)}, {})).counters;
    EXPECT_EQ(after[kA].tx_bytes, 3u);  // claimed again after clearing: from zero
}

net_ns_stats with_drops(uint32_t inum, std::vector<std::pair<uint32_t, uint64_t>> ways) {
    net_ns_stats s = slot(inum, 0);
    for (size_t i = 0; i < ways.size(); ++i) {
        s.drop_reason[i] = ways[i].first + 1;  // 0 marks a free way
        s.drop_count[i] = ways[i].second;
    }
    return s;
}

TEST(NetnsSlotDeltas, DropWaysGiveDropsPerReason) {
    NetnsSlotDeltas d(3);
    auto first = d.add_read(read_of({with_drops(kA, {{46, 10}, {15, 2}})}, {}));
    EXPECT_EQ(first.drops[NetnsDropKey(kA, 46)], 10u);
    EXPECT_EQ(first.drops[NetnsDropKey(kA, 15)], 2u);
    EXPECT_TRUE(first.counters.empty());  // the ways are not counters
    auto second = d.add_read(
        read_of({with_drops(kA, {{46, 25}, {15, 2}, {2, 1}})}, {with_drops(kA, {{15, 4}})}));
    EXPECT_EQ(second.drops[NetnsDropKey(kA, 46)], 15u);
    EXPECT_EQ(second.drops[NetnsDropKey(kA, 15)], 4u);  // only CPU 1's new way
    EXPECT_EQ(second.drops[NetnsDropKey(kA, 2)], 1u);
    // Drops keep a slot busy: it is not freed while they grow.
    d.add_read(read_of({with_drops(kA, {{46, 26}, {15, 2}, {2, 1}})}, {with_drops(kA, {{15, 4}})}));
    d.add_read(read_of({with_drops(kA, {{46, 27}, {15, 2}, {2, 1}})}, {with_drops(kA, {{15, 4}})}));
    d.add_read(read_of({with_drops(kA, {{46, 28}, {15, 2}, {2, 1}})}, {with_drops(kA, {{15, 4}})}));
    EXPECT_EQ(d.idle_slots(), std::vector<uint32_t>{});
}

TEST(NetnsDropDeltas, GrowthPerReasonAndIdleEntries) {
    NetnsDropDeltas d(2);
    auto r1 = d.add_read({{{kA, 46}, 10}, {{kB, 15}, 3}});
    EXPECT_EQ(r1[NetnsDropKey(kA, 46)], 10u);  // first read: everything since load
    auto r2 = d.add_read({{{kA, 46}, 15}, {{kB, 15}, 3}});
    EXPECT_EQ(r2[NetnsDropKey(kA, 46)], 5u);
    EXPECT_FALSE(r2.contains(NetnsDropKey(kB, 15)));
    EXPECT_TRUE(d.take_idle().empty());
    d.add_read({{{kA, 46}, 15}, {{kB, 15}, 3}});
    // B has been unchanged for two reads, A (grown in the second) for one.
    EXPECT_EQ(d.take_idle(), std::vector<NetnsDropKey>{NetnsDropKey(kB, 15)});
    d.add_read({{{kA, 46}, 15}});
    EXPECT_EQ(d.take_idle(), std::vector<NetnsDropKey>{NetnsDropKey(kA, 46)});
    // Deleted and recreated: counts from zero.
    EXPECT_EQ(d.add_read({{{kA, 46}, 2}})[NetnsDropKey(kA, 46)], 2u);
}

TEST(NetnsCounters, FieldsAveragesAndOptionalGrowth) {
    net_ns_stats d{};
    d.tx_bytes = 1000;
    d.rx_bytes = 2000;
    d.retransmits = 3;
    d.mem_limit_send = 1;
    d.mem_limit_recv = 2;
    d.rcvbuf_grow = 9;
    d.rcvbuf_grow_at_max = 8;
    d.probe_samples = 4;
    d.snd_wnd_sum = 4 * 65536;
    d.rcvbuf_sum = 4 * 131072;
    d.bdp_sum = 4 * 50000;
    d.rwnd_limited = 3;
    d.srtt_hist[6] = 4;
    NetnsSample n;
    add_netns_counters(d, false, n);
    EXPECT_EQ(n.tcp_tx_bytes, 1000u);
    EXPECT_EQ(n.tcp_rx_bytes, 2000u);
    EXPECT_EQ(n.mem_limit_recv, 2u);
    EXPECT_EQ(n.rcvbuf_grow, std::nullopt);  // the tracepoint is missing on this kernel
    EXPECT_EQ(n.tcp_samples, 4u);
    EXPECT_EQ(n.snd_wnd_avg_bytes, 65536u);
    EXPECT_EQ(n.rcvbuf_avg_bytes, 131072u);
    EXPECT_EQ(n.bdp_avg_bytes, 50000u);
    EXPECT_EQ(n.rwnd_limited_samples, 3u);
    EXPECT_EQ(n.srtt_hist.count(), 4u);

    NetnsSample g;
    add_netns_counters(d, true, g);
    EXPECT_EQ(g.rcvbuf_grow, 9u);
    EXPECT_EQ(g.rcvbuf_grow_at_max, 8u);
    EXPECT_EQ(g.rcvbuf_grow_locked, 0u);
    // A second batch of samples (another drop-key read, say) is averaged in by weight.
    net_ns_stats more{};
    more.probe_samples = 4;
    more.snd_wnd_sum = 0;
    add_netns_counters(more, true, g);
    EXPECT_EQ(g.tcp_samples, 8u);
    EXPECT_EQ(g.snd_wnd_avg_bytes, 32768u);
}

TEST(NetnsDrops, BacklogDropsAreSeparatelyCounted) {
    NetnsSample n;
    add_netns_drops("CPU_BACKLOG", 5, n);
    add_netns_drops("SOCKET_RCVBUFF", 7, n);
    EXPECT_EQ(n.packet_drops_total, 12u);
    EXPECT_EQ(n.cpu_backlog_drops, 5u);
    EXPECT_EQ(n.packet_drops["SOCKET_RCVBUFF"], 7u);
}

TEST(Netstat, ListenOverflowsAndQueueDropsAreIntervalAmounts) {
    std::map<std::string, uint64_t> before = {{"TcpExt:ListenOverflows", 10},
                                              {"TcpExt:ListenDrops", 10},
                                              {"TcpExt:TCPReqQFullDrop", 1},
                                              {"TcpExt:TCPBacklogDrop", 0}};
    std::map<std::string, uint64_t> now = before;
    now["TcpExt:ListenOverflows"] = 46;
    now["TcpExt:ListenDrops"] = 47;
    now["TcpExt:TCPBacklogDrop"] = 2;
    NetnsSample n;
    n.netstat_unavailable = "earlier failure";
    apply_netstat(now, before, n);
    EXPECT_TRUE(n.netstat_available);
    EXPECT_EQ(n.netstat_unavailable, "");
    EXPECT_EQ(n.listen_overflows, 36u);
    EXPECT_EQ(n.listen_drops, 37u);
    EXPECT_EQ(n.syn_queue_drops, 0u);
    EXPECT_EQ(n.backlog_drops, 2u);
    // The first read of a namespace is its baseline.
    NetnsSample first;
    apply_netstat(now, {}, first);
    EXPECT_TRUE(first.netstat_available);
    EXPECT_EQ(first.listen_overflows, 0u);
}

// The daemon parses only kNetnsNetstatKeys of each namespace's netstat: what apply_netstat
// makes of them is what it makes of the whole file.
TEST(Netstat, TheKeysParsedAreTheOnesApplied) {
    std::string names = "TcpExt: SyncookiesRecv EmbryonicRsts", values = "TcpExt: 5 6";
    uint64_t v = 100;
    for (std::string_view key : kNetnsNetstatKeys) {
        names += " " + std::string(key.substr(key.find(':') + 1));
        values += " " + std::to_string(v += 10);
    }
    const std::string now_text = names + "\n" + values + "\nIpExt: InNoRoutes\nIpExt: 9\n";
    auto before = parse_netstat(now_text);  // every counter at 1 the read before
    for (auto& [key, n] : before) n = 1;
    NetnsSample full, only;
    apply_netstat(parse_netstat(now_text), before, full);
    apply_netstat(parse_netstat(now_text, kNetnsNetstatKeys), before, only);
    EXPECT_EQ(parse_netstat(now_text, kNetnsNetstatKeys).size(), kNetnsNetstatKeys.size());
    for (uint64_t NetnsSample::*f :
         {&NetnsSample::listen_overflows, &NetnsSample::listen_drops, &NetnsSample::syn_queue_drops,
          &NetnsSample::syncookies_sent, &NetnsSample::rcvq_drops, &NetnsSample::backlog_drops,
          &NetnsSample::prune_called, &NetnsSample::memory_pressures}) {
        EXPECT_GT(full.*f, 0u);
        EXPECT_EQ(only.*f, full.*f);
    }
}

}  // namespace
}  // namespace perfbpf
