#include "collect/block_reader.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "probes/block_probe.h"
#include "util/files.h"

namespace perfbpf {
namespace {

// One device as user space sees it: its slot's shared state and its per-CPU counters
// summed.
// A process's totals from its slot, each counter read once (the BPF side adds to them
// meanwhile).
block_proc_stats load_proc_slot(const block_proc_slot& e) {
    block_proc_stats s{};
    s.read_bytes = __atomic_load_n(&e.read_bytes, __ATOMIC_RELAXED);
    s.write_bytes = __atomic_load_n(&e.write_bytes, __ATOMIC_RELAXED);
    s.read_ios = __atomic_load_n(&e.read_ios, __ATOMIC_RELAXED);
    s.write_ios = __atomic_load_n(&e.write_ios, __ATOMIC_RELAXED);
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
        s.io_lat_hist[i] = __atomic_load_n(&e.io_lat_hist[i], __ATOMIC_RELAXED);
    return s;
}

block_dev_stats assemble(const block_dev_state& st, const std::vector<block_dev_counters>& cpus) {
    block_dev_stats out{};
    out.major = st.major;
    out.minor = st.minor;
    out.generation = st.generation;
    out.inflight = st.inflight;
    out.inflight_max = st.inflight_max;
    out.max_epoch = st.max_epoch;
    out.stamp_issues = st.stamp_issues;
    out.stream_next = st.stream_next;
    std::copy(std::begin(st.stream_end), std::end(st.stream_end), std::begin(out.stream_end));
    out.read_seq_ios = st.read_seq_ios;
    out.write_seq_ios = st.write_seq_ios;
    for (const auto& c : cpus) {
        out.read_ios += c.read_ios;
        out.write_ios += c.write_ios;
        out.other_ios += c.other_ios;
        out.read_bytes += c.read_bytes;
        out.write_bytes += c.write_bytes;
        out.other_bytes += c.other_bytes;
        for (size_t i = 0; i < PERFBPF_BLK_LAT_SRC_COUNT; ++i) out.lat_src[i] += c.lat_src[i];
        for (size_t k = 0; k < PERFBPF_BLK_OP_CLASSES; ++k)
            for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i) out.lat_hist[k][i] += c.lat_hist[k][i];
    }
    return out;
}

// fn(slot, queue, totals) for every device slot a queue owns: one batch read of the
// states, one per-CPU read per device in use.
void for_each_device(const BlockProbe& probe,
                     const std::function<void(uint32_t, uint64_t, const block_dev_stats&)>& fn) {
    thread_local std::vector<block_dev_counters> cpus;  // fn never reads the map itself
    for_each_entry<uint32_t, block_dev_state>(
        probe.dev_stats_fd(), [&](const uint32_t& slot, const block_dev_state& st) {
            if (!st.queue) return;
            per_cpu_values(probe.dev_counters_fd(), &slot, cpus);
            fn(slot, st.queue, assemble(st, cpus));
        });
}

// A removed disk's slot made free for the next queue: the claim goes first, so a request
// of the old queue still in flight finds its slot until the state is cleared.
void free_device_slot(const BlockProbe& probe, uint32_t slot) {
    bpf_map_delete_elem(probe.dev_claims_fd(), &slot);
    const block_dev_state free_state{};
    bpf_map_update_elem(probe.dev_stats_fd(), &slot, &free_state, BPF_ANY);
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return;
    const std::vector<block_dev_counters> zeros(static_cast<size_t>(ncpus));
    bpf_map_update_elem(probe.dev_counters_fd(), &slot, zeros.data(), BPF_ANY);
}

}  // namespace

void BlockReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    ++reads_;
    collect_devices(builder);
    collect_processes(builder);
    deltas_.end_read();
}

std::string BlockReader::device_name(uint32_t major, uint32_t minor, bool& rescanned) {
    if (auto name = names_.find(major, minor)) return *name;
    // A disk that appeared since the last scan (or one /proc/diskstats hides): rescan sysfs
    // at most once per read.
    if (!rescanned) {
        names_.scan_sysfs(sys_root_);
        rescanned = true;
        if (auto name = names_.find(major, minor)) return *name;
    }
    return std::to_string(major) + ":" + std::to_string(minor);
}

