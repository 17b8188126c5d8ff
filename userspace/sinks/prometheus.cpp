#include "sinks/prometheus.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include "detect/alert_rules.h"

namespace perfbpf {

namespace {

bool strip_suffix(std::string& s, std::string_view suffix) {
    if (!s.ends_with(suffix)) return false;
    s.resize(s.size() - suffix.size());
    return true;
}

// Histogram buckets: one per slot but the last, whose upper bound is open (add_slot clamps
// everything above into it), then +Inf.
constexpr size_t kFiniteBuckets = Log2Histogram::kSlots - 1;

// Where a slot's samples are assumed to sit for _sum: the middle of the slot, and of the
// open last slot as if it were as wide as a log2 slot.
double slot_mid_us(size_t slot) {
    const double low = Log2Histogram::slot_low_us(slot);
    const double high = slot + 1 < Log2Histogram::kSlots ? Log2Histogram::slot_high_us(slot)
                                                         : 2 * std::max(low, 1.0);
    return (low + high) / 2;
}

// The text format (0.0.4): a HELP and TYPE line per family, a line per sample.
class TextWriter final : public PromWriter {
  public:
    explicit TextWriter(std::string& out) : out_(out) {}

    void family(std::string_view name, PromType type, std::string_view help) override {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += prom_escape_help(help);
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += prom_type_name(type);
        out_ += '\n';
    }

    void sample(std::string_view name, const Labels& labels, double v, Extra extra) override {
        // A histogram's 34 lines differ only in `le`: the name and labels are escaped once
        // and reused (escaping them again for every bucket was half a scrape's time with
        // 1,000 processes: bench/scrape_bench 52 -> 24 ms).
        if (!extra.repeat) {
            prefix_ = name;
            prefix_open_ = false;
            for (const auto& [n, value] : labels) {
                prefix_ += prefix_open_ ? ',' : '{';
                prefix_open_ = true;
                prefix_ += n;
                prefix_ += "=\"";
                prefix_ += prom_escape_label(value);
                prefix_ += '"';
            }
        }
        out_ += prefix_;
        if (!extra.name.empty()) {
            out_ += prefix_open_ ? ',' : '{';
            out_ += extra.name;
            out_ += "=\"";
            out_ += prom_escape_label(extra.value);
            out_ += '"';
        }
        if (prefix_open_ || !extra.name.empty()) out_ += '}';
        out_ += ' ';
        out_ += prom_number(v);
        out_ += '\n';
    }

  private:
    std::string& out_;
    std::string prefix_;
    bool prefix_open_ = false;  // prefix_ ends inside a `{`
};

// One self-metric family with one unlabelled sample.
void write_self_metric(PromWriter& w, std::string_view name, PromType type, std::string_view help,
                       double v) {
    w.family(name, type, help);
    w.sample(name, {}, v, {});
}

// The text format escapes backslash and newline, and in label values the double quote.
std::string escaped(std::string_view v, bool quote) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || (quote && c == '"'))
            out += '\\';
        else if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void write_remote_write_self(PromWriter& w, const DaemonStatus::RemoteWrite& r) {
    using enum PromType;
    write_self_metric(w, "perfbpf_self_remote_write_sent_samples_total", counter,
                      "samples the remote-write receiver accepted",
                      static_cast<double>(r.sent_samples));
    write_self_metric(w, "perfbpf_self_remote_write_failed_requests_total", counter,
                      "remote-write posts that failed (5xx and unreachable are retried)",
                      static_cast<double>(r.failed_requests));
    const std::string_view dropped = "perfbpf_self_remote_write_dropped_samples_total";
    w.family(dropped, counter,
             "samples not delivered: the oldest when the queue was full (queue_full), those "
             "in batches the receiver refused with a 4xx (rejected)");
    w.sample(dropped, {}, static_cast<double>(r.dropped_queue_full), {"reason", "queue_full"});
    w.sample(dropped, {}, static_cast<double>(r.dropped_rejected), {"reason", "rejected"});
    write_self_metric(w, "perfbpf_self_remote_write_queued_samples", gauge,
                      "samples waiting to be sent, the batch being sent included",
                      static_cast<double>(r.queued_samples));
}

}  // namespace

