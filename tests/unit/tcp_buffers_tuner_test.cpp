// The tcp-buffers tuner's decisions over synthetic windows.
#include <gtest/gtest.h>

#include "tune/metrics.h"
#include "tune/registry.h"
#include "tune/tuners/tcp_buffers.h"
#include "tuner_test_support.h"

namespace perfbpf::tune {
namespace {

// One namespace's TCP evidence per one-second interval. The chrono amounts (µs): its
// senders' connection time and the part of it they waited for send buffer space; the same
// for this machine's senders into it, waiting for its receive window.
struct Tcp {
    uint64_t samples = 100, rcvbuf_at_max = 0, sndbuf_at_max = 0;
    uint64_t send_us = 0, busy_us = 0, sndbuf_limited_us = 0;
    uint64_t peer_send_us = 0, peer_busy_us = 0, peer_rwnd_limited_us = 0;
    std::optional<uint64_t> grow_at_max = std::nullopt;
    uint64_t rx_bytes = 0, tx_bytes = 0;
    uint64_t pressures = 0, retransmits = 0, drops = 0;
};

NetnsSample netns(const std::string& name, const Tcp& t) {
    NetnsSample n;
    n.name = name;
    n.netstat_available = true;
    n.tcp_samples = t.samples;
    n.rcvbuf_at_max_samples = t.rcvbuf_at_max;
    n.sndbuf_at_max_samples = t.sndbuf_at_max;
    n.tcp_info_available = true;
    n.tcp_send_us = t.send_us;
    n.tcp_busy_us = t.busy_us;
    n.tcp_sndbuf_limited_us = t.sndbuf_limited_us;
    n.tcp_peer_send_us = t.peer_send_us;
    n.tcp_peer_busy_us = t.peer_busy_us;
    n.tcp_peer_rwnd_limited_us = t.peer_rwnd_limited_us;
    if (t.grow_at_max) {
        n.rcvbuf_grow = *t.grow_at_max;
        n.rcvbuf_grow_at_max = *t.grow_at_max;
    }
    n.tcp_rx_bytes = t.rx_bytes;
    n.tcp_tx_bytes = t.tx_bytes;
    n.memory_pressures = t.pressures;
    n.tcp_retransmits = t.retransmits;
    n.packet_drops_total = t.drops;
    return n;
}

// `n` one-second intervals: the host namespace with `host`, "blue" with `blue`.
std::vector<Snapshot> window(const Tcp& blue, const Tcp& host = {.samples = 0}, int n = 5) {
    std::vector<Snapshot> w(n);
    for (auto& s : w) {
        s.interval_ns = 1'000'000'000;
        s.netns.push_back(netns("host", host));
        s.netns.push_back(netns("blue", blue));
    }
    return w;
}

// A receiver in blue at its small max: most samples at the max, 1 MiB/s arriving, its
// sender (on this machine) waiting for blue's window 60 % of the time.
const Tcp kReceiverAtMax{.rcvbuf_at_max = 90,
                         .peer_send_us = 1'000'000,
                         .peer_busy_us = 1'000'000,
                         .peer_rwnd_limited_us = 600'000,
                         .rx_bytes = 1 << 20};
// A bulk sender in blue at its send max, waiting for send buffer space 70 % of the time.
const Tcp kSenderAtMax{.sndbuf_at_max = 80,
                       .send_us = 1'000'000,
                       .busy_us = 1'000'000,
                       .sndbuf_limited_us = 700'000,
                       .tx_bytes = 4 << 20};

KnobValues knobs(const std::string& rmem = "4096 131072 262144",
                 const std::string& wmem = "4096 16384 4194304",
                 const std::string& rmem_max = "212992", const std::string& wmem_max = "212992") {
    KnobValues v;
    for (Scope s : {Scope::host(), Scope::netns("blue")}) {
        v[sysctl_knob("net.ipv4.tcp_rmem", s)] = {rmem, {}};
        v[sysctl_knob("net.ipv4.tcp_wmem", s)] = {wmem, {}};
    }
    v[sysctl_knob("net.core.rmem_max", Scope::host())] = {rmem_max, {}};
    v[sysctl_knob("net.core.wmem_max", Scope::host())] = {wmem_max, {}};
    return v;
}

std::vector<Recommendation> decide(const std::vector<Snapshot>& w, const KnobValues& k,
                                   const ScopeFilter& f = {}, TcpBuffersConfig c = {}) {
    return test::decide_with(*make_tcp_buffers_tuner(c), w, k, f);
}

using test::evidence_value;
using test::find_rec;
using test::only_netns;
using test::reason_text;

void expect_allowed_step(const Recommendation& r) {
    const KnobSpec* spec = find_knob_spec(r.knob.kind, r.knob.key);
    ASSERT_TRUE(spec) << r.knob.key;
    EXPECT_TRUE(check_scope(*spec, r.knob.scope)) << to_string(r.knob);
    auto ok = check_change(*spec, {r.current, {}}, r.proposed);
    EXPECT_TRUE(ok) << to_string(r.knob) << ": " << (ok ? "" : ok.error().message);
}

TEST(TcpBuffersTuner, IsRegistered) {
    auto names = tuner_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "tcp-buffers"), names.end());
}

