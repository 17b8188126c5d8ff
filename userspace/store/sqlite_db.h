// A thin RAII layer over SQLite that turns result codes into Result errors naming the
// database file, the statement's purpose and SQLite's own message, and keeps the primary
// code so callers can tell a full disk (SQLITE_FULL) from corruption (SQLITE_CORRUPT).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace perfbpf::store {

class Db;

class Stmt {
  public:
    Stmt() = default;
    Stmt(Db* db, sqlite3_stmt* stmt, std::string what)
        : db_(db), stmt_(stmt), what_(std::move(what)) {}
    Stmt(Stmt&&) noexcept;
    Stmt& operator=(Stmt&&) noexcept;
    ~Stmt();

    Stmt& bind(int i, int64_t v);
    Stmt& bind(int i, std::string_view text);
    Stmt& bind_blob(int i, std::string_view blob);
    // true: a row is ready; false: done. Errors carry the statement's purpose.
    Result<bool> step();
    // Runs to completion and resets for reuse.
    Result<void> run();
    void reset();

    int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::string_view text(int col) const;
    std::string_view blob(int col) const;

  private:
    Db* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::string what_;
};

class Db {
  public:
    static Result<Db> open(const std::string& path);
    Db() = default;
    Db(Db&&) noexcept;
    Db& operator=(Db&&) noexcept;
    ~Db();

    Result<Stmt> prepare(std::string_view sql, std::string what);
    // Runs one or more statements without results.
    Result<void> exec(const std::string& sql, const std::string& what);
    // First column of the first row as an integer (0 when there is no row).
    Result<int64_t> scalar(const std::string& sql, const std::string& what);

    // The primary result code of the last failure (SQLITE_FULL, SQLITE_CORRUPT, ...).
    int last_code() const { return last_code_; }
    void restore_code(int code) { last_code_ = code; }
    const std::string& path() const { return path_; }
    sqlite3* handle() const { return db_; }
    void close();

    // "PATH: WHAT: MESSAGE (SQLITE_XXX)", recording the code.
    std::unexpected<Error> error(const std::string& what, int rc);

  private:
    sqlite3* db_ = nullptr;
    std::string path_;
    int last_code_ = SQLITE_OK;
};

// Whether a primary result code means the disk (or the page cap) ran out of room.
inline bool is_full(int code) {
    return code == SQLITE_FULL || code == SQLITE_IOERR;
}
inline bool is_corrupt(int code) {
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

}  // namespace perfbpf::store
