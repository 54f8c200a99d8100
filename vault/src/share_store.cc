#include "vault/share_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "share_store_schema.h"
#include "share_store_sql.h"
#include "storage_key.h"

namespace vault {

using mesh::Status;

namespace {

using share_store_sql::BindAll;
using share_store_sql::RowReader;
using share_store_sql::ScopedReset;

// Input limits (InvalidArgument on write, Corruption on read).
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxPayloadBytes = 2 * 1024 * 1024;
constexpr size_t kSignatureBytes = 64;  // Ed25519
// A manifest arrives in one mesh message, which is at most 1 MiB.
constexpr size_t kMaxManifestBytes = 1024 * 1024;
constexpr size_t kMaxActionBytes = 32;
constexpr size_t kMaxClientBytes = 256;
constexpr size_t kMaxClientIdBytes = 128;
constexpr size_t kMaxOutcomeBytes = 1024;
// SQLite integers are signed; larger versions cannot be stored or compared.
constexpr uint64_t kMaxVersion = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

static_assert(kMaxPayloadBytes + storage_key::kTagBytes + 4 * kMaxNameBytes <
                  static_cast<size_t>(ShareDatabase::kMaxValueBytes),
              "a share row must fit SQLITE_LIMIT_LENGTH");

enum Statement : size_t {
  kPutShare,
  kCommitShare,
  kGetShare,
  kDeleteBelow,
  kDeleteAll,
  kPruneUncommitted,
  kCountShares,
  kPutManifest,
  kGetManifest,
  kListManifests,
  kInsertNonce,
  kPruneNonces,
  kAppendAudit,
  kListAudit,
  kStatementCount,
};

// Indexed by Statement.
constexpr const char* kSql[kStatementCount] = {
    // kPutShare: a retried put replaces the row and makes it uncommitted again.
    R"sql(
INSERT INTO shares (name, version, committed, stored_ms, nonce, ciphertext, dealer_signature,
  manifest_id)
VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (name, version) DO UPDATE SET committed = 0, stored_ms = excluded.stored_ms,
  nonce = excluded.nonce, ciphertext = excluded.ciphertext,
  dealer_signature = excluded.dealer_signature, manifest_id = excluded.manifest_id)sql",
    "UPDATE shares SET committed = 1 WHERE name = ?1 AND version = ?2 AND manifest_id = ?3",
    R"sql(
SELECT committed, stored_ms, nonce, ciphertext, dealer_signature, manifest_id FROM shares
WHERE name = ?1 AND version = ?2)sql",
    "DELETE FROM shares WHERE name = ?1 AND version < ?2",
    "DELETE FROM shares WHERE name = ?1",
    "DELETE FROM shares WHERE committed = 0 AND stored_ms < ?1",
    "SELECT count(*) FROM shares",
    // kPutManifest: *stored is sqlite3_changes(): 0 when the WHERE kept the old row.
    R"sql(
INSERT INTO manifests (name, version, deleted, encoded) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
  encoded = excluded.encoded
WHERE excluded.version > manifests.version)sql",
    "SELECT name, version, deleted, encoded FROM manifests WHERE name = ?1",
    "SELECT name, version, deleted, encoded FROM manifests ORDER BY name",
    "INSERT INTO nonces (nonce, time_ms) VALUES (?1, ?2)",
    "DELETE FROM nonces WHERE time_ms < ?1",
    R"sql(
INSERT INTO audit (time_ms, name, version, action, client, client_id, outcome)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql",
    R"sql(
SELECT time_ms, name, version, action, client, client_id, outcome FROM audit
WHERE name = ?1 ORDER BY id DESC LIMIT ?2)sql",
};

std::string Label(std::string_view name, uint64_t version) {
  return std::string(name) + " v" + std::to_string(version);
}

Status CheckName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("the secret name is empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("the secret name is " + std::to_string(name.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxNameBytes));
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("the secret name contains a NUL byte");
  }
  return Status::OK();
}

Status CheckVersion(uint64_t version) {
  if (version > kMaxVersion) {
    return Status::InvalidArgument("version " + std::to_string(version) +
                                   " is over the largest storable version " +
                                   std::to_string(kMaxVersion));
  }
  return Status::OK();
}

Status CheckNameAndVersion(std::string_view name, uint64_t version) {
  Status s = CheckName(name);
  return s.ok() ? CheckVersion(version) : s;
}

