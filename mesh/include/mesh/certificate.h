// Certificates: a cluster CA (Ed25519) binds a name, a role and a public key to a validity
// window. Only holders of a valid certificate can complete a link handshake. The binary layout
// and the text armour are specified in docs/wire-format.md ("Certificates"). Value type.
#ifndef MESH_CERTIFICATE_H_
#define MESH_CERTIFICATE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/identity.h"
#include "mesh/status.h"

namespace mesh {

enum class Role : uint8_t { kCa = 0, kNode = 1, kClient = 2 };
std::string_view RoleName(Role role);

inline constexpr size_t kMaxNameBytes = 64;
inline constexpr size_t kMaxCertificateBytes = 4 + 1 + 1 + kMaxNameBytes + 32 + 8 + 8 + 8 + 32 + 64;
// Clocks disagree: a certificate is accepted this long before its not_before.
inline constexpr int64_t kClockSkewSeconds = 300;

struct Certificate {
  Role role = Role::kNode;
  std::string name;        // 1..64 bytes of [A-Za-z0-9._-]
  PublicKey subject{};     // the holder's Ed25519 key
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
  std::array<uint8_t, 8> serial{};  // random
  PublicKey issuer{};               // the CA's key (the subject itself for the CA)
  Signature signature{};

  // The bytes the signature covers (everything before it).
  std::vector<uint8_t> SignedBytes() const;
  std::vector<uint8_t> Encode() const;
  // Strict: exact length, known role, valid name. Does not check the signature.
  static Status Decode(std::span<const uint8_t> bytes, Certificate* out);
};

// Checks a name against the allowed alphabet and length.
Status CheckName(std::string_view name);

// Issues a certificate signed by `ca` (for role kCa, `subject` must be the CA's own key).
Certificate IssueCertificate(const SigningKey& ca, Role role, std::string_view name,
                             const PublicKey& subject, int64_t not_before, int64_t not_after);

// Why a certificate was refused, for counters (the Status message is for people).
enum class CertificateError { kNone, kOtherCa, kBadSignature, kNotYetValid, kExpired, kWrongRole };
std::string_view CertificateErrorName(CertificateError error);

// Checks that `cert` was issued by `ca_key`, is valid at `now` (with kClockSkewSeconds of
// slack before not_before) and has `expected` role. Errors say which check failed.
Status VerifyCertificate(const Certificate& cert, const PublicKey& ca_key, int64_t now,
                         Role expected, CertificateError* error = nullptr);

}  // namespace mesh

#endif  // MESH_CERTIFICATE_H_
