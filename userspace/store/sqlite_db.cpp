#include "store/sqlite_db.h"

#include <utility>

namespace perfbpf::store {

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), what_(std::move(o.what_)) {}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
    if (this != &o) {
        if (stmt_) sqlite3_finalize(stmt_);
        db_ = o.db_;
        stmt_ = std::exchange(o.stmt_, nullptr);
        what_ = std::move(o.what_);
    }
    return *this;
}

Stmt::~Stmt() {
    if (stmt_) sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
}

Stmt& Stmt::bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view blob) {
    sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    return *this;
}

Result<bool> Stmt::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    auto err = db_->error(what_, rc);
    sqlite3_reset(stmt_);
    return err;
}

Result<void> Stmt::run() {
    auto r = step();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (!r) return std::unexpected(r.error());
    return {};
}

void Stmt::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::string_view Stmt::text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view{};
}

std::string_view Stmt::blob(int col) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view{};
}

Result<Db> Db::open(const std::string& path) {
    Db db;
    db.path_ = path;
    int rc =
        sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) return db.error("open", rc);
    sqlite3_extended_result_codes(db.db_, 0);
    sqlite3_busy_timeout(db.db_, 5000);
    return db;
}

Db::Db(Db&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), last_code_(o.last_code_) {}

Db& Db::operator=(Db&& o) noexcept {
    if (this != &o) {
        close();
        db_ = std::exchange(o.db_, nullptr);
        path_ = std::move(o.path_);
        last_code_ = o.last_code_;
    }
    return *this;
}

Db::~Db() {
    close();
}

void Db::close() {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

std::unexpected<Error> Db::error(const std::string& what, int rc) {
    last_code_ = rc & 0xff;
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return fail(path_ + ": " + what + ": " + msg + " (" + sqlite3_errstr(rc) + ")");
}

Result<Stmt> Db::prepare(std::string_view sql, std::string what) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return error(what, rc);
    return Stmt(this, s, std::move(what));
}

Result<void> Db::exec(const std::string& sql, const std::string& what) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return error(what, rc);
    return {};
}

Result<int64_t> Db::scalar(const std::string& sql, const std::string& what) {
    auto s = prepare(sql, what);
    if (!s) return std::unexpected(s.error());
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    return *row ? s->int64(0) : 0;
}

}  // namespace perfbpf::store
