#include "store/peer_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <span>
#include <utility>

#include "store/sqlite_util.h"

namespace mesh {
namespace {

using sqlite::ScopedReset;

// PRAGMA application_id of a meshvault peer store: "MVPS".
constexpr int64_t kApplicationId = 0x4D565053;
constexpr int kBusyTimeoutMs = 5000;
// Largest string or blob SQLite will hand back: a damaged or hostile file cannot make a read
// allocate more. Every legitimate value is far smaller.
constexpr int kMaxValueBytes = 64 * 1024;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

constexpr char kSchemaV1[] = R"sql(
CREATE TABLE peers (
  id BLOB NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  member_record BLOB NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  connect_successes INTEGER NOT NULL DEFAULT 0,
  connect_failures INTEGER NOT NULL DEFAULT 0,
  addresses_received INTEGER NOT NULL DEFAULT 0,
  addresses_sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX peers_by_last_seen ON peers (last_seen_ms, id);
CREATE TABLE counters (key TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL);
PRAGMA application_id = 1297502291;
PRAGMA user_version = 1;
)sql";
static_assert(kApplicationId == 1297502291 && PeerStore::kSchemaVersion == 1,
              "kSchemaV1 must set the current application_id and user_version");

constexpr char kUpsertSql[] = R"sql(
INSERT INTO peers (id, name, address, member_record, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address,
  member_record = excluded.member_record,
  last_seen_ms = max(last_seen_ms, excluded.last_seen_ms))sql";
// Counters saturate at INT64_MAX: past it SQLite would switch to floating point.
constexpr char kConnectOkSql[] = R"sql(
UPDATE peers SET
  connect_successes = connect_successes + (connect_successes < 9223372036854775807),
  last_seen_ms = max(last_seen_ms, ?2)
WHERE id = ?1)sql";
constexpr char kConnectFailedSql[] = R"sql(
UPDATE peers SET connect_failures = connect_failures + (connect_failures < 9223372036854775807)
WHERE id = ?1)sql";
// ?2 and ?3 are in [0, INT64_MAX], so the subtractions cannot overflow.
constexpr char kAddAddressesSql[] = R"sql(
UPDATE peers SET
  addresses_received = CASE WHEN addresses_received > 9223372036854775807 - ?2
    THEN 9223372036854775807 ELSE addresses_received + ?2 END,
  addresses_sent = CASE WHEN addresses_sent > 9223372036854775807 - ?3
    THEN 9223372036854775807 ELSE addresses_sent + ?3 END
WHERE id = ?1)sql";
constexpr char kLoadSql[] = R"sql(
SELECT rowid, id, name, address, member_record, last_seen_ms, connect_successes,
  connect_failures, addresses_received, addresses_sent
FROM peers ORDER BY last_seen_ms DESC, id DESC LIMIT ?1)sql";
constexpr char kRemoveSql[] = "DELETE FROM peers WHERE id = ?1";
constexpr char kPruneSql[] = "DELETE FROM peers WHERE last_seen_ms < ?1";
constexpr char kGetCounterSql[] = "SELECT value FROM counters WHERE key = ?1";
constexpr char kSetCounterSql[] = R"sql(
INSERT INTO counters (key, value) VALUES (?1, ?2)
ON CONFLICT (key) DO UPDATE SET value = excluded.value)sql";

// Bound with SQLITE_STATIC: the caller's data outlives the step, and ScopedReset unbinds it.
int BindBlob(sqlite3_stmt* stmt, int index, std::span<const uint8_t> bytes) {
  // A null pointer would bind NULL rather than an empty blob.
  if (bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
  return sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()),
                           SQLITE_STATIC);
}

int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text(stmt, index, text.empty() ? "" : text.data(),
                           static_cast<int>(text.size()), SQLITE_STATIC);
}

// Binds an unsigned amount as an SQLite integer, saturating.
int64_t Clamp(uint64_t v) {
  return v > static_cast<uint64_t>(kInt64Max) ? kInt64Max : static_cast<int64_t>(v);
}