TEST(TcpBuffersTuner, ReceiveBuffersAtTheMaxRaiseTcpRmemInTheirNamespace) {
    auto rs = decide(window(kReceiverAtMax), knobs());
    ASSERT_EQ(rs.size(), 1u);
    const Recommendation& r = rs[0];
    EXPECT_EQ(r.knob, sysctl_knob("net.ipv4.tcp_rmem", Scope::netns("blue")));
    EXPECT_EQ(r.current, "4096 131072 262144");
    // Only the max moves, by the step factor (4).
    EXPECT_EQ(r.proposed, "4096 131072 1048576");
    EXPECT_EQ(r.direction, +1);
    EXPECT_DOUBLE_EQ(evidence_value(r, "rcvbuf_at_max_share"), 0.9);
    EXPECT_DOUBLE_EQ(evidence_value(r, "rx_bytes_per_s"), 1 << 20);
    EXPECT_DOUBLE_EQ(evidence_value(r, "net.ipv4.tcp_rmem"), 262144);
    EXPECT_NE(reason_text(r).find("90 % of"), std::string::npos) << reason_text(r);
    EXPECT_NE(reason_text(r).find("while receiving 1 MiB/s in network namespace blue (the max of "
                                  "net.ipv4.tcp_rmem: 256 KiB, proposed 1 MiB)"),
              std::string::npos)
        << reason_text(r);
    EXPECT_EQ(r.target.spec.name, "tcp_bytes_per_s @ netns:blue");
    EXPECT_EQ(r.target.spec.better, Better::higher);
    EXPECT_EQ(r.guard.spec.name, "loss_per_mib @ netns:blue");
    EXPECT_EQ(r.guard.spec.better, Better::lower);
    expect_allowed_step(r);
    // rmem_max is host-wide: a namespace's raise never proposes it.
    EXPECT_FALSE(find_rec(rs, "net.core.rmem_max", Scope::host()));
}

