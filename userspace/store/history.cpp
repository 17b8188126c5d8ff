// Opening (with the corrupt and newer-schema cases), interning and appending.
#include "store/history.h"

#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "model/series_extract.h"
#include "store/head_row.h"
#include "store/history_impl.h"
#include "store/history_schema.h"
#include "store/labelset_members.h"

namespace perfbpf {
namespace {

uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// What a first look at the file finds: fine, corrupt (move it aside), or an error to return.
enum class Health { ok, corrupt };

Result<Health> check_health(store::Db& db) {
    auto s = db.prepare("PRAGMA quick_check", "quick_check");
    if (!s)
        return store::is_corrupt(db.last_code()) ? Health::corrupt
                                                 : Result<Health>(std::unexpected(s.error()));
    auto row = s->step();
    if (!row)
        return store::is_corrupt(db.last_code()) ? Health::corrupt
                                                 : Result<Health>(std::unexpected(row.error()));
    return *row && s->text(0) == "ok" ? Health::ok : Health::corrupt;
}

Result<void> move_aside(const std::string& path, std::string& note) {
    std::string target = path + ".corrupt-" + std::to_string(std::time(nullptr));
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::string from = path + suffix;
        if (!std::filesystem::exists(from)) continue;
        if (std::rename(from.c_str(), (target + suffix).c_str()) != 0)
            return fail_errno("rename " + from + " to " + target + suffix, errno);
    }
    note = "moved corrupt " + path + " to " + target + "; started a fresh history";
    return {};
}

}  // namespace

std::string canonical_labels(const Labels& labels) {
    std::string out;
    for (const auto& [name, value] : labels) {
        if (!out.empty()) out += ',';
        out += name;
        out += "=\"";
        for (char c : value) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    out += c;
            }
        }
        out += '"';
    }
    return out;
}

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::History(History&&) noexcept = default;
History& History::operator=(History&&) noexcept = default;
History::~History() = default;

Result<History> History::open(const std::string& dir, const HistoryOptions& options) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("history: create " + dir + ": " + ec.message());
    auto impl = std::make_unique<Impl>();
    impl->path = dir + "/history.db";
    impl->opt = options;
    for (int attempt = 0;; ++attempt) {
        auto db = store::Db::open(impl->path);
        if (!db) return std::unexpected(db.error());
        impl->db = std::move(*db);
        auto health = check_health(impl->db);
        if (!health) return std::unexpected(health.error());
        if (*health == Health::ok) break;
        if (attempt > 0) return fail("history: " + impl->path + " is corrupt right after creation");
        // Renamed while still open: SQLite unlinks the -wal and -shm by name when the last
        // connection closes, and the WAL may hold what a post-mortem needs.
        std::string note;
        auto moved = move_aside(impl->path, note);
        impl->db.close();
        if (!moved) return std::unexpected(moved.error());
        impl->notes.push_back(note);
    }
    store::Db& db = impl->db;
    auto has_meta =
        db.scalar("SELECT count(*) FROM sqlite_master WHERE name='meta'", "read schema");
    if (!has_meta) return std::unexpected(has_meta.error());
    if (*has_meta) {
        auto version =
            db.scalar("SELECT value FROM meta WHERE key='schema_version'", "read schema_version");
        if (!version) return std::unexpected(version.error());
        if (*version > kSchemaVersion)
            return fail("history: " + impl->path + " has schema_version " +
                        std::to_string(*version) + ", newer than this perfbpf's " +
                        std::to_string(kSchemaVersion) + "; refusing to use it");
    }
    auto upgraded = store::upgrade_history_schema(db, impl->path, options.chunk_ms);
    if (!upgraded) return std::unexpected(upgraded.error());
    if (!upgraded->empty()) impl->notes.push_back(*upgraded);
    // auto_vacuum must precede the first table; it lets retention give pages back.
    if (auto r = db.exec("PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; "
                         "PRAGMA synchronous=NORMAL;",
                         "set pragmas");
        !r)
        return std::unexpected(r.error());
    if (auto r = store::create_history_schema(db); !r) return std::unexpected(r.error());
    if (auto r = db.exec("INSERT OR IGNORE INTO meta VALUES('schema_version', " +
                             std::to_string(kSchemaVersion) +
                             "), ('created', CAST(strftime('%s','now') AS INTEGER))",
                         "write meta");
        !r)
        return std::unexpected(r.error());
    if (auto r = impl->prepare_statements(); !r) return std::unexpected(r.error());
    if (auto r = impl->load(); !r) return std::unexpected(r.error());
    History h(std::move(impl));
    if (auto r = h.set_options(options); !r) return std::unexpected(r.error());
    return h;
}

