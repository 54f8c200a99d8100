// LinkHandshake: the authenticated start of every link (docs/wire-format.md, "Link
// handshake"). Noise_XX_25519_ChaChaPoly_SHA256 with a fresh Noise static key per link; each
// side's handshake payload carries its certificate and an Ed25519 signature, by the
// certificate's key, over its Noise static key. A peer is admitted only if its certificate
// chains to the cluster CA, is in its validity window, has an accepted role, and its
// signature binds the certificate to the Noise session. Sans-IO: the caller moves the bytes
// and enforces the handshake deadline. Not thread-safe.
#ifndef MESH_LINK_HANDSHAKE_H_
#define MESH_LINK_HANDSHAKE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"
#include "mesh/status.h"
#include "noise/cipher_state.h"
#include "noise/handshake_state.h"

namespace mesh {

// Why a handshake failed, for the handshake_failures_total{reason} counter.
enum class HandshakeFailure {
  kNone,
  kMalformed,  // wrong length, bad payload encoding, out of turn
  kDecrypt,    // a Noise message failed to authenticate (tampered, replayed, wrong key)
  kOtherCa,
  kBadCertificateSignature,
  kNotYetValid,
  kExpired,
  kWrongRole,
  kBadKeySignature,  // the certificate's key did not sign this session's Noise key
};
std::string_view HandshakeFailureName(HandshakeFailure failure);

struct LinkCredentials {
  const SigningKey* key = nullptr;  // the certificate's key; must outlive the handshake
  Certificate certificate;
  PublicKey ca_key{};  // the cluster CA every peer must chain to
};

// What a finished handshake yields: the authenticated peer and the transport ciphers.
struct LinkSession {
  Certificate peer;
  noise::CipherState send;
  noise::CipherState receive;
};

inline constexpr std::string_view kLinkPrologue = "meshvault link v2";
inline constexpr std::string_view kNoiseKeyDomain = "meshvault noise static key v1";

class LinkHandshake {
 public:
  // `accepted` lists the roles the peer may hold; `now` is unix seconds.
  Status Start(bool initiator, const LinkCredentials& me, std::vector<Role> accepted, int64_t now);
  // Initiator only, once, right after Start: message 1.
  Status FirstMessage(std::vector<uint8_t>* out);
  // Feeds the peer's next message; `out` receives the reply to send (empty when none).
  Status Receive(std::span<const uint8_t> in, std::vector<uint8_t>* out);

  bool complete() const { return complete_; }
  HandshakeFailure failure() const { return failure_; }
  // Once complete, moves the session out (once).
  Status TakeSession(LinkSession* session);

 private:
  friend class LinkHandshakeTestPeer;  // plays a modified peer in tests

  Status Refuse(HandshakeFailure why, Status status);
  std::vector<uint8_t> IdentityPayload() const;
  Status CheckPeer(std::span<const uint8_t> payload);

  noise::HandshakeState noise_;
  noise::KeyPair static_key_;
  const SigningKey* key_ = nullptr;
  Certificate certificate_;
  PublicKey ca_key_{};
  std::vector<Role> accepted_;
  int64_t now_ = 0;
  bool initiator_ = false;
  bool started_ = false;
  bool complete_ = false;
  bool taken_ = false;
  HandshakeFailure failure_ = HandshakeFailure::kNone;
  Certificate peer_;
};

}  // namespace mesh

#endif  // MESH_LINK_HANDSHAKE_H_
