#include "vault/share_store.h"

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

TEST_CASE("a share round-trips through put, commit and get", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  const auto payload = RandomBytes(100);
  REQUIRE(store->PutShare("db/password", 4, payload, Sig(9), kManifestId, 1'700'000'000'123).ok());

  StoredShare share = Get(*store, "db/password", 4);
  CHECK(share.name == "db/password");
  CHECK(share.version == 4);
  CHECK_FALSE(share.committed);
  CHECK(share.stored_ms == 1'700'000'000'123);
  CHECK(PayloadOf(share) == payload);
  CHECK(share.dealer_signature == Sig(9));
  CHECK(share.manifest_id == std::vector<uint8_t>(kManifestId.begin(), kManifestId.end()));

  // Only the manifest the share was stored under commits it.
  std::array<uint8_t, vault::kManifestIdBytes> other = kManifestId;
  other[31] ^= 1;
  CHECK(store->CommitShare("db/password", 4, other).code() == Status::Code::kNotFound);
  CHECK_FALSE(Get(*store, "db/password", 4).committed);

  REQUIRE(store->CommitShare("db/password", 4, kManifestId).ok());
  CHECK(Get(*store, "db/password", 4).committed);
  int64_t count = 0;
  REQUIRE(store->CountShares(&count).ok());
  CHECK(count == 1);

  StoredShare missing;
  CHECK(store->GetShare("db/password", 5, &missing).code() == Status::Code::kNotFound);
  CHECK(store->GetShare("other", 4, &missing).code() == Status::Code::kNotFound);
  CHECK(store->CommitShare("db/password", 5, kManifestId).code() == Status::Code::kNotFound);

  // The largest payload and a name of exactly the limit are accepted.
  const std::string long_name(256, 'n');
  const auto big = RandomBytes(kMaxPayload);
  Put(*store, long_name, 1, big);
  CHECK(PayloadOf(Get(*store, long_name, 1)) == big);
}

TEST_CASE("a repeated put replaces the share and uncommits it", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  Put(*store, "s", 1, Bytes("first"), 100);
  REQUIRE(store->CommitShare("s", 1, kManifestId).ok());
  Put(*store, "s", 1, Bytes("second share"), 200);
  const StoredShare share = Get(*store, "s", 1);
  CHECK(PayloadOf(share) == Bytes("second share"));
  CHECK(share.stored_ms == 200);
  CHECK_FALSE(share.committed);
  int64_t count = 0;
  REQUIRE(store->CountShares(&count).ok());
  CHECK(count == 1);
}

TEST_CASE("shares are deleted below a version or all of them", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  for (uint64_t v = 1; v <= 3; ++v) Put(*store, "a", v, Bytes("a" + std::to_string(v)));
  Put(*store, "b", 1, Bytes("b1"));

  int removed = -1;
  REQUIRE(store->DeleteShares("a", 3, &removed).ok());
  CHECK(removed == 2);
  StoredShare share;
  CHECK(store->GetShare("a", 1, &share).code() == Status::Code::kNotFound);
  CHECK(store->GetShare("a", 2, &share).code() == Status::Code::kNotFound);
  CHECK(PayloadOf(Get(*store, "a", 3)) == Bytes("a3"));

  REQUIRE(store->DeleteShares("a", 3, &removed).ok());
  CHECK(removed == 0);
  // The largest storable version is deleted by "all" too.
  Put(*store, "a", static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), Bytes("max"));
  REQUIRE(store->DeleteShares("a", kU64Max, &removed).ok());
  CHECK(removed == 2);
  CHECK(PayloadOf(Get(*store, "b", 1)) == Bytes("b1"));
  int64_t count = 0;
  REQUIRE(store->CountShares(&count).ok());
  CHECK(count == 1);
}

