// The Prometheus text exposition (format 0.0.4) of the daemon's series and of the daemon
// itself, for GET /metrics.
//
// Names: `perfbpf_<series>` in base units: `_us`/`_ns` become `_seconds`, `_pct` becomes a
// 0..1 `_ratio`, bytes stay `_bytes`; a histogram `<x>_hist` becomes `<x>_seconds`.
// Our counters are totals within one interval; Prometheus wants totals since a start, so
// the exposition keeps a running sum per series and exposes it as `<name>_total` (a
// series already named `..._total` becomes `..._all_total`). Histograms accumulate the same
// way. Levels and gauges are exposed as gauges; so are counters whose interval value can be
// negative (rss_growth_bytes), which summed would not be monotonic. The daemon's own
// metrics are named `perfbpf_self_*`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/daemon_status.h"
#include "model/series.h"
#include "model/series_extract.h"
#include "model/series_lookup.h"
#include "util/enum_table.h"

namespace perfbpf {

enum class PromType : uint8_t { counter, gauge, histogram };
inline constexpr auto kPromTypeNames =
    enum_table<PromType>("Prometheus type", {{PromType::counter, "counter"},
                                             {PromType::gauge, "gauge"},
                                             {PromType::histogram, "histogram"}});
inline std::string_view prom_type_name(PromType t) {
    return kPromTypeNames.name(t);
}

// How one catalogue series is exposed.
struct PromFamily {
    std::string name;  // family name: perfbpf_oncpu_seconds_total, perfbpf_runq_seconds
    PromType type = PromType::gauge;
    double scale = 1;         // multiplies our value (for histograms: the slot bounds in µs)
    bool accumulate = false;  // running sum over intervals (counters and histograms)
    std::string help;
    // A histogram's finite bucket bounds as `le` values, formatted once: a scrape writes
    // them for every bucket of every series.
    std::vector<std::string> bucket_le;
};

PromFamily prom_family(const FieldInfo& f);

// Escapes a label value (backslash, double quote, newline) and HELP text (backslash,
// newline) as the text format wants them.
std::string prom_escape_label(std::string_view v);
std::string prom_escape_help(std::string_view v);
// A sample value: shortest round-trip form, NaN, +Inf, -Inf.
std::string prom_number(double v);

// What the exposition is written to: the text page of /metrics, or a remote-write request
// (sinks/remote_write.h), so both carry the same names, types, totals and self-metrics.
// `family` comes before the samples of a family; a sample's `extra` label (a bucket's le, a
// drop's kind) is not one of its series' labels.
class PromWriter {
  public:
    struct Extra {
        std::string_view name, value;
        // The same name and labels as the previous sample (a histogram's next bucket): a
        // writer may reuse what it made of them.
        bool repeat = false;
    };
    virtual ~PromWriter() = default;
    virtual void family(std::string_view name, PromType type, std::string_view help) = 0;
    virtual void sample(std::string_view name, const Labels& labels, double value, Extra extra) = 0;
};

struct ExpositionOptions {
    // A series missing from the intervals (an exited process, one that left the top) keeps
    // its last total until it has been missing from this many scrapes, so a scrape or two
    // see its final increments; or from this many intervals, which bounds the state when
    // nobody scrapes.
    int stale_scrapes = 3;
    int stale_intervals = 300;
};

// The running state behind /metrics: one interval at a time in, a page of text out.
class Exposition {
  public:
    explicit Exposition(ExpositionOptions opts = {});
    // Movable (the entries' nodes move with the map), not copyable: hints_ points into it.
    Exposition(const Exposition&) = delete;
    Exposition& operator=(const Exposition&) = delete;
    Exposition(Exposition&&) = default;
    Exposition& operator=(Exposition&&) = default;

    // One interval's series (snapshot_series) and the alert rules' derived ones
    // (derived_alert_metrics); a series of neither is ignored.
    void update(std::span<const SeriesSample> series, std::span<const SeriesSample> derived = {});
    // The page for one scrape, with self-metrics from `status`. Counts the scrape for the
    // staleness of missing series, so it is not const.
    std::string render(const DaemonStatus& status);
    // The series of the last update() with their totals, and the self-metrics: what a
    // remote write sends for the interval. Unlike render(), counts nothing.
    void write_current(PromWriter& w, const DaemonStatus& status) const;

    size_t series() const { return entries_.size(); }

  private:
    struct Entry {
        const PromFamily* family = nullptr;
        double value = 0;            // running sum (accumulated) or the last value
        Log2Histogram hist;          // running sum
        uint64_t last_interval = 0;  // the update() it was last in
        int missing_scrapes = 0;
    };
    bool present(const Entry& e) const { return e.last_interval == interval_; }
    const PromFamily* family_of(const std::string& metric);
    void add(size_t pos, const SeriesSample& s);
    template <class Pred>
    void prune(Pred drop);
    // Every series (those missing from the last update() too unless `current_only`: their
    // totals stay true for a few scrapes), then the self-metrics.
    void write(PromWriter& w, const DaemonStatus& status, bool current_only) const;
    void write_series(PromWriter& w, const SeriesKey& key, const Entry& e) const;
    void write_self(PromWriter& w, const DaemonStatus& status) const;

    ExpositionOptions opts_;
    std::map<std::string, PromFamily, std::less<>> families_;  // by series name
    std::map<SeriesKey, Entry> entries_;
    SeriesHints<std::map<SeriesKey, Entry>::value_type> hints_;  // by position in update()
    uint64_t interval_ = 0;                                      // update() calls so far
    double last_scrape_s_ = 0;
};

}  // namespace perfbpf