Status CheckCounterKey(std::string_view key) {
  if (key.empty() || key.size() > PeerStore::kMaxCounterKeyBytes) {
    return Status::InvalidArgument("a counter key must be 1 to " +
                                   std::to_string(PeerStore::kMaxCounterKeyBytes) + " bytes");
  }
  return Status::OK();
}

}  // namespace

Status PeerStore::Open(const std::string& path, std::unique_ptr<PeerStore>* out) {
  if (path.empty()) return Status::InvalidArgument("the peer store path is empty");
  if (Status s = sqlite::CreateFileIfMissing(path, "peer store"); !s.ok()) return s;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  // Owns `db` from here, so every early return below closes it.
  std::unique_ptr<PeerStore> store(new PeerStore(path, db));
  if (rc != SQLITE_OK) return store->Error(rc, "cannot open");
  // SQLite falls back to read-only when it cannot write; a node must be able to.
  if (sqlite3_db_readonly(db, "main") != 0) {
    return Status::PermissionDenied("peer store " + path + " is not writable");
  }
  if (Status s = store->Init(); !s.ok()) return s;
  *out = std::move(store);
  return Status::OK();
}

PeerStore::~PeerStore() {
  for (sqlite3_stmt* stmt : {upsert_, connect_ok_, connect_failed_, add_addresses_, load_, remove_,
                             prune_, get_counter_, set_counter_}) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

Status PeerStore::Init() {
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
    return Status::IOError("peer store " + path_ + ": cannot use WAL journaling (got '" + mode +
                           "'); is the data dir on a network file system?");
  }
  if (s = Exec("PRAGMA synchronous = NORMAL", "cannot set synchronous=NORMAL"); !s.ok()) return s;
  if (s = Exec("PRAGMA foreign_keys = ON", "cannot enable foreign keys"); !s.ok()) return s;
  if (s = Migrate(); !s.ok()) return s;

  const std::pair<const char*, sqlite3_stmt**> statements[] = {
      {kUpsertSql, &upsert_},
      {kConnectOkSql, &connect_ok_},
      {kConnectFailedSql, &connect_failed_},
      {kAddAddressesSql, &add_addresses_},
      {kLoadSql, &load_},
      {kRemoveSql, &remove_},
      {kPruneSql, &prune_},
      {kGetCounterSql, &get_counter_},
      {kSetCounterSql, &set_counter_}};
  for (const auto& [sql, stmt] : statements) {
    if (s = Prepare(sql, stmt); !s.ok()) return s;
  }
  return Status::OK();
}

Status PeerStore::Identify() {
  bool fresh = false;
  return sqlite::Identify(db_, path_, "peer store", kApplicationId, kSchemaVersion, &fresh);
}