PromFamily prom_family(const FieldInfo& f) {
    PromFamily p;
    std::string base = f.name;
    std::string unit_note;
    if (f.kind == MetricKind::histogram) {
        strip_suffix(base, "_hist");
        base += "_seconds";
        p.scale = 1e-6;
        unit_note = "seconds";
    } else if (f.unit == "us" || f.unit == "ns") {
        strip_suffix(base, f.unit == "us" ? "_us" : "_ns");
        base += "_seconds";
        p.scale = f.unit == "us" ? 1e-6 : 1e-9;
        unit_note = "seconds";
    } else if (f.unit == "pct") {
        strip_suffix(base, "_pct");
        base += "_ratio";
        p.scale = 0.01;
        unit_note = "ratio, 1 = 100%";
    } else if (!f.unit.empty()) {
        unit_note = f.unit;
    }
    if (f.kind == MetricKind::histogram) {
        p.type = PromType::histogram;
        p.accumulate = true;
        for (size_t i = 0; i < kFiniteBuckets; ++i)
            p.bucket_le.push_back(prom_number(Log2Histogram::slot_high_us(i) * p.scale));
    } else if (f.kind == MetricKind::counter && !f.can_decrease) {
        p.type = PromType::counter;
        p.accumulate = true;
        // packet_drops_total would otherwise be packet_drops_total_total.
        if (strip_suffix(base, "_total")) base += "_all";
        base += "_total";
    } else {
        p.type = PromType::gauge;
    }
    p.name = "perfbpf_" + base;
    p.help = f.help;
    if (f.kind == MetricKind::counter && f.can_decrease)
        p.help += " (change within the last interval)";
    if (!unit_note.empty()) p.help += " (" + unit_note + ")";
    return p;
}

std::string prom_escape_label(std::string_view v) {
    return escaped(v, true);
}

std::string prom_escape_help(std::string_view v) {
    return escaped(v, false);
}

std::string prom_number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

Exposition::Exposition(ExpositionOptions opts) : opts_(opts) {
    for (const auto& f : metric_catalogue()) families_.try_emplace(f.name, prom_family(f));
    for (const auto& d : derived_alert_metrics()) {
        FieldInfo f;
        f.name = d.name;
        f.unit = d.unit;
        f.kind = d.kind;
        f.help = d.help;
        families_.try_emplace(f.name, prom_family(f));
    }
}

const PromFamily* Exposition::family_of(const std::string& metric) {
    auto it = families_.find(metric);
    return it == families_.end() ? nullptr : &it->second;
}

template <class Pred>
void Exposition::prune(Pred drop) {
    // std::erase_if hands the predicate a const entry; this one counts.
    const size_t before = entries_.size();
    for (auto it = entries_.begin(); it != entries_.end();)
        it = drop(it->second) ? entries_.erase(it) : std::next(it);
    if (entries_.size() != before) hints_.clear();
}

void Exposition::update(std::span<const SeriesSample> series,
                        std::span<const SeriesSample> derived) {
    ++interval_;
    size_t pos = 0;
    for (const auto& s : series) add(pos++, s);
    for (const auto& s : derived) add(pos++, s);
    // A pass over every entry costs more than the update itself on a host with many series
    // (60 % of the daemon's CPU here when done every interval): prune now and then.
    constexpr uint64_t kPruneEvery = 64;
    if (interval_ % kPruneEvery == 0)
        prune([&](Entry& e) {
            return interval_ - e.last_interval >= static_cast<uint64_t>(opts_.stale_intervals);
        });
}

void Exposition::add(size_t pos, const SeriesSample& s) {
    auto* node = hints_.find(pos, s.key, s.id);
    if (!node) {
        const PromFamily* family = family_of(s.key.metric);
        if (!family) return;
        node = &*entries_.try_emplace(s.key).first;
        node->second.family = family;
        hints_.remember(pos, node, s.id);
    }
    Entry& e = node->second;
    e.last_interval = interval_;
    e.missing_scrapes = 0;
    if (e.family->type == PromType::histogram)
        e.hist.merge(s.hist);
    else if (e.family->accumulate)
        e.value += s.value;
    else
        e.value = s.value;
}

