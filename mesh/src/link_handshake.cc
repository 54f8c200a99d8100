#include "link_handshake.h"

#include <algorithm>

namespace mesh {
namespace {

constexpr std::string_view kProtocol = "Noise_XX_25519_ChaChaPoly_SHA256";
constexpr uint8_t kPayloadVersion = 1;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

HandshakeFailure FromCertificateError(CertificateError e) {
  switch (e) {
    case CertificateError::kOtherCa:
      return HandshakeFailure::kOtherCa;
    case CertificateError::kBadSignature:
      return HandshakeFailure::kBadCertificateSignature;
    case CertificateError::kNotYetValid:
      return HandshakeFailure::kNotYetValid;
    case CertificateError::kExpired:
      return HandshakeFailure::kExpired;
    case CertificateError::kWrongRole:
      return HandshakeFailure::kWrongRole;
    case CertificateError::kNone:
      break;
  }
  return HandshakeFailure::kMalformed;
}

}  // namespace

std::string_view HandshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kNone:
      return "none";
    case HandshakeFailure::kMalformed:
      return "malformed";
    case HandshakeFailure::kDecrypt:
      return "decrypt";
    case HandshakeFailure::kOtherCa:
      return "other_ca";
    case HandshakeFailure::kBadCertificateSignature:
      return "bad_certificate_signature";
    case HandshakeFailure::kNotYetValid:
      return "not_yet_valid";
    case HandshakeFailure::kExpired:
      return "expired";
    case HandshakeFailure::kWrongRole:
      return "wrong_role";
    case HandshakeFailure::kBadKeySignature:
      return "bad_key_signature";
  }
  return "unknown";
}

Status LinkHandshake::Start(bool initiator, const LinkCredentials& me, std::vector<Role> accepted,
                            int64_t now) {
  if (started_) return Status::InvalidArgument("link handshake: started twice");
  if (accepted.empty()) return Status::InvalidArgument("link handshake: no peer role accepted");
  if (me.key == nullptr || !me.key->valid() || me.key->public_key() != me.certificate.subject) {
    return Status::InvalidArgument("link handshake: the key does not match the certificate");
  }
  started_ = true;
  initiator_ = initiator;
  key_ = me.key;
  certificate_ = me.certificate;
  ca_key_ = me.ca_key;
  accepted_ = std::move(accepted);
  now_ = now;
  static_key_ = noise::KeyPair::Generate();  // per link: identity comes from the certificate
  return noise_.Initialize(kProtocol, initiator, Bytes(kLinkPrologue), &static_key_, {});
}

Status LinkHandshake::Refuse(HandshakeFailure why, Status status) {
  failure_ = why;
  return status;
}

// version (1) || certificate length (2, LE) || certificate || signature (64) over our
// Noise static public key, domain kNoiseKeyDomain.
std::vector<uint8_t> LinkHandshake::IdentityPayload() const {
  const std::vector<uint8_t> cert = certificate_.Encode();
  std::vector<uint8_t> out;
  out.reserve(3 + cert.size() + kSignatureBytes);
  out.push_back(kPayloadVersion);
  out.push_back(static_cast<uint8_t>(cert.size()));
  out.push_back(static_cast<uint8_t>(cert.size() >> 8));
  out.insert(out.end(), cert.begin(), cert.end());
  const Signature sig = key_->Sign(kNoiseKeyDomain, static_key_.public_key);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

Status LinkHandshake::CheckPeer(std::span<const uint8_t> p) {
  if (p.size() < 3 || p[0] != kPayloadVersion) {
    return Refuse(HandshakeFailure::kMalformed,
                  Status::InvalidArgument("link handshake: unknown payload version"));
  }
  const size_t cert_len = p[1] | (static_cast<size_t>(p[2]) << 8);
  if (p.size() != 3 + cert_len + kSignatureBytes) {
    return Refuse(HandshakeFailure::kMalformed,
                  Status::InvalidArgument("link handshake: payload has the wrong length"));
  }
  Certificate cert;
  if (Status s = Certificate::Decode(p.subspan(3, cert_len), &cert); !s.ok()) {
    return Refuse(HandshakeFailure::kMalformed,
                  Status::InvalidArgument("link handshake: " + s.message()));
  }
  const bool role_ok = std::find(accepted_.begin(), accepted_.end(), cert.role) != accepted_.end();
  CertificateError error = CertificateError::kNone;
  Status s =
      VerifyCertificate(cert, ca_key_, now_, role_ok ? cert.role : accepted_.front(), &error);
  if (!s.ok()) return Refuse(FromCertificateError(error), s);
  const auto remote = noise_.remote_static();
  if (!remote || !VerifySignature(cert.subject, kNoiseKeyDomain, *remote,
                                  p.subspan(3 + cert_len, kSignatureBytes))) {
    return Refuse(HandshakeFailure::kBadKeySignature,
                  Status::PermissionDenied("link handshake: '" + cert.name +
                                           "' did not sign this session's key with its "
                                           "certificate's key"));
  }
  peer_ = std::move(cert);
  return Status::OK();
}

Status LinkHandshake::FirstMessage(std::vector<uint8_t>* out) {
  if (!started_ || !initiator_) {
    return Refuse(HandshakeFailure::kMalformed,
                  Status::InvalidArgument("link handshake: only the initiator starts"));
  }
  return noise_.WriteMessage({}, out);  // -> e: nothing can be said in the clear
}

Status LinkHandshake::Receive(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  out->clear();
  if (!started_ || complete_ || failure_ != HandshakeFailure::kNone) {
    return Refuse(HandshakeFailure::kMalformed,
                  Status::InvalidArgument("link handshake: message out of turn"));
  }
  std::vector<uint8_t> payload;
  if (Status s = noise_.ReadMessage(in, &payload); !s.ok()) {
    return Refuse(s.code() == Status::Code::kCorruption || noise_.HasFailed()
                      ? HandshakeFailure::kDecrypt
                      : HandshakeFailure::kMalformed,
                  s);
  }
  if (initiator_) {
    // <- e, ee, s, es + the responder's identity; then -> s, se + ours.
    if (Status s = CheckPeer(payload); !s.ok()) return s;
    if (Status s = noise_.WriteMessage(IdentityPayload(), out); !s.ok()) return s;
  } else if (!noise_.IsComplete()) {
    // <- e; reply <- e, ee, s, es + our identity.
    if (!payload.empty()) {
      return Refuse(HandshakeFailure::kMalformed,
                    Status::InvalidArgument("link handshake: message 1 carries a payload"));
    }
    return noise_.WriteMessage(IdentityPayload(), out);
  } else if (Status s = CheckPeer(payload); !s.ok()) {  // <- s, se + the initiator's identity
    return s;
  }
  complete_ = noise_.IsComplete();
  return Status::OK();
}

Status LinkHandshake::TakeSession(LinkSession* session) {
  if (!complete_ || taken_) {
    return Status::InvalidArgument("link handshake: no session to take");
  }
  taken_ = true;
  session->peer = peer_;
  return noise_.Split(&session->send, &session->receive);
}

}  // namespace mesh
