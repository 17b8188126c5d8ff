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

void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    auto one = [&](std::string_view name, std::string_view value) {
        if (!first) out += ',';
        first = false;
        out += name;
        out += "=\"";
        out += prom_escape_label(value);
        out += '"';
    };
    for (const auto& [name, value] : labels) one(name, value);
    if (!extra_name.empty()) one(extra_name, extra_value);
    out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double v,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
    out += name;
    append_labels(out, labels, extra_name, extra_value);
    out += ' ';
    out += prom_number(v);
    out += '\n';
}

void append_header(std::string& out, std::string_view name, PromType type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += prom_escape_help(help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += prom_type_name(type);
    out += '\n';
}

// One self-metric family with one unlabelled sample.
void append_self(std::string& out, std::string_view name, PromType type, std::string_view help,
                 double v) {
    append_header(out, name, type, help);
    append_sample(out, name, {}, v);
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

}  // namespace

std::string_view prom_type_name(PromType t) {
    switch (t) {
        case PromType::counter:
            return "counter";
        case PromType::gauge:
            return "gauge";
        case PromType::histogram:
            return "histogram";
    }
    return "untyped";
}

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
    for (auto it = entries_.begin(); it != entries_.end();)
        it = drop(it->second) ? entries_.erase(it) : std::next(it);
}

void Exposition::update(std::span<const SeriesSample> series,
                        std::span<const SeriesSample> derived) {
    ++interval_;
    for (const auto& s : series) add(s);
    for (const auto& s : derived) add(s);
    // A pass over every entry costs more than the update itself on a host with many series
    // (60 % of the daemon's CPU here when done every interval): prune now and then.
    constexpr uint64_t kPruneEvery = 64;
    if (interval_ % kPruneEvery == 0)
        prune([&](Entry& e) {
            return interval_ - e.last_interval >= static_cast<uint64_t>(opts_.stale_intervals);
        });
}

void Exposition::add(const SeriesSample& s) {
    const PromFamily* family = family_of(s.key.metric);
    if (!family) return;
    Entry& e = entries_[s.key];
    e.family = family;
    e.last_interval = interval_;
    e.missing_scrapes = 0;
    if (family->type == PromType::histogram)
        e.hist.merge(s.hist);
    else if (family->accumulate)
        e.value += s.value;
    else
        e.value = s.value;
}

void Exposition::render_series(std::string& out, const SeriesKey& key, const Entry& e) const {
    const PromFamily& f = *e.family;
    if (f.type != PromType::histogram) {
        append_sample(out, f.name, key.labels, e.value * f.scale);
        return;
    }
    // `name_bucket{labels,le="` once; each bucket adds its bound and count. Writing the
    // labels again for every bucket was half a scrape's time with 1,000 processes
    // (bench/scrape_bench: 52 -> 24 ms).
    std::string prefix = f.name + "_bucket";
    append_labels(prefix, key.labels, "le", "");
    prefix.resize(prefix.size() - 2);  // the empty le's closing quote and brace
    auto bucket = [&](std::string_view le, uint64_t count) {
        out += prefix;
        out += le;
        out += "\"} ";
        out += prom_number(static_cast<double>(count));
        out += '\n';
    };
    uint64_t cumulative = 0;
    double sum_us = 0;
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        cumulative += e.hist.slot(i);
        sum_us += static_cast<double>(e.hist.slot(i)) * slot_mid_us(i);
        if (i < kFiniteBuckets) bucket(f.bucket_le[i], cumulative);
    }
    bucket("+Inf", cumulative);
    append_sample(out, f.name + "_sum", key.labels, sum_us * f.scale);
    append_sample(out, f.name + "_count", key.labels, static_cast<double>(cumulative));
}

void Exposition::render_self(std::string& out, const DaemonStatus& s) const {
    using enum PromType;
    append_self(out, "perfbpf_self_scrape_duration_seconds", gauge,
                "time the previous scrape of /metrics took to render", last_scrape_s_);
    append_self(out, "perfbpf_self_series", gauge, "series extracted in the last interval",
                static_cast<double>(s.series));
    append_self(out, "perfbpf_self_exposed_series", gauge,
                "series on this page, missing ones kept for a few scrapes included",
                static_cast<double>(entries_.size()));
    append_self(out, "perfbpf_self_intervals_total", counter, "intervals collected since start",
                static_cast<double>(s.intervals));
    append_self(out, "perfbpf_self_interval_seconds", gauge,
                "collection interval in force (after the governor's factor)", s.interval_s);
    const std::string_view drops = "perfbpf_self_dropped_events_total";
    append_header(out, drops, counter, "BPF events dropped since start, by kind");
    for (const auto& [kind, n] : s.drops)
        append_sample(out, drops, {}, static_cast<double>(n), "kind", kind);
    if (s.cost_own_cpu_pct >= 0)
        append_self(out, "perfbpf_self_cpu_ratio", gauge,
                    "CPU time of the daemon, share of one CPU (last governor period)",
                    s.cost_own_cpu_pct / 100);
    if (s.cost_bpf_pct >= 0)
        append_self(out, "perfbpf_self_bpf_cpu_ratio", gauge,
                    "run time of the daemon's BPF programs, share of one CPU (last "
                    "measuring window)",
                    s.cost_bpf_pct / 100);
    if (s.own_rss_bytes > 0)
        append_self(out, "perfbpf_self_resident_memory_bytes", gauge,
                    "resident memory of the daemon", static_cast<double>(s.own_rss_bytes));
    append_self(out, "perfbpf_self_governor_level", gauge,
                "how much the governor sheds to stay in the CPU budget (0: nothing)",
                s.governor_level);
    append_self(out, "perfbpf_self_history_dropped_intervals_total", counter,
                "intervals not written to the history (disk full, write errors)",
                static_cast<double>(s.history_dropped_intervals));
    append_self(out, "perfbpf_self_alerts_firing", gauge, "alerts firing now (rule and object)",
                static_cast<double>(s.alerts_firing));
}

std::string Exposition::render(const DaemonStatus& status) {
    const auto start = std::chrono::steady_clock::now();
    std::string out;
    out.reserve(entries_.size() * 96 + 4096);
    const PromFamily* current = nullptr;
    for (const auto& [key, e] : entries_) {
        // A gauge of something gone would repeat a stale reading; a total stays true.
        if (!present(e) && !e.family->accumulate) continue;
        if (e.family != current) {
            append_header(out, e.family->name, e.family->type, e.family->help);
            current = e.family;
        }
        render_series(out, key, e);
    }
    render_self(out, status);
    prune([&](Entry& e) { return !present(e) && ++e.missing_scrapes >= opts_.stale_scrapes; });
    last_scrape_s_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace perfbpf
