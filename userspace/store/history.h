// The embedded history: months of every series perfbpf collects, in one SQLite file
// (`history.db`, WAL) in a state directory. Each interval is one row of the head (all
// series' values, so ingest is one insert); a complete head span is transposed into
// compressed per-series chunks, grouped by label set (chunk_codec.h); complete minutes and hours
// are rolled up into coarser tiers that keep min/max/sum/count/last and merged histogram slots; age
// and a disk budget bound each tier. Pure userspace: no kernel calls.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/selector.h"
#include "model/series.h"
#include "model/series_result.h"
#include "util/result.h"

namespace perfbpf {

using SeriesId = uint32_t;

struct HistoryOptions {
    // Age after which a tier's chunks are deleted.
    std::array<int64_t, kTiers> retention_ms = {14 * 86'400'000LL, 90 * 86'400'000LL,
                                                730 * 86'400'000LL};
    // Live pages of the database; over it, the oldest chunks of the finest tier go first.
    uint64_t budget_bytes = 2ULL << 30;
    // Span of one chunk per tier; each divides the next, and the coarser ones are
    // multiples of their resolution. A tier is rolled up when its span is complete.
    std::array<int64_t, kTiers> chunk_ms = {3'600'000, 86'400'000, 7 * 86'400'000LL};
    // PRAGMA max_page_count: a hard cap on the file (0: SQLite's own), which also lets
    // tests provoke SQLITE_FULL without filling a disk.
    uint64_t max_pages = 0;
};

// One owner at a time: a History is movable but not thread-safe, and one process should
// hold a state directory (SQLite would serialize a second writer, not merge its head).
class History {
  public:
    // 2: raw chunks may name a timeline (table timelines) instead of holding timestamps,
    // and label sets are stored once (table labelsets). 3: metric names stored once (table
    // metrics) and one chunk row per label set and span (ChunkGroup). 4: no series table,
    // a label set's row lists its series (labelset_members.h). A version 1, 2 or 3
    // database is upgraded when opened (history_schema.h).
    static constexpr int64_t kSchemaVersion = 4;

    // Opens or creates DIR/history.db. A corrupt or unreadable database is moved aside to
    // history.db.corrupt-<unix time> (with -wal/-shm) and a fresh one created (see notes());
    // one from a newer perfbpf (schema_version above kSchemaVersion) is refused untouched.
    static Result<History> open(const std::string& dir, const HistoryOptions& options = {});
    // For readers (query, top --history): DIR/history.db must exist already; otherwise the
    // error says where it looked and that the daemon writes it.
    static Result<History> open_existing(const std::string& dir);
    History(History&&) noexcept;
    History& operator=(History&&) noexcept;
    ~History();

    // What open() had to do that the caller should tell the user.
    std::vector<std::string> notes() const;

    // The id of a series (new ones are persisted with the next append). The kind of a
    // series is fixed by its first intern.
    SeriesId intern(const SeriesKey& key, MetricKind kind);

    // Stores one interval in one transaction. Timestamps must increase. When the disk (or
    // max_pages) is full, nothing of the interval is kept, dropped_intervals() counts it,
    // and the error says so; later appends work again once there is room.
    Result<void> append(int64_t ts_ms, std::span<const std::pair<SeriesId, double>> values,
                        std::span<const std::pair<SeriesId, const Log2Histogram*>> hists);
    Result<void> append(int64_t ts_ms, const std::vector<SeriesSample>& samples);

    // Compacts the whole head into chunks now (on SIGTERM, so a restart reads no head).
    Result<void> flush();
    // Deletes chunks older than each tier's retention, then the oldest rolled-up chunks of
    // the finest tier while the live pages exceed the budget; returns the space to the OS.
    Result<void> enforce_retention(int64_t now_ms);
    // Retention, budget and max_pages of a running store (config reload).
    Result<void> set_options(const HistoryOptions& options);

    uint64_t dropped_intervals() const;
    // Series whose keys the writer holds in memory: those appended to in the last 15
    // minutes (and the ones not yet stored); the rest are looked up on disk when needed.
    size_t resident_series() const;
    // history.db and its WAL, as the file system sees them.
    uint64_t bytes_on_disk() const;
    // Failures of background work (compaction, rollup) since open; the data stays in the
    // head or finer tier and is retried on the next append.
    uint64_t deferred_failures() const;

    // Series matching `selector` with points in [from_ms, to_ms]. step_ms 0: raw points;
    // otherwise points aggregated per step from the tier that fits it (raw below 1 min,
    // minute below 1 h, else hour), with finer tiers and the head filling in the recent
    // part the tier has not rolled up yet.
    Result<std::vector<SeriesResult>> query(const Selector& selector, int64_t from_ms,
                                            int64_t to_ms, int64_t step_ms);

  private:
    struct Impl;
    explicit History(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Canonical text of a series' labels, as stored in the labelsets table: name="value" pairs
// sorted by name, comma-separated, values escaped as in a selector.
std::string canonical_labels(const Labels& labels);

}  // namespace perfbpf