Result<void> History::Impl::prepare_statements() {
    struct {
        store::Stmt* stmt;
        const char* sql;
        const char* what;
    } list[] = {
        {&begin, "BEGIN IMMEDIATE", "begin"},
        {&commit, "COMMIT", "commit"},
        {&rollback, "ROLLBACK", "rollback"},
        {&insert_head, "INSERT INTO head(ts_ms, blob) VALUES(?, ?)", "insert head row"},
        {&insert_labelset,
         "INSERT INTO labelsets(hash, labels, last_series, members) VALUES(?, ?, 0, x'')",
         "insert label set"},
        {&find_labelset, "SELECT id, labels, last_series, members FROM labelsets WHERE hash = ?",
         "find label set"},
        {&insert_metric, "INSERT OR IGNORE INTO metrics(name) VALUES(?)", "insert metric"},
        {&find_metric, "SELECT id FROM metrics WHERE name = ?", "find metric"},
        {&add_member, "UPDATE labelsets SET members = members || ?, last_series = ? WHERE id = ?",
         "add series to label set"},
        {&insert_chunk,
         "INSERT OR REPLACE INTO chunks(labelset, tier, start_ms, end_ms, blob) "
         "VALUES(?, ?, ?, ?, ?)",
         "insert chunk"},
        {&set_meta, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", "write meta"},
        {&insert_timeline,
         "INSERT OR REPLACE INTO timelines(start_ms, end_ms, blob) VALUES(?, ?, ?)",
         "insert timeline"},
        {&find_timeline, "SELECT blob FROM timelines WHERE start_ms = ?", "read timeline"},
    };
    for (auto& s : list) {
        auto st = db.prepare(s.sql, s.what);
        if (!st) return std::unexpected(st.error());
        *s.stmt = std::move(*st);
    }
    return {};
}

// Reads the series of the label sets that gained any after `after` in id order:
// fn(id, key, kind, labelset) for each series with an id above `after`.
template <class Fn>
static Result<void> read_series_table(store::Db& db, const std::string& path, Fn&& fn,
                                      SeriesId after = 0) {
    std::unordered_map<int64_t, std::string> metrics;
    auto names = db.prepare("SELECT id, name FROM metrics", "read metrics");
    if (!names) return std::unexpected(names.error());
    while (true) {
        auto row = names->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        metrics[names->int64(0)] = std::string(names->text(1));
    }
    auto s = db.prepare("SELECT id, labels, members FROM labelsets WHERE last_series > ?",
                        "read label sets");
    if (!s) return std::unexpected(s.error());
    s->bind(1, int64_t{after});
    struct Found {
        SeriesId id;
        SeriesKey key;
        MetricKind kind;
        int64_t labelset;
    };
    std::vector<Found> found;
    while (true) {
        auto row = s->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        const int64_t set = s->int64(0);
        std::string labels(s->text(1));
        Labels parsed;
        if (!labels.empty()) {
            auto sel = parse_selector("{" + labels + "}");
            if (!sel)
                return fail("history: " + path + ": label set " + std::to_string(set) +
                            " is unreadable: " + sel.error().message);
            for (auto& m : sel->matchers) parsed.emplace_back(m.name, m.value);
        }
        auto members = store::decode_members(s->blob(2));
        if (!members)
            return fail("history: " + path + ": label set " + std::to_string(set) + ": " +
                        members.error().message);
        for (const auto& m : *members) {
            if (m.series_id <= after) continue;
            auto name = metrics.find(m.metric_id);
            if (name == metrics.end())
                return fail("history: " + path + ": series " + std::to_string(m.series_id) +
                            " names metric " + std::to_string(m.metric_id) +
                            ", which does not exist");
            if (m.series_id > 100'000'000)
                return fail("history: " + path + ": series id " + std::to_string(m.series_id) +
                            " out of range");
            found.push_back(Found{m.series_id, SeriesKey{name->second, parsed}, m.kind, set});
        }
    }
    std::sort(found.begin(), found.end(),
              [](const Found& a, const Found& b) { return a.id < b.id; });
    for (auto& f : found) fn(f.id, std::move(f.key), f.kind, f.labelset);
    return {};
}

Result<void> History::Impl::load_new_series() {
    return read_series_table(
        db, path,
        [&](SeriesId id, SeriesKey key, MetricKind kind, int64_t labelset) {
            if (series.size() < id) series.resize(id, SeriesInfo{MetricKind::gauge, false});
            ids[key] = id;
            series[id - 1] = SeriesInfo{kind, true, stored_decimals(key.metric), labelset};
            resident[id] = ResidentSeries{std::move(key), kNone};
        },
        static_cast<SeriesId>(series.size()));
}

Result<void> History::Impl::load() {
    if (auto read = load_new_series(); !read) return read;
    if (auto w = load_watermarks(); !w) return w;
    auto head = db.prepare("SELECT min(ts_ms), max(ts_ms) FROM head", "read head");
    if (!head) return std::unexpected(head.error());
    if (auto row = head->step(); !row) return std::unexpected(row.error());
    if (!head->is_null(0)) {
        head_first = head->int64(0);
        last_ts = head->int64(1);
    } else if (wm[0] != kNone) {
        last_ts = wm[0] - 1;
    }
    return {};
}

Result<void> History::Impl::load_watermarks() {
    auto s = db.prepare("SELECT key, value FROM meta WHERE key IN ('wm0', 'wm1', 'wm2')",
                        "read watermarks");
    if (!s) return std::unexpected(s.error());
    wm = {kNone, kNone, kNone};
    while (true) {
        auto row = s->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return {};
        wm[static_cast<size_t>(s->text(0)[2] - '0')] = s->int64(1);
    }
}

store::TimelineLookup History::Impl::timelines() {
    return [this](int64_t first_ts) -> const std::vector<int64_t>* {
        if (auto it = timeline_cache.find(first_ts); it != timeline_cache.end()) return &it->second;
        find_timeline.bind(1, first_ts);
        auto row = find_timeline.step();
        std::optional<std::vector<int64_t>> ts;
        if (row && *row) {
            auto decoded = store::decode_timeline(find_timeline.blob(0));
            if (decoded) ts = std::move(*decoded);
        }
        find_timeline.reset();
        if (!ts) return nullptr;
        // Queries walk series by series over the same few spans: a handful suffices.
        if (timeline_cache.size() >= 64) timeline_cache.clear();
        return &timeline_cache.emplace(first_ts, std::move(*ts)).first->second;
    };
}

Result<void> History::Impl::set_watermark(size_t tier, int64_t ms) {
    set_meta.bind(1, "wm" + std::to_string(tier)).bind(2, ms);
    if (auto r = set_meta.run(); !r) return r;
    wm[tier] = ms;
    return {};
}

std::vector<std::string> History::notes() const {
    return impl_->notes;
}
size_t History::resident_series() const {
    return impl_->resident.size();
}

uint64_t History::dropped_intervals() const {
    return impl_->dropped;
}
uint64_t History::deferred_failures() const {
    return impl_->deferred;
}

uint64_t History::bytes_on_disk() const {
    return file_size(impl_->path) + file_size(impl_->path + "-wal");
}

Result<void> History::set_options(const HistoryOptions& options) {
    for (size_t t = 0; t < kTiers; ++t) {
        if (options.chunk_ms[t] <= 0 || (t > 0 && options.chunk_ms[t] % options.chunk_ms[t - 1]) ||
            options.chunk_ms[t] % std::max<int64_t>(kTierResolutionMs[t], 1))
            return fail("history: chunk span of tier " + std::to_string(t) + " (" +
                        std::to_string(options.chunk_ms[t]) +
                        " ms) must be a positive multiple of the finer tier's span and of its "
                        "resolution");
        if (options.retention_ms[t] <= 0)
            return fail("history: retention of tier " + std::to_string(t) + " must be positive");
    }
    if (options.max_pages) {
        if (auto r = impl_->db.scalar("PRAGMA max_page_count=" + std::to_string(options.max_pages),
                                      "set max_page_count");
            !r)
            return std::unexpected(r.error());
    }
    impl_->opt = options;
    return {};
}

SeriesId History::intern(const SeriesKey& key, MetricKind kind) {
    auto& im = *impl_;
    if (auto it = im.ids.find(key); it != im.ids.end()) return it->second;
    if (im.evicted > 0) {
        if (auto id = im.find_stored(key.metric, canonical_labels(key.labels))) {
            im.resident[*id] = ResidentSeries{key, kNone};
            im.ids.emplace(key, *id);
            return *id;
        }
    }
    auto id = static_cast<SeriesId>(im.series.size() + 1);
    im.series.push_back(SeriesInfo{kind, false, stored_decimals(key.metric)});
    im.resident[id] = ResidentSeries{key, kNone};
    im.ids.emplace(key, id);
    im.pending.push_back(id);
    return id;
}

Result<std::optional<History::Impl::LabelsetRow>> History::Impl::lookup_labelset(
    const std::string& labels) {
    find_labelset.bind(1, store::labels_hash(labels));
    std::optional<LabelsetRow> out;
    while (!out) {
        auto row = find_labelset.step();
        if (!row) {
            find_labelset.reset();
            return std::unexpected(row.error());
        }
        if (!*row) break;
        if (find_labelset.text(1) == labels)
            out = LabelsetRow{find_labelset.int64(0), static_cast<uint32_t>(find_labelset.int64(2)),
                              std::string(find_labelset.blob(3))};
    }
    find_labelset.reset();
    return out;
}

Result<int64_t> History::Impl::metric_id(const std::string& name, bool create) {
    if (create) {
        insert_metric.bind(1, name);
        if (auto ins = insert_metric.run(); !ins) return std::unexpected(ins.error());
    }
    find_metric.bind(1, name);
    auto row = find_metric.step();
    int64_t id = row && *row ? find_metric.int64(0) : 0;
    find_metric.reset();
    if (!row) return std::unexpected(row.error());
    return id;
}

std::optional<SeriesId> History::Impl::find_stored(const std::string& metric,
                                                   const std::string& labels) {
    auto set = lookup_labelset(labels);
    auto mid = metric_id(metric, false);
    if (!set || !*set || !mid || *mid == 0) return std::nullopt;
    auto members = store::decode_members((*set)->members);
    if (!members) return std::nullopt;
    for (const auto& m : *members)
        if (m.metric_id == *mid && m.series_id <= series.size()) return m.series_id;
    return std::nullopt;
}

void History::Impl::evict_idle(int64_t cutoff_ms) {
    for (auto it = resident.begin(); it != resident.end();) {
        const SeriesId id = it->first;
        if (!series[id - 1].persisted ||
            (it->second.last_ms != kNone && it->second.last_ms >= cutoff_ms)) {
            ++it;
            continue;
        }
        ids.erase(it->second.key);
        id_hints.clear();
        it = resident.erase(it);
        ++evicted;
    }
}

Result<void> History::Impl::for_each_series(
    const std::function<void(SeriesId, const SeriesKey&)>& fn) {
    if (evicted == 0) {
        for (SeriesId id = 1; id <= series.size(); ++id) {
            if (!series[id - 1].persisted) continue;
            if (auto it = resident.find(id); it != resident.end()) fn(id, it->second.key);
        }
        return {};
    }
    return read_series_table(db, path, [&](SeriesId id, SeriesKey key, MetricKind, int64_t) {
        if (id <= series.size() && series[id - 1].persisted) fn(id, key);
    });
}

Result<void> History::append(int64_t ts_ms, std::span<const std::pair<SeriesId, double>> values,
                             std::span<const std::pair<SeriesId, const Log2Histogram*>> hists) {
    auto& im = *impl_;
    if (ts_ms <= im.last_ts)
        return fail("history: interval at " + std::to_string(ts_ms) +
                    " ms is not after the last stored one (" + std::to_string(im.last_ts) + " ms)");
    for (const auto& [id, v] : values)
        if (id == 0 || id > im.series.size())
            return fail("history: series id " + std::to_string(id) + " was not interned");
    for (const auto& [id, h] : hists)
        if (id == 0 || id > im.series.size())
            return fail("history: series id " + std::to_string(id) + " was not interned");
    im.row.clear();
    store::encode_head_row(im.row, values, hists);
    const int64_t span = im.opt.chunk_ms[0];
    const int64_t boundary = ts_ms - ((ts_ms % span) + span) % span;
    auto r = im.insert_interval(ts_ms);
    if (!r && store::is_full(im.db.last_code()) && im.head_first != kNone &&
        im.head_first < boundary) {
        // A full head is what compaction shrinks: make room, then try the interval again.
        if (im.compact(boundary)) r = im.insert_interval(ts_ms);
    }
    if (!r) {
        ++im.dropped;
        bool full = store::is_full(im.db.last_code());
        return fail(std::string("history: ") + (full ? "disk full, " : "") + "interval at " +
                    std::to_string(ts_ms) + " ms dropped (" + std::to_string(im.dropped) +
                    " so far): " + r.error().message);
    }
    for (SeriesId id : im.pending) im.series[id - 1].persisted = true;
    im.pending.clear();
    im.last_ts = ts_ms;
    for (const auto& [id, v] : values)
        if (auto it = im.resident.find(id); it != im.resident.end()) it->second.last_ms = ts_ms;
    for (const auto& [id, h] : hists)
        if (auto it = im.resident.find(id); it != im.resident.end()) it->second.last_ms = ts_ms;
    if (im.next_evict_ms == kNone) im.next_evict_ms = ts_ms + kEvictEveryMs;
    if (ts_ms >= im.next_evict_ms) {
        im.evict_idle(ts_ms - kIdleKeyMs);
        im.next_evict_ms = ts_ms + kEvictEveryMs;
    }
    if (im.head_first == kNone || im.head_first > ts_ms) im.head_first = ts_ms;
    if (im.head_first < boundary) {
        // The interval is stored; a compaction that fails leaves the head as it was and
        // is retried with the next interval.
        if (auto c = im.compact(boundary); !c) ++im.deferred;
    }
    return {};
}

Result<void> History::Impl::insert_interval(int64_t ts_ms) {
    return transaction([&]() -> Result<void> {
        for (SeriesId id : pending) {
            const auto& key = resident.at(id).key;  // pending series are never evicted
            std::string labels = canonical_labels(key.labels);
            auto set = lookup_labelset(labels);
            if (!set) return std::unexpected(set.error());
            if (!*set) {
                insert_labelset.bind(1, store::labels_hash(labels)).bind(2, labels);
                if (auto ins = insert_labelset.run(); !ins) return ins;
                *set = LabelsetRow{sqlite3_last_insert_rowid(db.handle()), 0, {}};
            }
            auto metric = metric_id(key.metric, true);
            if (!metric) return std::unexpected(metric.error());
            if (*metric == 0)
                return fail("history: " + path + ": metric " + key.metric + " vanished");
            std::string member;
            store::put_member(member, (*set)->last_series,
                              store::LabelsetMember{id, *metric, series[id - 1].kind});
            add_member.bind_blob(1, member).bind(2, int64_t{id}).bind(3, (*set)->id);
            if (auto add = add_member.run(); !add) return add;
            series[id - 1].labelset = (*set)->id;
        }
        insert_head.bind(1, ts_ms).bind_blob(2, row);
        return insert_head.run();
    });
}

Result<void> History::append(int64_t ts_ms, const std::vector<SeriesSample>& samples) {
    std::vector<std::pair<SeriesId, double>> values;
    std::vector<std::pair<SeriesId, const Log2Histogram*>> hists;
    auto& im = *impl_;
    for (size_t i = 0; i < samples.size(); ++i) {
        const SeriesSample& s = samples[i];
        SeriesId id = 0;
        if (const auto* hit = im.id_hints.find(i, s.key, s.id)) {
            id = hit->second;
        } else {
            id = intern(s.key, s.kind);
            im.id_hints.remember(i, &*im.ids.find(s.key), s.id);
        }
        if (s.kind == MetricKind::histogram)
            hists.emplace_back(id, &s.hist);
        else
            values.emplace_back(id, s.value);
    }
    return append(ts_ms, values, hists);
}

Result<void> History::flush() {
    auto& im = *impl_;
    if (im.head_first == kNone) return {};
    return im.compact(im.last_ts + 1);
}

Result<History> History::open_existing(const std::string& dir) {
    if (::access((dir + "/history.db").c_str(), F_OK) != 0)
        return fail("no history in " + dir + " (is perfbpf daemon running with --state-dir " + dir +
                    "?)");
    auto h = open(dir);
    if (h) h->impl_->reader = true;
    return h;
}

}  // namespace perfbpf
