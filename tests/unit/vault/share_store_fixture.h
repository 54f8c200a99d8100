// Shared helpers for the ShareStore tests: a temporary data dir, opening, sample rows.
#ifndef TESTS_UNIT_VAULT_SHARE_STORE_FIXTURE_H_
#define TESTS_UNIT_VAULT_SHARE_STORE_FIXTURE_H_

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "mesh/key_files.h"
#include "vault/share_store.h"

namespace {

using mesh::Status;

// The manifest the test shares are stored under.
constexpr std::array<uint8_t, vault::kManifestIdBytes> kManifestId{7, 7, 7};
using vault::AuditRecord;
using vault::ManifestRow;
using vault::RequestNonce;
using vault::ShareStore;
using vault::StoredShare;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr size_t kMaxPayload = 2 * 1024 * 1024;

// A directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/meshvault-shares-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<ShareStore> OpenOk(const std::string& dir) {
  std::unique_ptr<ShareStore> store;
  const Status s = ShareStore::Open(dir, &store);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(store != nullptr);
  return store;
}

Status OpenStatus(const std::string& dir) {
  std::unique_ptr<ShareStore> store;
  return ShareStore::Open(dir, &store);
}

std::vector<uint8_t> RandomBytes(size_t n) {
  REQUIRE(mesh::InitSodium().ok());
  std::vector<uint8_t> out(n);
  randombytes_buf(out.data(), out.size());
  return out;
}

std::vector<uint8_t> Sig(uint8_t fill) { return std::vector<uint8_t>(64, fill); }

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

void Put(ShareStore& store, const std::string& name, uint64_t version,
         const std::vector<uint8_t>& payload, int64_t now_ms = 1000) {
  const Status s = store.PutShare(name, version, payload, Sig(7), kManifestId, now_ms);
  INFO(s.ToString());
  REQUIRE(s.ok());
}

StoredShare Get(ShareStore& store, const std::string& name, uint64_t version) {
  StoredShare share;
  const Status s = store.GetShare(name, version, &share);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return share;
}

std::vector<uint8_t> PayloadOf(const StoredShare& share) {
  return {share.payload.data(), share.payload.data() + share.payload.size()};
}

bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Runs SQL on vault.db directly, bypassing ShareStore, to fake damage and other writers.
void RawExec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// Reads blob column `column` of shares row (name, version).
std::vector<uint8_t> RawBlob(const std::string& db_path, const std::string& column,
                             const std::string& name, uint64_t version) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  const std::string sql = "SELECT " + column + " FROM shares WHERE name = ?1 AND version = ?2";
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(version));
  std::vector<uint8_t> out;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
    out.assign(p, p + sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_ROW);
  return out;
}

void RawSetBlob(const std::string& db_path, const std::string& column, const std::string& name,
                uint64_t version, const std::vector<uint8_t>& value) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  const std::string sql = "UPDATE shares SET " + column + " = ?3 WHERE name = ?1 AND version = ?2";
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(version));
  sqlite3_bind_blob(stmt, 3, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt);
  const int changes = sqlite3_changes(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_DONE);
  REQUIRE(changes == 1);
}

int64_t RawCount(const std::string& db_path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = "SELECT count(*) FROM " + table;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

// Whether `needle` occurs in the raw bytes of any file in `dir`.
bool AnyFileContains(const std::string& dir, const std::vector<uint8_t>& needle) {
  const std::string n(needle.begin(), needle.end());
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (Contains(bytes, n)) return true;
  }
  return false;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

RequestNonce Nonce(uint8_t n) {
  RequestNonce nonce{};
  nonce.fill(n);
  return nonce;
}

AuditRecord Audit(const std::string& name, int64_t time_ms, const std::string& outcome) {
  AuditRecord r;
  r.time_ms = time_ms;
  r.name = name;
  r.version = 3;
  r.action = "get";
  r.client = "alice";
  r.client_id = std::string(64, 'a');
  r.outcome = outcome;
  return r;
}

}  // namespace

#endif  // TESTS_UNIT_VAULT_SHARE_STORE_FIXTURE_H_
