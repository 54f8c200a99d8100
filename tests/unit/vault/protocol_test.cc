// The vault's signed records: manifests, commits, dealer shares, get requests, placement and
// the certificate cache. Each check that guards a property has a case that breaks it.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <ctime>

#include "protocol/certificate_cache.h"
#include "protocol/get_request.h"
#include "protocol/manifest.h"
#include "protocol/placement.h"
#include "protocol/sealed_share.h"

namespace {

using mesh::Role;
using mesh::SigningKey;
using vault::protocol::Commit;
using vault::protocol::DealerShare;
using vault::protocol::GetRequest;
using vault::protocol::Manifest;

struct Pki {
  SigningKey ca = SigningKey::Generate();
  int64_t now = std::time(nullptr);
  mesh::Certificate Issue(const SigningKey& key, Role role, const std::string& name) const {
    return mesh::IssueCertificate(ca, role, name, key.public_key(), now - 60, now + 3600);
  }
};

struct Fixture {
  Pki pki;
  SigningKey owner = SigningKey::Generate();
  std::vector<SigningKey> nodes;
  Manifest manifest;

  Fixture() {
    manifest.name = "db/password";
    manifest.version = 1;
    manifest.threshold = 2;
    manifest.count = 3;
    manifest.owner = pki.Issue(owner, Role::kClient, "alice");
    manifest.readers = {"bob"};
    for (int i = 0; i < 3; ++i) {
      nodes.push_back(SigningKey::Generate());
      manifest.holders.push_back(pki.Issue(nodes.back(), Role::kNode, "n" + std::to_string(i)));
    }
    manifest.created_ms = pki.now * 1000;
    manifest.Sign(owner);
  }
  Commit Committed() const {
    Commit c{manifest, {}};
    for (int i = 0; i < 3; ++i)
      c.acks.push_back(vault::protocol::SignAck(nodes[i], manifest.Id(), i));
    return c;
  }
};

}  // namespace

TEST_CASE("a manifest round-trips and verifies", "[protocol]") {
  Fixture f;
  Manifest back;
  REQUIRE(Manifest::Decode(f.manifest.Encode(), &back).ok());
  CHECK(back.Encode() == f.manifest.Encode());
  CHECK(back.Verify(f.pki.ca.public_key()).ok());
  CHECK(back.MayRead("alice"));
  CHECK(back.MayRead("bob"));
  CHECK_FALSE(back.MayRead("carol"));
  CHECK(back.HolderIndex(f.nodes[2].public_key()) == 2);
  CHECK(back.HolderIndex(f.owner.public_key()) == -1);
}

TEST_CASE("a manifest is refused when altered, foreign or malformed", "[protocol]") {
  Fixture f;
  const auto ca = f.pki.ca.public_key();
  SECTION("any flipped byte breaks decoding or the signature") {
    const auto bytes = f.manifest.Encode();
    for (size_t i = 0; i < bytes.size(); i += 7) {
      auto bad = bytes;
      bad[i] ^= 0x01;
      Manifest m;
      const bool accepted = Manifest::Decode(bad, &m).ok() && m.Verify(ca).ok();
      INFO("byte " << i);
      CHECK_FALSE(accepted);
    }
  }
  SECTION("an owner from another CA") {
    Pki other;
    f.manifest.owner = other.Issue(f.owner, Role::kClient, "alice");
    f.manifest.Sign(f.owner);
    CHECK_FALSE(f.manifest.Verify(ca).ok());
  }
  SECTION("a holder that is not a node (a client key)") {
    f.manifest.holders[1] = f.pki.Issue(f.nodes[1], Role::kClient, "n1");
    f.manifest.Sign(f.owner);
    CHECK_FALSE(f.manifest.Verify(ca).ok());
  }
  SECTION("a holder listed twice") {
    f.manifest.holders[2] = f.manifest.holders[0];
    f.manifest.Sign(f.owner);
    Manifest m;
    CHECK_FALSE(Manifest::Decode(f.manifest.Encode(), &m).ok());
  }
  SECTION("a threshold above the count, a bad name, version 0, trailing bytes") {
    auto check = [&](Manifest m) {
      m.Sign(f.owner);
      Manifest out;
      CHECK_FALSE(Manifest::Decode(m.Encode(), &out).ok());
    };
    Manifest m = f.manifest;
    m.threshold = 4;
    check(m);
    m = f.manifest;
    m.name = "../etc";
    check(m);
    m = f.manifest;
    m.version = 0;
    check(m);
    auto bytes = f.manifest.Encode();
    bytes.push_back(0);
    Manifest out;
    CHECK_FALSE(Manifest::Decode(bytes, &out).ok());
  }
}

