#include "store/history_schema.h"

#include <vector>

#include "store/chunk_codec.h"
#include "store/history.h"
#include "store/labelset_members.h"

namespace perfbpf::store {
namespace {

// Schema 3 (measured in docs/history.md): a series row names its metric by id (the name in
// every row and again in the unique index was 51 bytes a series, 0.3 B/sample on a host
// whose processes come and go), and a chunk row holds every series of one label set over
// one span (ChunkGroup) in a rowid table, appended in time order so pages fill, a blob up
// to ~4 KB stays in its page (a WITHOUT ROWID row spilled everything past ~1 KB into an
// overflow page of its own). Schema 4: no series table; a label set's row lists its series
// (labelset_members.h), found by the hash of its text; last_series (its newest member) lets
// a reader find the label sets that gained series since it last looked.
constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS labelsets(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL,
    labels TEXT NOT NULL, last_series INTEGER NOT NULL, members BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS labelsets_by_hash ON labelsets(hash);
CREATE INDEX IF NOT EXISTS labelsets_by_last_series ON labelsets(last_series);
CREATE TABLE IF NOT EXISTS metrics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
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
// they are, so no point is re-encoded). The series table goes on to schema 4 below.
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

// Schema 3 -> 4: the old label sets are set aside; members_from_series fills the new ones
// (same ids, which chunks name) with their series.
constexpr const char* kLabelsetsFromSchema3 = "ALTER TABLE labelsets RENAME TO labelsets3;";

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

Result<void> members_from_series(Db& db, const std::string& path) {
    auto rows = db.prepare(
        "SELECT l.id, l.labels, s.id, s.metric, s.kind FROM labelsets3 l LEFT JOIN series s "
        "ON s.labelset = l.id ORDER BY l.id, s.id",
        "read schema-3 series");
    if (!rows) return std::unexpected(rows.error());
    auto insert = db.prepare(
        "INSERT INTO labelsets(id, hash, labels, last_series, members) VALUES(?, ?, ?, ?, ?)",
        "insert label set");
    if (!insert) return std::unexpected(insert.error());
    struct Set {
        int64_t id = 0;
        std::string labels, members;
        uint32_t last = 0;
    } set;
    auto write = [&]() -> Result<void> {
        if (set.id == 0) return {};
        insert->bind(1, set.id)
            .bind(2, labels_hash(set.labels))
            .bind(3, set.labels)
            .bind(4, int64_t{set.last})
            .bind_blob(5, set.members);
        return insert->run();
    };
    while (true) {
        auto row = rows->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        if (rows->int64(0) != set.id) {
            if (auto w = write(); !w) return w;
            set = Set{rows->int64(0), std::string(rows->text(1)), {}, 0};
        }
        if (rows->is_null(2)) continue;  // a label set without series
        const int64_t id = rows->int64(2), kind = rows->int64(4);
        if (id <= set.last || id > int64_t{UINT32_MAX} || kind < 0 ||
            kind > static_cast<int64_t>(MetricKind::histogram) || rows->int64(3) <= 0)
            return fail("history: " + path + ": series " + std::to_string(id) + " (metric " +
                        std::to_string(rows->int64(3)) + ", kind " + std::to_string(kind) +
                        ") cannot be listed in label set " + std::to_string(set.id));
        put_member(set.members, set.last,
                   LabelsetMember{static_cast<uint32_t>(id), rows->int64(3),
                                  static_cast<MetricKind>(kind)});
        set.last = static_cast<uint32_t>(id);
    }
    rows->reset();
    if (auto w = write(); !w) return w;
    // Every series must have found its label set.
    auto orphans =
        db.scalar("SELECT count(*) FROM series WHERE labelset NOT IN (SELECT id FROM labelsets3)",
                  "check schema-3 series");
    if (!orphans) return std::unexpected(orphans.error());
    if (*orphans)
        return fail("history: " + path + ": " + std::to_string(*orphans) +
                    " series name a label set that does not exist");
    return db.exec("DROP TABLE series; DROP TABLE labelsets3;", "drop schema-3 series");
}

}  // namespace

Result<void> create_history_schema(Db& db) {
    return db.exec(kSchema, "create schema");
}

Result<std::string> upgrade_history_schema(Db& db, const std::string& path,
                                           const std::array<int64_t, kTiers>& chunk_ms) {
    auto count = [&](const char* sql) { return db.scalar(sql, "read schema"); };
    auto has_series = count("SELECT count(*) FROM sqlite_master WHERE name = 'series'");
    if (!has_series) return std::unexpected(has_series.error());
    if (!*has_series) return std::string();
    auto has_metrics = count("SELECT count(*) FROM sqlite_master WHERE name = 'metrics'");
    if (!has_metrics) return std::unexpected(has_metrics.error());
    auto labels_column =
        count("SELECT count(*) FROM pragma_table_info('series') WHERE name = 'labels'");
    if (!labels_column) return std::unexpected(labels_column.error());
    const std::string what =
        "upgrade " + path + " to schema " + std::to_string(History::kSchemaVersion);
    if (auto b = db.exec("BEGIN IMMEDIATE", what); !b) return std::unexpected(b.error());
    auto steps = [&]() -> Result<void> {
        if (*labels_column)
            if (auto r = db.exec(kLabelsetsFromSchema1, what); !r) return r;
        if (!*has_metrics)
            if (auto r = db.exec(kMetricsFromSchema2, what); !r) return r;
        if (auto r = db.exec(kLabelsetsFromSchema3, what); !r) return r;
        if (auto r = create_history_schema(db); !r) return r;
        if (!*has_metrics)
            if (auto r = regroup_chunks(db, path, chunk_ms); !r) return r;
        if (auto r = members_from_series(db, path); !r) return r;
        return db.exec("INSERT OR REPLACE INTO meta VALUES('schema_version', " +
                           std::to_string(History::kSchemaVersion) + "); COMMIT;",
                       what);
    };
    if (auto r = steps(); !r) {
        (void)db.exec("ROLLBACK", "roll back the upgrade");
        return std::unexpected(r.error());
    }
    std::string did = *labels_column ? "label sets stored once; " : "";
    if (!*has_metrics) did += "metric names stored once, chunks grouped by label set; ";
    return "upgraded " + path + " to schema " + std::to_string(History::kSchemaVersion) + " (" +
           did + "series listed in their label sets)";
}

}  // namespace perfbpf::store
