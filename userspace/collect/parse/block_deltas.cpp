#include "collect/parse/block_deltas.h"

#include <algorithm>
#include <filesystem>

#include "util/files.h"

namespace perfbpf {
namespace {

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : now;
}

}  // namespace

BlockProcDelta BlockDeltas::process(uint32_t tgid, const block_proc_stats& now) {
    block_proc_stats before{};
    if (auto it = prev_proc_.find(tgid); it != prev_proc_.end()) {
        const block_proc_stats& p = it->second;
        bool grown = p.read_bytes <= now.read_bytes && p.write_bytes <= now.write_bytes &&
                     p.read_ios <= now.read_ios && p.write_ios <= now.write_ios;
        for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
            grown = grown && p.io_lat_hist[i] <= now.io_lat_hist[i];
        if (grown) before = p;
    }
    prev_proc_[tgid] = now;
    seen_proc_.insert(tgid);
    BlockProcDelta out{now.read_bytes - before.read_bytes,
                       now.write_bytes - before.write_bytes,
                       now.read_ios - before.read_ios,
                       now.write_ios - before.write_ios,
                       {}};
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
        out.io_lat_hist.add_slot(i, now.io_lat_hist[i] - before.io_lat_hist[i]);
    return out;
}

bool BlockDeltas::device(uint64_t queue, const block_dev_stats& now, uint64_t epoch,
                         DeviceSample& out) {
    block_dev_stats before{};
    bool had_prev = false;
    if (auto it = prev_dev_.find(queue);
        it != prev_dev_.end() && it->second.major == now.major && it->second.minor == now.minor) {
        before = it->second;
        had_prev = true;
    }
    out.major = now.major;
    out.minor = now.minor;
    out.read_bytes += grew(now.read_bytes, before.read_bytes);
    out.write_bytes += grew(now.write_bytes, before.write_bytes);
    out.read_ios += grew(now.read_ios, before.read_ios);
    out.write_ios += grew(now.write_ios, before.write_ios);
    out.other_ios += grew(now.other_ios, before.other_ios);
    out.read_seq_ios += grew(now.read_seq_ios, before.read_seq_ios);
    out.write_seq_ios += grew(now.write_seq_ios, before.write_seq_ios);
    for (size_t c = 0; c < PERFBPF_BLK_OP_CLASSES; ++c) {
        for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i) {
            const uint64_t n = grew(now.lat_hist[c][i], before.lat_hist[c][i]);
            out.lat_hist.add_slot(i, n);
            if (c == PERFBPF_BLK_OP_READ) out.read_lat_hist.add_slot(i, n);
            if (c == PERFBPF_BLK_OP_WRITE) out.write_lat_hist.add_slot(i, n);
        }
    }
    uint64_t src[PERFBPF_BLK_LAT_SRC_COUNT];
    for (size_t i = 0; i < PERFBPF_BLK_LAT_SRC_COUNT; ++i)
        src[i] = grew(now.lat_src[i], before.lat_src[i]);
    out.lat_source = block_latency_source(src);

    // The interval's highest depth: the level it began with (as of the previous read) or,
    // when a request was issued since user space moved the epoch, the highest level an
    // issue reached. Levels are clamped at zero on the BPF side; guard anyway.
    int64_t depth = std::max<int64_t>(had_prev ? before.inflight : 0, now.inflight);
    if (now.max_epoch == epoch) depth = std::max<int64_t>(depth, now.inflight_max);
    out.inflight_max = std::max<uint64_t>(out.inflight_max, depth > 0 ? depth : 0);

    prev_dev_[queue] = now;
    seen_dev_.insert(queue);
    uint64_t other_bytes = grew(now.other_bytes, before.other_bytes);
    return out.read_ios || out.write_ios || out.other_ios || out.read_bytes || out.write_bytes ||
           other_bytes || out.inflight_max;
}

void BlockDeltas::end_read() {
    std::erase_if(prev_proc_, [&](const auto& kv) { return !seen_proc_.contains(kv.first); });
    std::erase_if(prev_dev_, [&](const auto& kv) { return !seen_dev_.contains(kv.first); });
    seen_proc_.clear();
    seen_dev_.clear();
}

