// ShareStore: a vault node's durable state in SQLite (<data dir>/vault.db): the one share it
// holds of each secret version, the latest manifest of every name, the audit log, and the
// nonces of get requests it has answered. Shares are encrypted at rest with a key kept in
// <data dir>/vault.key. Layout and migrations: docs/vault.md ("Share store").
// Thread-safe: one mutex serialises all calls (SQLite work is short; fsyncs dominate).
#ifndef VAULT_SHARE_STORE_H_
#define VAULT_SHARE_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace vault {

inline constexpr size_t kStorageKeyBytes = 32;
inline constexpr size_t kRequestNonceBytes = 16;
inline constexpr size_t kManifestIdBytes = 32;
using RequestNonce = std::array<uint8_t, kRequestNonceBytes>;

// One stored share. `payload` is the plaintext the holder opened (encrypted on disk);
// `dealer_signature` is kept as received so a reader can check it.
struct StoredShare {
  std::string name;
  uint64_t version = 0;
  bool committed = false;  // false until the manifest that lists this holder is known
  int64_t stored_ms = 0;
  mesh::SecureBuffer payload;
  std::vector<uint8_t> dealer_signature;
  std::vector<uint8_t> manifest_id;  // the manifest the share was stored under
};

// The latest manifest known for a name, as the signed bytes it arrived in.
struct ManifestRow {
  std::string name;
  uint64_t version = 0;
  bool deleted = false;  // a tombstone: the owner deleted the name at this version
  std::vector<uint8_t> encoded;
};

struct AuditRecord {
  int64_t time_ms = 0;
  std::string name;
  uint64_t version = 0;
  std::string action;     // "put", "get", "delete"
  std::string client;     // the requester's certificate name
  std::string client_id;  // hex of the requester's public key
  std::string outcome;    // "granted", or "denied: <reason>"
};

class ShareStore {
 public:
  // Opens or creates vault.db and vault.key in `data_dir` (created 0700 if missing). The key
  // file is created 0600 with fresh random bytes and refused when others can read it.
  // Applies pending schema migrations; refuses a database from a newer schema.
  static mesh::Status Open(const std::string& data_dir, std::unique_ptr<ShareStore>* out);
  virtual ~ShareStore() = default;

  // Stores (or replaces) this node's share of (name, version) under the manifest with id
  // `manifest_id` (32 bytes), not yet committed, durably (synchronous=FULL) before returning.
  virtual mesh::Status PutShare(const std::string& name, uint64_t version,
                                std::span<const uint8_t> payload,
                                std::span<const uint8_t> dealer_signature,
                                std::span<const uint8_t> manifest_id, int64_t now_ms) = 0;
  // Marks the share of (name, version) stored under `manifest_id` committed. NotFound when
  // this node holds none under that manifest.
  virtual mesh::Status CommitShare(const std::string& name, uint64_t version,
                                   std::span<const uint8_t> manifest_id) = 0;
  // Reads and decrypts a share. NotFound when absent; Corruption when it fails authentication.
  virtual mesh::Status GetShare(const std::string& name, uint64_t version, StoredShare* out) = 0;
  // Deletes the shares of `name` with version < `below` (all of them for UINT64_MAX) and
  // returns how many were removed. secure_delete is on, so freed pages are zeroed.
  virtual mesh::Status DeleteShares(const std::string& name, uint64_t below, int* removed) = 0;
  // Deletes uncommitted shares stored before `before_ms`; returns how many.
  virtual mesh::Status PruneUncommitted(int64_t before_ms, int* removed) = 0;
  // Number of shares held (committed or not).
  virtual mesh::Status CountShares(int64_t* count) = 0;

  // Keeps `row` when it is newer than the stored manifest for its name (or there is none).
  // *stored says whether it was kept.
  virtual mesh::Status PutManifest(const ManifestRow& row, bool* stored) = 0;
  virtual mesh::Status GetManifest(const std::string& name, ManifestRow* out) = 0;  // NotFound
  virtual mesh::Status ListManifests(std::vector<ManifestRow>* out) = 0;            // by name

  // Records get request nonces in one transaction (one fsync for the batch), each with its
  // audit record when it has one. Nonces older than `prune_before_ms` are dropped first.
  // (*each)[i] is OK, or PermissionDenied("replayed request") when batch[i]'s nonce was already
  // recorded (earlier, or earlier in this batch). A non-OK return means nothing was recorded.
  struct NonceRecord {
    RequestNonce nonce{};
    std::optional<AuditRecord> audit;
  };
  virtual mesh::Status RecordNonces(std::span<const NonceRecord> batch, int64_t now_ms,
                                    int64_t prune_before_ms, std::vector<mesh::Status>* each) = 0;
  // One nonce: RecordNonces with a batch of one, its outcome as the result.
  mesh::Status RecordNonce(const RequestNonce& nonce, int64_t now_ms, int64_t prune_before_ms,
                           const AuditRecord* audit = nullptr);
  virtual mesh::Status AppendAudit(const AuditRecord& record) = 0;
  // The newest `limit` records for `name`, oldest first.
  virtual mesh::Status ListAudit(const std::string& name, size_t limit,
                                 std::vector<AuditRecord>* out) = 0;
};

}  // namespace vault

#endif  // VAULT_SHARE_STORE_H_
