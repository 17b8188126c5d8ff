// The tcp-buffers tuner's evidence from a real kernel, in two network namespaces the test
// creates: a stream into a namespace whose tcp_rmem max is small makes `tune --plan` propose
// raising that namespace's max, and nothing for the sender's namespace or the host; a paced
// stream into buffers at their max gets nothing. Plan mode
// only: without netem on the host the round trip over veth is tens of microseconds, too short
// for a larger window to raise throughput reliably; the change and its verification are
// exercised in the qemu guest (tests/vm/tune_tcp_buffers.sh, netem delay).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.h"
#include "tune/tuners/tcp_buffers.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::NetnsPair;

constexpr const char* kRmem = "net/ipv4/tcp_rmem";

// `tune --plan --json` of tcp-buffers over both namespaces for 5 s; {"changes": []} (and a
// failure) when it did not run.
json plan_both(const NetnsPair& net, const std::string& state_dir) {
    int st = -1;
    const std::string out = test::run_perfbpf(
        "tune --plan --json --only tcp-buffers --netns " + net.a() + " --netns " + net.b() +
            " --duration 5 --interval 0.5 --window 6 --state-dir " + state_dir,
        &st);
    EXPECT_EQ(st, 0) << out;
    json plan = json::parse(out, nullptr, false);
    const bool ok = plan.is_object() && plan.contains("changes");
    EXPECT_TRUE(ok) << out;
    return ok ? plan : json{{"changes", json::array()}};
}

// A stream from A to a reader in B, whose tcp_rmem is set first; `send` is what follows
// the sender's ADDR PORT (BYTES [SECONDS [RATE]]). Both are waited for at the end.
struct StreamIntoB {
    std::unique_ptr<NetnsPair> net;
    test::TempDir dir;
    Child rx, tx;

    // Null (and the test failed) when the reader did not start.
    static std::unique_ptr<StreamIntoB> start(std::unique_ptr<NetnsPair> net,
                                              const std::string& b_rmem,
                                              const std::vector<std::string>& send) {
        auto s = std::make_unique<StreamIntoB>();
        s->net = std::move(net);
        EXPECT_TRUE(NetnsPair::set(s->net->b(), kRmem, "\"" + b_rmem + "\""));
        const std::string port_file = s->dir.path() + "/port";
        s->rx =
            Child::spawn({fixture("tcp_pair"), "-n", s->net->b(), "recv", port_file, "10.204.1.2"});
        const int port = test::wait_for_port(port_file);
        EXPECT_GT(port, 0) << "receiver did not start";
        if (port <= 0) return nullptr;
        std::vector<std::string> argv{fixture("tcp_pair"), "-n", s->net->a(), "send", "10.204.1.2",
                                      std::to_string(port)};
        argv.insert(argv.end(), send.begin(), send.end());
        s->tx = Child::spawn(argv);
        return s;
    }
    ~StreamIntoB() {
        EXPECT_EQ(tx.wait(), 0);
        EXPECT_EQ(rx.wait(), 0);
    }
};

TEST(TuneTcpBuffers, PlanRaisesTheReceiversRmemMaxOnly) {
    PERFBPF_REQUIRE_ROOT();
    // A stream for longer than the plan watches.
    std::string error;
    auto pair = NetnsPair::create(&error);
    if (!pair) PERFBPF_SKIP_OR_FAIL("cannot make network namespaces: " + error);
    auto stream = StreamIntoB::start(std::move(pair), "4096 16384 65536", {"0", "10"});
    ASSERT_TRUE(stream);
    const NetnsPair* net = stream->net.get();
    const std::string a_before = NetnsPair::get(net->a(), kRmem);
    const std::string b_before = NetnsPair::get(net->b(), kRmem);
    ASSERT_EQ(b_before, "4096\t16384\t65536");

    json plan = plan_both(*net, stream->dir.path() + "/state");
    bool found = false;
    for (const auto& c : plan["changes"]) {
        std::printf("plan: %s\n", c.dump().c_str());
        EXPECT_EQ(c["tuner"], "tcp-buffers");
        // The receiver's namespace only: A's buffers are not at A's (default) max, and the
        // host is outside the filter.
        EXPECT_EQ(c["scope"], "netns:" + net->b()) << c.dump();
        if (c["knob"] != "net.ipv4.tcp_rmem") continue;
        found = true;
        EXPECT_EQ(c["current"], "4096 16384 65536");
        EXPECT_EQ(c["proposed"], "4096 16384 262144");
        EXPECT_GT(c["evidence"]["rcvbuf_at_max_share"].get<double>(), 0.5) << c.dump();
        EXPECT_GT(c["evidence"]["rx_bytes_per_s"].get<double>(), 1 << 20) << c.dump();
        // The sender in A waited for B's window, which is what makes the raise worth it.
        EXPECT_GE(c["evidence"]["peer_rwnd_limited_share"].get<double>(), 0.25) << c.dump();
    }
    EXPECT_TRUE(found) << plan.dump(2);
    // The plan changed nothing.
    EXPECT_EQ(NetnsPair::get(net->b(), kRmem), b_before);
    EXPECT_EQ(NetnsPair::get(net->a(), kRmem), a_before);
}