// An audit text field: at most `max` bytes (1 to `max` when `required`), no NUL.
Status CheckField(std::string_view value, const char* field, size_t max, bool required) {
  if (required && value.empty()) {
    return Status::InvalidArgument(std::string("the audit ") + field + " is empty");
  }
  if (value.size() > max) {
    return Status::InvalidArgument(std::string("the audit ") + field + " is " +
                                   std::to_string(value.size()) + " bytes; the limit is " +
                                   std::to_string(max));
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string("the audit ") + field + " contains a NUL byte");
  }
  return Status::OK();
}

class SqliteShareStore final : public ShareStore {
 public:
  SqliteShareStore(std::unique_ptr<ShareDatabase> db, mesh::SecureBuffer key)
      : db_(std::move(db)), key_(std::move(key)) {}
  ~SqliteShareStore() override {
    for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);
  }

  Status PrepareAll() {
    for (size_t i = 0; i < kStatementCount; ++i) {
      if (Status s = db_->Prepare(kSql[i], &stmts_[i]); !s.ok()) return s;
    }
    return Status::OK();
  }

  Status PutShare(const std::string& name, uint64_t version, std::span<const uint8_t> payload,
                  std::span<const uint8_t> dealer_signature, std::span<const uint8_t> manifest_id,
                  int64_t now_ms) override {
    if (Status s = CheckNameAndVersion(name, version); !s.ok()) return s;
    if (manifest_id.size() != kManifestIdBytes) {
      return Status::InvalidArgument("the manifest id for " + Label(name, version) +
                                     " must be 32 bytes");
    }
    if (payload.empty()) {
      return Status::InvalidArgument("the share payload for " + Label(name, version) + " is empty");
    }
    if (payload.size() > kMaxPayloadBytes) {
      return Status::InvalidArgument("the share payload for " + Label(name, version) + " is " +
                                     std::to_string(payload.size()) + " bytes; the limit is " +
                                     std::to_string(kMaxPayloadBytes));
    }
    if (dealer_signature.size() != kSignatureBytes) {
      return Status::InvalidArgument("the dealer signature for " + Label(name, version) + " is " +
                                     std::to_string(dealer_signature.size()) + " bytes; expected " +
                                     std::to_string(kSignatureBytes));
    }
    std::vector<uint8_t> nonce;
    std::vector<uint8_t> ciphertext;
    storage_key::Seal(key_, name, version, payload, &nonce, &ciphertext);
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kPutShare];
    ScopedReset reset(stmt);
    return Run(stmt,
               BindAll(stmt, std::string_view(name), static_cast<int64_t>(version), now_ms,
                       std::span<const uint8_t>(nonce), std::span<const uint8_t>(ciphertext),
                       dealer_signature, manifest_id),
               "cannot store the share for " + Label(name, version));
  }

  Status CommitShare(const std::string& name, uint64_t version,
                     std::span<const uint8_t> manifest_id) override {
    if (Status s = CheckNameAndVersion(name, version); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kCommitShare];
    ScopedReset reset(stmt);
    int changed = 0;
    Status s =
        Run(stmt, BindAll(stmt, std::string_view(name), static_cast<int64_t>(version), manifest_id),
            "cannot commit the share for " + Label(name, version), &changed);
    if (s.ok() && changed == 0) s = NoShare(name, version);
    return s;
  }

  Status GetShare(const std::string& name, uint64_t version, StoredShare* out) override {
    if (Status s = CheckNameAndVersion(name, version); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kGetShare];
    ScopedReset reset(stmt);
    int rc = BindAll(stmt, std::string_view(name), static_cast<int64_t>(version));
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return NoShare(name, version);
    if (rc != SQLITE_ROW)
      return db_->Error(rc, "cannot read the share for " + Label(name, version));
    const RowReader row(stmt,
                        "share store " + db_->path() + ": the share for " + Label(name, version));
    int64_t committed = 0;
    int64_t stored_ms = 0;
    std::span<const uint8_t> nonce;
    std::span<const uint8_t> ciphertext;
    std::span<const uint8_t> signature;
    Status s = row.Int(0, 0, 1, &committed);
    if (s.ok()) s = row.Int(1, std::numeric_limits<int64_t>::min(), kInt64Max, &stored_ms);
    if (s.ok()) s = row.Blob(2, storage_key::kNonceBytes, storage_key::kNonceBytes, &nonce);
    if (s.ok()) {
      s = row.Blob(3, storage_key::kTagBytes + 1, storage_key::kTagBytes + kMaxPayloadBytes,
                   &ciphertext);
    }
    if (s.ok()) s = row.Blob(4, kSignatureBytes, kSignatureBytes, &signature);
    std::span<const uint8_t> manifest_id;
    if (s.ok()) s = row.Blob(5, kManifestIdBytes, kManifestIdBytes, &manifest_id);
    if (!s.ok()) return s;
    mesh::SecureBuffer payload;
    if (!storage_key::Open(key_, name, version, nonce, ciphertext, &payload)) {
      return Status::Corruption("stored share for " + Label(name, version) +
                                " failed authentication");
    }
    out->name = name;
    out->version = version;
    out->committed = committed == 1;
    out->stored_ms = stored_ms;
    out->payload = std::move(payload);
    out->dealer_signature.assign(signature.begin(), signature.end());
    out->manifest_id.assign(manifest_id.begin(), manifest_id.end());
    return Status::OK();
  }

  Status DeleteShares(const std::string& name, uint64_t below, int* removed) override {
    if (Status s = CheckName(name); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    // Every stored version is <= kMaxVersion, so a larger bound deletes them all.
    const bool all = below > kMaxVersion;
    Status s;
    {
      sqlite3_stmt* stmt = stmts_[all ? kDeleteAll : kDeleteBelow];
      ScopedReset reset(stmt);
      const int rc = all ? BindAll(stmt, std::string_view(name))
                         : BindAll(stmt, std::string_view(name), static_cast<int64_t>(below));
      s = Run(stmt, rc, "cannot delete shares of " + name, removed);
    }
    if (s.ok() && *removed > 0) ScrubWal();
    return s;
  }

  Status PruneUncommitted(int64_t before_ms, int* removed) override {
    std::lock_guard<std::mutex> lock(mu_);
    Status s;
    {
      sqlite3_stmt* stmt = stmts_[kPruneUncommitted];
      ScopedReset reset(stmt);
      s = Run(stmt, BindAll(stmt, before_ms), "cannot prune uncommitted shares", removed);
    }
    if (s.ok() && *removed > 0) ScrubWal();
    return s;
  }

  Status CountShares(int64_t* count) override {
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kCountShares];
    ScopedReset reset(stmt);
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) return db_->Error(rc, "cannot count shares");
    *count = sqlite3_column_int64(stmt, 0);
    return Status::OK();
  }

  Status PutManifest(const ManifestRow& row, bool* stored) override {
    if (Status s = CheckNameAndVersion(row.name, row.version); !s.ok()) return s;
    if (row.encoded.empty() || row.encoded.size() > kMaxManifestBytes) {
      return Status::InvalidArgument("the manifest for " + Label(row.name, row.version) + " is " +
                                     std::to_string(row.encoded.size()) + " bytes; expected 1 to " +
                                     std::to_string(kMaxManifestBytes));
    }
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kPutManifest];
    ScopedReset reset(stmt);
    int changed = 0;
    Status s = Run(
        stmt,
        BindAll(stmt, std::string_view(row.name), static_cast<int64_t>(row.version),
                static_cast<int64_t>(row.deleted ? 1 : 0), std::span<const uint8_t>(row.encoded)),
        "cannot store the manifest for " + Label(row.name, row.version), &changed);
    if (s.ok()) *stored = changed > 0;
    return s;
  }

  Status GetManifest(const std::string& name, ManifestRow* out) override {
    if (Status s = CheckName(name); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kGetManifest];
    ScopedReset reset(stmt);
    int rc = BindAll(stmt, std::string_view(name));
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
      return Status::NotFound("share store " + db_->path() + ": no manifest for " + name);
    }
    if (rc != SQLITE_ROW) return db_->Error(rc, "cannot read the manifest for " + name);
    return ReadManifest(stmt, out);
  }

  Status ListManifests(std::vector<ManifestRow>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kListManifests];
    ScopedReset reset(stmt);
    std::vector<ManifestRow> rows;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (Status s = ReadManifest(stmt, &rows.emplace_back()); !s.ok()) return s;
    }
    if (rc != SQLITE_DONE) return db_->Error(rc, "cannot list manifests");
    *out = std::move(rows);
    return Status::OK();
  }

  Status RecordNonces(std::span<const NonceRecord> batch, int64_t now_ms, int64_t prune_before_ms,
                      std::vector<Status>* each) override {
    for (const auto& r : batch) {
      if (!r.audit) continue;
      if (Status s = CheckAudit(*r.audit); !s.ok()) return s;
    }
    std::vector<Status> outcomes(batch.size());
    std::lock_guard<std::mutex> lock(mu_);
    Status s = db_->Exec("BEGIN IMMEDIATE", "cannot start recording request nonces");
    if (!s.ok()) return s;
    {
      sqlite3_stmt* stmt = stmts_[kPruneNonces];
      ScopedReset reset(stmt);
      s = Run(stmt, BindAll(stmt, prune_before_ms), "cannot prune request nonces");
    }
    for (size_t i = 0; s.ok() && i < batch.size(); ++i) {
      sqlite3_stmt* stmt = stmts_[kInsertNonce];
      ScopedReset reset(stmt);
      int rc = BindAll(stmt, std::span<const uint8_t>(batch[i].nonce), now_ms);
      if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
      // A constraint failure undoes only this statement; the transaction goes on.
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        outcomes[i] = Status::PermissionDenied("replayed request");
      } else if (rc != SQLITE_DONE) {
        s = db_->Error(rc, "cannot record a request nonce");
      } else if (batch[i].audit) {
        s = InsertAudit(*batch[i].audit);
      }
    }
    if (s.ok()) s = db_->Exec("COMMIT", "cannot commit request nonces");
    if (!s.ok()) {
      sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    *each = std::move(outcomes);
    return Status::OK();
  }

  Status AppendAudit(const AuditRecord& r) override {
    if (Status s = CheckAudit(r); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    return InsertAudit(r);
  }

  Status ListAudit(const std::string& name, size_t limit, std::vector<AuditRecord>* out) override {
    if (Status s = CheckName(name); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* stmt = stmts_[kListAudit];
    ScopedReset reset(stmt);
    const auto bound = static_cast<int64_t>(std::min<uint64_t>(limit, kMaxVersion));
    int rc = BindAll(stmt, std::string_view(name), bound);
    if (rc != SQLITE_OK) return db_->Error(rc, "cannot read the audit log for " + name);
    std::vector<AuditRecord> records;
    const RowReader row(stmt, "share store " + db_->path() + ": an audit record for " + name);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      AuditRecord& r = records.emplace_back();
      int64_t version = 0;
      Status s = row.Int(0, std::numeric_limits<int64_t>::min(), kInt64Max, &r.time_ms);
      if (s.ok()) s = row.Text(1, kMaxNameBytes, &r.name);
      if (s.ok()) s = row.Int(2, 0, kInt64Max, &version);
      if (s.ok()) s = row.Text(3, kMaxActionBytes, &r.action);
      if (s.ok()) s = row.Text(4, kMaxClientBytes, &r.client);
      if (s.ok()) s = row.Text(5, kMaxClientIdBytes, &r.client_id);
      if (s.ok()) s = row.Text(6, kMaxOutcomeBytes, &r.outcome);
      if (!s.ok()) return s;
      r.version = static_cast<uint64_t>(version);
    }
    if (rc != SQLITE_DONE) return db_->Error(rc, "cannot read the audit log for " + name);
    std::reverse(records.begin(), records.end());  // newest first from SQL; oldest first out
    *out = std::move(records);
    return Status::OK();
  }

 private:
  static Status CheckAudit(const AuditRecord& r) {
    Status s = CheckNameAndVersion(r.name, r.version);
    if (s.ok()) s = CheckField(r.action, "action", kMaxActionBytes, true);
    if (s.ok()) s = CheckField(r.client, "client", kMaxClientBytes, false);
    if (s.ok()) s = CheckField(r.client_id, "client id", kMaxClientIdBytes, false);
    if (s.ok()) s = CheckField(r.outcome, "outcome", kMaxOutcomeBytes, true);
    return s;
  }

  // Appends one audit record; the caller holds mu_.
  Status InsertAudit(const AuditRecord& r) {
    sqlite3_stmt* stmt = stmts_[kAppendAudit];
    ScopedReset reset(stmt);
    return Run(stmt,
               BindAll(stmt, r.time_ms, std::string_view(r.name), static_cast<int64_t>(r.version),
                       std::string_view(r.action), std::string_view(r.client),
                       std::string_view(r.client_id), std::string_view(r.outcome)),
               "cannot append to the audit log for " + r.name);
  }

  // Steps a statement that returns no rows, after binding gave `rc`; `*changed` = rows changed.
  Status Run(sqlite3_stmt* stmt, int rc, std::string_view what, int* changed = nullptr) {
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return db_->Error(rc, what);
    if (changed != nullptr) *changed = sqlite3_changes(db_->handle());
    return Status::OK();
  }

  Status NoShare(std::string_view name, uint64_t version) const {
    return Status::NotFound("share store " + db_->path() + ": no share for " +
                            Label(name, version));
  }

  Status ReadManifest(sqlite3_stmt* stmt, ManifestRow* out) const {
    const RowReader row(stmt, "share store " + db_->path() + ": a manifests row");
    int64_t version = 0;
    int64_t deleted = 0;
    std::span<const uint8_t> encoded;
    Status s = row.Text(0, kMaxNameBytes, &out->name);
    if (s.ok() && out->name.empty())
      s = Status::Corruption("share store " + db_->path() + ": a manifests row has an empty name");
    if (s.ok()) s = row.Int(1, 0, kInt64Max, &version);
    if (s.ok()) s = row.Int(2, 0, 1, &deleted);
    if (s.ok()) s = row.Blob(3, 1, kMaxManifestBytes, &encoded);
    if (!s.ok()) return s;
    out->version = static_cast<uint64_t>(version);
    out->deleted = deleted == 1;
    out->encoded.assign(encoded.begin(), encoded.end());
    return Status::OK();
  }

  // After a delete, moves the WAL into the database (where secure_delete has zeroed the freed
  // space) and truncates it, so no old page holding the deleted ciphertext stays in the WAL.
  // Best effort: the delete itself is committed; a busy reader only delays the scrub.
  void ScrubWal() {
    sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }

  std::mutex mu_;
  std::unique_ptr<ShareDatabase> db_;
  const mesh::SecureBuffer key_;
  std::array<sqlite3_stmt*, kStatementCount> stmts_{};
};

