// ShareStore: shares, manifests, nonces and the audit log round-trip and persist.
#include "share_store_fixture.h"

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
