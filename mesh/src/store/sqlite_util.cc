#include "store/sqlite_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mesh::sqlite {

namespace {

std::string Errno() { return std::strerror(errno); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Status CreateFileIfMissing(const std::string& path, std::string_view store) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return Status::IOError("cannot stat " + path + ": " + Errno());
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument(std::string(store) + " " + path + " is not a regular file");
    }
    return Status::OK();
  }
  if (fd < 0) {
    return Status::IOError("cannot create " + std::string(store) + " " + path + ": " + Errno());
  }
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

Status Error(sqlite3* db, int rc, std::string_view store, std::string_view what) {
  std::string msg = std::string(store) + ": " + std::string(what) + ": " +
                    (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
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

Status Exec(sqlite3* db, const char* sql, std::string_view store, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::OK() : Error(db, rc, store, what);
}

namespace {

// Steps a one-row statement; *stmt holds it for the caller to read column 0.
Status QueryRow(sqlite3* db, const char* sql, std::string_view store, UniqueStmt* stmt) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  stmt->reset(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  return rc == SQLITE_ROW ? Status::OK() : Error(db, rc, store, "cannot read");
}

}  // namespace

Status QueryInt(sqlite3* db, const char* sql, std::string_view store, int64_t* value) {
  UniqueStmt stmt;
  if (Status s = QueryRow(db, sql, store, &stmt); !s.ok()) return s;
  *value = sqlite3_column_int64(stmt.get(), 0);
  return Status::OK();
}

Status QueryText(sqlite3* db, const char* sql, std::string_view store, std::string* value) {
  UniqueStmt stmt;
  if (Status s = QueryRow(db, sql, store, &stmt); !s.ok()) return s;
  const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
  value->assign(text ? reinterpret_cast<const char*>(text) : "",
                static_cast<size_t>(sqlite3_column_bytes(stmt.get(), 0)));
  return Status::OK();
}

Status Identify(sqlite3* db, const std::string& path, std::string_view kind, int64_t app_id,
                int64_t max_version, bool* fresh) {
  const std::string store = std::string(kind) + " " + path;
  int64_t found_id = 0;
  int64_t version = 0;
  int64_t objects = 0;
  Status s = QueryInt(db, "PRAGMA application_id", store, &found_id);
  if (s.code() == Status::Code::kCorruption) {
    return Status::Corruption(path + " is not a meshvault " + std::string(kind) +
                              ", or is damaged (" + sqlite3_errmsg(db) + ")");
  }
  if (s.ok()) s = QueryInt(db, "PRAGMA user_version", store, &version);
  if (s.ok()) s = QueryInt(db, "SELECT count(*) FROM sqlite_master", store, &objects);
  if (!s.ok()) return s;
  *fresh = found_id == 0 && version == 0 && objects == 0;
  if (!*fresh && found_id != app_id) {
    return Status::Corruption(path + " is not a meshvault " + std::string(kind));
  }
  if (version > max_version) {
    return Status::InvalidArgument(store + " has schema version " + std::to_string(version) +
                                   ", but this meshvault knows only up to " +
                                   std::to_string(max_version) +
                                   "; run a newer meshvault or move the file aside");
  }
  if (*fresh) return Status::OK();
  if (version < 1) {
    return Status::Corruption(store + " has an invalid schema version " + std::to_string(version));
  }
  std::string check;
  if (s = QueryText(db, "PRAGMA quick_check(1)", store, &check); !s.ok()) return s;
  if (check != "ok") return Status::Corruption(store + " is damaged: " + check);
  return Status::OK();
}

Status Prepare(sqlite3* db, const char* sql, std::string_view store, sqlite3_stmt** stmt) {
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  if (rc == SQLITE_ERROR) {
    return Status::Corruption(std::string(store) +
                              " does not have the expected tables: " + sqlite3_errmsg(db));
  }
  return rc == SQLITE_OK ? Status::OK() : Error(db, rc, store, "cannot prepare a statement");
}

}  // namespace mesh::sqlite