TEST_CASE("a commit needs every holder's ack for this manifest", "[protocol]") {
  Fixture f;
  const auto ca = f.pki.ca.public_key();
  Commit c = f.Committed();
  Commit back;
  REQUIRE(Commit::Decode(c.Encode(), &back).ok());
  CHECK(back.Verify(ca).ok());

  Commit missing = c;
  missing.acks.pop_back();
  CHECK_FALSE(missing.Verify(ca).ok());

  Commit swapped = c;
  std::swap(swapped.acks[0], swapped.acks[1]);  // index is signed
  CHECK_FALSE(swapped.Verify(ca).ok());

  // An ack for another manifest (another version) does not count.
  Manifest v2 = f.manifest;
  v2.version = 2;
  v2.Sign(f.owner);
  Commit replayed = c;
  replayed.manifest = v2;
  CHECK_FALSE(replayed.Verify(ca).ok());
}

TEST_CASE("a dealer share opens only for its recipient and binds its context", "[protocol]") {
  Fixture f;
  DealerShare share;
  share.name = "db/password";
  share.version = 1;
  share.holder = f.nodes[0].public_key();
  share.index = 0;
  share.manifest_id = f.manifest.Id();
  share.payload = mesh::SecureBuffer(5);
  std::memcpy(share.payload.data(), "mvs1.", 5);
  share.Sign(f.owner);

  const auto holder_box = vault::protocol::BoxKey::FromSigningKey(f.nodes[0]);
  vault::protocol::BoxPublicKey from_id{};
  REQUIRE(vault::protocol::NodeBoxKey(f.nodes[0].public_key(), &from_id));
  CHECK(from_id == holder_box.public_key());  // the two conversions agree

  const auto sealed = share.SealTo(from_id);
  DealerShare opened;
  REQUIRE(DealerShare::Open(sealed, holder_box, &opened).ok());
  CHECK(opened.VerifySignature(f.owner.public_key()));
  CHECK(opened.payload.view() == "mvs1.");
  CHECK(opened.manifest_id == f.manifest.Id());

  // Another node cannot open it; a flipped byte does not open.
  DealerShare other;
  CHECK_FALSE(
      DealerShare::Open(sealed, vault::protocol::BoxKey::FromSigningKey(f.nodes[1]), &other).ok());
  auto bad = sealed;
  bad[bad.size() / 2] ^= 1;
  CHECK_FALSE(DealerShare::Open(bad, holder_box, &other).ok());

  // Changing what the signature binds breaks it.
  opened.index = 1;
  CHECK_FALSE(opened.VerifySignature(f.owner.public_key()));
  opened.index = 0;
  opened.manifest_id[0] ^= 1;
  CHECK_FALSE(opened.VerifySignature(f.owner.public_key()));
}

