// The link handshake (mesh/src/link_handshake.*): LinkHandshake, as dialer or listener,
// against a peer played by a raw Noise XX state, so the fuzzer picks the peer's identity
// payload and tampers with its messages. Input:
//   byte 0  bit 0: we dial (else we listen); bits 1-2: roles we accept (node | node+client |
//           client)
//   byte 1  the peer's certificate: 0 node-1, 1 alice (client), 2 expired, 3 not yet valid,
//           4 another CA's, 5 node-1's certificate with node-2's key signature, 6 the CA's
//   byte 2  payload: 0 the right one, 1 raw bytes (chunk), 2 the right one with a bit flipped
//   then, per peer message, a tamper op (0 none, 1 flip, 2 truncate, 3 replace, 4 append).
// Invariants: an admitted peer holds a valid certificate of an accepted role whose key signed
// this session's Noise key; an honest peer with such a certificate is admitted with the
// documented failure reason otherwise; sessions interoperate; nothing is accepted out of turn.
#include <algorithm>

#include "fuzz_common.h"
#include "link_handshake.h"

using namespace mesh;

namespace {

// Applies the next tamper op; *tampered is set when the bytes really changed.
void Tamper(fuzz::Reader& in, std::vector<uint8_t>* m, bool* tampered) {
  const std::vector<uint8_t> before = *m;
  switch (in.U8() % 5) {
    case 1:
      if (!m->empty()) {
        const uint16_t bit = in.U16();
        (*m)[(bit / 8) % m->size()] ^= static_cast<uint8_t>(1 << (bit % 8));
      }
      break;
    case 2:
      m->resize(std::min<size_t>(m->size(), in.U16()));
      break;
    case 3:
      *m = in.Chunk();
      break;
    case 4: {
      const auto extra = in.Chunk();
      m->insert(m->end(), extra.begin(), extra.end());
      break;
    }
  }
  *tampered = *tampered || *m != before;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  fuzz::Reader in(data, size);
  const auto& ids = fuzz::Ids();
  const uint8_t setup = in.U8();
  const bool dial = (setup & 1) != 0;
  static const std::vector<Role> kAccepts[] = {
      {Role::kNode}, {Role::kNode, Role::kClient}, {Role::kClient}};
  const std::vector<Role> accepted = kAccepts[(setup >> 1) % 3];
  const uint8_t who = in.U8() % 7;
  const Certificate certs[] = {ids.nodes[1], ids.clients[0], ids.expired,  ids.not_yet_valid,
                               ids.foreign,  ids.nodes[1],   Certificate()};
  Certificate peer_cert = certs[who];
  if (who == 6) {  // the CA's own certificate: self-signed, role ca
    peer_cert = IssueCertificate(ids.ca, Role::kCa, "ca", ids.ca.public_key(), fuzz::kNowS - 10,
                                 fuzz::kNowS + 1000);
  }
  const SigningKey* peer_key = who == 5 ? &ids.node_keys[2] : ids.KeyFor(peer_cert.subject);
  const uint8_t payload_mode = in.U8() % 3;

  LinkCredentials me_creds{&ids.node_keys[0], ids.nodes[0], ids.ca.public_key()};
  LinkHandshake me;
  FUZZ_CHECK(me.Start(dial, me_creds, accepted, fuzz::kNowS).ok());
  noise::HandshakeState peer;
  noise::KeyPair peer_static = noise::KeyPair::Generate();
  const auto prologue = fuzz::AsBytes(kLinkPrologue);
  FUZZ_CHECK(
      peer.Initialize("Noise_XX_25519_ChaChaPoly_SHA256", !dial, prologue, &peer_static, {}).ok());
  std::vector<uint8_t> identity;
  if (payload_mode == 1) {
    identity = in.Chunk();
  } else {
    const std::vector<uint8_t> cert = peer_cert.Encode();
    identity = {1, static_cast<uint8_t>(cert.size()), static_cast<uint8_t>(cert.size() >> 8)};
    identity.insert(identity.end(), cert.begin(), cert.end());
    const Signature sig = peer_key->Sign(kNoiseKeyDomain, peer_static.public_key);
    identity.insert(identity.end(), sig.begin(), sig.end());
    if (payload_mode == 2) {
      const uint16_t bit = in.U16();
      identity[(bit / 8) % identity.size()] ^= static_cast<uint8_t>(1 << (bit % 8));
    }
  }

  bool tampered = false;
  bool payload_in_1 = false;  // we listen and the peer's message 1 carries a payload
  std::vector<uint8_t> msg, reply, got;
  if (dial) {
    FUZZ_CHECK(me.FirstMessage(&msg).ok());
    FUZZ_CHECK(peer.ReadMessage(msg, &got).ok() && got.empty());
    FUZZ_CHECK(peer.WriteMessage(identity, &msg).ok());  // <- e, ee, s, es + identity
    Tamper(in, &msg, &tampered);
    if (me.Receive(msg, &reply).ok()) {
      FUZZ_CHECK(peer.ReadMessage(reply, &got).ok());  // -> s, se + our identity
    }
  } else {
    FUZZ_CHECK(peer.WriteMessage(in.Bool() ? in.Chunk() : std::vector<uint8_t>(), &msg).ok());
    payload_in_1 = msg.size() > noise::kDhLen;
    Tamper(in, &msg, &tampered);
    if (me.Receive(msg, &reply).ok()) {
      FUZZ_CHECK(!payload_in_1 || tampered);
      if (peer.ReadMessage(reply, &got).ok()) {
        FUZZ_CHECK(!tampered);
        FUZZ_CHECK(peer.WriteMessage(identity, &msg).ok());
        Tamper(in, &msg, &tampered);
        (void)me.Receive(msg, &reply);
        FUZZ_CHECK(reply.empty());
      } else {
        FUZZ_CHECK(tampered);  // our message 2 is fine unless message 1 was changed
      }
    } else {
      FUZZ_CHECK(payload_in_1 || tampered);
    }
  }

  const bool complete = me.complete();
  const HandshakeFailure failure = me.failure();
  if (complete) FUZZ_CHECK(failure == HandshakeFailure::kNone);
  // Nothing more is accepted once the handshake is over, whichever way.
  FUZZ_CHECK(!me.Receive(msg, &reply).ok() && me.complete() == complete);
  if (!complete) {
    FUZZ_CHECK(me.failure() != HandshakeFailure::kNone);
    LinkSession none;
    FUZZ_CHECK(!me.TakeSession(&none).ok());
    const bool acceptable =
        std::find(accepted.begin(), accepted.end(), peer_cert.role) != accepted.end();
    if (!tampered && !payload_in_1 && payload_mode == 0) {  // an honest peer
      FUZZ_CHECK(!(who <= 1 && acceptable));                // a valid one is admitted
      const HandshakeFailure want[] = {
          HandshakeFailure::kWrongRole,
          HandshakeFailure::kWrongRole,
          HandshakeFailure::kExpired,
          HandshakeFailure::kNotYetValid,
          HandshakeFailure::kOtherCa,
          acceptable ? HandshakeFailure::kBadKeySignature : HandshakeFailure::kWrongRole,
          HandshakeFailure::kWrongRole};
      FUZZ_CHECK(failure == want[who]);
    }
    return 0;
  }
  LinkSession session;
  FUZZ_CHECK(me.TakeSession(&session).ok());
  FUZZ_CHECK(!me.TakeSession(&session).ok());
  // Admitted: a valid certificate, of a role we accept, whose key signed the session key.
  FUZZ_CHECK(std::find(accepted.begin(), accepted.end(), session.peer.role) != accepted.end());
  FUZZ_CHECK(
      VerifyCertificate(session.peer, ids.ca.public_key(), fuzz::kNowS, session.peer.role).ok());
  FUZZ_CHECK(session.peer.Encode() == peer_cert.Encode() && who != 5);
  FUZZ_CHECK(peer.IsComplete());
  noise::CipherState peer_send, peer_recv;
  FUZZ_CHECK(peer.Split(&peer_send, &peer_recv).ok());
  const std::vector<uint8_t> text = {'h', 'i'};
  std::vector<uint8_t> sealed, opened;
  FUZZ_CHECK(session.send.EncryptWithAd({}, text, &sealed).ok());
  FUZZ_CHECK(peer_recv.DecryptWithAd({}, sealed, &opened).ok() && opened == text);
  sealed.clear();
  opened.clear();
  FUZZ_CHECK(peer_send.EncryptWithAd({}, text, &sealed).ok());
  FUZZ_CHECK(session.receive.DecryptWithAd({}, sealed, &opened).ok() && opened == text);
  return 0;
}