TEST_CASE("pruning drops only old uncommitted shares", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  Put(*store, "old-uncommitted", 1, Bytes("x"), 100);
  Put(*store, "old-committed", 1, Bytes("y"), 100);
  REQUIRE(store->CommitShare("old-committed", 1, kManifestId).ok());
  Put(*store, "new-uncommitted", 1, Bytes("z"), 300);

  int removed = -1;
  REQUIRE(store->PruneUncommitted(200, &removed).ok());
  CHECK(removed == 1);
  StoredShare share;
  CHECK(store->GetShare("old-uncommitted", 1, &share).code() == Status::Code::kNotFound);
  CHECK(store->GetShare("old-committed", 1, &share).ok());
  CHECK(store->GetShare("new-uncommitted", 1, &share).ok());
  REQUIRE(store->PruneUncommitted(200, &removed).ok());
  CHECK(removed == 0);
}

TEST_CASE("a manifest is kept only when newer", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  bool stored = false;
  REQUIRE(store->PutManifest({"m", 2, false, Bytes("v2")}, &stored).ok());
  CHECK(stored);
  REQUIRE(store->PutManifest({"m", 1, false, Bytes("v1")}, &stored).ok());
  CHECK_FALSE(stored);
  REQUIRE(store->PutManifest({"m", 2, true, Bytes("v2 again")}, &stored).ok());
  CHECK_FALSE(stored);
  ManifestRow row;
  REQUIRE(store->GetManifest("m", &row).ok());
  CHECK(row.name == "m");
  CHECK(row.version == 2);
  CHECK_FALSE(row.deleted);
  CHECK(row.encoded == Bytes("v2"));

  REQUIRE(store->PutManifest({"m", 3, true, Bytes("tombstone")}, &stored).ok());
  CHECK(stored);
  REQUIRE(store->GetManifest("m", &row).ok());
  CHECK(row.version == 3);
  CHECK(row.deleted);
  CHECK(row.encoded == Bytes("tombstone"));

  CHECK(store->GetManifest("absent", &row).code() == Status::Code::kNotFound);

  REQUIRE(store->PutManifest({"c", 1, false, Bytes("c")}, &stored).ok());
  REQUIRE(store->PutManifest({"a", 1, false, Bytes("a")}, &stored).ok());
  REQUIRE(store->PutManifest({"b", 7, false, Bytes("b")}, &stored).ok());
  std::vector<ManifestRow> rows;
  REQUIRE(store->ListManifests(&rows).ok());
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].name == "a");
  CHECK(rows[1].name == "b");
  CHECK(rows[1].version == 7);
  CHECK(rows[2].name == "c");
  CHECK(rows[3].name == "m");
}

TEST_CASE("a replayed nonce is refused and old nonces are pruned", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  REQUIRE(store->RecordNonce(Nonce(1), 1000, 0).ok());
  const Status replay = store->RecordNonce(Nonce(1), 1500, 0);
  CHECK(replay.code() == Status::Code::kPermissionDenied);
  CHECK(replay.message() == "replayed request");
  REQUIRE(store->RecordNonce(Nonce(2), 3000, 0).ok());
  CHECK(RawCount(dir.File("vault.db"), "nonces") == 2);

  // Recording nonce 3 at 5000 drops everything before 2000: nonce 1 goes, nonce 2 stays.
  REQUIRE(store->RecordNonce(Nonce(3), 5000, 2000).ok());
  CHECK(RawCount(dir.File("vault.db"), "nonces") == 2);
  CHECK(store->RecordNonce(Nonce(2), 5001, 2000).code() == Status::Code::kPermissionDenied);
  CHECK(store->RecordNonce(Nonce(1), 5002, 2000).ok());
  CHECK(RawCount(dir.File("vault.db"), "nonces") == 3);
}

TEST_CASE("the audit log lists the newest records of a name, oldest first", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(store->AppendAudit(Audit("a", i, "granted")).ok());
    REQUIRE(store->AppendAudit(Audit("b", 100 + i, "denied: not a reader")).ok());
  }
  std::vector<AuditRecord> records;
  REQUIRE(store->ListAudit("a", 3, &records).ok());
  REQUIRE(records.size() == 3);
  CHECK(records[0].time_ms == 3);
  CHECK(records[1].time_ms == 4);
  CHECK(records[2].time_ms == 5);
  const AuditRecord& r = records[2];
  CHECK(r.name == "a");
  CHECK(r.version == 3);
  CHECK(r.action == "get");
  CHECK(r.client == "alice");
  CHECK(r.client_id == std::string(64, 'a'));
  CHECK(r.outcome == "granted");

  REQUIRE(store->ListAudit("b", 100, &records).ok());
  REQUIRE(records.size() == 5);
  CHECK(records.front().time_ms == 101);
  CHECK(records.back().outcome == "denied: not a reader");
  REQUIRE(store->ListAudit("b", 0, &records).ok());
  CHECK(records.empty());
  REQUIRE(store->ListAudit("nobody", 10, &records).ok());
  CHECK(records.empty());
}

