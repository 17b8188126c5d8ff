// The "events" ring records as bytes: what the collector keeps from each.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "collect/parse/events.h"

namespace perfbpf {
namespace {

perfbpf_event make(uint32_t type, uint32_t tgid, const char* comm) {
    perfbpf_event e{};
    e.type = type;
    e.pid = e.tgid = tgid;
    std::strncpy(e.comm, comm, sizeof(e.comm));
    return e;
}

TEST(EventDecode, ShortRecordsAreRefusedLongerOnesKeepTheKnownFields) {
    const perfbpf_event e = make(PERFBPF_EV_EXEC, 42, "spin");
    std::vector<char> bytes(sizeof(e) + 24, 'x');
    std::memcpy(bytes.data(), &e, sizeof(e));
    EXPECT_FALSE(decode_event(bytes.data(), sizeof(e) - 1));
    EXPECT_FALSE(decode_event(nullptr, 0));
    for (size_t size : {sizeof(e), bytes.size()}) {
        auto d = decode_event(bytes.data(), size);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->tgid, 42u);
        EXPECT_STREQ(d->comm, "spin");
    }
}

TEST(EventDecode, ExitsOomKillsAndExecsLandWhereTheIntervalReadsThem) {
    CollectContext ctx;
    IntervalEvents out;
    perfbpf_event exit_ev = make(PERFBPF_EV_EXIT, 7, "worker");
    exit_ev.arg0 = 256;
    perfbpf_event oom = make(PERFBPF_EV_OOM_KILL, 9, "hog");
    oom.arg1 = 1000;
    oom.ts_ns = 123;
    apply_event(make(PERFBPF_EV_EXEC, 5, "sh"), 4096, ctx, out);
    apply_event(exit_ev, 4096, ctx, out);
    apply_event(oom, 4096, ctx, out);
    apply_event(make(99, 11, "unknown"), 4096, ctx, out);

    ASSERT_EQ(out.execs.size(), 1u);
    EXPECT_EQ(out.execs[0].tgid, 5);
    EXPECT_EQ(out.execs[0].comm, "sh");
    ASSERT_EQ(ctx.exited.size(), 1u);
    EXPECT_EQ(ctx.exited.at(7).exit_code, 256);
    EXPECT_EQ(ctx.exited.at(7).comm, "worker");
    ASSERT_EQ(out.oom_kills.size(), 1u);
    EXPECT_EQ(out.oom_kills[0].pid, 9);
    EXPECT_EQ(out.oom_kills[0].rss_bytes, 1000u * 4096);
    EXPECT_EQ(out.oom_kills[0].ts_ns, 123u);
}

TEST(EventDecode, ACommWithoutItsNulStopsAtTheField) {
    perfbpf_event e = make(PERFBPF_EV_EXEC, 3, "");
    std::memset(e.comm, 'a', sizeof(e.comm));
    CollectContext ctx;
    IntervalEvents out;
    apply_event(e, 4096, ctx, out);
    ASSERT_EQ(out.execs.size(), 1u);
    EXPECT_EQ(out.execs[0].comm, std::string(sizeof(e.comm), 'a'));
}

}  // namespace
}  // namespace perfbpf
