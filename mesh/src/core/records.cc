#include "core/records.h"

#include "core/bytes.h"

namespace mesh::core {
namespace {

constexpr uint8_t kFlagLeft = 0x01;
constexpr uint8_t kEnvelopeVersion = 1;

}  // namespace

MemberRecord MemberRecord::Make(const SigningKey& key, const Certificate& cert, std::string address,
                                uint64_t incarnation, bool left, int64_t now_ms) {
  MemberRecord r;
  r.left = left;
  r.incarnation = incarnation;
  r.signed_ms = now_ms;
  r.address = std::move(address);
  r.certificate = cert;
  ByteWriter w(&r.encoded);
  w.U8(kRecordVersion);
  w.U8(left ? kFlagLeft : 0);
  w.U64(incarnation);
  w.I64(now_ms);
  w.Str8(r.address);
  w.Bytes16(cert.Encode());
  r.signature = key.Sign(kMemberRecordDomain, r.encoded);
  w.Bytes(r.signature);
  return r;
}

Status MemberRecord::Decode(std::span<const uint8_t> bytes, MemberRecord* out) {
  ByteReader r(bytes);
  MemberRecord m;
  const uint8_t version = r.U8();
  const uint8_t flags = r.U8();
  m.incarnation = r.U64();
  m.signed_ms = r.I64();
  m.address = r.Str8();
  auto cert = r.Bytes16();
  r.Fixed(&m.signature);
  if (!r.done()) return Status::InvalidArgument("member record is truncated or has trailing bytes");
  if (version != kRecordVersion) {
    return Status::InvalidArgument("member record version " + std::to_string(version) +
                                   " is not supported");
  }
  if ((flags & ~kFlagLeft) != 0) return Status::InvalidArgument("member record has unknown flags");
  m.left = (flags & kFlagLeft) != 0;
  if (m.address.empty()) return Status::InvalidArgument("member record has an empty address");
  for (char c : m.address) {  // host:port, [v6]:port or name:port; nothing else is dialed
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return Status::InvalidArgument("member record address has a bad character");
  }
  if (Status s = Certificate::Decode(cert, &m.certificate); !s.ok()) {
    return Status::InvalidArgument("member record certificate: " + s.message());
  }
  m.encoded.assign(bytes.begin(), bytes.end());
  *out = std::move(m);
  return Status::OK();
}

Status MemberRecord::Verify(const PublicKey& ca_key, int64_t now_s) const {
  if (Status s = VerifyCertificate(certificate, ca_key, now_s, Role::kNode); !s.ok()) return s;
  const auto body = std::span<const uint8_t>(encoded).first(encoded.size() - kSignatureBytes);
  if (!VerifySignature(certificate.subject, kMemberRecordDomain, body, signature)) {
    return Status::Corruption("member record signature does not verify");
  }
  return Status::OK();
}

GossipEnvelope GossipEnvelope::Make(const SigningKey& key, GossipKind kind, uint64_t seq,
                                    int64_t now_ms, std::span<const uint8_t> body) {
  GossipEnvelope e;
  e.kind = kind;
  e.origin = key.public_key();
  e.seq = seq;
  e.sent_ms = now_ms;
  constexpr size_t kHeader = 1 + 1 + 32 + 8 + 8 + 4;
  e.encoded.reserve(kHeader + body.size() + kSignatureBytes);  // one allocation
  ByteWriter w(&e.encoded);
  w.U8(kEnvelopeVersion);
  w.U8(static_cast<uint8_t>(kind));
  w.Bytes(e.origin);
  w.U64(seq);
  w.I64(now_ms);
  w.Bytes32(body);
  const Signature sig = key.Sign(kGossipDomain, e.encoded);
  w.Bytes(sig);
  e.body = std::span<const uint8_t>(e.encoded).subspan(kHeader, body.size());
  return e;
}

Status GossipEnvelope::Decode(std::vector<uint8_t> bytes, size_t max_body, GossipEnvelope* out) {
  GossipEnvelope e;
  e.encoded = std::move(bytes);
  ByteReader r(e.encoded);
  const uint8_t version = r.U8();
  const uint8_t kind = r.U8();
  r.Fixed(&e.origin);
  e.seq = r.U64();
  e.sent_ms = r.I64();
  const uint32_t body_len = r.U32();
  if (r.ok() && body_len > max_body) {
    return Status::ResourceExhausted("gossip body of " + std::to_string(body_len) +
                                     " bytes is over the limit");
  }
  e.body = r.Bytes(body_len);
  r.Bytes(kSignatureBytes);
  if (!r.done())
    return Status::InvalidArgument("gossip envelope is truncated or has trailing bytes");
  if (version != kEnvelopeVersion) {
    return Status::InvalidArgument("gossip envelope version " + std::to_string(version) +
                                   " is not supported");
  }
  if (kind > static_cast<uint8_t>(GossipKind::kDead)) {
    return Status::InvalidArgument("gossip envelope has unknown kind " + std::to_string(kind));
  }
  e.kind = static_cast<GossipKind>(kind);
  *out = std::move(e);
  return Status::OK();
}

bool GossipEnvelope::VerifySignature(const PublicKey& origin_key) const {
  if (encoded.size() < kSignatureBytes) return false;
  const size_t n = encoded.size() - kSignatureBytes;
  return mesh::VerifySignature(origin_key, kGossipDomain,
                               std::span<const uint8_t>(encoded).first(n),
                               std::span<const uint8_t>(encoded).subspan(n));
}

std::vector<uint8_t> EncodeClaims(std::span<const Claim> claims) {
  std::vector<uint8_t> out;
  out.reserve(claims.size() * kClaimBytes);
  ByteWriter w(&out);
  for (const Claim& c : claims) {
    w.Bytes(c.target);
    w.U64(c.incarnation);
  }
  return out;
}

Status DecodeClaims(std::span<const uint8_t> body, std::vector<Claim>* out) {
  if (body.empty() || body.size() % kClaimBytes != 0 ||
      body.size() / kClaimBytes > kMaxClaimsPerEnvelope) {
    return Status::InvalidArgument("membership claims must be 1 to 256 of 40 bytes each");
  }
  out->resize(body.size() / kClaimBytes);
  ByteReader r(body);
  for (Claim& c : *out) {
    r.Fixed(&c.target);
    c.incarnation = r.U64();
  }
  return Status::OK();
}

Status CheckEventName(std::string_view event) {
  if (event.empty() || event.size() > kMaxEventNameBytes) {
    return Status::InvalidArgument("event name must be 1 to 128 bytes");
  }
  for (char c : event) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == '/' || c == ':';
    if (!ok) return Status::InvalidArgument("event name may hold only [A-Za-z0-9._/:-]");
  }
  return Status::OK();
}

std::vector<uint8_t> EncodeEvent(std::string_view event, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out;
  out.reserve(1 + event.size() + payload.size());
  ByteWriter w(&out);
  w.Str8(event);
  w.Bytes(payload);
  return out;
}

Status DecodeEvent(std::span<const uint8_t> body, EventBody* out) {
  ByteReader r(body);
  out->event = r.Str8();
  out->payload = r.Rest();
  if (!r.ok()) return Status::InvalidArgument("event body is truncated");
  return CheckEventName(out->event);
}

}  // namespace mesh::core