void Exposition::write_series(PromWriter& w, const SeriesKey& key, const Entry& e) const {
    const PromFamily& f = *e.family;
    if (f.type != PromType::histogram) {
        w.sample(f.name, key.labels, e.value * f.scale, {});
        return;
    }
    const std::string bucket = f.name + "_bucket";
    uint64_t cumulative = 0;
    double sum_us = 0;
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        cumulative += e.hist.slot(i);
        sum_us += static_cast<double>(e.hist.slot(i)) * slot_mid_us(i);
        if (i < kFiniteBuckets)
            w.sample(bucket, key.labels, static_cast<double>(cumulative), {"le", f.bucket_le[i]});
    }
    w.sample(bucket, key.labels, static_cast<double>(cumulative), {"le", "+Inf"});
    w.sample(f.name + "_sum", key.labels, sum_us * f.scale, {});
    w.sample(f.name + "_count", key.labels, static_cast<double>(cumulative), {});
}

void Exposition::write_self(PromWriter& w, const DaemonStatus& s) const {
    using enum PromType;
    write_self_metric(w, "perfbpf_self_scrape_duration_seconds", gauge,
                      "time the previous scrape of /metrics took to render", last_scrape_s_);
    write_self_metric(w, "perfbpf_self_series", gauge, "series extracted in the last interval",
                      static_cast<double>(s.series));
    write_self_metric(w, "perfbpf_self_exposed_series", gauge,
                      "series on this page, missing ones kept for a few scrapes included",
                      static_cast<double>(entries_.size()));
    write_self_metric(w, "perfbpf_self_intervals_total", counter, "intervals collected since start",
                      static_cast<double>(s.intervals));
    write_self_metric(w, "perfbpf_self_interval_seconds", gauge,
                      "collection interval in force (after the governor's factor)", s.interval_s);
    const std::string_view drops = "perfbpf_self_dropped_events_total";
    w.family(drops, counter, "BPF events dropped since start, by kind");
    for (const auto& [kind, n] : s.drops)
        w.sample(drops, {}, static_cast<double>(n), {"kind", kind});
    if (s.cost_own_cpu_pct >= 0)
        write_self_metric(w, "perfbpf_self_cpu_ratio", gauge,
                          "CPU time of the daemon, share of one CPU (last governor period)",
                          s.cost_own_cpu_pct / 100);
    if (s.cost_bpf_pct >= 0)
        write_self_metric(w, "perfbpf_self_bpf_cpu_ratio", gauge,
                          "run time of the daemon's BPF programs, share of one CPU (last "
                          "measuring window)",
                          s.cost_bpf_pct / 100);
    if (s.own_rss_bytes > 0)
        write_self_metric(w, "perfbpf_self_resident_memory_bytes", gauge,
                          "resident memory of the daemon", static_cast<double>(s.own_rss_bytes));
    write_self_metric(w, "perfbpf_self_governor_level", gauge,
                      "how much the governor sheds to stay in the CPU budget (0: nothing)",
                      s.governor_level);
    write_self_metric(w, "perfbpf_self_history_dropped_intervals_total", counter,
                      "intervals not written to the history (disk full, write errors)",
                      static_cast<double>(s.history_dropped_intervals));
    write_self_metric(w, "perfbpf_self_alerts_firing", gauge, "alerts firing now (rule and object)",
                      static_cast<double>(s.alerts_firing));
    if (s.remote_write.enabled) write_remote_write_self(w, s.remote_write);
}

void Exposition::write(PromWriter& w, const DaemonStatus& status, bool current_only) const {
    const PromFamily* current = nullptr;
    for (const auto& [key, e] : entries_) {
        // A gauge of something gone would repeat a stale reading; a total stays true.
        if (!present(e) && (current_only || !e.family->accumulate)) continue;
        if (e.family != current) {
            w.family(e.family->name, e.family->type, e.family->help);
            current = e.family;
        }
        write_series(w, key, e);
    }
    write_self(w, status);
}

void Exposition::write_current(PromWriter& w, const DaemonStatus& status) const {
    write(w, status, true);
}

std::string Exposition::render(const DaemonStatus& status) {
    const auto start = std::chrono::steady_clock::now();
    std::string out;
    out.reserve(entries_.size() * 96 + 4096);
    TextWriter text(out);
    write(text, status, false);
    prune([&](Entry& e) { return !present(e) && ++e.missing_scrapes >= opts_.stale_scrapes; });
    last_scrape_s_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace perfbpf
