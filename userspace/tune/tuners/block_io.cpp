#include "tune/tuners/block_io.h"

#include <algorithm>
#include <cmath>

#include "tune/metrics.h"

namespace perfbpf::tune {
namespace {

KnobId queue_knob(const std::string& dev, const char* key) {
    return {KnobKind::block_queue, key, Scope::device(dev)};
}

// A device's totals over the window.
struct DeviceWindow {
    uint64_t read_ios = 0, write_ios = 0, read_seq_ios = 0, read_bytes = 0, write_bytes = 0;
    Log2Histogram read_lat;
    double util_pct_sum = 0;
    size_t intervals = 0;
};

std::map<std::string, DeviceWindow> per_device(const TunerInput& in) {
    std::map<std::string, DeviceWindow> out;
    for (const Snapshot& s : in.window) {
        for (const DeviceSample& d : s.devices) {
            if (!in.allows(Scope::device(d.name))) continue;
            DeviceWindow& w = out[d.name];
            w.read_ios += d.read_ios;
            w.write_ios += d.write_ios;
            w.read_seq_ios += d.read_seq_ios;
            w.read_bytes += d.read_bytes;
            w.write_bytes += d.write_bytes;
            w.read_lat.merge(d.read_lat_hist);
            w.util_pct_sum += d.util_pct;
            ++w.intervals;
        }
    }
    return out;
}

int64_t round_to_pages(double kb) {
    return std::max<int64_t>(4, static_cast<int64_t>(kb) / 4 * 4);
}

class BlockIoTuner : public Tuner {
  public:
    explicit BlockIoTuner(BlockIoConfig c) : c_(c) {}
    std::string_view name() const override { return "block-io"; }
    std::string_view summary() const override {
        return "per device: read_ahead_kb from read sequentiality, I/O scheduler from the device "
               "kind and read latency under mixed load";
    }
    std::set<std::string> families() const override { return {"block"}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        for (const auto& [dev, w] : per_device(in))
            for (const char* key : {"read_ahead_kb", "max_sectors_kb", "scheduler", "rotational"})
                out.push_back(queue_knob(dev, key));
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        for (const auto& [dev, w] : per_device(in)) {
            if (auto r = readahead(in, dev, w)) out.push_back(std::move(*r));
            if (auto r = scheduler(in, dev, w)) out.push_back(std::move(*r));
        }
        return out;
    }

  private:
    std::optional<Recommendation> readahead(const TunerInput& in, const std::string& dev,
                                            const DeviceWindow& w) const {
        const KnobId ra_id = queue_knob(dev, "read_ahead_kb");
        auto ra = in.int_knob(ra_id);
        if (!ra || w.read_ios < c_.min_read_ios || w.read_bytes < c_.min_read_bytes)
            return std::nullopt;
        auto max_sectors = in.int_knob(queue_knob(dev, "max_sectors_kb"));
        if (max_sectors && *max_sectors <= 0) max_sectors.reset();
        // The device splits a readahead larger than its largest request: the window is the
        // smaller of the two, and read_ahead_kb is never raised past what the device takes.
        const bool device_caps = max_sectors && *max_sectors < *ra;
        const double window_kb = double(device_caps ? *max_sectors : *ra);
        const int64_t ceiling =
            max_sectors ? std::min(c_.ceiling_kb, *max_sectors / 4 * 4) : c_.ceiling_kb;
        const double seq = std::min(1.0, double(w.read_seq_ios) / double(w.read_ios));
        const double avg_kb = double(w.read_bytes) / double(w.read_ios) / 1024;
        const double fill = window_kb > 0 ? avg_kb / window_kb : 1.0;

        Recommendation r;
        r.knob = ra_id;
        r.current = std::to_string(*ra);
        r.evidence = {{"read_ios", double(w.read_ios), Unit::count},
                      {"read_seq_pct", 100 * seq, Unit::pct},
                      {"avg_read_kib", avg_kb, Unit::kib},
                      {"window_kib", window_kb, Unit::kib},
                      {"read_ahead_kb", double(*ra), Unit::kib}};
        if (max_sectors) r.evidence.push_back({"max_sectors_kb", double(*max_sectors), Unit::kib});
        const std::string shape =
            "{read_seq_pct} of {read_ios} reads continue a stream, {avg_read_kib} each against "
            "a {window_kib} window (" +
            std::string(device_caps ? "max_sectors_kb" : "read_ahead_kb") + ")";
        const bool window_sized = fill >= c_.min_window_share && fill <= c_.max_window_share;
        if (seq >= c_.seq_share_raise && window_sized && *ra < ceiling) {
            const int64_t to =
                std::min(ceiling, round_to_pages(std::max(double(*ra) * c_.step_factor, 64.0)));
            r.proposed = std::to_string(to);
            r.direction = +1;
            r.reason = "sequential reads limited by the readahead window: " + shape;
            if (max_sectors && to == ceiling && ceiling < c_.ceiling_kb)
                r.reason +=
                    "; raised no further than the largest request the device takes "
                    "({max_sectors_kb}, max_sectors_kb)";
            r.expected = "larger read requests, more of the stream read ahead: more throughput";
            r.target = device_metric(DeviceMetric::read_bytes_per_s, dev);
            r.guard = psi_memory_some_pct();
            return r;
        }
        if (seq <= c_.seq_share_lower && window_sized && *ra > c_.floor_kb) {
            const int64_t to = std::max(c_.floor_kb, round_to_pages(double(*ra) / c_.step_factor));
            r.proposed = std::to_string(to);
            r.direction = -1;
            r.reason = "random reads inflated to the readahead window: " + shape;
            r.expected = "smaller requests for random misses: more of them served per second";
            r.target = device_metric(DeviceMetric::read_ios_per_s, dev);
            r.guard = device_metric(DeviceMetric::read_lat_p99_us, dev);
            return r;
        }
        return std::nullopt;
    }