void BlockReader::collect_devices(SnapshotBuilder& builder) {
    std::map<std::pair<uint32_t, uint32_t>, DiskUtil> util;
    std::set<std::pair<uint32_t, uint32_t>> present;
    bool have_diskstats = false;
    if (auto text = files_.read(proc_root_ + "/diskstats")) {
        auto stats = parse_diskstats(*text);
        have_diskstats = true;
        names_.learn_diskstats(stats);
        util = diskstats_.update(stats, builder.context().interval_ns);
        bool appeared = false;
        for (const auto& d : stats) {
            present.insert({d.major, d.minor});
            appeared |= disks_seen_.insert({d.major, d.minor, d.name}).second;
        }
        // A new disk may have the queue address of a removed one.
        if (appeared) probe_.bump_dev_generation();
    }
    bool rescanned = false;
    std::vector<std::pair<uint32_t, uint64_t>> vanished;  // slot, queue
    for_each_device(probe_, [&](uint32_t slot, uint64_t queue, const block_dev_stats& s) {
        DeviceSample sample;
        if (!deltas_.device(queue, s, epoch_, sample) || !s.major) {
            // Slots of removed disks would otherwise stay taken until none is free.
            if (have_diskstats && s.major && !present.contains({s.major, s.minor}))
                vanished.emplace_back(slot, queue);
            return;
        }
        auto u = util.find({s.major, s.minor});
        // Only a level left: a request whose completion the probe missed keeps its
        // slot until the slot is reused; the kernel's own count says whether anything
        // is really in flight (a stuck device must still show).
        if (!sample.read_ios && !sample.write_ios && !sample.other_ios && !sample.read_bytes &&
            !sample.write_bytes && u != util.end() && u->second.in_flight == 0 &&
            u->second.util_pct == 0)
            return;
        const uint64_t key = (static_cast<uint64_t>(s.major) << 32) | s.minor;
        if (builder.devices().contains(key)) {
            merge_device(builder.devices()[key], sample);
            return;
        }
        DeviceSample& d = builder.device(s.major, s.minor);
        sample.name = device_name(s.major, s.minor, rescanned);
        if (u != util.end()) {
            sample.util_pct = u->second.util_pct;
            sample.avg_queue_depth = u->second.avg_queue_depth;
        }
        d = std::move(sample);
    });
    // Idle disks are listed too (as iostat does), so a quiet device view is not mistaken
    // for missing probes; unbound loop devices and empty zram (size 0) are not disks.
    auto partitions = files_.read(proc_root_ + "/partitions");
    const auto& disks = disks_.update(
        partitions ? std::optional<std::string>(std::move(*partitions)) : std::nullopt,
        once_per_second(disks_read_ns_, builder.context().now_ns));
    for (const auto& [dev, u] : util) {
        const uint64_t key = (static_cast<uint64_t>(dev.first) << 32) | dev.second;
        if (!disks.contains(dev) || builder.devices().contains(key)) continue;
        DeviceSample& d = builder.device(dev.first, dev.second);
        d.name = device_name(dev.first, dev.second, rescanned);
        d.util_pct = u.util_pct;
        d.avg_queue_depth = u.avg_queue_depth;
    }
    for (const auto& [slot, queue] : vanished) {
        free_device_slot(probe_, slot);
        deltas_.forget_device(queue);
    }
    // The next issue on each device starts the next interval's maximum.
    probe_.set_inflight_epoch(++epoch_);
    files_.end_pass();
}

void BlockReader::collect_processes(SnapshotBuilder& builder) {
    const auto& exited = builder.context().exited;
    const bool sweep = reads_ % kSweepEveryReads == 0;
    std::vector<uint32_t> finished;  // slots
    const SlotTable& table = probe_.procs();
    const auto slots = table.slots<block_proc_slot>();
    if (slots.empty()) return;
    table.for_each_claimed([&](uint32_t i) {
        const uint32_t tgid = __atomic_load_n(&slots[i].tgid, __ATOMIC_RELAXED);
        if (!tgid) return;
        const block_proc_stats s = load_proc_slot(slots[i]);
        BlockProcDelta delta = deltas_.process(tgid, s);
        if (delta.any()) {
            ProcessSample& p = builder.process(static_cast<int>(tgid));
            p.read_bytes += delta.read_bytes;
            p.write_bytes += delta.write_bytes;
            p.read_ios += delta.read_ios;
            p.write_ios += delta.write_ios;
            p.io_lat_hist.merge(delta.io_lat_hist);
        }
        // Exited processes were kept for this read only; the sweep catches those whose
        // exit event was lost (or not watched: the sched family reports exits).
        if (exited.contains(static_cast<int>(tgid)) ||
            (sweep && ::access((proc_root_ + "/" + std::to_string(tgid)).c_str(), F_OK) != 0))
            finished.push_back(i);
    });
    for (uint32_t i : finished) {
        deltas_.forget_process(slots[i].tgid);
        table.release(i);
    }
}

}  // namespace perfbpf
