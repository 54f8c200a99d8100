#include "store/peer_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

namespace {

using mesh::PeerRecord;
using mesh::PeerStore;
using mesh::Status;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kI64Max = std::numeric_limits<int64_t>::max();

// A directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/meshvault-peers-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

mesh::PublicKey Key(uint8_t n) {
  mesh::PublicKey key{};
  key.fill(n);
  key[0] = 0xA0;
  return key;
}

PeerRecord Peer(uint8_t n, int64_t last_seen_ms) {
  PeerRecord p;
  p.id = Key(n);
  p.name = "node-" + std::to_string(n);
  p.address = "10.0.0." + std::to_string(n) + ":7400";
  p.member_record = {n, 0, 1, 2, 0xFF};
  p.last_seen_ms = last_seen_ms;
  return p;
}

std::unique_ptr<PeerStore> OpenOk(const std::string& path) {
  std::unique_ptr<PeerStore> store;
  const Status s = PeerStore::Open(path, &store);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(store != nullptr);
  return store;
}

std::vector<PeerRecord> LoadAll(PeerStore& store) {
  std::vector<PeerRecord> out;
  const Status s = store.Load(1000, &out);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

// Runs SQL on the file directly, bypassing PeerStore, to fake other writers and damage.
void RawExec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(db));
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("a peer round-trips with every field", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  PeerRecord p = Peer(7, 1'700'000'000'123);
  p.member_record.assign(PeerRecord::kMaxMemberRecordBytes, 0x5C);
  p.name.assign(PeerRecord::kMaxNameBytes, 'n');
  p.address.assign(PeerRecord::kMaxAddressBytes, 'a');
  REQUIRE(store->Upsert(p).ok());
  REQUIRE(store->RecordConnect(p.id, true, 5).ok());
  REQUIRE(store->RecordConnect(p.id, false, 6).ok());
  REQUIRE(store->RecordConnect(p.id, false, 7).ok());
  REQUIRE(store->AddAddressCounts(p.id, 11, 13).ok());

  const auto peers = LoadAll(*store);
  REQUIRE(peers.size() == 1);
  const PeerRecord& q = peers[0];
  CHECK(q.id == p.id);
  CHECK(q.name == p.name);
  CHECK(q.address == p.address);
  CHECK(q.member_record == p.member_record);
  CHECK(q.last_seen_ms == p.last_seen_ms);
  CHECK(q.connect_successes == 1);
  CHECK(q.connect_failures == 2);
  CHECK(q.addresses_received == 11);
  CHECK(q.addresses_sent == 13);

  // Empty strings and an empty member record stay empty (not NULL, which would be refused).
  PeerRecord bare;
  bare.id = Key(8);
  REQUIRE(store->Upsert(bare).ok());
  const auto again = LoadAll(*store);
  REQUIRE(again.size() == 2);
  CHECK(again[1].id == bare.id);
  CHECK(again[1].name.empty());
  CHECK(again[1].member_record.empty());
}

TEST_CASE("upsert updates the fields and keeps the latest last_seen", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  PeerRecord p = Peer(1, 1000);
  REQUIRE(store->Upsert(p).ok());
  REQUIRE(store->RecordConnect(p.id, true, 900).ok());
  REQUIRE(store->AddAddressCounts(p.id, 3, 4).ok());

  p.name = "renamed";
  p.address = "[2001:db8::1]:7400";
  p.member_record = {9, 9};
  p.last_seen_ms = 500;  // older: must not move last_seen back
  REQUIRE(store->Upsert(p).ok());
  auto peers = LoadAll(*store);
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].name == "renamed");
  CHECK(peers[0].address == "[2001:db8::1]:7400");
  CHECK(peers[0].member_record == std::vector<uint8_t>{9, 9});
  CHECK(peers[0].last_seen_ms == 1000);
  // Counters untouched by Upsert.
  CHECK(peers[0].connect_successes == 1);
  CHECK(peers[0].addresses_received == 3);
  CHECK(peers[0].addresses_sent == 4);

  p.last_seen_ms = 2000;
  REQUIRE(store->Upsert(p).ok());
  CHECK(LoadAll(*store)[0].last_seen_ms == 2000);
}