TEST_CASE("a get request verifies only when signed, certified and fresh", "[protocol]") {
  Pki pki;
  const auto key = SigningKey::Generate();
  GetRequest g;
  g.name = "db/password";
  randombytes_buf(g.nonce.data(), g.nonce.size());
  g.reply_key = vault::protocol::BoxKey::Generate().public_key();
  g.time_ms = pki.now * 1000;
  g.client = pki.Issue(key, Role::kClient, "bob");
  g.Sign(key);
  const auto ca = pki.ca.public_key();
  const int64_t now = g.time_ms;

  GetRequest back;
  REQUIRE(GetRequest::Decode(g.Encode(), &back).ok());
  CHECK(back.Verify(ca, now, 60'000).ok());
  CHECK(back.Verify(ca, now + 59'000, 60'000).ok());
  CHECK(back.Verify(ca, now + 61'000, 60'000).code() == mesh::Status::Code::kPermissionDenied);
  CHECK_FALSE(back.Verify(ca, now - 61'000, 60'000).ok());

  GetRequest extreme = back;  // a time near INT64_MIN must not overflow the check
  extreme.time_ms = INT64_MIN + 1;
  extreme.Sign(key);
  CHECK_FALSE(extreme.Verify(ca, now, 60'000).ok());

  GetRequest tampered = back;
  tampered.version = 7;
  CHECK_FALSE(tampered.Verify(ca, now, 60'000).ok());

  GetRequest node_cert = back;  // a node certificate cannot make vault requests
  node_cert.client = pki.Issue(key, Role::kNode, "bob");
  node_cert.Sign(key);
  CHECK_FALSE(node_cert.Verify(ca, now, 60'000).ok());

  vault::protocol::CertificateCache cache;
  CHECK(back.Verify(ca, now, 60'000, &cache).ok());
  CHECK(back.Verify(ca, now, 60'000, &cache).ok());  // cached
  CHECK_FALSE(node_cert.Verify(ca, now, 60'000, &cache).ok());
  Pki other;  // a certificate of another CA is never taken from the cache
  GetRequest foreign = back;
  foreign.client = other.Issue(key, Role::kClient, "bob");
  foreign.Sign(key);
  CHECK_FALSE(foreign.Verify(ca, now, 60'000, &cache).ok());
}

TEST_CASE("placement is stable and moves little when members change", "[protocol]") {
  std::vector<vault::protocol::Candidate> members;
  for (int i = 0; i < 10; ++i) {
    vault::protocol::Candidate c;
    randombytes_buf(c.id.data(), c.id.size());
    c.name = "n" + std::to_string(i);
    members.push_back(c);
  }
  const auto a = vault::protocol::ChooseHolders("db/password", members, 5);
  const auto b = vault::protocol::ChooseHolders("db/password", members, 5);
  REQUIRE(a.size() == 5);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].id == b[i].id);
  // Removing a member that is not a holder changes nothing.
  auto fewer = members;
  fewer.erase(std::find_if(fewer.begin(), fewer.end(), [&](const auto& c) {
    return std::none_of(a.begin(), a.end(), [&](const auto& h) { return h.id == c.id; });
  }));
  const auto c = vault::protocol::ChooseHolders("db/password", fewer, 5);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].id == c[i].id);
  CHECK(vault::protocol::ChooseHolders("x", members, 20).size() == 10);
}

TEST_CASE("base64 fields refuse bytes 0x80-0xFF", "[protocol][fuzz]") {
  // Found by the vault_json fuzz target: libsodium 1.0.18 reads every byte 0x80-0xFF as '/',
  // so "//\xc3\xa9" (UTF-8 for "//é", valid in JSON) decoded like "////".
  std::vector<uint8_t> out;
  REQUIRE(vault::protocol::FromBase64("////", 16, "field", &out).ok());
  CHECK(out == std::vector<uint8_t>{0xff, 0xff, 0xff});
  const mesh::Status s = vault::protocol::FromBase64("//\xc3\xa9", 16, "field", &out);
  CHECK(s.code() == mesh::Status::Code::kInvalidArgument);
  CHECK(s.message() == "field is not valid base64");
  const mesh::Json data = {{"digest", "//\xc3\xa9"}};
  CHECK_FALSE(vault::protocol::Base64Field(data, "digest", 32, &out).ok());
}
