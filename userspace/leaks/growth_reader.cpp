#include "leaks/growth_reader.h"

#include <cstring>

#include "detect/leak_interval.h"
#include "probes/leaks_growth_probe.h"
#include "util/files.h"

namespace perfbpf {

RssSample parse_status_rss(std::string_view text) {
    RssSample s;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto f = split_fields(line, " \t:");
        if (f.size() < 2) continue;
        auto kb = parse_u64(f[1]);
        if (!kb) continue;
        if (f[0] == "VmRSS") s.rss_bytes = *kb * 1024;
        if (f[0] == "RssAnon") s.anon_bytes = *kb * 1024;
    }
    return s;
}

LeaksGrowthReader::LeaksGrowthReader(const LeaksGrowthProbe& probe, int pid, uint64_t start_ns,
                                     std::string proc_root)
    : probe_(probe), pid_(pid), start_ns_(start_ns), proc_root_(std::move(proc_root)) {
    rb_ = ring_buffer__new(probe_.samples_fd(), on_sample, this, nullptr);
}

LeaksGrowthReader::~LeaksGrowthReader() {
    if (rb_) ring_buffer__free(rb_);
}

int LeaksGrowthReader::on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<LeaksGrowthReader*>(ctx);
    growth_mapping m;
    if (size >= sizeof(m)) {
        std::memcpy(&m, data, sizeof(m));
        if (m.kind == GROWTH_EVENT_MAPPING) {
            self->recent_.add(m.start, m.len, !m.anonymous);
            return 0;
        }
    }
    growth_sample s;
    if (size < sizeof(s)) {
        ++self->malformed_;
        return 0;
    }
    std::memcpy(&s, data, sizeof(s));
    if (s.stack_bytes > size - sizeof(s) || s.fp_depth > GROWTH_MAX_DEPTH) {
        ++self->malformed_;
        return 0;
    }
    self->add(s, {static_cast<const uint8_t*>(data) + sizeof(s), s.stack_bytes});
    return 0;
}

void LeaksGrowthReader::add(const growth_sample& s, std::span<const uint8_t> stack) {
    if (s.kind == GROWTH_SAMPLE_FAULT) {
        // Growth is anonymous memory: a fault on a file's page (code, a mapped file, a
        // program's data before its first write) adds none. The target's own mmaps during
        // the trace are the latest word, then its maps; an address in neither was an
        // anonymous mapping made before the trace and unmapped since.
        std::optional<bool> file = recent_.file_at(s.addr);
        if (!file) {
            const Mapping* m = maps_ ? maps_->find(s.addr) : nullptr;
            file = m && m->is_file();
        }
        if (*file) {
            file_fault_weight_ += static_cast<double>(s.weight);
            return;
        }
        anon_fault_weight_ += static_cast<double>(s.weight);
    }
    UnwoundStack dwarf =
        unwinder_.unwind(static_cast<int>(s.tid), {s.ip, s.sp, s.bp}, stack, GROWTH_MAX_DEPTH);
    std::vector<uint64_t> fp(s.fp_ips, s.fp_ips + s.fp_depth);
    SampleStack picked = pick_sample_stack(dwarf, fp, s.top_word);
    fp_fallbacks_ += picked.from_frame_pointers;
    whole_unwinds_ += picked.whole;
    Site& site = sites_[{picked.ips, picked.caller_candidate}];
    if (site.stack.ips.empty()) site.stack = std::move(picked);
    if (s.kind == GROWTH_SAMPLE_FAULT) {
        site.fault_bytes += static_cast<double>(s.weight);
        ++site.fault_samples;
    } else {
        site.heap_bytes += static_cast<double>(s.weight);
        ++site.heap_samples;
    }
}

