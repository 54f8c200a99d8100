// SQLite helpers for the share store: those shared with the peer store (store/sqlite_util.h),
// and checked reads of a row from the file (which is outside input). Header-only, private.
#ifndef VAULT_SHARE_STORE_SQL_H_
#define VAULT_SHARE_STORE_SQL_H_

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mesh/status.h"
#include "store/sqlite_util.h"

namespace vault::share_store_sql {

using mesh::Status;

using mesh::sqlite::Bind;
using mesh::sqlite::BindAll;
using mesh::sqlite::ScopedReset;

// Reads columns of one row of the file, which is outside input: every type and size is
// checked before use (reading a column of another type would convert it).
class RowReader {
 public:
  RowReader(sqlite3_stmt* stmt, std::string where) : stmt_(stmt), where_(std::move(where)) {}

  Status Int(int col, int64_t min, int64_t max, int64_t* value) const {
    if (sqlite3_column_type(stmt_, col) != SQLITE_INTEGER) return Bad(col, "not an integer");
    *value = sqlite3_column_int64(stmt_, col);
    if (*value < min || *value > max) return Bad(col, "out of range");
    return Status::OK();
  }
  Status Text(int col, size_t max, std::string* value) const {
    if (sqlite3_column_type(stmt_, col) != SQLITE_TEXT) return Bad(col, "not text");
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
    if (n > max) return Bad(col, "over its size limit");
    value->assign(p != nullptr ? p : "", n);
    if (value->find('\0') != std::string::npos) return Bad(col, "holding a NUL byte");
    return Status::OK();
  }
  Status Blob(int col, size_t min, size_t max, std::span<const uint8_t>* value) const {
    if (sqlite3_column_type(stmt_, col) != SQLITE_BLOB) return Bad(col, "not a blob");
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
    if (n < min || n > max) return Bad(col, "of the wrong size");
    *value = std::span<const uint8_t>(p, n);
    return Status::OK();
  }

 private:
  Status Bad(int col, const char* problem) const {
    return Status::Corruption(where_ + " has a " + sqlite3_column_name(stmt_, col) + " " + problem);
  }

  sqlite3_stmt* stmt_;
  std::string where_;
};

}  // namespace vault::share_store_sql

#endif  // VAULT_SHARE_STORE_SQL_H_