TEST(TcpBuffersTuner, PlanLinesInHumanUnits) {
    auto rs = decide(window(kReceiverAtMax), knobs());
    ASSERT_EQ(rs.size(), 1u);
    const std::string text = test::plan_text("tcp-buffers", rs[0]);
    test::expect_human_units(text);
    EXPECT_NE(text.find("  4 KiB / 128 KiB / 256 KiB -> 4 KiB / 128 KiB / 1 MiB\n"),
              std::string::npos)
        << text;
    // The share in the words is the share in the evidence, both in percent.
    EXPECT_NE(text.find("why: 90 % of 500 TCP samples had the receive buffer at the max and the "
                        "senders into it waited for its window 60 % of their 5.0 s (data queued "
                        "100 %) while receiving 1 MiB/s"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find("evidence: rcvbuf_at_max 90 %, tcp_samples 500, rcvbuf_grow_at_max 0/s, "
                  "peer_rwnd_limited 60 %, peer_busy 100 %, peer_send 5.0 s, rx 1 MiB/s, "
                  "rcvq_drops 0, prune_called 0, net.ipv4.tcp_rmem 256 KiB, proposed 1 MiB\n"),
        std::string::npos)
        << text;
    auto send = decide(window(kSenderAtMax), knobs());
    ASSERT_EQ(send.size(), 1u);
    const std::string s = test::plan_text("tcp-buffers", send[0]);
    test::expect_human_units(s);
    EXPECT_NE(s.find("80 % of 500 TCP samples had the send buffer at the max and the senders "
                     "waited for send buffer space 70 % of their 5.0 s while sending 4 MiB/s"),
              std::string::npos)
        << s;
}

TEST(TcpBuffersTuner, RcvbufGrowRefusedAtTheMaxIsEvidenceToo) {
    // 6.18's tcp_rcvbuf_grow: few samples at the max, but autotuning asked for more.
    Tcp growing = kReceiverAtMax;
    growing.samples = 10;
    growing.rcvbuf_at_max = 0;
    growing.grow_at_max = 3;
    auto rs = decide(window(growing), knobs());
    auto r = find_rec(rs, "net.ipv4.tcp_rmem", Scope::netns("blue"));
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(evidence_value(*r, "rcvbuf_grow_at_max_per_s"), 3);
    EXPECT_NE(reason_text(*r).find("3/s receive-buffer growths"), std::string::npos)
        << reason_text(*r);
}

TEST(TcpBuffersTuner, SendBuffersFullAtTheMaxRaiseTcpWmem) {
    auto rs = decide(window(kSenderAtMax), knobs());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, sysctl_knob("net.ipv4.tcp_wmem", Scope::netns("blue")));
    EXPECT_EQ(rs[0].proposed, "4096 16384 16777216");
    EXPECT_DOUBLE_EQ(evidence_value(rs[0], "sndbuf_limited_share"), 0.7);
    EXPECT_DOUBLE_EQ(evidence_value(rs[0], "send_us"), 5e6);
    expect_allowed_step(rs[0]);
    // A sender that waits for its peer's window (the kernel then does not count send buffer
    // time) gains nothing from a larger send buffer.
    Tcp waiting = kSenderAtMax;
    waiting.sndbuf_limited_us = 0;
    EXPECT_TRUE(decide(window(waiting), knobs()).empty());
}

// The iperf3 -b stream: every receive buffer at the max and data arriving, but the
// sender has data to send 3 % of the time (it writes at its own rate, in bursts that the
// small window stops for most of their short life: 91 % of its busy time, measured with
// iperf3 -b 200M into a 64 KiB max on veth). A larger window would shorten the bursts, not
// raise the rate: nothing.
TEST(TcpBuffersTuner, ApplicationLimitedSenderGetsNothing) {
    Tcp paced = kReceiverAtMax;
    paced.rcvbuf_at_max = 100;
    paced.peer_busy_us = 30'000;
    paced.peer_rwnd_limited_us = 27'000;
    EXPECT_TRUE(decide(window(paced), knobs()).empty());
    // The same on the send side: the buffer at its max, rarely waited for.
    Tcp sender = kSenderAtMax;
    sender.sndbuf_at_max = 100;
    sender.busy_us = 30'000;
    sender.sndbuf_limited_us = 27'000;
    EXPECT_TRUE(decide(window(sender), knobs()).empty());
}

TEST(TcpBuffersTuner, AReceiveRaiseNeedsItsSendersWaitingForTheWindow) {
    // No sender seen on this machine (data from other hosts): the buffer at its max alone
    // is no evidence.
    Tcp remote = kReceiverAtMax;
    remote.peer_send_us = remote.peer_busy_us = remote.peer_rwnd_limited_us = 0;
    EXPECT_TRUE(decide(window(remote), knobs()).empty());
    // The share's boundary: 25 % of the senders' time.
    Tcp edge = kReceiverAtMax;
    edge.peer_rwnd_limited_us = 249'000;
    EXPECT_TRUE(decide(window(edge), knobs()).empty());
    edge.peer_rwnd_limited_us = 250'000;
    auto rs = decide(window(edge), knobs());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_DOUBLE_EQ(evidence_value(rs[0], "peer_rwnd_limited_share"), 0.25);
    // Fully window-limited but too briefly to judge: 0.15 s of sender time in the window.
    Tcp brief = kReceiverAtMax;
    brief.peer_send_us = brief.peer_busy_us = brief.peer_rwnd_limited_us = 30'000;
    EXPECT_TRUE(decide(window(brief), knobs()).empty());
}