Status MakeDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return Status::OK();
  if (errno != EEXIST) {
    return Status::IOError("cannot create the data dir " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("the data dir " + dir + " is not a directory");
  }
  return Status::OK();
}

}  // namespace

Status ShareStore::RecordNonce(const RequestNonce& nonce, int64_t now_ms, int64_t prune_before_ms,
                               const AuditRecord* audit) {
  NonceRecord record{nonce, {}};
  if (audit != nullptr) record.audit = *audit;
  std::vector<Status> each;
  if (Status s =
          RecordNonces(std::span<const NonceRecord>(&record, 1), now_ms, prune_before_ms, &each);
      !s.ok()) {
    return s;
  }
  return each.front();
}

Status ShareStore::Open(const std::string& data_dir, std::unique_ptr<ShareStore>* out) {
  if (data_dir.empty()) return Status::InvalidArgument("the data dir is empty");
  if (Status s = mesh::InitSodium(); !s.ok()) return s;
  if (Status s = MakeDataDir(data_dir); !s.ok()) return s;
  const std::string key_path = data_dir + "/vault.key";
  // Read the key first: a key file others can read is refused before anything is written.
  mesh::SecureBuffer key;
  Status s = storage_key::Read(key_path, &key);
  const bool create_key = s.code() == Status::Code::kNotFound;
  if (!s.ok() && !create_key) return s;

  std::unique_ptr<ShareDatabase> db;
  if (s = ShareDatabase::Open(data_dir + "/vault.db", &db); !s.ok()) return s;
  if (create_key) {
    // A new key cannot decrypt shares sealed with a lost one: never paper over that.
    int64_t shares = 0;
    if (s = db->QueryInt("SELECT count(*) FROM shares", &shares); !s.ok()) return s;
    if (shares > 0) {
      return Status::NotFound("storage key " + key_path + " is missing, but " + db->path() +
                              " holds " + std::to_string(shares) +
                              " shares sealed with it; restore vault.key from a backup");
    }
    s = storage_key::Create(key_path, &key);
    // Another process may have created it meanwhile; use that one.
    if (!s.ok() && !storage_key::Read(key_path, &key).ok()) return s;
  }
  auto store = std::make_unique<SqliteShareStore>(std::move(db), std::move(key));
  if (s = store->PrepareAll(); !s.ok()) return s;
  *out = std::move(store);
  return Status::OK();
}

}  // namespace vault