TEST_CASE("upsert refuses fields over their size limits", "[peer_store][bad]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  PeerRecord p = Peer(1, 1);
  p.name.assign(PeerRecord::kMaxNameBytes + 1, 'n');
  CHECK(store->Upsert(p).code() == Status::Code::kInvalidArgument);
  p = Peer(1, 1);
  p.address.assign(PeerRecord::kMaxAddressBytes + 1, 'a');
  CHECK(store->Upsert(p).code() == Status::Code::kInvalidArgument);
  p = Peer(1, 1);
  p.member_record.assign(PeerRecord::kMaxMemberRecordBytes + 1, 1);
  CHECK(store->Upsert(p).code() == Status::Code::kInvalidArgument);
  CHECK(LoadAll(*store).empty());
}

TEST_CASE("dial and address statistics", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  const PeerRecord p = Peer(2, 1000);
  REQUIRE(store->Upsert(p).ok());

  // A failed dial does not count as hearing from the peer.
  REQUIRE(store->RecordConnect(p.id, false, 5000).ok());
  auto q = LoadAll(*store)[0];
  CHECK(q.connect_failures == 1);
  CHECK(q.connect_successes == 0);
  CHECK(q.last_seen_ms == 1000);
  // A success moves last_seen forward, never back.
  REQUIRE(store->RecordConnect(p.id, true, 5000).ok());
  REQUIRE(store->RecordConnect(p.id, true, 3000).ok());
  q = LoadAll(*store)[0];
  CHECK(q.connect_successes == 2);
  CHECK(q.connect_failures == 1);
  CHECK(q.last_seen_ms == 5000);

  REQUIRE(store->AddAddressCounts(p.id, 10, 0).ok());
  REQUIRE(store->AddAddressCounts(p.id, 5, 7).ok());
  q = LoadAll(*store)[0];
  CHECK(q.addresses_received == 15);
  CHECK(q.addresses_sent == 7);

  // Huge amounts saturate instead of wrapping or turning into floating point.
  REQUIRE(store->AddAddressCounts(p.id, kU64Max, kI64Max - 7).ok());
  REQUIRE(store->AddAddressCounts(p.id, 1, 1).ok());
  q = LoadAll(*store)[0];
  CHECK(q.addresses_received == kI64Max);
  CHECK(q.addresses_sent == kI64Max);
}

TEST_CASE("load returns the most recently seen first, up to the limit", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  const int64_t seen[] = {300, 100, 500, 200, 400};
  for (uint8_t i = 0; i < 5; ++i) REQUIRE(store->Upsert(Peer(i, seen[i])).ok());

  std::vector<PeerRecord> out = {Peer(99, 1)};  // replaced, not appended to
  REQUIRE(store->Load(3, &out).ok());
  REQUIRE(out.size() == 3);
  CHECK(out[0].last_seen_ms == 500);
  CHECK(out[0].id == Key(2));
  CHECK(out[1].last_seen_ms == 400);
  CHECK(out[2].last_seen_ms == 300);

  REQUIRE(store->Load(std::numeric_limits<size_t>::max(), &out).ok());
  REQUIRE(out.size() == 5);
  CHECK(out[4].last_seen_ms == 100);
  REQUIRE(store->Load(0, &out).ok());
  CHECK(out.empty());
}

TEST_CASE("prune drops the peers not seen since the cutoff", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  for (uint8_t i = 1; i <= 6; ++i) REQUIRE(store->Upsert(Peer(i, i * 100)).ok());
  size_t removed = 99;
  REQUIRE(store->Prune(300, &removed).ok());
  CHECK(removed == 2);  // 100 and 200; 300 is not older than the cutoff
  auto peers = LoadAll(*store);
  REQUIRE(peers.size() == 4);
  CHECK(peers.back().last_seen_ms == 300);
  REQUIRE(store->Prune(300, &removed).ok());
  CHECK(removed == 0);
  REQUIRE(store->Prune(std::numeric_limits<int64_t>::max(), &removed).ok());
  CHECK(removed == 4);
  CHECK(LoadAll(*store).empty());
}