TEST(TcpBuffersTuner, NothingInTheDeadBand) {
    // Under the share (50%), under the samples (20), under the rate (64 KiB/s), and a
    // send buffer at the max that is rarely full: nothing.
    // (Each from the limited receiver, with one thing changed.)
    auto receiver = [](auto change) {
        Tcp t = kReceiverAtMax;
        change(t);
        return window(t);
    };
    EXPECT_TRUE(decide(receiver([](Tcp& t) { t.rcvbuf_at_max = 49; }), knobs()).empty());
    EXPECT_TRUE(decide(receiver([](Tcp& t) { t.samples = t.rcvbuf_at_max = 3; }), knobs()).empty());
    EXPECT_TRUE(decide(receiver([](Tcp& t) { t.rx_bytes = 60 << 10; }), knobs()).empty());
    EXPECT_TRUE(decide(window({.sndbuf_at_max = 90,
                               .send_us = 1'000'000,
                               .busy_us = 1'000'000,
                               .sndbuf_limited_us = 100'000,
                               .tx_bytes = 4 << 20}),
                       knobs())
                    .empty());
    EXPECT_TRUE(decide(window({.rx_bytes = 1 << 20, .tx_bytes = 1 << 20}), knobs()).empty());
    // One interval of five at the max is a share under the minimum over the window.
    auto w = receiver([](Tcp& t) { t.rcvbuf_at_max = 0; });
    w[2].netns[1].rcvbuf_at_max_samples = 100;
    EXPECT_TRUE(decide(w, knobs()).empty());
    // Too few intervals to judge.
    EXPECT_TRUE(decide(window(kReceiverAtMax, {.samples = 0}, 2), knobs()).empty());
}

TEST(TcpBuffersTuner, NeverLowers) {
    // Quiet namespaces with large maxima: nothing, in either direction.
    EXPECT_TRUE(decide(window({.rx_bytes = 10 << 20}),
                       knobs("4096 131072 33554432", "4096 16384 33554432", "67108864"))
                    .empty());
}

TEST(TcpBuffersTuner, StepsStopAtTheCeiling) {
    TcpBuffersConfig c;
    c.rmem_ceiling = 8 << 20;
    auto rs = decide(window(kReceiverAtMax), knobs("4096 131072 4194304"), {}, c);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].proposed, "4096 131072 8388608");
    EXPECT_TRUE(decide(window(kReceiverAtMax), knobs("4096 131072 8388608"), {}, c).empty());
    EXPECT_TRUE(decide(window(kReceiverAtMax), knobs("4096 131072 67108864")).empty());
}

TEST(TcpBuffersTuner, MemoryPressureVetoesRaises) {
    Tcp pressed = kReceiverAtMax;
    pressed.pressures = 1;
    EXPECT_TRUE(decide(window(pressed), knobs()).empty());
    auto w = window(kReceiverAtMax);
    w[4].netns[1].mem_limit_recv = 2;
    EXPECT_TRUE(decide(w, knobs()).empty());
}

TEST(TcpBuffersTuner, FilterExcludedNamespacesAreLeftAlone) {
    auto w = window(kReceiverAtMax, kReceiverAtMax);
    auto rs = decide(w, knobs(), only_netns("blue"));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob.scope, Scope::netns("blue"));
    auto t = make_tcp_buffers_tuner();
    ScopeFilter f = only_netns("blue");
    TunerInput in{w, nullptr, &f};
    auto wants = t->wants(in);
    ASSERT_FALSE(wants.empty());
    for (const auto& id : wants) EXPECT_EQ(id.scope, Scope::netns("blue"));
    EXPECT_TRUE(decide(w, knobs(), only_netns("red")).empty());
    // Without a filter the host's own evidence raises the host's values.
    EXPECT_TRUE(find_rec(decide(w, knobs()), "net.ipv4.tcp_rmem", Scope::host()));
    // An unnamed namespace has nowhere to be written.
    for (auto& s : w) s.netns[1].name = "";
    EXPECT_TRUE(decide(w, knobs(), only_netns("blue")).empty());
}

