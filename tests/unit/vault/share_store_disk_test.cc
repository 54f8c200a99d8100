// ShareStore on disk: file modes, the key file, tampering, schema checks, bad input,
// and concurrent use.
#include "share_store_fixture.h"

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
