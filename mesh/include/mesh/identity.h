// Ed25519 identities: a signing key (secret half in secure memory) and signature checks with
// domain separation. Every signature meshvault makes covers "<domain>\0" followed by the
// message, so a signature made for one purpose never verifies for another. Thread-safe for
// const use.
#ifndef MESH_IDENTITY_H_
#define MESH_IDENTITY_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace mesh {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kSeedBytes = 32;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;

class SigningKey {
 public:
  SigningKey() = default;
  // A fresh key from libsodium's CSPRNG.
  static SigningKey Generate();
  // The key whose 32-byte seed is `seed`.
  static SigningKey FromSeed(std::span<const uint8_t, kSeedBytes> seed);

  bool valid() const { return secret_.size() == 64; }
  const PublicKey& public_key() const { return public_; }
  // The 32-byte seed, for writing to a key file.
  std::span<const uint8_t> seed() const { return secret_.span().first(kSeedBytes); }

  Signature Sign(std::string_view domain, std::span<const uint8_t> message) const;

 private:
  SecureBuffer secret_;  // libsodium's 64-byte secret key: seed || public key
  PublicKey public_{};
};

bool VerifySignature(const PublicKey& key, std::string_view domain,
                     std::span<const uint8_t> message, std::span<const uint8_t> signature);

// Lowercase hex of the first 8 bytes of a public key: a short id for logs and tables.
std::string ShortId(const PublicKey& key);

}  // namespace mesh

#endif  // MESH_IDENTITY_H_
