// The net-backlog tuner's decisions over synthetic windows.
#include <gtest/gtest.h>

#include "tune/metrics.h"
#include "tune/registry.h"
#include "tune/tuners/net_backlog.h"
#include "tuner_test_support.h"

namespace perfbpf::tune {
namespace {

struct Rates {
    uint64_t softnet_drops = 0, cpu_backlog_drops = 0;   // host-wide, per interval
    uint64_t overflows = 0, syn_drops = 0, cookies = 0;  // in `netns`, per interval
};

// `n` one-second intervals with the host namespace and `netns` (when not "").
std::vector<Snapshot> window(const Rates& r, const std::string& netns = "blue", int n = 5) {
    std::vector<Snapshot> w(n);
    for (auto& s : w) {
        s.interval_ns = 1'000'000'000;
        s.system.softnet_backlog_drops = r.softnet_drops;
        s.system.packet_drops_total = r.softnet_drops;
        NetnsSample host;
        host.name = "host";
        host.netstat_available = true;
        host.cpu_backlog_drops = r.cpu_backlog_drops;
        s.netns.push_back(host);
        if (!netns.empty()) {
            NetnsSample ns;
            ns.name = netns;
            ns.netstat_available = true;
            ns.listen_overflows = r.overflows;
            ns.listen_drops = r.overflows;
            ns.syn_queue_drops = r.syn_drops;
            ns.syncookies_sent = r.cookies;
            s.netns.push_back(ns);
        }
    }
    return w;
}

KnobValues knobs(const std::string& backlog = "1000", const std::string& somaxconn = "128",
                 const std::string& syn = "256", const std::string& netns = "blue") {
    KnobValues v;
    v[sysctl_knob("net.core.netdev_max_backlog", Scope::host())] = {backlog, {}};
    for (Scope s : {Scope::host(), Scope::netns(netns)}) {
        v[sysctl_knob("net.core.somaxconn", s)] = {somaxconn, {}};
        v[sysctl_knob("net.ipv4.tcp_max_syn_backlog", s)] = {syn, {}};
    }
    return v;
}

std::vector<Recommendation> decide(const std::vector<Snapshot>& w, const KnobValues& k,
                                   const ScopeFilter& f = {}, NetBacklogConfig c = {}) {
    return test::decide_with(*make_net_backlog_tuner(c), w, k, f);
}

using test::evidence_value;
using test::find_rec;
using test::only_netns;
using test::reason_text;

TEST(NetBacklogTuner, IsRegistered) {
    auto names = tuner_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "net-backlog"), names.end());
}

