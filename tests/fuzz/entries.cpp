#include "entries.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "collect/parse/block_deltas.h"
#include "collect/parse/cgroup_files.h"
#include "collect/parse/events.h"
#include "collect/parse/filesystems.h"
#include "collect/parse/mem_deltas.h"
#include "collect/parse/mounts.h"
#include "collect/parse/net_deltas.h"
#include "collect/parse/netns_deltas.h"
#include "collect/parse/procfs.h"
#include "collect/parse/sched_deltas.h"
#include "collect/parse/sched_slots.h"
#include "config/config.h"
#include "model/finalize.h"
#include "model/series_extract.h"
#include "sinks/snapshot_record.h"
#include "tune/journal.h"
#include "util/fd.h"

namespace perfbpf::fuzz {
namespace {

// The fuzzer's bytes as a stream of values; past the end, zeros (so every input is a whole
// program of reads).
class Bytes {
  public:
    explicit Bytes(std::string_view data) : data_(data) {}
    bool done() const { return at_ >= data_.size(); }
    uint8_t byte() { return done() ? 0 : static_cast<uint8_t>(data_[at_++]); }
    std::string_view take(size_t n) {
        n = std::min(n, data_.size() - std::min(at_, data_.size()));
        const std::string_view out = data_.substr(at_, n);
        at_ += n;
        return out;
    }
    // A kernel record (or integer) as the map read would copy it: raw bytes.
    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        T out{};
        const std::string_view raw = take(sizeof(T));
        std::memcpy(&out, raw.data(), raw.size());
        return out;
    }

  private:
    std::string_view data_;
    size_t at_ = 0;
};

}  // namespace

void config(std::string_view data) {
    (void)parse_config(std::string(data), "fuzz");
}

void recording(std::string_view data) {
    // Through a file, as `top --replay` reads one: the reader's size limits are part of
    // what is tested. A memfd keeps the many runs off the disk.
    UniqueFd fd(::memfd_create("perfbpf-fuzz-recording", MFD_CLOEXEC));
    if (!fd.valid()) return;
    for (size_t at = 0; at < data.size();) {
        const ssize_t n = ::write(fd.get(), data.data() + at, data.size() - at);
        if (n <= 0) return;
        at += static_cast<size_t>(n);
    }
    (void)read_recording("/proc/self/fd/" + std::to_string(fd.get()));
}

void journal(std::string_view data) {
    (void)tune::replay_journal(std::string(data), "fuzz");
}

void procfs(std::string_view data) {
    (void)parse_pid_stat(data);
    (void)parse_proc_stat(data);
    (void)parse_meminfo(data);
    (void)parse_vmstat(data);
    (void)parse_loadavg(data);
    (void)parse_pressure(data);
    (void)parse_netstat(data);
    (void)parse_softnet_stat(data);
    (void)parse_diskstats(data);
    (void)parse_dev_numbers(data);
}

void mounts(std::string_view data) {
    const std::string text(data);
    std::string cgroup2;
    (void)cgroup_mode_from_mounts(text, &cgroup2);
    (void)cgroup_v1_mounts(text);
    (void)cgroup_v1_mount(text, "cpu");
    (void)tracefs_from_mounts(text);
    (void)cgroup_roots_from_mounts(text);
    (void)measurable_mounts(parse_mountinfo(data));
    (void)choose_cgroup(parse_proc_cgroup(data));
    (void)choose_cgroup_path(data);
}

}  // namespace perfbpf::fuzz

