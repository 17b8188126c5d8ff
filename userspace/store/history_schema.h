// The history database's tables, and the upgrades from the schemas older perfbpfs wrote.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "model/series_result.h"
#include "store/sqlite_db.h"
#include "util/result.h"

namespace perfbpf::store {

// Creates what is missing of the current schema.
Result<void> create_history_schema(Db& db);

// Brings a schema-1, -2 or -3 database to the current schema in one transaction (a
// failure leaves it as it was). Returns what it did, empty when nothing was to do.
// chunk_ms: the spans that old per-series chunks are grouped by.
Result<std::string> upgrade_history_schema(Db& db, const std::string& path,
                                           const std::array<int64_t, kTiers>& chunk_ms);

}  // namespace perfbpf::store
