// History's state, shared by its open/append, compaction and query files.
#pragma once

#include <array>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/series_lookup.h"
#include "store/agg.h"
#include "store/history.h"
#include "store/sqlite_db.h"

namespace perfbpf {

inline constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

// What compaction needs of a series, kept for every id the store has seen.
struct SeriesInfo {
    MetricKind kind;
    bool persisted;
    int decimals = store::kAllDecimals;  // kept in chunks (stored_decimals of its metric)
    int64_t labelset = 0;                // its chunks are grouped by it; 0 until stored
};

// A series' key, for interning and for matching selectors. The writer forgets the keys of
// series it has not appended to for kIdleKeyMs (a process that exited or left the top
// lists): over days a busy host makes hundreds of thousands of short-lived series, and
// their keys would otherwise keep growing the daemon. A key that comes back is found in
// its label set's members again.
struct ResidentSeries {
    SeriesKey key;
    int64_t last_ms;  // last append with it; kNone: none since open
};
inline constexpr int64_t kIdleKeyMs = 15 * 60 * 1000;
inline constexpr int64_t kEvictEveryMs = 60 * 1000;

struct History::Impl {
    std::string path;
    HistoryOptions opt;
    store::Db db;
    std::vector<std::string> notes;
    // By key, not by its text: making metric{labels} for every sample of every interval
    // to look it up cost 8 % of the daemon's CPU at 0.1 s.
    std::unordered_map<SeriesKey, SeriesId, SeriesKeyHash> ids;
    SeriesHints<decltype(ids)::value_type> id_hints;  // by position in append(samples)
    std::unordered_map<SeriesId, ResidentSeries> resident;
    std::vector<SeriesInfo> series;  // series[id - 1]
    uint64_t evicted = 0;            // keys forgotten since open
    // Opened by open_existing: another process writes. Each query reads the writer's
    // watermarks and new series first, in the query's own read transaction, so a reader
    // kept open (the dashboard, top --history) neither misses what compaction moved nor
    // series made after it opened.
    bool reader = false;
    int64_t next_evict_ms = kNone;
    std::vector<SeriesId> pending;  // interned, not yet in a label set's members
    // Tier t's chunks hold everything before wm[t] (kNone: nothing yet); the head holds
    // what is at or after wm[raw].
    std::array<int64_t, kTiers> wm{kNone, kNone, kNone};
    int64_t head_first = kNone;  // oldest head row
    int64_t last_ts = kNone;
    uint64_t dropped = 0;
    uint64_t deferred = 0;
    std::string row;  // reused encoding buffer

    store::Stmt begin, commit, rollback, insert_head, insert_labelset, find_labelset, insert_metric,
        find_metric, add_member, insert_chunk, set_meta, insert_timeline, find_timeline;
    std::map<int64_t, std::vector<int64_t>> timeline_cache;  // by first timestamp

    // Decodes chunks that name a timeline (read from the timelines table, cached).
    store::TimelineLookup timelines();

    // The id the labelsets table has for key, if any (a key forgotten by evict_idle).
    std::optional<SeriesId> find_stored(const std::string& metric, const std::string& labels);
    // A label set's row by its text: id, newest member and members (nullopt: none yet).
    struct LabelsetRow {
        int64_t id;
        uint32_t last_series;
        std::string members;
    };
    Result<std::optional<LabelsetRow>> lookup_labelset(const std::string& labels);
    // The id of a metric's name, stored on first use (0 with create false: not stored).
    Result<int64_t> metric_id(const std::string& name, bool create);
    // Forgets the keys of persisted series not appended to since before cutoff_ms.
    void evict_idle(int64_t cutoff_ms);
    // Every persisted series in id order: from memory while no key was forgotten, else
    // from the labelsets table.
    Result<void> for_each_series(const std::function<void(SeriesId, const SeriesKey&)>& fn);

    Result<void> prepare_statements();
    Result<void> load();
    Result<void> set_watermark(size_t tier, int64_t ms);
    // From meta: after a rollback, what set_watermark changed in memory is undone too.
    Result<void> load_watermarks();
    // The series the writer added since this reader last looked (ids past series.size()).
    Result<void> load_new_series();
    // Runs fn inside BEGIN IMMEDIATE .. COMMIT, rolling back on any failure.
    template <class Fn>
    Result<void> transaction(Fn&& fn);

    // The pending series and the head row in `row`, in one transaction.
    Result<void> insert_interval(int64_t ts_ms);
    // Head rows before `before_ms` -> raw chunks, one per series per aligned raw span.
    Result<void> compact(int64_t before_ms);
    // Completed spans of each coarser tier from the tier below it.
    Result<void> roll_up();
    Result<void> roll_up_window(Tier tier, int64_t from_ms, int64_t to_ms);
    // One label set's chunks of one span (ids may repeat, in time order) as one row.
    struct GroupMember {
        SeriesId id;
        const store::ChunkEncoder* enc;
    };
    Result<void> write_group(int64_t labelset, Tier tier, std::span<const GroupMember> members,
                             const std::vector<int64_t>* timeline = nullptr);

    int decimals(SeriesId id) const {
        return id >= 1 && id <= series.size() ? series[id - 1].decimals : store::kAllDecimals;
    }
    int64_t labelset(SeriesId id) const {
        return id >= 1 && id <= series.size() ? series[id - 1].labelset : 0;
    }
    bool is_hist(SeriesId id) const {
        return id >= 1 && id <= series.size() && series[id - 1].kind == MetricKind::histogram;
    }
};

template <class Fn>
Result<void> History::Impl::transaction(Fn&& fn) {
    if (auto b = begin.run(); !b) return b;
    Result<void> r = fn();
    if (r) r = commit.run();
    if (!r) {
        int code = db.last_code();
        (void)rollback.run();
        (void)load_watermarks();
        db.restore_code(code);  // the failure's code, not the rollback's
        return r;
    }
    return {};
}

}  // namespace perfbpf
