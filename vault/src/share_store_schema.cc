#include "share_store_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

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

std::string Errno() { return std::strerror(errno); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Creates an empty `path` with mode 0600 unless it exists; SQLite then gives its -wal and
// -shm files the same mode.
Status CreateFileIfMissing(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return Status::IOError("cannot stat " + path + ": " + Errno());
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument("share store " + path + " is not a regular file");
    }
    return Status::OK();
  }
  if (fd < 0) return Status::IOError("cannot create share store " + path + ": " + Errno());
  Status s;
  // The umask can only clear bits, but make the mode exact.
  if (::fchmod(fd, 0600) != 0) s = Status::IOError("cannot chmod " + path + ": " + Errno());
  ::close(fd);
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  // Make the new directory entry durable before anything relies on the file.
  const int dir = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::OK();
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using UniqueStmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

}  // namespace

Status ShareDatabase::Open(const std::string& path, std::unique_ptr<ShareDatabase>* out) {
  if (Status s = CreateFileIfMissing(path); !s.ok()) return s;
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
  int64_t app_id = 0;
  int64_t version = 0;
  int64_t objects = 0;
  Status s = QueryInt("PRAGMA application_id", &app_id);
  if (s.code() == Status::Code::kCorruption) {
    return Status::Corruption(path_ + " is not a meshvault share store, or is damaged (" +
                              sqlite3_errmsg(db_) + ")");
  }
  if (s.ok()) s = QueryInt("PRAGMA user_version", &version);
  if (s.ok()) s = QueryInt("SELECT count(*) FROM sqlite_master", &objects);
  if (!s.ok()) return s;
  const bool fresh = app_id == 0 && version == 0 && objects == 0;
  if (!fresh && app_id != kApplicationId) {
    return Status::Corruption(path_ + " is not a meshvault share store");
  }
  if (version > kSchemaVersion) {
    return Status::InvalidArgument("share store " + path_ + " has schema version " +
                                   std::to_string(version) + ", but this meshvault knows only " +
                                   "up to " + std::to_string(kSchemaVersion) +
                                   "; run a newer meshvault or move the file aside");
  }
  if (!fresh && version < 1) {
    return Status::Corruption("share store " + path_ + " has an invalid schema version " +
                              std::to_string(version));
  }
  if (!fresh) {
    std::string check;
    if (s = QueryText("PRAGMA quick_check(1)", &check); !s.ok()) return s;
    if (check != "ok") return Status::Corruption("share store " + path_ + " is damaged: " + check);
  }
  return Status::OK();
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
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  if (rc == SQLITE_ERROR) {
    // Our SQL is fixed, so a file of a known version whose tables do not fit it is damaged.
    return Status::Corruption("share store " + path_ +
                              " does not have the expected tables: " + sqlite3_errmsg(db_));
  }
  return rc == SQLITE_OK ? Status::OK() : Error(rc, "cannot prepare a statement");
}

Status ShareDatabase::Exec(const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::OK() : Error(rc, what);
}

Status ShareDatabase::QueryInt(const char* sql, int64_t* value) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
  UniqueStmt stmt(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return Error(rc, "cannot read");
  *value = sqlite3_column_int64(raw, 0);
  return Status::OK();
}

Status ShareDatabase::QueryText(const char* sql, std::string* value) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
  UniqueStmt stmt(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return Error(rc, "cannot read");
  const unsigned char* text = sqlite3_column_text(raw, 0);
  value->assign(text ? reinterpret_cast<const char*>(text) : "",
                static_cast<size_t>(sqlite3_column_bytes(raw, 0)));
  return Status::OK();
}

Status ShareDatabase::Error(int rc, std::string_view what) const {
  std::string msg = "share store " + path_ + ": " + std::string(what) + ": " +
                    (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_TOOBIG:  // writes are size-checked first, so only a read of the file hits it
      return Status::Corruption(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg + " (is another process using it?)");
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return Status::PermissionDenied(std::move(msg));
    case SQLITE_NOMEM:
    case SQLITE_FULL:
      return Status::ResourceExhausted(std::move(msg));
    default:
      return Status::IOError(std::move(msg));
  }
}

}  // namespace vault
