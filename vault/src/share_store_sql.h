// SQLite helpers for the share store: a scoped statement reset, typed parameter binding, and
// checked reads of a row from the file (which is outside input). Header-only, private.
#ifndef VAULT_SHARE_STORE_SQL_H_
#define VAULT_SHARE_STORE_SQL_H_

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mesh/status.h"

namespace vault::share_store_sql {

using mesh::Status;

// Resets a cached statement on scope exit, so no read transaction stays open (it would hold
// back WAL checkpoints) and no bound pointer outlives the call.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Bound with SQLITE_STATIC: the caller's data outlives the step, and ScopedReset unbinds it.
inline int Bind(sqlite3_stmt* stmt, int index, std::span<const uint8_t> bytes) {
  // A null pointer would bind NULL rather than an empty blob.
  if (bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
  return sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()),
                           SQLITE_STATIC);
}
inline int Bind(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text(stmt, index, text.empty() ? "" : text.data(),
                           static_cast<int>(text.size()), SQLITE_STATIC);
}
inline int Bind(sqlite3_stmt* stmt, int index, int64_t value) {
  return sqlite3_bind_int64(stmt, index, value);
}

// Binds ?1, ?2, ... in order; the first failure's result code, or SQLITE_OK.
template <typename... Args>
inline int BindAll(sqlite3_stmt* stmt, const Args&... args) {
  int index = 0;
  int rc = SQLITE_OK;
  ((rc = rc == SQLITE_OK ? Bind(stmt, ++index, args) : rc), ...);
  return rc;
}

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