TEST_CASE("everything persists across a reopen", "[share_store]") {
  TempDir dir;
  const auto payload = RandomBytes(300);
  {
    auto store = OpenOk(dir.path());
    Put(*store, "p", 2, payload, 42);
    REQUIRE(store->CommitShare("p", 2, kManifestId).ok());
    bool stored = false;
    REQUIRE(store->PutManifest({"p", 2, false, Bytes("manifest")}, &stored).ok());
    REQUIRE(store->RecordNonce(Nonce(5), 10, 0).ok());
    REQUIRE(store->AppendAudit(Audit("p", 11, "granted")).ok());
  }
  auto store = OpenOk(dir.path());
  const StoredShare share = Get(*store, "p", 2);
  CHECK(PayloadOf(share) == payload);
  CHECK(share.committed);
  CHECK(share.stored_ms == 42);
  ManifestRow row;
  REQUIRE(store->GetManifest("p", &row).ok());
  CHECK(row.encoded == Bytes("manifest"));
  CHECK(store->RecordNonce(Nonce(5), 20, 0).code() == Status::Code::kPermissionDenied);
  std::vector<AuditRecord> records;
  REQUIRE(store->ListAudit("p", 10, &records).ok());
  CHECK(records.size() == 1);
}

TEST_CASE("the data dir is 0700, the key 0600, and an open key file is refused", "[share_store]") {
  TempDir parent;
  const std::string dir = parent.File("node");
  { auto store = OpenOk(dir); }
  CHECK(ModeOf(dir) == 0700);
  const std::string key = dir + "/vault.key";
  CHECK(ModeOf(key) == 0600);
  CHECK(ModeOf(dir + "/vault.db") == 0600);
  std::ifstream f(key);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(Contains(text, "-----BEGIN MESHVAULT STORAGE KEY-----\n"));
  mesh::SecureBuffer raw;
  REQUIRE(mesh::Dearmor(text, "MESHVAULT STORAGE KEY", &raw).ok());
  CHECK(raw.size() == vault::kStorageKeyBytes);

  for (const mode_t mode : {0644, 0640, 0604, 0610}) {
    REQUIRE(chmod(key.c_str(), mode) == 0);
    const Status s = OpenStatus(dir);
    CHECK(s.code() == Status::Code::kPermissionDenied);
    CHECK(Contains(s.message(), "chmod 600"));
  }
  REQUIRE(chmod(key.c_str(), 0600) == 0);
  OpenOk(dir);
  CHECK(OpenStatus("").code() == Status::Code::kInvalidArgument);
}

TEST_CASE("a damaged, missing or different key file is refused", "[share_store]") {
  TempDir dir;
  const std::string key = dir.File("vault.key");
  const auto payload = RandomBytes(64);
  { Put(*OpenOk(dir.path()), "s", 1, payload); }

  // Another valid key cannot decrypt the share.
  REQUIRE(std::filesystem::remove(key));
  const std::vector<uint8_t> other = RandomBytes(32);
  const mesh::SecureBuffer armored = mesh::Armor("MESHVAULT STORAGE KEY", other);
  REQUIRE(mesh::WriteFileDurably(key, armored.span(), 0600, false).ok());
  {
    auto store = OpenOk(dir.path());
    StoredShare share;
    CHECK(store->GetShare("s", 1, &share).code() == Status::Code::kCorruption);
  }

  // A missing key is not silently replaced while shares sealed with it exist.
  REQUIRE(std::filesystem::remove(key));
  Status s = OpenStatus(dir.path());
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(Contains(s.message(), "restore vault.key"));
  CHECK_FALSE(std::filesystem::exists(key));

  WriteFile(key, "not a key\n");
  REQUIRE(chmod(key.c_str(), 0600) == 0);
  CHECK(OpenStatus(dir.path()).code() == Status::Code::kInvalidArgument);
  const mesh::SecureBuffer short_key = mesh::Armor("MESHVAULT STORAGE KEY", RandomBytes(31));
  WriteFile(key, std::string(short_key.view()));
  s = OpenStatus(dir.path());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "31 bytes"));
}

