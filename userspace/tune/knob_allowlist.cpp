// The allowlist: every knob `perfbpf tune` may touch, with bounds and steps. A knob a tuner
// proposes that is not here is refused by the knob layer. Bounds are wide enough for real
// servers and narrow enough that one bad decision cannot make a machine unusable; the step
// limits mean a tuner approaches a value over several verified changes.
#include <cstdint>

#include "tune/knob.h"

namespace perfbpf::tune {
namespace {

constexpr int64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

KnobSpec spec(KnobKind kind, std::string key) {
    KnobSpec s;
    s.kind = kind;
    s.key = std::move(key);
    return s;
}

KnobSpec integer(KnobKind kind, std::string key, int64_t min, int64_t max, double ratio,
                 std::string description) {
    KnobSpec s = spec(kind, std::move(key));
    s.min = min;
    s.max = max;
    s.max_step_ratio = ratio;
    s.description = std::move(description);
    return s;
}

KnobSpec fact(KnobKind kind, std::string key, std::string description) {
    KnobSpec s = spec(kind, std::move(key));
    s.writable = false;
    s.min = 0;
    s.max = INT64_MAX;
    s.description = std::move(description);
    return s;
}

std::vector<KnobSpec> build() {
    std::vector<KnobSpec> v;
    // sysctls. The net.ipv4 TCP buffer triples and the listen-queue limits exist in every
    // network namespace; net.core.{r,w}mem_max and netdev_max_backlog are host-wide.
    for (const char* key : {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}) {
        KnobSpec s = integer(KnobKind::sysctl, key, 4 * kKiB, 256 * kMiB, 4,
                             "TCP socket buffer min, default, max (bytes)");
        s.type = ValueType::int_list;
        s.fields = 3;
        s.ascending = true;
        s.per_netns = true;
        s.unit = Unit::bytes;
        v.push_back(s);
    }
    for (const char* key : {"net.core.rmem_max", "net.core.wmem_max"}) {
        KnobSpec s = integer(KnobKind::sysctl, key, 4 * kKiB, 1 * kGiB, 4,
                             "largest socket buffer an application may set (bytes)");
        s.unit = Unit::bytes;
        v.push_back(s);
    }
    v.push_back(integer(KnobKind::sysctl, "net.core.netdev_max_backlog", 1000, 1 << 20, 4,
                        "packets queued per CPU before the stack drops them"));
    {
        KnobSpec s = integer(KnobKind::sysctl, "net.core.somaxconn", 128, 65535, 4,
                             "largest listen() backlog");
        s.per_netns = true;
        v.push_back(s);
        s = integer(KnobKind::sysctl, "net.ipv4.tcp_max_syn_backlog", 128, 1 << 20, 4,
                    "half-open connections queued per listener");
        s.per_netns = true;
        v.push_back(s);
    }
    {
        KnobSpec s = integer(KnobKind::sysctl, "vm.swappiness", 0, 200, 0,
                             "reclaim preference for anonymous memory over page cache");
        s.max_step_abs = 20;
        v.push_back(s);
    }

    // Block queue attributes.
    {
        KnobSpec s =
            integer(KnobKind::block_queue, "read_ahead_kb", 4, 16384, 4, "readahead window (KiB)");
        s.ratio_ref_min = 32;
        s.granularity = 4;  // kept in pages
        s.unit = Unit::kib;
        v.push_back(s);
        s = integer(KnobKind::block_queue, "nr_requests", 4, 4096, 4,
                    "queue depth of the scheduler");
        s.ratio_ref_min = 4;
        v.push_back(s);
        KnobSpec sched = spec(KnobKind::block_queue, "scheduler");
        sched.type = ValueType::choice;
        sched.choices = {"none", "mq-deadline", "bfq", "kyber"};
        sched.description = "I/O scheduler";
        v.push_back(sched);
    }
    v.push_back(fact(KnobKind::block_queue, "rotational", "1: a spinning disk"));
    {
        KnobSpec s = fact(KnobKind::block_queue, "max_sectors_kb", "largest request (KiB)");
        s.unit = Unit::kib;
        v.push_back(s);
        s = fact(KnobKind::block_queue, "logical_block_size", "bytes");
        s.unit = Unit::bytes;
        v.push_back(s);
    }

    // cgroup v2
    v.push_back(
        integer(KnobKind::cgroup, "cpu.weight", 1, 10000, 4, "CPU share (v2, default 100)"));
    {
        KnobSpec s = integer(KnobKind::cgroup, "memory.high", 16 * kMiB, INT64_MAX - 1, 2,
                             "memory use above which the cgroup is throttled and reclaimed (v2)");
        s.type = ValueType::int_or_max;
        s.granularity = 4096;
        s.ratio_ref_min = 16 * kMiB;
        s.unit = Unit::bytes;
        v.push_back(s);
    }
    // cgroup v1
    {
        KnobSpec s = integer(KnobKind::cgroup, "cpu.shares", 2, 262144, 4,
                             "CPU share (v1 cpu controller, default 1024)");
        s.cgroup_controller = "cpu";
        v.push_back(s);
    }

    // Processes
    {
        KnobSpec s = integer(KnobKind::nice, "nice", -20, 19, 0, "nice value of every thread");
        s.max_step_abs = 5;
        v.push_back(s);
        KnobSpec a = spec(KnobKind::affinity, "cpus");
        a.type = ValueType::cpu_list;
        a.description = "CPUs every thread may run on";
        v.push_back(a);
    }
    return v;
}

}  // namespace

const std::vector<KnobSpec>& knob_specs() {
    static const std::vector<KnobSpec> specs = build();
    return specs;
}

const KnobSpec* find_knob_spec(KnobKind kind, std::string_view key) {
    for (const auto& s : knob_specs())
        if (s.kind == kind && s.key == key) return &s;
    return nullptr;
}

}  // namespace perfbpf::tune