TEST(NetBacklogTuner, BacklogDropsRaiseNetdevMaxBacklog) {
    auto rs = decide(window({.softnet_drops = 500}), knobs("1000"));
    auto r = find_rec(rs, "net.core.netdev_max_backlog", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->current, "1000");
    EXPECT_EQ(r->proposed, "4000");
    EXPECT_EQ(r->direction, +1);
    EXPECT_NE(reason_text(*r).find("500/s packets dropped"), std::string::npos) << reason_text(*r);
    EXPECT_EQ(r->target.spec.name, "backlog_drops_per_s @ host");
    EXPECT_EQ(r->target.spec.better, Better::lower);
    EXPECT_EQ(r->guard.spec.name, "packet_drops_per_s @ host");
    const KnobSpec& spec = *find_knob_spec(KnobKind::sysctl, "net.core.netdev_max_backlog");
    EXPECT_TRUE(check_change(spec, {"1000", {}}, r->proposed));
    // The BPF count (CPU_BACKLOG drops) alone is evidence too; the larger count is used.
    r = find_rec(decide(window({.softnet_drops = 0, .cpu_backlog_drops = 40}), knobs()),
                 "net.core.netdev_max_backlog", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(evidence_value(*r, "backlog_drops_per_s"), 40);
}

TEST(NetBacklogTuner, PlanLinesInHumanUnits) {
    auto rs = decide(window({.syn_drops = 10, .cookies = 20}), knobs("1000", "128", "256"));
    auto r = find_rec(rs, "net.ipv4.tcp_max_syn_backlog", Scope::netns("blue"));
    ASSERT_TRUE(r);
    const std::string text = test::plan_text("net-backlog", *r);
    test::expect_human_units(text);
    EXPECT_NE(text.find("  256 -> 1024\n"), std::string::npos) << text;
    EXPECT_NE(text.find("why: 30/s SYNs dropped or answered with cookies in network namespace "
                        "blue with the SYN queue full (tcp_max_syn_backlog 256)"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("evidence: syn_drops_per_s 30/s, syn_drops 150, tcp_max_syn_backlog 256\n"),
              std::string::npos)
        << text;
}

TEST(NetBacklogTuner, BacklogTargetMetricCountsDropsOnce) {
    auto w = window({.softnet_drops = 30, .cpu_backlog_drops = 25});
    EXPECT_DOUBLE_EQ(*backlog_drops_per_s().value(w[0]), 30);
}

TEST(NetBacklogTuner, ListenOverflowsRaiseSomaxconnInTheirNamespace) {
    auto rs = decide(window({.overflows = 50}), knobs("1000", "128"));
    auto r = find_rec(rs, "net.core.somaxconn", Scope::netns("blue"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->current, "128");
    EXPECT_EQ(r->proposed, "512");
    EXPECT_NE(reason_text(*r).find("network namespace blue"), std::string::npos) << reason_text(*r);
    EXPECT_EQ(r->target.spec.name, "listen_overflows_per_s @ netns:blue");
    EXPECT_EQ(r->guard.spec.name, "tcp_bytes_per_s @ netns:blue");
    // Only there: the host namespace had none, and no backlog drops anywhere.
    EXPECT_FALSE(find_rec(rs, "net.core.somaxconn", Scope::host()));
    EXPECT_FALSE(find_rec(rs, "net.core.netdev_max_backlog", Scope::host()));
    const KnobSpec& spec = *find_knob_spec(KnobKind::sysctl, "net.core.somaxconn");
    EXPECT_TRUE(check_change(spec, {"128", {}}, r->proposed));
}

TEST(NetBacklogTuner, HostNamespaceOverflowsRaiseTheHostsSomaxconn) {
    auto w = window({}, "");
    for (auto& s : w) s.netns[0].listen_overflows = 20;
    auto r = find_rec(decide(w, knobs()), "net.core.somaxconn", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->target.spec.name, "listen_overflows_per_s @ host");
}

TEST(NetBacklogTuner, SynQueueDropsRaiseTcpMaxSynBacklog) {
    auto rs = decide(window({.syn_drops = 10, .cookies = 20}), knobs("1000", "128", "256"));
    auto r = find_rec(rs, "net.ipv4.tcp_max_syn_backlog", Scope::netns("blue"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "1024");
    EXPECT_DOUBLE_EQ(evidence_value(*r, "syn_drops_per_s"), 30);
    EXPECT_EQ(r->target.spec.name, "syn_drops_per_s @ netns:blue");
    EXPECT_FALSE(find_rec(rs, "net.core.somaxconn", Scope::netns("blue")));
}

TEST(NetBacklogTuner, RatesBelowTheDeadBandProposeNothing) {
    // Under every minimum (10 backlog drops/s, 2 overflows/s, 5 SYN drops/s).
    EXPECT_TRUE(
        decide(window({.softnet_drops = 9, .overflows = 1, .syn_drops = 4}), knobs()).empty());
    // One burst in one interval of five is a mean under the minimum too.
    auto w = window({});
    w[2].system.softnet_backlog_drops = 45;
    w[2].netns[1].listen_overflows = 9;
    EXPECT_TRUE(decide(w, knobs()).empty());
}

TEST(NetBacklogTuner, NeverLowers) {
    // Quiet with large values: nothing is proposed, in either direction.
    EXPECT_TRUE(decide(window({}), knobs("262144", "65535", "65536")).empty());
}

TEST(NetBacklogTuner, TooFewIntervalsIsNotEnoughEvidence) {
    EXPECT_TRUE(
        decide(window({.softnet_drops = 500, .overflows = 50}, "blue", 2), knobs()).empty());
    // A namespace whose netstat could not be read says nothing about its queues.
    auto w = window({.overflows = 50});
    for (auto& s : w) s.netns[1].netstat_available = false;
    EXPECT_FALSE(find_rec(decide(w, knobs()), "net.core.somaxconn", Scope::netns("blue")));
}

TEST(NetBacklogTuner, UnnamedNamespacesAreLeftAlone) {
    auto w = window({.overflows = 50});
    for (auto& s : w) s.netns[1].name = "";
    EXPECT_TRUE(decide(w, knobs()).empty());
}

TEST(NetBacklogTuner, ScopeFilterNamingANamespaceLeavesTheHostAlone) {
    auto w = window({.softnet_drops = 500, .overflows = 50});
    for (auto& s : w) s.netns[0].listen_overflows = 50;
    auto rs = decide(w, knobs(), only_netns("blue"));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, sysctl_knob("net.core.somaxconn", Scope::netns("blue")));
    // And wants() asks for no host knob.
    auto t = make_net_backlog_tuner();
    ScopeFilter f = only_netns("blue");
    TunerInput in{w, nullptr, &f};
    for (const auto& id : t->wants(in)) EXPECT_EQ(id.scope, Scope::netns("blue"));
    // A filter naming another namespace: nothing.
    EXPECT_TRUE(decide(w, knobs(), only_netns("red")).empty());
}

TEST(NetBacklogTuner, StepsStopAtTheCeilings) {
    auto w = window({.softnet_drops = 500, .overflows = 50, .syn_drops = 50});
    auto rs = decide(w, knobs("30000", "20000", "40000"));
    EXPECT_EQ(find_rec(rs, "net.core.netdev_max_backlog", Scope::host())->proposed, "65536");
    EXPECT_EQ(find_rec(rs, "net.core.somaxconn", Scope::netns("blue"))->proposed, "65535");
    EXPECT_EQ(find_rec(rs, "net.ipv4.tcp_max_syn_backlog", Scope::netns("blue"))->proposed,
              "65536");
    EXPECT_TRUE(decide(w, knobs("65536", "65535", "65536")).empty());
    // Every proposal is one allowed step of the allowlist.
    for (const auto& r : decide(w, knobs())) {
        const KnobSpec* spec = find_knob_spec(r.knob.kind, r.knob.key);
        ASSERT_TRUE(spec);
        EXPECT_TRUE(check_change(*spec, {r.current, {}}, r.proposed)) << r.knob.key;
    }
}

TEST(NetBacklogTuner, MissingKnobValuesProposeNothing) {
    auto w = window({.softnet_drops = 500, .overflows = 50, .syn_drops = 50});
    KnobValues none;
    EXPECT_TRUE(decide(w, none).empty());
    KnobValues garbled = knobs();
    for (auto& [id, v] : garbled) v.value = "a lot";
    EXPECT_TRUE(decide(w, garbled).empty());
}

TEST(NetBacklogTuner, MetricsReadTheirNamespace) {
    auto w = window({.overflows = 7, .syn_drops = 2, .cookies = 1});
    w[0].netns[1].tcp_tx_bytes = 1000;
    w[0].netns[1].tcp_rx_bytes = 500;
    EXPECT_DOUBLE_EQ(*netns_metric(NetnsMetric::listen_overflows_per_s, "blue").value(w[0]), 7);
    EXPECT_DOUBLE_EQ(*netns_metric(NetnsMetric::syn_drops_per_s, "blue").value(w[0]), 3);
    EXPECT_DOUBLE_EQ(*netns_metric(NetnsMetric::tcp_bytes_per_s, "blue").value(w[0]), 1500);
    EXPECT_DOUBLE_EQ(*netns_metric(NetnsMetric::listen_overflows_per_s, "host").value(w[0]), 0);
    // A namespace that is not in the snapshot has no netstat value.
    EXPECT_FALSE(netns_metric(NetnsMetric::listen_overflows_per_s, "red").value(w[0]));
}

}  // namespace
}  // namespace perfbpf::tune