Status PeerStore::Migrate() {
  // IMMEDIATE takes the write lock first, so two processes cannot both create the schema.
  Status s = Exec("BEGIN IMMEDIATE", "cannot start the schema update");
  if (!s.ok()) return s;
  int64_t version = 0;
  s = QueryInt("PRAGMA user_version", &version);
  if (s.ok() && version == 0) s = Exec(kSchemaV1, "cannot create the schema");
  // Later versions add steps here: if (s.ok() && version < 2) s = Exec(kV1ToV2); ...
  if (s.ok()) s = Exec("COMMIT", "cannot commit the schema update");
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Status PeerStore::Prepare(const char* sql, sqlite3_stmt** stmt) {
  return sqlite::Prepare(db_, sql, "peer store " + path_, stmt);
}

Status PeerStore::Exec(const char* sql, std::string_view what) {
  return sqlite::Exec(db_, sql, "peer store " + path_, what);
}

Status PeerStore::QueryInt(const char* sql, int64_t* value) {
  return sqlite::QueryInt(db_, sql, "peer store " + path_, value);
}

Status PeerStore::QueryText(const char* sql, std::string* value) {
  return sqlite::QueryText(db_, sql, "peer store " + path_, value);
}

Status PeerStore::Error(int rc, std::string_view what) const {
  return sqlite::Error(db_, rc, "peer store " + path_, what);
}

Status PeerStore::RunForPeer(sqlite3_stmt* stmt, const PublicKey& id, std::string_view what) {
  int rc = sqlite3_bind_blob(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return Error(rc, what);
  if (sqlite3_changes(db_) == 0) {
    return Status::NotFound("peer store " + path_ + ": no peer " + ShortId(id));
  }
  return Status::OK();
}

Status PeerStore::Upsert(const PeerRecord& peer) {
  if (peer.name.size() > PeerRecord::kMaxNameBytes ||
      peer.address.size() > PeerRecord::kMaxAddressBytes ||
      peer.member_record.size() > PeerRecord::kMaxMemberRecordBytes) {
    return Status::InvalidArgument("peer " + ShortId(peer.id) +
                                   ": name, address or member record over its size limit");
  }
  ScopedReset reset(upsert_);
  int rc = sqlite3_bind_blob(upsert_, 1, peer.id.data(), static_cast<int>(peer.id.size()),
                             SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = BindText(upsert_, 2, peer.name);
  if (rc == SQLITE_OK) rc = BindText(upsert_, 3, peer.address);
  if (rc == SQLITE_OK) rc = BindBlob(upsert_, 4, peer.member_record);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(upsert_, 5, peer.last_seen_ms);
  if (rc == SQLITE_OK) rc = sqlite3_step(upsert_);
  return rc == SQLITE_DONE ? Status::OK() : Error(rc, "cannot save peer " + ShortId(peer.id));
}

Status PeerStore::RecordConnect(const PublicKey& id, bool success, int64_t now_ms) {
  sqlite3_stmt* stmt = success ? connect_ok_ : connect_failed_;
  ScopedReset reset(stmt);
  if (success) {
    if (const int rc = sqlite3_bind_int64(stmt, 2, now_ms); rc != SQLITE_OK) {
      return Error(rc, "cannot record a dial");
    }
  }
  return RunForPeer(stmt, id, "cannot record a dial to " + ShortId(id));
}

Status PeerStore::AddAddressCounts(const PublicKey& id, uint64_t received, uint64_t sent) {
  ScopedReset reset(add_addresses_);
  int rc = sqlite3_bind_int64(add_addresses_, 2, Clamp(received));
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(add_addresses_, 3, Clamp(sent));
  if (rc != SQLITE_OK) return Error(rc, "cannot count addresses");
  return RunForPeer(add_addresses_, id, "cannot count addresses for " + ShortId(id));
}

Status PeerStore::Load(size_t limit, std::vector<PeerRecord>* out) {
  ScopedReset reset(load_);
  int rc = sqlite3_bind_int64(load_, 1, Clamp(limit));
  std::vector<PeerRecord> peers;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(load_);
    if (rc != SQLITE_ROW) break;
    PeerRecord& peer = peers.emplace_back();
    if (Status s = ReadRow(load_, &peer); !s.ok()) return s;
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot load peers");
  *out = std::move(peers);
  return Status::OK();
}

Status PeerStore::ReadRow(sqlite3_stmt* stmt, PeerRecord* peer) const {
  const std::string row =
      "peer store " + path_ + ": peers row " + std::to_string(sqlite3_column_int64(stmt, 0)) + " ";
  // Check each type before reading: reading a column can convert it.
  if (sqlite3_column_type(stmt, 1) != SQLITE_BLOB ||
      sqlite3_column_bytes(stmt, 1) != static_cast<int>(kPublicKeyBytes)) {
    return Status::Corruption(row + "has an id that is not a 32-byte key");
  }
  std::memcpy(peer->id.data(), sqlite3_column_blob(stmt, 1), kPublicKeyBytes);
  auto read_text = [&](int col, size_t max, const char* field, std::string* text) {
    if (sqlite3_column_type(stmt, col) != SQLITE_TEXT) {
      return Status::Corruption(row + "has a " + field + " that is not text");
    }
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
    const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
    if (n > max) return Status::Corruption(row + "has a " + field + " over its size limit");
    text->assign(p != nullptr ? p : "", n);
    return Status::OK();
  };
  Status s = read_text(2, PeerRecord::kMaxNameBytes, "name", &peer->name);
  if (s.ok()) s = read_text(3, PeerRecord::kMaxAddressBytes, "address", &peer->address);
  if (!s.ok()) return s;
  if (sqlite3_column_type(stmt, 4) != SQLITE_BLOB) {
    return Status::Corruption(row + "has a member record that is not a blob");
  }
  const auto* record = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 4));
  const auto record_size = static_cast<size_t>(sqlite3_column_bytes(stmt, 4));
  if (record_size > PeerRecord::kMaxMemberRecordBytes) {
    return Status::Corruption(row + "has a member record over its size limit");
  }
  peer->member_record.assign(record, record + record_size);
  for (int col = 5; col <= 9; ++col) {
    if (sqlite3_column_type(stmt, col) != SQLITE_INTEGER) {
      return Status::Corruption(row + "has a non-integer " + sqlite3_column_name(stmt, col));
    }
  }
  peer->last_seen_ms = sqlite3_column_int64(stmt, 5);
  uint64_t* const counts[] = {&peer->connect_successes, &peer->connect_failures,
                              &peer->addresses_received, &peer->addresses_sent};
  for (int i = 0; i < 4; ++i) {
    const int64_t v = sqlite3_column_int64(stmt, 6 + i);
    if (v < 0) {
      return Status::Corruption(row + "has a negative " + sqlite3_column_name(stmt, 6 + i));
    }
    *counts[i] = static_cast<uint64_t>(v);
  }
  return Status::OK();
}

Status PeerStore::Remove(const PublicKey& id) {
  ScopedReset reset(remove_);
  return RunForPeer(remove_, id, "cannot remove peer " + ShortId(id));
}

Status PeerStore::Prune(int64_t before_ms, size_t* removed) {
  ScopedReset reset(prune_);
  int rc = sqlite3_bind_int64(prune_, 1, before_ms);
  if (rc == SQLITE_OK) rc = sqlite3_step(prune_);
  if (rc != SQLITE_DONE) return Error(rc, "cannot prune peers");
  *removed = static_cast<size_t>(sqlite3_changes(db_));
  return Status::OK();
}

Status PeerStore::GetCounter(std::string_view key, uint64_t* value) {
  if (Status s = CheckCounterKey(key); !s.ok()) return s;
  ScopedReset reset(get_counter_);
  int rc = BindText(get_counter_, 1, key);
  if (rc == SQLITE_OK) rc = sqlite3_step(get_counter_);
  if (rc == SQLITE_DONE) {
    *value = 0;
    return Status::OK();
  }
  if (rc != SQLITE_ROW) return Error(rc, "cannot read counter '" + std::string(key) + "'");
  if (sqlite3_column_type(get_counter_, 0) != SQLITE_INTEGER) {
    return Status::Corruption("peer store " + path_ + ": counter '" + std::string(key) +
                              "' is not an integer");
  }
  // Stored as the int64 with the same bits, so the whole uint64 range round-trips.
  *value = static_cast<uint64_t>(sqlite3_column_int64(get_counter_, 0));
  return Status::OK();
}

Status PeerStore::SetCounter(std::string_view key, uint64_t value) {
  if (Status s = CheckCounterKey(key); !s.ok()) return s;
  // FULL syncs the WAL at commit, so the value survives a crash or power loss. A prepared
  // PRAGMA takes effect when compiled, not when run, so these go through Exec each time.
  if (Status s = Exec("PRAGMA synchronous = FULL", "cannot set synchronous=FULL"); !s.ok())
    return s;
  Status s;
  {
    ScopedReset reset(set_counter_);
    int rc = BindText(set_counter_, 1, key);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(set_counter_, 2, static_cast<int64_t>(value));
    if (rc == SQLITE_OK) rc = sqlite3_step(set_counter_);
    if (rc != SQLITE_DONE) s = Error(rc, "cannot write counter '" + std::string(key) + "'");
  }
  const Status restored = Exec("PRAGMA synchronous = NORMAL", "cannot set synchronous=NORMAL");
  return s.ok() ? restored : s;
}

}  // namespace mesh