TEST_CASE("a tampered share fails authentication", "[share_store]") {
  TempDir dir;
  const std::string db = dir.File("vault.db");
  auto store = OpenOk(dir.path());
  Put(*store, "s", 1, RandomBytes(64));

  std::vector<uint8_t> ciphertext = RawBlob(db, "ciphertext", "s", 1);
  REQUIRE(ciphertext.size() == 64 + 16);
  ciphertext[10] ^= 0x01;
  RawSetBlob(db, "ciphertext", "s", 1, ciphertext);
  StoredShare share;
  const Status s = store->GetShare("s", 1, &share);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message() == "stored share for s v1 failed authentication");
  CHECK(share.payload.empty());

  // Damage the store cannot mistake for a share: wrong sizes and types.
  Put(*store, "t", 1, RandomBytes(64));
  RawSetBlob(db, "nonce", "t", 1, RandomBytes(23));
  CHECK(store->GetShare("t", 1, &share).code() == Status::Code::kCorruption);
  Put(*store, "t", 1, RandomBytes(64));
  RawSetBlob(db, "dealer_signature", "t", 1, RandomBytes(65));
  CHECK(store->GetShare("t", 1, &share).code() == Status::Code::kCorruption);
  Put(*store, "t", 1, RandomBytes(64));
  RawExec(db, "UPDATE shares SET committed = 'yes' WHERE name = 't'");
  CHECK(store->GetShare("t", 1, &share).code() == Status::Code::kCorruption);
}

TEST_CASE("a ciphertext moved to another row fails authentication", "[share_store]") {
  TempDir dir;
  const std::string db = dir.File("vault.db");
  auto store = OpenOk(dir.path());
  Put(*store, "a", 1, RandomBytes(64));
  Put(*store, "b", 1, RandomBytes(64));
  Put(*store, "a", 2, RandomBytes(64));
  const auto nonce = RawBlob(db, "nonce", "a", 1);
  const auto ciphertext = RawBlob(db, "ciphertext", "a", 1);
  for (const auto& [name, version] : {std::pair<std::string, uint64_t>{"b", 1}, {"a", 2}}) {
    RawSetBlob(db, "nonce", name, version, nonce);
    RawSetBlob(db, "ciphertext", name, version, ciphertext);
    StoredShare share;
    const Status s = store->GetShare(name, version, &share);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "failed authentication"));
  }
  StoredShare original;
  CHECK(store->GetShare("a", 1, &original).ok());
}

TEST_CASE("a database from a newer schema or another application is refused", "[share_store]") {
  TempDir dir;
  const std::string db = dir.File("vault.db");
  { OpenOk(dir.path()); }
  RawExec(db, "PRAGMA user_version = 2");
  Status s = OpenStatus(dir.path());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "schema version 2"));
  CHECK(Contains(s.message(), "newer meshvault"));
  RawExec(db, "PRAGMA user_version = 1");
  OpenOk(dir.path());

  RawExec(db, "PRAGMA application_id = 1297502291");  // a peer store's
  CHECK(OpenStatus(dir.path()).code() == Status::Code::kCorruption);

  TempDir other;
  WriteFile(other.File("vault.db"), std::string(4096, 'x'));
  CHECK(OpenStatus(other.path()).code() == Status::Code::kCorruption);
}