namespace perfbpf::fuzz {

void events(std::string_view data) {
    Bytes in(data);
    // Small counts, so an input spends its bytes on records rather than on sizes.
    const size_t ncpus = in.byte() % 4 + 1, netns_slots = in.byte() % 4 + 1;
    const std::vector<std::string> drop_labels = {"NOT_SPECIFIED", "NO_SOCKET"};
    SchedDeltas sched;
    BlockDeltas block;
    NetDeltas net;
    NetnsSlotDeltas netns_slots_deltas(2);
    NetnsDropDeltas netns_drops(2);
    MemDeltas mem(4096);
    uint64_t epoch = 0;
    // One interval per iteration, as Collector::next reads: events, then every family.
    for (int interval = 0; interval < 64 && !in.done(); ++interval) {
        CollectContext ctx;
        ctx.interval_ns = in.get<uint64_t>();
        ctx.now_ns = in.get<uint64_t>();
        IntervalEvents events;
        SnapshotBuilder builder(ctx);
        std::vector<std::pair<uint32_t, mem_rss_slot>> live;
        std::vector<mem_exit> exits;
        std::map<NetnsDropKey, uint64_t> drops;
        while (!in.done()) {
            // 0 ends the interval; the low 7 bits pick a record, the top bit a variant.
            const uint8_t op = in.byte();
            if (op == 0) break;
            const bool variant = op & 0x80;
            switch ((op & 0x7f) % 10) {
                case 0: {  // a ring record of any length
                    const std::string_view raw = in.take(in.byte() * 2u);
                    if (auto e = decode_event(raw.data(), raw.size()))
                        apply_event(*e, 4096, ctx, events);
                    break;
                }
                case 1: {  // a thread's slot, copied out of the mapping at any moment
                    const uint32_t key = in.byte();
                    sched_task_stats t{};
                    if (decode_thread_slot(in.get<sched_thread_slot>(), t))
                        sched.add_thread(key, t, builder);
                    break;
                }
                case 2: {
                    const int cpu = in.byte();
                    sched.add_cpu(cpu, in.get<sched_cpu_stats>(), ctx.interval_ns, builder);
                    break;
                }
                case 3: {
                    const auto tgid = in.get<uint32_t>();
                    const BlockProcDelta d = block.process(tgid, in.get<block_proc_stats>());
                    builder.process(static_cast<int>(tgid)).io_lat_hist.merge(d.io_lat_hist);
                    break;
                }
                case 4: {
                    const auto queue = in.get<uint64_t>();
                    const auto stats = in.get<block_dev_stats>();
                    DeviceSample sample;
                    if (block.device(queue, stats, epoch, sample))
                        merge_device(builder.device(stats.major, stats.minor), sample);
                    break;
                }
                case 5: {
                    const auto tgid = in.get<uint32_t>();
                    const NetProcessDelta d = net.add_process(tgid, in.get<net_proc_stats>());
                    builder.process(static_cast<int>(tgid)).tcp_tx_bytes += d.tx_bytes;
                    break;
                }
                case 6: {
                    std::vector<net_cpu_stats> per_cpu;
                    for (size_t c = 0; c < ncpus; ++c) per_cpu.push_back(in.get<net_cpu_stats>());
                    net.add_system(sum_net_cpus(per_cpu), drop_labels, builder.system());
                    break;
                }
                case 7: {
                    std::vector<std::vector<net_ns_stats>> per_cpu(ncpus);
                    for (auto& slots : per_cpu)
                        for (size_t s = 0; s < netns_slots; ++s)
                            slots.push_back(in.get<net_ns_stats>());
                    const NetnsGrowth growth = netns_slots_deltas.add_read(per_cpu);
                    for (const auto& [inum, d] : growth.counters)
                        add_netns_counters(d, variant, builder.netns(inum));
                    for (uint32_t slot : netns_slots_deltas.idle_slots())
                        netns_slots_deltas.cleared(slot);
                    break;
                }
                case 8: {
                    const auto inum = in.get<uint32_t>();
                    const NetnsDropKey key{inum, in.get<uint32_t>()};
                    drops[key] = in.get<uint64_t>();
                    break;
                }
                case 9:
                    if (variant)
                        exits.push_back(in.get<mem_exit>());
                    else {
                        const auto tgid = in.get<uint32_t>();
                        live.emplace_back(tgid, in.get<mem_rss_slot>());
                    }
                    break;
            }
        }
        mem.apply(live, exits, builder);
        for (const auto& [key, n] : netns_drops.add_read(drops))
            add_netns_drops(key.second < drop_labels.size()
                                ? drop_labels[key.second]
                                : "REASON_" + std::to_string(key.second),
                            n, builder.netns(key.first));
        (void)netns_drops.take_idle();
        sched.end_read();
        block.end_read();
        net.end_read();
        ++epoch;
        for (OomKill& o : events.oom_kills) builder.add_oom_kill(std::move(o));
        Snapshot snap = builder.take();
        finalize_snapshot(snap);
        (void)snapshot_series(snap);
    }
}

}  // namespace perfbpf::fuzz
