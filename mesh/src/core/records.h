// Signed records of the mesh (docs/wire-format.md, "Member records" and "Gossip envelopes").
// A member record is signed by its member and says who it is (its certificate), where to
// reach it and its incarnation. A gossip envelope is signed by its origin over the exact bytes
// sent and carries one broadcast. Decoding is strict; verification is separate so callers
// can skip it for bytes they have already verified. Value types.
#ifndef MESH_CORE_RECORDS_H_
#define MESH_CORE_RECORDS_H_

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"
#include "mesh/status.h"

namespace mesh::core {

inline constexpr std::string_view kMemberRecordDomain = "meshvault member record v1";
inline constexpr std::string_view kGossipDomain = "meshvault gossip v1";
inline constexpr size_t kMaxAddressBytes = 255;
inline constexpr uint8_t kRecordVersion = 1;

struct MemberRecord {
  bool left = false;  // the member announced a graceful leave at this incarnation
  uint64_t incarnation = 0;
  int64_t signed_ms = 0;  // unix ms
  std::string address;    // host:port others dial
  Certificate certificate;
  Signature signature{};
  std::vector<uint8_t> encoded;  // the exact bytes, as signed and sent

  const PublicKey& id() const { return certificate.subject; }

  // Fills `encoded` and `signature`. The key must be the certificate's.
  static MemberRecord Make(const SigningKey& key, const Certificate& cert, std::string address,
                           uint64_t incarnation, bool left, int64_t now_ms);
  static Status Decode(std::span<const uint8_t> bytes, MemberRecord* out);
  // Checks the certificate (CA, window, node role) and the member's signature.
  Status Verify(const PublicKey& ca_key, int64_t now_s) const;
};

enum class GossipKind : uint8_t {
  kEvent = 0,    // application broadcast: event name + JSON text
  kRecord = 1,   // a member record (alive or left), origin = the member
  kSuspect = 2,  // origin suspects target at incarnation
  kDead = 3,     // origin declares target failed at incarnation
};

struct GossipEnvelope {
  GossipKind kind = GossipKind::kEvent;
  PublicKey origin{};
  uint64_t seq = 0;
  int64_t sent_ms = 0;            // unix ms at the origin
  std::span<const uint8_t> body;  // points into `encoded`
  std::vector<uint8_t> encoded;   // the exact signed bytes, signature last

  static GossipEnvelope Make(const SigningKey& key, GossipKind kind, uint64_t seq, int64_t now_ms,
                             std::span<const uint8_t> body);
  // Strict framing only; `max_body` bounds the body.
  static Status Decode(std::vector<uint8_t> bytes, size_t max_body, GossipEnvelope* out);
  bool VerifySignature(const PublicKey& origin_key) const;
};

// Bodies of the membership kinds: kSuspect and kDead carry one or more claims (the claims
// one node makes at one time, such as every probe that failed in one tick).
struct Claim {
  PublicKey target{};
  uint64_t incarnation = 0;
  auto operator<=>(const Claim&) const = default;
};
inline constexpr size_t kClaimBytes = 32 + 8;
inline constexpr size_t kMaxClaimsPerEnvelope = 256;  // 10,240 bytes of body
std::vector<uint8_t> EncodeClaims(std::span<const Claim> claims);
inline std::vector<uint8_t> EncodeClaim(const Claim& claim) { return EncodeClaims({&claim, 1}); }
// 1 to kMaxClaimsPerEnvelope claims, nothing else.
Status DecodeClaims(std::span<const uint8_t> body, std::vector<Claim>* out);

struct EventBody {  // kEvent and direct messages
  std::string event;
  std::span<const uint8_t> payload;  // JSON text
};
inline constexpr size_t kMaxEventNameBytes = 128;
std::vector<uint8_t> EncodeEvent(std::string_view event, std::span<const uint8_t> payload);
Status DecodeEvent(std::span<const uint8_t> body, EventBody* out);
Status CheckEventName(std::string_view event);

}  // namespace mesh::core

#endif  // MESH_CORE_RECORDS_H_
