// PeerStore: known peers and their connection statistics, kept in SQLite in the node's data
// dir, so a restarted node can rejoin from them. Also holds a few durable counters for the
// node itself. The file is outside input: every row read back is checked. Not thread-safe:
// used from the node's strand.
#ifndef MESH_STORE_PEER_STORE_H_
#define MESH_STORE_PEER_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/identity.h"
#include "mesh/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mesh {

struct PeerRecord {
  // Size limits, checked on write (InvalidArgument) and on read (Corruption).
  static constexpr size_t kMaxNameBytes = 64;
  static constexpr size_t kMaxAddressBytes = 300;
  static constexpr size_t kMaxMemberRecordBytes = 4096;

  PublicKey id{};                      // the member's Ed25519 key (primary key)
  std::string name;                    // from its certificate
  std::string address;                 // advertised host:port
  std::vector<uint8_t> member_record;  // its latest signed member record (opaque, may be empty)
  int64_t last_seen_ms = 0;            // unix ms when we last heard from it
  // Statistics; they saturate at INT64_MAX (SQLite integers are signed).
  uint64_t connect_successes = 0;
  uint64_t connect_failures = 0;
  uint64_t addresses_received = 0;  // member addresses it told us about
  uint64_t addresses_sent = 0;      // member addresses we told it about
};

class PeerStore {
 public:
  static constexpr int kSchemaVersion = 1;
  static constexpr size_t kMaxCounterKeyBytes = 64;

  // Opens or creates the file `path` (created with mode 0600). Uses WAL with
  // synchronous=NORMAL. A file from a newer meshvault is refused (InvalidArgument); a file
  // that is not a peer store, or is damaged, gives Corruption.
  static Status Open(const std::string& path, std::unique_ptr<PeerStore>* out);
  ~PeerStore();
  PeerStore(const PeerStore&) = delete;
  PeerStore& operator=(const PeerStore&) = delete;

  // Inserts or updates by id: name, address, member_record, and last_seen_ms = max(old, new).
  // Does not touch the statistics.
  Status Upsert(const PeerRecord& peer);
  // Counts one dial outcome; on success also sets last_seen_ms = max(old, now_ms).
  // Unknown id: NotFound.
  Status RecordConnect(const PublicKey& id, bool success, int64_t now_ms);
  // Adds to addresses_received / addresses_sent. Unknown id: NotFound.
  Status AddAddressCounts(const PublicKey& id, uint64_t received, uint64_t sent);
  // Replaces *out with the peers, most recently seen first (ties by id), at most `limit`.
  Status Load(size_t limit, std::vector<PeerRecord>* out);
  // Unknown id: NotFound.
  Status Remove(const PublicKey& id);
  // Drops peers not seen since `before_ms` (last_seen_ms < before_ms); *removed = how many.
  Status Prune(int64_t before_ms, size_t* removed);

  // Durable unsigned counters for the node itself ("sequence_reserved", "incarnation").
  // Keys are 1..64 bytes. Get gives 0 for a missing key. Set is on disk when it returns
  // (synchronous=FULL for that commit): sequence numbers reserved with it must never be
  // reused after a crash.
  Status GetCounter(std::string_view key, uint64_t* value);
  Status SetCounter(std::string_view key, uint64_t value);

 private:
  PeerStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  Status Init();
  // Checks that the file is a fresh database or a peer store of a known version, undamaged.
  Status Identify();
  Status Migrate();
  Status Prepare(const char* sql, sqlite3_stmt** stmt);
  // Runs constant SQL (one or more statements), each time compiled afresh.
  Status Exec(const char* sql, std::string_view what);
  // Runs a one-row statement and gives its first column.
  Status QueryInt(const char* sql, int64_t* value);
  Status QueryText(const char* sql, std::string* value);
  // A Status for SQLite result `rc` while doing `what`, with SQLite's message.
  Status Error(int rc, std::string_view what) const;
  Status ReadRow(sqlite3_stmt* stmt, PeerRecord* peer) const;
  // Binds `id` as ?1 and runs a cached UPDATE or DELETE; NotFound if no row changed.
  Status RunForPeer(sqlite3_stmt* stmt, const PublicKey& id, std::string_view what);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* connect_ok_ = nullptr;
  sqlite3_stmt* connect_failed_ = nullptr;
  sqlite3_stmt* add_addresses_ = nullptr;
  sqlite3_stmt* load_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  sqlite3_stmt* prune_ = nullptr;
  sqlite3_stmt* get_counter_ = nullptr;
  sqlite3_stmt* set_counter_ = nullptr;
};

}  // namespace mesh

#endif  // MESH_STORE_PEER_STORE_H_