TEST_CASE("remove deletes exactly one peer", "[peer_store]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  REQUIRE(store->Upsert(Peer(1, 10)).ok());
  REQUIRE(store->Upsert(Peer(2, 20)).ok());
  REQUIRE(store->Remove(Key(1)).ok());
  const auto peers = LoadAll(*store);
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].id == Key(2));
  CHECK(store->Remove(Key(1)).code() == Status::Code::kNotFound);
}

TEST_CASE("unknown ids give NotFound and change nothing", "[peer_store][bad]") {
  TempDir dir;
  auto store = OpenOk(dir.File("peers.db"));
  REQUIRE(store->Upsert(Peer(1, 10)).ok());
  const Status connect = store->RecordConnect(Key(9), true, 50);
  CHECK(connect.code() == Status::Code::kNotFound);
  CHECK(Contains(connect.message(), mesh::ShortId(Key(9))));
  CHECK(store->RecordConnect(Key(9), false, 50).code() == Status::Code::kNotFound);
  CHECK(store->AddAddressCounts(Key(9), 1, 1).code() == Status::Code::kNotFound);
  CHECK(store->Remove(Key(9)).code() == Status::Code::kNotFound);
  const auto peers = LoadAll(*store);
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].last_seen_ms == 10);
  CHECK(peers[0].connect_successes == 0);
}

TEST_CASE("node counters persist across close and reopen", "[peer_store]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  {
    auto store = OpenOk(path);
    uint64_t v = 42;
    REQUIRE(store->GetCounter("incarnation", &v).ok());
    CHECK(v == 0);
    REQUIRE(store->SetCounter("incarnation", 3).ok());
    REQUIRE(store->SetCounter("incarnation", 4).ok());
    REQUIRE(store->SetCounter("gossip_seq_reserved", kU64Max).ok());
    CHECK(store->SetCounter("", 1).code() == Status::Code::kInvalidArgument);
    CHECK(store->GetCounter(std::string(65, 'k'), &v).code() == Status::Code::kInvalidArgument);
  }
  auto store = OpenOk(path);
  uint64_t v = 0;
  REQUIRE(store->GetCounter("incarnation", &v).ok());
  CHECK(v == 4);
  REQUIRE(store->GetCounter("gossip_seq_reserved", &v).ok());
  CHECK(v == kU64Max);
}

