// The tcp-buffers tuner's evidence from a real kernel, in two network namespaces the test
// creates: a stream into a namespace whose tcp_rmem max is small makes `tune --plan` propose
// raising that namespace's max, and nothing for the sender's namespace or the host. Plan mode
// only: without netem on the host the round trip over veth is tens of microseconds, too short
// for a larger window to raise throughput reliably; the change and its verification are
// exercised in the qemu guest (tests/vm/tune_tcp_buffers.sh, netem delay).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::NetnsPair;

constexpr const char* kRmem = "net/ipv4/tcp_rmem";

TEST(TuneTcpBuffers, PlanRaisesTheReceiversRmemMaxOnly) {
    PERFBPF_REQUIRE_ROOT();
    std::string error;
    auto net = NetnsPair::create(&error);
    if (!net) PERFBPF_SKIP_OR_FAIL("cannot make network namespaces: " + error);
    ASSERT_TRUE(NetnsPair::set(net->b(), kRmem, "\"4096 16384 65536\""));
    const std::string a_before = NetnsPair::get(net->a(), kRmem);
    const std::string b_before = NetnsPair::get(net->b(), kRmem);
    ASSERT_EQ(b_before, "4096\t16384\t65536");

    // A stream from A to a reader in B for longer than the plan watches.
    test::TempDir dir;
    const std::string port_file = dir.path() + "/port";
    Child rx = Child::spawn({fixture("tcp_pair"), "-n", net->b(), "recv", port_file, "10.204.1.2"});
    const int port = test::wait_for_port(port_file);
    ASSERT_GT(port, 0) << "receiver did not start";
    Child tx = Child::spawn({fixture("tcp_pair"), "-n", net->a(), "send", "10.204.1.2",
                             std::to_string(port), "0", "10"});

    int st = -1;
    const std::string out = test::run_perfbpf(
        "tune --plan --json --only tcp-buffers --netns " + net->a() + " --netns " + net->b() +
            " --duration 5 --interval 0.5 --window 6 --state-dir " + dir.path() + "/state",
        &st);
    ASSERT_EQ(st, 0) << out;
    json plan = json::parse(out, nullptr, false);
    ASSERT_FALSE(plan.is_discarded()) << out;
    ASSERT_TRUE(plan.contains("changes")) << out;
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
    }
    EXPECT_TRUE(found) << out;
    // The plan changed nothing.
    EXPECT_EQ(NetnsPair::get(net->b(), kRmem), b_before);
    EXPECT_EQ(NetnsPair::get(net->a(), kRmem), a_before);
    EXPECT_EQ(tx.wait(), 0);
    EXPECT_EQ(rx.wait(), 0);
}

}  // namespace
}  // namespace perfbpf
