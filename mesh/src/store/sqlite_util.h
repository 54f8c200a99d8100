// SQLite helpers shared by the node's peer store and the vault's share store: a scoped
// statement reset, typed parameter binding, and Status-returning wrappers that name the store
// ("peer store /path") and map SQLite result codes to Status codes. Private to the project.
#ifndef MESH_STORE_SQLITE_UTIL_H_
#define MESH_STORE_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "mesh/status.h"

namespace mesh::sqlite {

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

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using UniqueStmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

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

// Creates an empty `path` with mode 0600 unless it exists (SQLite then gives its -wal and
// -shm files the same mode), and makes the new directory entry durable. `store` names the
// kind in errors ("peer store"); an existing non-regular file is InvalidArgument.
Status CreateFileIfMissing(const std::string& path, std::string_view store);

// A Status for result `rc` while doing `what` in the store named `store` ("peer store
// /path"), with SQLite's message: damaged files are Corruption, locks Unavailable,
// permissions PermissionDenied, a full disk ResourceExhausted, the rest IOError.
Status Error(sqlite3* db, int rc, std::string_view store, std::string_view what);
// Runs constant SQL (one or more statements).
Status Exec(sqlite3* db, const char* sql, std::string_view store, std::string_view what);
// Runs a one-row statement and gives its first column.
Status QueryInt(sqlite3* db, const char* sql, std::string_view store, int64_t* value);
Status QueryText(sqlite3* db, const char* sql, std::string_view store, std::string* value);
// Checks that the file at `path` (open as `db`) is empty or a `kind` ("peer store") file with
// application id `app_id`, of schema version 1 to `max_version`, and undamaged (quick_check).
// *fresh says it is empty. Corruption for a foreign or damaged file, InvalidArgument for a
// newer schema.
Status Identify(sqlite3* db, const std::string& path, std::string_view kind, int64_t app_id,
                int64_t max_version, bool* fresh);
// Compiles a statement kept for the connection's lifetime. The SQL is the store's own, so a
// file whose tables do not fit it is reported as Corruption.
Status Prepare(sqlite3* db, const char* sql, std::string_view store, sqlite3_stmt** stmt);

}  // namespace mesh::sqlite

#endif  // MESH_STORE_SQLITE_UTIL_H_