TEST_CASE("no plaintext share reaches the disk, and deleted ciphertext is scrubbed",
          "[share_store]") {
  TempDir dir;
  const std::string db = dir.File("vault.db");
  auto store = OpenOk(dir.path());
  const auto small = RandomBytes(64);
  const auto large = RandomBytes(200 * 1024);  // spills into overflow pages
  const std::vector<uint8_t> large_part(large.begin() + 100'000, large.begin() + 100'064);
  Put(*store, "small", 1, small);
  Put(*store, "large", 1, large);
  REQUIRE(store->CommitShare("small", 1, kManifestId).ok());
  CHECK(PayloadOf(Get(*store, "small", 1)) == small);
  const auto small_ct = RawBlob(db, "ciphertext", "small", 1);
  const auto large_ct = RawBlob(db, "ciphertext", "large", 1);
  const std::vector<uint8_t> large_ct_part(large_ct.begin() + 100'000, large_ct.begin() + 100'064);
  CHECK_FALSE(AnyFileContains(dir.path(), small));
  CHECK_FALSE(AnyFileContains(dir.path(), large_part));
  CHECK(AnyFileContains(dir.path(), small_ct));

  int removed = 0;
  REQUIRE(store->DeleteShares("small", kU64Max, &removed).ok());
  REQUIRE(store->PruneUncommitted(2000, &removed).ok());
  REQUIRE(removed == 1);
  CHECK_FALSE(AnyFileContains(dir.path(), small));
  CHECK_FALSE(AnyFileContains(dir.path(), large_part));
  CHECK_FALSE(AnyFileContains(dir.path(), small_ct));
  CHECK_FALSE(AnyFileContains(dir.path(), large_ct_part));
}

TEST_CASE("invalid input is rejected with a specific message", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  const auto payload = RandomBytes(32);
  auto put = [&](const std::string& name, uint64_t version, const std::vector<uint8_t>& p,
                 const std::vector<uint8_t>& sig) {
    return store->PutShare(name, version, p, sig, kManifestId, 1);
  };
  const std::pair<Status, const char*> cases[] = {
      {put("", 1, payload, Sig(1)), "the secret name is empty"},
      {put(std::string(257, 'n'), 1, payload, Sig(1)), "257 bytes; the limit is 256"},
      {put(std::string("a\0b", 3), 1, payload, Sig(1)), "contains a NUL byte"},
      {put("s", 1, {}, Sig(1)), "is empty"},
      {put("s", 1, RandomBytes(kMaxPayload + 1), Sig(1)), "the limit is 2097152"},
      {put("s", 1, payload, std::vector<uint8_t>(63, 1)), "63 bytes; expected 64"},
      {put("s", 1, payload, std::vector<uint8_t>(65, 1)), "65 bytes; expected 64"},
      {put("s", kU64Max, payload, Sig(1)), "over the largest storable version"},
      {store->CommitShare("", 1, kManifestId), "the secret name is empty"},
      {store->DeleteShares(std::string(300, 'x'), 1, nullptr), "the limit is 256"},
      {store->PutManifest({"m", 1, false, {}}, nullptr), "expected 1 to 1048576"},
      {store->PutManifest({"", 1, false, Bytes("x")}, nullptr), "the secret name is empty"},
      {store->AppendAudit(Audit("a", 1, "")), "the audit outcome is empty"},
      {store->AppendAudit(Audit("a", 1, std::string("x\0y", 3))), "outcome contains a NUL"},
      {store->ListAudit(std::string("\0", 1), 1, nullptr), "contains a NUL byte"},
  };
  for (const auto& [status, expected] : cases) {
    INFO(status.ToString());
    CHECK(status.code() == Status::Code::kInvalidArgument);
    CHECK(Contains(status.message(), expected));
  }
  int64_t count = -1;
  REQUIRE(store->CountShares(&count).ok());
  CHECK(count == 0);
}

TEST_CASE("concurrent calls are serialised", "[share_store]") {
  TempDir dir;
  auto store = OpenOk(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string name = "t" + std::to_string(t);
        const std::vector<uint8_t> payload(40, static_cast<uint8_t>(t * 16 + i));
        if (!store->PutShare(name, static_cast<uint64_t>(i), payload, Sig(1), kManifestId, i).ok())
          return;
        StoredShare share;
        if (!store->GetShare(name, static_cast<uint64_t>(i), &share).ok()) return;
        if (share.payload.size() != 40 || share.payload.data()[0] != payload[0]) return;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  int64_t count = 0;
  REQUIRE(store->CountShares(&count).ok());
  CHECK(count == 40);
}