TEST_CASE("a counter survives its process being killed without closing the store", "[peer_store]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  OpenOk(path);  // create it here, so the child only writes
  int report[2];
  REQUIRE(pipe(report) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::unique_ptr<PeerStore> store;
    const char ok = PeerStore::Open(path, &store).ok() && store->SetCounter("seq", 77).ok();
    if (write(report[1], &ok, 1) != 1) _exit(2);
    // Die at once: no destructors, so the WAL is neither checkpointed nor removed.
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  close(report[1]);
  char ok = 0;
  CHECK(read(report[0], &ok, 1) == 1);
  close(report[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  REQUIRE(ok == 1);
  auto store = OpenOk(path);
  uint64_t v = 0;
  REQUIRE(store->GetCounter("seq", &v).ok());
  CHECK(v == 77);
}

TEST_CASE("reopening an existing store keeps its peers", "[peer_store]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  {
    auto store = OpenOk(path);
    REQUIRE(store->Upsert(Peer(1, 10)).ok());
    REQUIRE(store->Upsert(Peer(2, 20)).ok());
    REQUIRE(store->RecordConnect(Key(2), true, 30).ok());
  }
  {
    auto store = OpenOk(path);
    const auto peers = LoadAll(*store);
    REQUIRE(peers.size() == 2);
    CHECK(peers[0].id == Key(2));
    CHECK(peers[0].last_seen_ms == 30);
    CHECK(peers[0].connect_successes == 1);
    CHECK(peers[1].member_record == Peer(1, 10).member_record);
    REQUIRE(store->Upsert(Peer(3, 40)).ok());
  }
  auto store = OpenOk(path);
  CHECK(LoadAll(*store).size() == 3);
}

TEST_CASE("the store file and its WAL are created with mode 0600", "[peer_store]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  const mode_t old_umask = umask(0);  // a lax umask must not widen the mode
  auto store = OpenOk(path);
  REQUIRE(store->Upsert(Peer(1, 1)).ok());
  umask(old_umask);
  CHECK(ModeOf(path) == 0600);
  CHECK(ModeOf(path + "-wal") == 0600);
}

TEST_CASE("a file of random bytes is refused as corruption, not a crash", "[peer_store][bad]") {
  TempDir dir;
  std::mt19937 rng(1234);
  std::string garbage(16384, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  const std::string path = dir.File("peers.db");
  WriteFile(path, garbage);
  std::unique_ptr<PeerStore> store;
  Status s = PeerStore::Open(path, &store);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(Contains(s.message(), path));
  CHECK(store == nullptr);

  WriteFile(path, "not a database at all\n");
  s = PeerStore::Open(path, &store);
  CHECK(s.code() == Status::Code::kCorruption);
}

TEST_CASE("a store with damaged pages is refused as corruption", "[peer_store][bad]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  {
    auto store = OpenOk(path);
    for (uint8_t i = 0; i < 100; ++i) {
      PeerRecord p = Peer(i, i);
      p.member_record.assign(1000, i);
      REQUIRE(store->Upsert(p).ok());
    }
  }
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  REQUIRE(bytes.size() > 4 * 4096);
  for (size_t i = 4096; i < 4 * 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  WriteFile(path, bytes);
  std::unique_ptr<PeerStore> store;
  const Status s = PeerStore::Open(path, &store);
  INFO(s.ToString());
  CHECK(s.code() == Status::Code::kCorruption);
}

TEST_CASE("a store from a newer meshvault is refused", "[peer_store][bad]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  OpenOk(path);
  RawExec(path, "PRAGMA user_version = 2");
  std::unique_ptr<PeerStore> store;
  const Status s = PeerStore::Open(path, &store);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "schema version 2"));
  CHECK(store == nullptr);
}

TEST_CASE("another application's database is refused and left alone", "[peer_store][bad]") {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RawExec(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi')");
  std::unique_ptr<PeerStore> store;
  const Status s = PeerStore::Open(path, &store);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(Contains(s.message(), "not a meshvault peer store"));
  // Still in its own journal mode: we wrote nothing to it.
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_CASE("a damaged peers row gives Corruption naming the row", "[peer_store][bad]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  OpenOk(path);
  struct Case {
    const char* sql;
    const char* why;
  };
  // Each case's rowid is 41 + its index.
  const Case cases[] = {
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (41, x'0102', 'n', 'a', x'', 1)",
       "32-byte key"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (42, zeroblob(32), hex(zeroblob(33)), 'a', x'', 1)",
       "name over its size limit"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (43, zeroblob(32), 'n', hex(zeroblob(151)), x'', 1)",
       "address over its size limit"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (44, zeroblob(32), 'n', 'a', zeroblob(4097), 1)",
       "member record over its size limit"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (45, zeroblob(32), 'n', 'a', 'text', 1)",
       "member record that is not a blob"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms) "
       "VALUES (46, zeroblob(32), 'n', 'a', x'', 'soon')",
       "non-integer last_seen_ms"},
      {"INSERT INTO peers (rowid, id, name, address, member_record, last_seen_ms, "
       "connect_failures) VALUES (47, zeroblob(32), 'n', 'a', x'', 1, -1)",
       "negative connect_failures"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    RawExec(path, "DELETE FROM peers");
    RawExec(path, c.sql);
    auto store = OpenOk(path);
    std::vector<PeerRecord> out;
    const Status s = store->Load(10, &out);
    INFO(c.sql);
    INFO(s.ToString());
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "peers row " + std::to_string(41 + i) + " "));
    CHECK(Contains(s.message(), c.why));
    CHECK(out.empty());
  }
}

TEST_CASE("a damaged counter gives Corruption", "[peer_store][bad]") {
  TempDir dir;
  const std::string path = dir.File("peers.db");
  OpenOk(path);
  RawExec(path, "INSERT INTO counters VALUES ('incarnation', 'three')");
  auto store = OpenOk(path);
  uint64_t v = 0;
  const Status s = store->GetCounter("incarnation", &v);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(Contains(s.message(), "incarnation"));
}