void merge_device(DeviceSample& into, const DeviceSample& from) {
    into.read_bytes += from.read_bytes;
    into.write_bytes += from.write_bytes;
    into.read_ios += from.read_ios;
    into.write_ios += from.write_ios;
    into.other_ios += from.other_ios;
    into.read_seq_ios += from.read_seq_ios;
    into.write_seq_ios += from.write_seq_ios;
    into.lat_hist.merge(from.lat_hist);
    into.read_lat_hist.merge(from.read_lat_hist);
    into.write_lat_hist.merge(from.write_lat_hist);
    into.inflight_max += from.inflight_max;  // the queues' requests are in flight together
    if (!from.lat_source.empty() && into.lat_source.find(from.lat_source) == std::string::npos)
        into.lat_source += (into.lat_source.empty() ? "" : "+") + from.lat_source;
}

std::string block_latency_source(const uint64_t (&lat_src_delta)[PERFBPF_BLK_LAT_SRC_COUNT]) {
    static const char* const kNames[] = {"issue", "issue-probe", "alloc"};
    std::string out;
    for (size_t i = 0; i < std::size(kNames); ++i) {
        if (!lat_src_delta[i]) continue;
        if (!out.empty()) out += '+';
        out += kNames[i];
    }
    return out;
}

void DeviceNames::learn(uint32_t major, uint32_t minor, std::string name) {
    if (!name.empty()) names_[{major, minor}] = std::move(name);
}

void DeviceNames::learn_diskstats(const std::vector<DiskStats>& stats) {
    for (const auto& d : stats) learn(d.major, d.minor, d.name);
}

size_t DeviceNames::scan_sysfs(const std::string& sys_root) {
    namespace fs = std::filesystem;
    size_t found = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(sys_root + "/class/block", ec)) {
        auto text = read_first_line(entry.path().string() + "/dev");
        if (!text) continue;
        auto numbers = parse_dev_numbers(*text);
        if (!numbers) continue;
        learn(numbers->first, numbers->second, entry.path().filename().string());
        ++found;
    }
    return found;
}

std::set<std::pair<uint32_t, uint32_t>> whole_disks_with_media(const std::string& sys_root) {
    std::set<std::pair<uint32_t, uint32_t>> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(sys_root + "/block", ec)) {
        const std::string dir = entry.path().string();
        auto size = read_first_line(dir + "/size");
        if (!size || *size == "0" || size->empty()) continue;
        auto text = read_first_line(dir + "/dev");
        if (!text) continue;
        if (auto numbers = parse_dev_numbers(*text)) out.insert(*numbers);
    }
    return out;
}

const std::set<std::pair<uint32_t, uint32_t>>& DisksWithMedia::update(
    const std::optional<std::string>& partitions, bool fallback_due) {
    const bool changed = partitions ? partitions != partitions_ : fallback_due;
    if (read_ && !changed) return disks_;
    disks_ = whole_disks_with_media(sys_root_);
    partitions_ = partitions;
    read_ = true;
    return disks_;
}

std::optional<std::string> DeviceNames::find(uint32_t major, uint32_t minor) const {
    auto it = names_.find({major, minor});
    if (it == names_.end()) return std::nullopt;
    return it->second;
}

std::map<std::pair<uint32_t, uint32_t>, DiskUtil> DiskstatsDeltas::update(
    const std::vector<DiskStats>& now, uint64_t interval_ns) {
    std::map<std::pair<uint32_t, uint32_t>, DiskUtil> out;
    std::map<std::pair<uint32_t, uint32_t>, DiskStats> next;
    for (const auto& d : now) {
        std::pair<uint32_t, uint32_t> key{d.major, d.minor};
        if (auto it = prev_.find(key); it != prev_.end() && interval_ns) {
            const double ms_per_interval = static_cast<double>(interval_ns) / 1e6;
            DiskUtil u;
            u.util_pct = std::min(
                100.0, 100.0 * static_cast<double>(grew(d.io_ticks_ms, it->second.io_ticks_ms)) /
                           ms_per_interval);
            u.avg_queue_depth =
                static_cast<double>(grew(d.time_in_queue_ms, it->second.time_in_queue_ms)) /
                ms_per_interval;
            u.in_flight = d.in_flight;
            out[key] = u;
        }
        next[key] = d;
    }
    prev_ = std::move(next);
    return out;
}

}  // namespace perfbpf