void LeaksGrowthReader::sample(uint64_t now_ns, const MappingSet& maps) {
    const double t = static_cast<double>(now_ns - start_ns_) / 1e9;
    if (auto status = read_file(proc_root_ + "/" + std::to_string(pid_) + "/status")) {
        RssSample s = parse_status_rss(*status);
        if (s.rss_bytes) {
            rss_.push_back({t, static_cast<double>(s.rss_bytes)});
            anon_.push_back({t, static_cast<double>(s.anon_bytes)});
        }
    }
    unwinder_.add_modules(maps);
    maps_ = &maps;
    if (rb_) ring_buffer__consume(rb_);
    maps_ = nullptr;
    for (auto& [key, site] : sites_) {
        if (site.series.empty()) site.series.push_back({0.0, 0.0});
        site.series.push_back({t, site.fault_bytes + site.heap_bytes});
    }
}

LeakReport LeaksGrowthReader::report(uint64_t now_ns) {
    LeakReport r;
    r.mode = "growth";
    r.estimated = true;  // sums of sampled weights
    r.duration_ns = now_ns - start_ns_;

    ProcessGrowth p;
    p.pid = pid_;
    p.rss = rss_;
    p.anon = anon_;
    const growth_totals tot = probe_.totals();
    // Faults are all counted, their kind only sampled: the anonymous share of the samples.
    const double sampled_faults = anon_fault_weight_ + file_fault_weight_;
    p.faulted_bytes = static_cast<double>(tot.fault_bytes) *
                      (sampled_faults > 0 ? anon_fault_weight_ / sampled_faults : 1.0);
    p.heap_growth_bytes = static_cast<double>(tot.brk_grow_bytes + tot.mmap_anon_bytes) -
                          static_cast<double>(tot.brk_shrink_bytes + tot.munmap_bytes);
    r.processes.push_back(p);
    r.counters["samples"] = tot.samples;
    r.counters["sample_ns"] = tot.sample_ns;
    r.counters["file_fault_samples_bytes"] = static_cast<uint64_t>(file_fault_weight_);
    r.counters["lost_samples"] = tot.lost_samples;
    r.counters["lost_mappings"] = tot.lost_mappings;
    r.counters["short_stack_copies"] = tot.short_stacks;
    r.counters["frame_pointer_stacks"] = fp_fallbacks_;
    r.counters["whole_unwinds"] = whole_unwinds_;
    r.counters["malformed_samples"] = malformed_;
    r.sample_mean_bytes = probe_.sample_bytes();
    if (tot.lost_samples)
        r.notes.push_back(std::to_string(tot.lost_samples) +
                          " stack samples were lost (ring buffer full): bytes per stack are "
                          "scaled up by the share lost");
    // Samples lost at random: each stack's share of what arrived is its share of the whole.
    const double scale = tot.sampled_bytes
                             ? static_cast<double>(tot.sampled_bytes + tot.lost_bytes) /
                                   static_cast<double>(tot.sampled_bytes)
                             : 1.0;

    uint32_t index = 0;
    for (const auto& [key, site] : sites_) {
        LeakStack s;
        s.index = index++;
        s.outstanding_bytes = (site.fault_bytes + site.heap_bytes) * scale;
        // Faults are pages; a heap-growing call is counted once per sample it carries.
        s.outstanding_allocs =
            site.fault_bytes * scale / 4096 + static_cast<double>(site.heap_samples);
        s.total_allocs = s.outstanding_allocs;
        s.allocated_bytes = s.outstanding_bytes;
        s.samples = site.fault_samples + site.heap_samples;
        for (const auto& pt : site.series) s.series.push_back({pt.t_s, pt.bytes * scale});
        // The sample points a path covered are close to a Poisson count (the gaps are less
        // variable than exponential ones, so this interval errs wide).
        const double period = static_cast<double>(probe_.sample_bytes());
        auto [lo, hi] = poisson_interval((site.fault_bytes + site.heap_bytes) / period);
        s.outstanding_bytes_lo = lo * period * scale;
        s.outstanding_bytes_hi = hi * period * scale;
        s.ips = site.stack.ips;
        s.whole = site.stack.whole;
        s.ip0_exact = true;  // the faulting or syscall instruction
        s.caller_candidate = site.stack.caller_candidate;
        r.stacks.push_back(std::move(s));
    }
    return r;
}

}  // namespace perfbpf