// An application-limited stream (tcp_pair paced at 2 MB/s in 8 KiB writes) into B, whose
// receive buffers start at their max (tcp_rmem default = max = 128 KiB). Every sample has
// the buffer at the max and data arrives: the rule that read only that proposed a raise
// (the iperf3 -b 2G stream got 64 MiB). The sender has data to send a small share
// of its time and seldom waits for B's window, so nothing is proposed: checked on the
// kernel's evidence with the tuner's decision, and end to end with `tune --plan`.
TEST(TuneTcpBuffers, PlanLeavesAnApplicationLimitedStreamAlone) {
    PERFBPF_REQUIRE_ROOT();
    std::string error;
    auto pair = NetnsPair::create(&error);
    if (!pair) PERFBPF_SKIP_OR_FAIL("cannot make network namespaces: " + error);
    auto stream = StreamIntoB::start(std::move(pair), "4096 131072 131072", {"0", "25", "2000000"});
    ASSERT_TRUE(stream);
    const NetnsPair* net = stream->net.get();
    json plan = plan_both(*net, stream->dir.path() + "/state");
    EXPECT_TRUE(plan["changes"].empty()) << plan.dump(2);

    // The evidence itself, collected while the stream still runs: what the old rule needed
    // is there, the window limit is not.
    auto collector = test::family_collector({"net"}, 500'000'000);
    ASSERT_TRUE(collector);
    collector->next();  // baseline
    std::vector<Snapshot> window;
    for (int i = 0; i < 6; ++i) window.push_back(collector->next());
    uint64_t samples = 0, at_max = 0, rx_bytes = 0, send_us = 0, busy_us = 0, rwnd_us = 0;
    double seconds = 0;
    for (const Snapshot& s : window) {
        seconds += double(s.interval_ns) / 1e9;
        for (const NetnsSample& n : s.netns) {
            if (n.name != net->b()) continue;
            EXPECT_TRUE(n.tcp_info_available) << n.tcp_info_unavailable;
            samples += n.tcp_samples;
            at_max += n.rcvbuf_at_max_samples;
            rx_bytes += n.tcp_rx_bytes;
            send_us += n.tcp_peer_send_us;
            busy_us += n.tcp_peer_busy_us;
            rwnd_us += n.tcp_peer_rwnd_limited_us;
        }
    }
    std::printf(
        "B: %llu samples, %llu at the rmem max, %.0f bytes/s received; its sender: %.2f s "
        "connected, %.3f s with data to send, %.3f s waiting for B's window\n",
        (unsigned long long)samples, (unsigned long long)at_max, double(rx_bytes) / seconds,
        double(send_us) / 1e6, double(busy_us) / 1e6, double(rwnd_us) / 1e6);
    ASSERT_GE(samples, 20u);
    EXPECT_GT(double(at_max), 0.5 * double(samples));
    EXPECT_GT(double(rx_bytes) / seconds, 64 * 1024);
    // The sender was found (A's socket is B's peer), and it sent all along: its connected
    // time counts every interval its bytes were acknowledged. Counted only where its busy
    // time grew (the kernel keeps that in jiffies), a paced stream's sub-jiffy bursts left
    // most 0.5 s intervals at 0 (1 of 6 in CI, 2 of 6 here) and inflated its waiting share.
    // The sockets are swept about once a second, so the window's 3 s hold 2 or 3 sweeps.
    EXPECT_GE(double(send_us), 0.6 * seconds * 1e6);
    EXPECT_LT(double(rwnd_us), 0.25 * double(send_us));
    tune::KnobValues knobs;
    const tune::Scope b = tune::Scope::netns(net->b());
    for (const char* key : {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}) {
        std::string path = key;
        std::replace(path.begin(), path.end(), '.', '/');
        auto fields = tune::parse_int_fields(NetnsPair::get(net->b(), path));
        ASSERT_TRUE(fields) << key;
        knobs[tune::sysctl_knob(key, b)] = {tune::format_int_fields(*fields), {}};
    }
    tune::ScopeFilter filter;
    filter.netns = {net->b()};
    tune::TunerInput in{window, &knobs, &filter};
    EXPECT_TRUE(tune::make_tcp_buffers_tuner()->decide(in).empty());
}

}  // namespace
}  // namespace perfbpf
