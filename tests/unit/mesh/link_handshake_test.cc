// The link handshake: who gets in, who does not, and why (the failure reason is what the
// handshake_failures_total counter records).
#include "link_handshake.h"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

namespace mesh {
// A modified peer: presents someone else's certificate and signs the Noise key with its own.
class LinkHandshakeTestPeer {
 public:
  static void SwapSigningKey(LinkHandshake* h, const SigningKey* key) { h->key_ = key; }
};
}  // namespace mesh

using mesh::Certificate;
using mesh::HandshakeFailure;
using mesh::LinkCredentials;
using mesh::LinkHandshake;
using mesh::LinkSession;
using mesh::Role;
using mesh::SigningKey;

namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kYear = 365 * 86400;

struct Party {
  std::unique_ptr<SigningKey> key = std::make_unique<SigningKey>(SigningKey::Generate());
  LinkCredentials creds;
};

Party MakeParty(const SigningKey& ca, Role role, const std::string& name,
                int64_t not_before = kNow - 10, int64_t not_after = kNow + kYear) {
  Party p;
  p.creds.key = p.key.get();
  p.creds.certificate =
      mesh::IssueCertificate(ca, role, name, p.key->public_key(), not_before, not_after);
  p.creds.ca_key = ca.public_key();
  return p;
}

using Tamper = std::function<void(int message, std::vector<uint8_t>*)>;

struct Outcome {
  bool ok = false;
  HandshakeFailure initiator_failure = HandshakeFailure::kNone;
  HandshakeFailure responder_failure = HandshakeFailure::kNone;
  std::string message;
  LinkSession initiator_session, responder_session;
};

// Runs the three messages between a dialer and a listener; `tamper` may change any message.
Outcome Run(const LinkCredentials& dialer, const LinkCredentials& listener,
            std::vector<Role> listener_accepts = {Role::kNode, Role::kClient},
            const Tamper& tamper = {}) {
  LinkHandshake i, r;
  REQUIRE(i.Start(true, dialer, {Role::kNode}, kNow).ok());
  REQUIRE(r.Start(false, listener, std::move(listener_accepts), kNow).ok());
  Outcome o;
  std::vector<uint8_t> m1, m2, m3, none;
  REQUIRE(i.FirstMessage(&m1).ok());
  if (tamper) tamper(1, &m1);
  auto failed = [&](const mesh::Status& s) {
    o.message = s.message();
    o.initiator_failure = i.failure();
    o.responder_failure = r.failure();
    return !s.ok();
  };
  if (failed(r.Receive(m1, &m2))) return o;
  if (tamper) tamper(2, &m2);
  if (failed(i.Receive(m2, &m3))) return o;
  if (tamper) tamper(3, &m3);
  if (failed(r.Receive(m3, &none))) return o;
  REQUIRE(none.empty());
  REQUIRE(i.complete());
  REQUIRE(r.complete());
  REQUIRE(i.TakeSession(&o.initiator_session).ok());
  REQUIRE(r.TakeSession(&o.responder_session).ok());
  o.ok = true;
  return o;
}

bool Contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("two nodes of one CA link and exchange transport messages", "[link]") {
  const SigningKey ca = SigningKey::Generate();
  const Party a = MakeParty(ca, Role::kNode, "a");
  const Party b = MakeParty(ca, Role::kNode, "b");
  Outcome o = Run(a.creds, b.creds);
  REQUIRE(o.ok);
  CHECK(o.initiator_session.peer.name == "b");
  CHECK(o.responder_session.peer.name == "a");
  CHECK(o.responder_session.peer.subject == a.key->public_key());
  std::vector<uint8_t> wire, plain;
  const std::vector<uint8_t> hello = {'h', 'i'};
  REQUIRE(o.initiator_session.send.EncryptWithAd({}, hello, &wire).ok());
  REQUIRE(o.responder_session.receive.DecryptWithAd({}, wire, &plain).ok());
  CHECK(plain == hello);
  wire.clear();
  plain.clear();
  REQUIRE(o.responder_session.send.EncryptWithAd({}, hello, &wire).ok());
  REQUIRE(o.initiator_session.receive.DecryptWithAd({}, wire, &plain).ok());
  CHECK(plain == hello);
}

TEST_CASE("a client may link to a node that accepts clients", "[link]") {
  const SigningKey ca = SigningKey::Generate();
  const Party client = MakeParty(ca, Role::kClient, "alice");
  const Party node = MakeParty(ca, Role::kNode, "n");
  Outcome o = Run(client.creds, node.creds);
  REQUIRE(o.ok);
  CHECK(o.responder_session.peer.role == Role::kClient);
}

