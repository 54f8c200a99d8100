// ShareDatabase: the SQLite connection behind ShareStore (<data dir>/vault.db). Opening it
// sets the pragmas (WAL, synchronous=FULL, secure_delete, foreign keys, busy timeout), checks
// that the file is a share store of a schema this code knows, and applies the pending
// migrations in one transaction. Layout: docs/vault.md ("Share store"). Not thread-safe:
// ShareStore serialises all use.
#ifndef VAULT_SHARE_STORE_SCHEMA_H_
#define VAULT_SHARE_STORE_SCHEMA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mesh/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vault {

class ShareDatabase {
 public:
  // The newest schema (PRAGMA user_version) this code writes and reads.
  static constexpr int64_t kSchemaVersion = 1;
  // PRAGMA application_id of a meshvault share store: "MVSS".
  static constexpr int64_t kApplicationId = 0x4D565353;
  // Largest string, blob or row SQLite will hand back: a damaged or hostile file cannot make
  // a read allocate more. A share row (2 MiB payload + tag + small fields) is well below it.
  static constexpr int kMaxValueBytes = 4 * 1024 * 1024;

  // Opens or creates the file `path` (mode 0600). A file from a newer schema gives
  // InvalidArgument; a file that is not a share store, or is damaged, gives Corruption.
  static mesh::Status Open(const std::string& path, std::unique_ptr<ShareDatabase>* out);
  ~ShareDatabase();
  ShareDatabase(const ShareDatabase&) = delete;
  ShareDatabase& operator=(const ShareDatabase&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // A Status for SQLite result `rc` while doing `what`, with SQLite's message.
  mesh::Status Error(int rc, std::string_view what) const;
  // Runs constant SQL (one or more statements).
  mesh::Status Exec(const char* sql, std::string_view what);
  // Runs a one-row statement and gives its first column.
  mesh::Status QueryInt(const char* sql, int64_t* value);
  mesh::Status QueryText(const char* sql, std::string* value);
  // Compiles a statement kept for the connection's lifetime.
  mesh::Status Prepare(const char* sql, sqlite3_stmt** stmt);

 private:
  ShareDatabase(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  mesh::Status Init();
  // Checks that the file is empty or a share store of a known version, undamaged.
  mesh::Status Identify();
  mesh::Status Migrate();

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace vault

#endif  // VAULT_SHARE_STORE_SCHEMA_H_
