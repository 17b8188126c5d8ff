#include "store/history_schema.h"

#include <vector>

#include "store/chunk_codec.h"
#include "store/history.h"

namespace perfbpf::store {
namespace {

// Schema 3 (measured in docs/history.md): a series row names its metric by id (the name in
// every row and again in the unique index was 51 bytes a series, 0.3 B/sample on a host
// whose processes come and go), and a chunk row holds every series of one label set over
// one span (ChunkGroup) in a rowid table, appended in time order so pages fill, a blob up
// to ~4 KB stays in its page (a WITHOUT ROWID row spilled everything past ~1 KB into an
// overflow page of its own).
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS labelsets(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS metrics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, metric INTEGER NOT NULL,
    labelset INTEGER NOT NULL, kind INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS series_by_labelset ON series(labelset, metric);
CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, labelset INTEGER NOT NULL,
    tier INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
    blob BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_labelset ON chunks(labelset, tier, start_ms);
CREATE INDEX IF NOT EXISTS chunks_by_tier_start ON chunks(tier, start_ms);
CREATE TABLE IF NOT EXISTS head(ts_ms INTEGER PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS timelines(start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL,
    blob BLOB NOT NULL);
)";

// Schema 1 kept each series' label text in its row (and again in its unique index): a
// process's 15 series repeated the same comm, cgroup and pid, and on a host whose
// processes come and go that was half the file. Schema 2 keeps each label set once.
constexpr const char* kLabelsetsFromSchema1 = R"(
CREATE TABLE labelsets(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
INSERT INTO labelsets(labels) SELECT DISTINCT labels FROM series;
CREATE TABLE series2(id INTEGER PRIMARY KEY, metric TEXT NOT NULL,
    labelset INTEGER NOT NULL, kind INTEGER NOT NULL, UNIQUE(metric, labelset));
INSERT INTO series2(id, metric, labelset, kind)
    SELECT s.id, s.metric, l.id, s.kind FROM series s JOIN labelsets l ON l.labels = s.labels;
DROP TABLE series;
ALTER TABLE series2 RENAME TO series;
)";

// Schema 2 -> 3: metric names to ids; the per-series chunks are set aside as chunks2 and
// regrouped by regroup_chunks (their blobs decompressed become the groups' members as
// they are, so no point is re-encoded).
constexpr const char* kMetricsFromSchema2 = R"(
CREATE TABLE metrics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
INSERT INTO metrics(name) SELECT DISTINCT metric FROM series ORDER BY metric;
CREATE TABLE series3(id INTEGER PRIMARY KEY, metric INTEGER NOT NULL,
    labelset INTEGER NOT NULL, kind INTEGER NOT NULL);
INSERT INTO series3(id, metric, labelset, kind)
    SELECT s.id, m.id, s.labelset, s.kind FROM series s JOIN metrics m ON m.name = s.metric;
DROP TABLE series;
ALTER TABLE series3 RENAME TO series;
DROP INDEX IF EXISTS chunks_by_tier_start;
ALTER TABLE chunks RENAME TO chunks2;
)";

int64_t align_down(int64_t ts, int64_t span) {
    return ts - ((ts % span) + span) % span;
}

Result<void> regroup_chunks(Db& db, const std::string& path,
                            const std::array<int64_t, kTiers>& chunk_ms) {
    auto rows = db.prepare(
        "SELECT s.labelset, c.tier, c.start_ms, c.end_ms, c.series_id, c.blob FROM chunks2 c "
        "JOIN series s ON s.id = c.series_id ORDER BY s.labelset, c.tier, c.start_ms",
        "read schema-2 chunks");
    if (!rows) return std::unexpected(rows.error());
    auto insert = db.prepare(
        "INSERT INTO chunks(labelset, tier, start_ms, end_ms, blob) VALUES(?, ?, ?, ?, ?)",
        "insert chunk group");
    if (!insert) return std::unexpected(insert.error());
    struct Group {
        int64_t labelset = 0, tier = -1, window = 0, start = 0, end = 0;
        std::vector<ChunkGroupMember> members;
    } g;
    auto write = [&]() -> Result<void> {
        if (g.members.empty()) return {};
        auto blob = encode_chunk_group(g.members);
        if (!blob) return std::unexpected(blob.error());
        insert->bind(1, g.labelset)
            .bind(2, g.tier)
            .bind(3, g.start)
            .bind(4, g.end)
            .bind_blob(5, *blob);
        g.members.clear();
        return insert->run();
    };
    while (true) {
        auto row = rows->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        int64_t labelset = rows->int64(0), tier = rows->int64(1), start = rows->int64(2);
        if (tier < 0 || tier >= static_cast<int64_t>(kTiers))
            return fail("history: " + path + ": chunk of unknown tier " + std::to_string(tier));
        int64_t window = align_down(start, chunk_ms[static_cast<size_t>(tier)]);
        if (labelset != g.labelset || tier != g.tier || window != g.window) {
            if (auto w = write(); !w) return w;
            g.labelset = labelset;
            g.tier = tier;
            g.window = window;
            g.start = start;
            g.end = rows->int64(3);
        }
        g.end = std::max(g.end, rows->int64(3));
        auto raw = decompress_blob(rows->blob(5), "chunk");
        if (!raw)
            return fail("history: " + path + ": series " + std::to_string(rows->int64(4)) +
                        " chunk at " + std::to_string(start) + ": " + raw.error().message);
        g.members.push_back(ChunkGroupMember{static_cast<uint32_t>(rows->int64(4)), *raw});
    }
    rows->reset();
    if (auto w = write(); !w) return w;
    return db.exec("DROP TABLE chunks2", "drop schema-2 chunks");
}

}  // namespace

Result<void> create_history_schema(Db& db) {
    return db.exec(kSchema, "create schema");
}

Result<std::string> upgrade_history_schema(Db& db, const std::string& path,
                                           const std::array<int64_t, kTiers>& chunk_ms) {
    auto has_series =
        db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'series'", "read schema");
    if (!has_series) return std::unexpected(has_series.error());
    auto has_metrics =
        db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'metrics'", "read schema");
    if (!has_metrics) return std::unexpected(has_metrics.error());
    if (!*has_series || *has_metrics) return std::string();
    auto labels_column = db.scalar(
        "SELECT count(*) FROM pragma_table_info('series') WHERE name = 'labels'", "read schema");
    if (!labels_column) return std::unexpected(labels_column.error());
    const std::string what =
        "upgrade " + path + " to schema " + std::to_string(History::kSchemaVersion);
    if (auto b = db.exec("BEGIN IMMEDIATE", what); !b) return std::unexpected(b.error());
    auto steps = [&]() -> Result<void> {
        if (*labels_column)
            if (auto r = db.exec(kLabelsetsFromSchema1, what); !r) return r;
        if (auto r = db.exec(kMetricsFromSchema2, what); !r) return r;
        if (auto r = create_history_schema(db); !r) return r;
        if (auto r = regroup_chunks(db, path, chunk_ms); !r) return r;
        return db.exec("INSERT OR REPLACE INTO meta VALUES('schema_version', " +
                           std::to_string(History::kSchemaVersion) + "); COMMIT;",
                       what);
    };
    if (auto r = steps(); !r) {
        (void)db.exec("ROLLBACK", "roll back the upgrade");
        return std::unexpected(r.error());
    }
    return "upgraded " + path + " to schema " + std::to_string(History::kSchemaVersion) +
           (*labels_column ? " (label sets stored once; " : " (") +
           "metric names stored once, chunks grouped by label set)";
}

}  // namespace perfbpf::store