TEST_CASE("handshake refusals, each with its reason", "[link][bad]") {
  const SigningKey ca = SigningKey::Generate();
  const SigningKey other_ca = SigningKey::Generate();
  const Party node = MakeParty(ca, Role::kNode, "node");
  const Party peer = MakeParty(ca, Role::kNode, "peer");

  SECTION("a certificate from another CA") {
    const Party stranger = MakeParty(other_ca, Role::kNode, "stranger");
    Party mixed = MakeParty(other_ca, Role::kNode, "stranger");
    mixed.creds.ca_key = ca.public_key();  // knows our CA, holds a cert of another
    Outcome o = Run(mixed.creds, node.creds);
    CHECK_FALSE(o.ok);
    CHECK(o.responder_failure == HandshakeFailure::kOtherCa);
    CHECK(Contains(o.message, "issued by another CA"));
    // And the other way round: the dialer refuses a listener of another CA.
    Outcome back = Run(node.creds, stranger.creds);
    CHECK_FALSE(back.ok);
    CHECK(back.initiator_failure == HandshakeFailure::kOtherCa);
  }
  SECTION("an expired certificate") {
    const Party old = MakeParty(ca, Role::kNode, "old", kNow - 2 * kYear, kNow - kYear);
    Outcome o = Run(old.creds, node.creds);
    CHECK(o.responder_failure == HandshakeFailure::kExpired);
    CHECK(Contains(o.message, "expired"));
  }
  SECTION("a certificate not yet valid") {
    const Party early = MakeParty(ca, Role::kNode, "early", kNow + 3600, kNow + kYear);
    CHECK(Run(early.creds, node.creds).responder_failure == HandshakeFailure::kNotYetValid);
  }
  SECTION("a client certificate dialing as a node") {
    const Party client = MakeParty(ca, Role::kClient, "mallory");
    Outcome o = Run(client.creds, node.creds, {Role::kNode});
    CHECK_FALSE(o.ok);
    CHECK(o.responder_failure == HandshakeFailure::kWrongRole);
    CHECK(Contains(o.message, "has role client, expected node"));
  }
  SECTION("a listener with a client certificate is refused by the dialer") {
    const Party client = MakeParty(ca, Role::kClient, "posing");
    CHECK(Run(node.creds, client.creds).initiator_failure == HandshakeFailure::kWrongRole);
  }
  SECTION("a stolen certificate without its key (bad signature over the Noise key)") {
    Party thief = MakeParty(ca, Role::kNode, "thief");
    thief.creds.certificate = peer.creds.certificate;  // peer's certificate, thief's key
    LinkHandshake refused;
    CHECK_FALSE(refused.Start(true, thief.creds, {Role::kNode}, kNow).ok());  // refused locally
    // A modified implementation sends it anyway: the listener must refuse.
    LinkHandshake i, r;
    REQUIRE(i.Start(true, peer.creds, {Role::kNode}, kNow).ok());
    mesh::LinkHandshakeTestPeer::SwapSigningKey(&i, thief.key.get());
    REQUIRE(r.Start(false, node.creds, {Role::kNode}, kNow).ok());
    std::vector<uint8_t> m1, m2, m3, none;
    REQUIRE(i.FirstMessage(&m1).ok());
    REQUIRE(r.Receive(m1, &m2).ok());
    REQUIRE(i.Receive(m2, &m3).ok());
    const auto s = r.Receive(m3, &none);
    CHECK_FALSE(s.ok());
    CHECK(r.failure() == HandshakeFailure::kBadKeySignature);
    CHECK(Contains(s.message(), "did not sign this session's key"));
    // A certificate whose subject was edited fails the CA's signature instead.
    Party forger = MakeParty(ca, Role::kNode, "forger");
    auto fake = peer.creds.certificate;
    fake.subject = forger.key->public_key();  // breaks the CA signature instead
    forger.creds.certificate = fake;
    Outcome o = Run(forger.creds, node.creds);
    CHECK_FALSE(o.ok);
    CHECK(o.responder_failure == HandshakeFailure::kBadCertificateSignature);
  }
  SECTION("a tampered handshake message") {
    for (int m : {1, 2, 3}) {
      for (size_t at : {size_t{0}, size_t{40}, size_t{100}}) {
        Outcome o = Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
          if (msg == m) (*bytes)[at % bytes->size()] ^= 0x01;
        });
        INFO("message " << m << " byte " << at);
        CHECK_FALSE(o.ok);
      }
    }
  }
  SECTION("a replayed handshake message") {
    // Record message 3 of one session and play it into a second session.
    std::vector<uint8_t> recorded;
    REQUIRE(Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
              if (msg == 3) recorded = *bytes;
            }).ok);
    Outcome o = Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
      if (msg == 3) *bytes = recorded;
    });
    CHECK_FALSE(o.ok);
    CHECK(o.responder_failure == HandshakeFailure::kDecrypt);
    // Message 2 replayed to a new dialer fails there too.
    std::vector<uint8_t> m2;
    REQUIRE(Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
              if (msg == 2) m2 = *bytes;
            }).ok);
    Outcome o2 = Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
      if (msg == 2) *bytes = m2;
    });
    CHECK(o2.initiator_failure == HandshakeFailure::kDecrypt);
  }
  SECTION("garbage and truncated messages") {
    for (size_t len : {size_t{0}, size_t{1}, size_t{31}, size_t{5000}}) {
      Outcome o = Run(peer.creds, node.creds, {Role::kNode}, [&](int msg, auto* bytes) {
        if (msg == 1) bytes->assign(len, 0xAB);
      });
      CHECK_FALSE(o.ok);
      CHECK(o.responder_failure != HandshakeFailure::kNone);
    }
  }
}

TEST_CASE("a handshake cannot be driven out of order", "[link][bad]") {
  const SigningKey ca = SigningKey::Generate();
  const Party a = MakeParty(ca, Role::kNode, "a");
  LinkHandshake r;
  REQUIRE(r.Start(false, a.creds, {Role::kNode}, kNow).ok());
  std::vector<uint8_t> out;
  CHECK_FALSE(r.FirstMessage(&out).ok());
  LinkSession s;
  CHECK_FALSE(r.TakeSession(&s).ok());
  LinkHandshake nobody;
  CHECK_FALSE(nobody.Start(false, a.creds, {}, kNow).ok());  // no accepted role: refuse to start
}
