#include "share_store_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "store/sqlite_util.h"

namespace vault {

using mesh::Status;

namespace {

constexpr int kBusyTimeoutMs = 5000;

// Version 1. Names are TEXT compared bytewise (BINARY); versions are INTEGERs in
// [0, 2^63-1]; committed and deleted are 0 or 1; times are unix milliseconds.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE shares (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  committed INTEGER NOT NULL DEFAULT 0,
  stored_ms INTEGER NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  dealer_signature BLOB NOT NULL,
  manifest_id BLOB NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE INDEX shares_uncommitted ON shares (stored_ms) WHERE committed = 0;
CREATE TABLE manifests (
  name TEXT NOT NULL PRIMARY KEY,
  version INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  encoded BLOB NOT NULL
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL,
  client TEXT NOT NULL,
  client_id TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX audit_by_name ON audit (name, id);
CREATE TABLE nonces (
  nonce BLOB NOT NULL PRIMARY KEY,
  time_ms INTEGER NOT NULL
);
CREATE INDEX nonces_by_time ON nonces (time_ms);
PRAGMA application_id = 1297503059;
)sql";
static_assert(ShareDatabase::kApplicationId == 1297503059,
              "kSchemaV1 must set the current application_id");

// Schema migrations in order: migration i takes user_version from kMigrations[i-1].version
// (0 for the first) to kMigrations[i].version. Append new ones; never edit an old one.
struct Migration {
  int64_t version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
};
static_assert(kMigrations[std::size(kMigrations) - 1].version == ShareDatabase::kSchemaVersion,
              "the last migration must reach kSchemaVersion");

}  // namespace

Status ShareDatabase::Open(const std::string& path, std::unique_ptr<ShareDatabase>* out) {
  if (Status s = mesh::sqlite::CreateFileIfMissing(path, "share store"); !s.ok()) return s;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  // Owns `db` from here, so every early return below closes it.
  std::unique_ptr<ShareDatabase> database(new ShareDatabase(path, db));
  if (rc != SQLITE_OK) return database->Error(rc, "cannot open");
  // SQLite falls back to read-only when it cannot write; a vault node must be able to.
  if (sqlite3_db_readonly(db, "main") != 0) {
    return Status::PermissionDenied("share store " + path + " is not writable");
  }
  if (Status s = database->Init(); !s.ok()) return s;
  *out = std::move(database);
  return Status::OK();
}

ShareDatabase::~ShareDatabase() { sqlite3_close_v2(db_); }

Status ShareDatabase::Init() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // The file is outside input: no writable schema, no functions from triggers or views,
  // no huge values.
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kMaxValueBytes);
  // Identify the file before writing to it: never convert someone else's database to WAL.
  Status s = Identify();
  if (!s.ok()) return s;

  std::string mode;
  if (s = QueryText("PRAGMA journal_mode = WAL", &mode); !s.ok()) return s;
  if (mode != "wal") {
    return Status::IOError("share store " + path_ + ": cannot use WAL journaling (got '" + mode +
                           "'); is the data dir on a network file system?");
  }
  // FULL syncs the WAL at every commit: a share is on disk before PutShare returns.
  // secure_delete overwrites deleted content with zeros instead of leaving it in free pages.
  const std::pair<const char*, const char*> pragmas[] = {
      {"PRAGMA synchronous = FULL", "cannot set synchronous=FULL"},
      {"PRAGMA secure_delete = ON", "cannot enable secure_delete"},
      {"PRAGMA foreign_keys = ON", "cannot enable foreign keys"},
  };
  for (const auto& [sql, what] : pragmas) {
    if (s = Exec(sql, what); !s.ok()) return s;
  }
  int64_t secure_delete = 0;
  if (s = QueryInt("PRAGMA secure_delete", &secure_delete); !s.ok()) return s;
  if (secure_delete != 1) {
    return Status::IOError("share store " + path_ + ": this SQLite cannot enable secure_delete");
  }
  return Migrate();
}

Status ShareDatabase::Identify() {
  bool fresh = false;
  return mesh::sqlite::Identify(db_, path_, "share store", kApplicationId, kSchemaVersion, &fresh);
}

Status ShareDatabase::Migrate() {
  // IMMEDIATE takes the write lock first, so two processes cannot both migrate.
  Status s = Exec("BEGIN IMMEDIATE", "cannot start the schema update");
  if (!s.ok()) return s;
  int64_t version = 0;
  s = QueryInt("PRAGMA user_version", &version);
  // Another process may have upgraded the file since Identify.
  if (s.ok() && version > kSchemaVersion) {
    s = Status::InvalidArgument("share store " + path_ + " has schema version " +
                                std::to_string(version) + ", newer than this meshvault's " +
                                std::to_string(kSchemaVersion));
  }
  for (const Migration& m : kMigrations) {
    if (!s.ok()) break;
    if (m.version <= version) continue;
    s = Exec(m.sql, "cannot update the schema to version " + std::to_string(m.version));
    if (s.ok()) {
      // PRAGMA takes no parameters; the value is our own constant.
      const std::string set = "PRAGMA user_version = " + std::to_string(m.version);
      s = Exec(set.c_str(), "cannot set the schema version");
    }
  }
  if (s.ok()) s = Exec("COMMIT", "cannot commit the schema update");
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Status ShareDatabase::Prepare(const char* sql, sqlite3_stmt** stmt) {
  return mesh::sqlite::Prepare(db_, sql, "share store " + path_, stmt);
}

Status ShareDatabase::Exec(const char* sql, std::string_view what) {
  return mesh::sqlite::Exec(db_, sql, "share store " + path_, what);
}

Status ShareDatabase::QueryInt(const char* sql, int64_t* value) {
  return mesh::sqlite::QueryInt(db_, sql, "share store " + path_, value);
}

Status ShareDatabase::QueryText(const char* sql, std::string* value) {
  return mesh::sqlite::QueryText(db_, sql, "share store " + path_, value);
}

Status ShareDatabase::Error(int rc, std::string_view what) const {
  return mesh::sqlite::Error(db_, rc, "share store " + path_, what);
}

}  // namespace vault