TEST(TcpBuffersTuner, MissingOrMalformedKnobsProposeNothing) {
    auto w = window(kReceiverAtMax);
    KnobValues k = knobs();
    k.erase(sysctl_knob("net.ipv4.tcp_rmem", Scope::netns("blue")));
    EXPECT_TRUE(decide(w, k).empty());
    // Not three fields: not a buffer triple.
    EXPECT_TRUE(decide(w, knobs("262144")).empty());
    EXPECT_TRUE(decide(w, knobs("4096 262144")).empty());
    EXPECT_TRUE(decide(w, knobs("4096 x 262144")).empty());
}

TEST(TcpBuffersTuner, ParsesTheTripleAsTheKernelPrintsIt) {
    // The knob layer normalizes tabs, but a raw triple with tabs parses to the same fields.
    const KnobSpec& spec = *find_knob_spec(KnobKind::sysctl, "net.ipv4.tcp_rmem");
    auto v = parse_knob_value(spec, "4096\t131072\t262144\n");
    ASSERT_TRUE(v);
    auto rs = decide(window(kReceiverAtMax), knobs(v->value));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].current, "4096 131072 262144");
    EXPECT_EQ(rs[0].proposed, "4096 131072 1048576");
}

TEST(TcpBuffersTuner, HostRaiseCouplesRmemMaxBelowTheNewMax) {
    auto w = window({.samples = 0}, kReceiverAtMax);
    auto rs = decide(w, knobs("4096 131072 1048576", "4096 16384 4194304", "212992"));
    ASSERT_EQ(rs.size(), 2u);
    // The TCP max first (the engine applies one change at a time, in this order), then
    // rmem_max one allowed step towards the new TCP max.
    EXPECT_EQ(rs[0].knob, sysctl_knob("net.ipv4.tcp_rmem", Scope::host()));
    EXPECT_EQ(rs[0].proposed, "4096 131072 4194304");
    EXPECT_EQ(rs[1].knob, sysctl_knob("net.core.rmem_max", Scope::host()));
    EXPECT_EQ(rs[1].current, "212992");
    EXPECT_EQ(rs[1].proposed, "851968");
    EXPECT_EQ(rs[1].target.spec.name, "tcp_bytes_per_s @ host");
    for (const auto& r : rs) expect_allowed_step(r);
    // Not above the new TCP max.
    auto r = find_rec(decide(w, knobs("4096 131072 262144", "4096 16384 4194304", "212992")),
                      "net.core.rmem_max", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "851968");  // 4 x 212992 is under the new max (1 MiB)
    r = find_rec(decide(w, knobs("4096 131072 262144", "4096 16384 4194304", "400000")),
                 "net.core.rmem_max", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "1048576");
    // At or above the TCP max already: left alone.
    EXPECT_FALSE(find_rec(decide(w, knobs("4096 131072 262144", "4096 16384 4194304", "8388608")),
                          "net.core.rmem_max", Scope::host()));
    // At the TCP ceiling, rmem_max still follows it up.
    TcpBuffersConfig c;
    c.rmem_ceiling = 1 << 20;
    rs = decide(w, knobs("4096 131072 1048576", "4096 16384 4194304", "262144"), {}, c);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, sysctl_knob("net.core.rmem_max", Scope::host()));
    EXPECT_EQ(rs[0].proposed, "1048576");
    // Send side: wmem_max with tcp_wmem.
    rs = decide(window({.samples = 0}, kSenderAtMax), knobs());
    ASSERT_TRUE(find_rec(rs, "net.ipv4.tcp_wmem", Scope::host()));
    r = find_rec(rs, "net.core.wmem_max", Scope::host());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "851968");
}

TEST(TcpBuffersTuner, GuardCountsLossPerMibMoved) {
    auto w = window({.rx_bytes = 1 << 20, .tx_bytes = 1 << 20, .retransmits = 3, .drops = 1});
    Metric m = netns_metric(NetnsMetric::loss_per_mib, "blue");
    EXPECT_DOUBLE_EQ(*m.value(w[0]), 2.0);  // 4 per 2 MiB
    // An interval that moved almost nothing has no ratio to speak of.
    w = window({.rx_bytes = 1000, .retransmits = 3});
    EXPECT_FALSE(m.value(w[0]));
    EXPECT_FALSE(netns_metric(NetnsMetric::loss_per_mib, "red").value(w[0]));
}

}  // namespace
}  // namespace perfbpf::tune