    double read_limit_us(DeviceKind k) const {
        switch (k) {
            case DeviceKind::nvme:
                return c_.read_p99_limit_us_nvme;
            case DeviceKind::ssd:
                return c_.read_p99_limit_us_ssd;
            case DeviceKind::hdd:
                return c_.read_p99_limit_us_hdd;
            case DeviceKind::paravirtual:
                return c_.read_p99_limit_us_paravirtual;
            case DeviceKind::virtual_disk:
                return 0;
        }
        return 0;
    }

    std::optional<Recommendation> scheduler(const TunerInput& in, const std::string& dev,
                                            const DeviceWindow& w) const {
        const KnobId id = queue_knob(dev, "scheduler");
        const KnobValue* sched = in.knob(id);
        if (!sched || w.read_ios + w.write_ios < c_.min_ios) return std::nullopt;
        const DeviceKind kind =
            device_kind(dev, in.int_knob(queue_knob(dev, "rotational")).value_or(0) == 1);
        const double ios = double(w.read_ios + w.write_ios);
        const double read_share = double(w.read_ios) / ios;
        const double read_p99_us = w.read_lat.percentile_us(0.99);
        const bool mixed = read_share >= c_.mixed_min_share && 1 - read_share >= c_.mixed_min_share;
        const bool reads_suffer =
            mixed && kind != DeviceKind::virtual_disk && read_p99_us > read_limit_us(kind);

        std::vector<std::string> prefer;  // first available wins
        switch (kind) {
            case DeviceKind::nvme:
                prefer = reads_suffer ? std::vector<std::string>{"kyber", "mq-deadline"}
                                      : std::vector<std::string>{"none"};
                break;
            case DeviceKind::ssd:
                prefer = reads_suffer ? std::vector<std::string>{"kyber", "mq-deadline"}
                                      : std::vector<std::string>{"mq-deadline", "none"};
                break;
            case DeviceKind::hdd:
                prefer = reads_suffer ? std::vector<std::string>{"bfq", "mq-deadline"}
                                      : std::vector<std::string>{"mq-deadline", "bfq"};
                break;
            case DeviceKind::paravirtual:
                prefer = reads_suffer ? std::vector<std::string>{"mq-deadline"}
                                      : std::vector<std::string>{"none"};
                break;
            case DeviceKind::virtual_disk:
                prefer = {"none"};
                break;
        }
        std::string choice;
        for (const auto& p : prefer)
            if (sched->choices.empty() || std::find(sched->choices.begin(), sched->choices.end(),
                                                    p) != sched->choices.end()) {
                choice = p;
                break;
            }
        if (choice.empty() || choice == sched->value) return std::nullopt;

        Recommendation r;
        r.knob = id;
        r.current = sched->value;
        r.proposed = choice;
        r.direction = 0;
        r.evidence = {
            {"ios", ios, Unit::count},
            {"ios_per_interval", ios / double(std::max<size_t>(1, w.intervals)), Unit::count},
            {"read_share_pct", 100 * read_share, Unit::pct},
            {"read_lat_p99_us", read_p99_us, Unit::us},
            {"read_lat_p99_limit_us", read_limit_us(kind), Unit::us}};
        const std::string kind_name = device_kind_name(kind);
        if (reads_suffer) {
            r.reason = "mixed load on a " + kind_name +
                       " device: reads, {read_share_pct} of requests, wait {read_lat_p99_us} at "
                       "p99 (limit {read_lat_p99_limit_us})";
            r.expected = choice + " serves reads ahead of writes: lower read latency";
            r.target = device_metric(DeviceMetric::read_lat_p99_us, dev);
            r.guard = device_metric(DeviceMetric::bytes_per_s, dev);
        } else {
            r.reason = kind_name + " device running " + sched->value +
                       " at {ios_per_interval} requests per interval; " + choice +
                       " suits this kind" + (mixed ? "" : " of load");
            r.expected =
                choice == "none"
                    ? "no scheduler overhead per request: more requests per second"
                    : choice + " orders requests for this device: more requests per second";
            r.target = device_metric(DeviceMetric::ios_per_s, dev);
            r.guard = device_metric(DeviceMetric::read_lat_p99_us, dev);
        }
        return r;
    }

    BlockIoConfig c_;
};

}  // namespace

DeviceKind device_kind(const std::string& name, bool rotational) {
    auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
    if (starts("nvme")) return DeviceKind::nvme;
    for (const char* p :
         {"loop", "nbd", "ram", "zram", "nullb", "dm-", "md", "drbd", "rbd", "pmem"})
        if (starts(p)) return DeviceKind::virtual_disk;
    if (starts("vd") || starts("xvd")) return DeviceKind::paravirtual;
    return rotational ? DeviceKind::hdd : DeviceKind::ssd;
}

std::unique_ptr<Tuner> make_block_io_tuner(BlockIoConfig config) {
    return std::make_unique<BlockIoTuner>(config);
}

}  // namespace perfbpf::tune
