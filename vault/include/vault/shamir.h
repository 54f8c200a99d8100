// Shamir secret sharing over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1, byte-compatible
// with HashiCorp Vault's and OpenBao's `shamir` package. Pure functions over byte spans: no I/O,
// no heap allocation, and constant time with respect to secret bytes and coefficients (no
// secret-dependent branch or table index). Thread-safe.
#ifndef VAULT_SHAMIR_H_
#define VAULT_SHAMIR_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "mesh/status.h"

namespace vault::shamir {

inline constexpr int kMinThreshold = 2;
inline constexpr int kMaxShares = 255;

// Implementation of the field multiply used for bulk work. All are bit-identical.
enum class Kernel {
  kAuto,    // the fastest one this CPU supports
  kScalar,  // portable, 8 bytes at a time in a 64-bit word
  kSsse3,   // PSHUFB split tables, 16 bytes at a time
  kAvx2,    // VPSHUFB split tables, 32 bytes at a time
  kGfni,    // GF2P8MULB (same polynomial), 32 bytes at a time
};

std::string_view KernelName(Kernel kernel);
bool KernelAvailable(Kernel kernel);
// The kernel kAuto resolves to.
Kernel BestKernel();

// One share: its x coordinate (non-zero) and its y bytes, one per secret byte.
struct Share {
  uint8_t x = 0;
  std::span<const uint8_t> y;
};

// Splits `secret` (at least one byte) into ys.size() shares, any `threshold` of which recover
// it. ys[i] must be exactly secret.size() bytes; xs[i] receives share i's x coordinate.
// The x coordinates are distinct, non-zero and uniformly random (a Fisher-Yates draw from
// 1..255); coefficients are uniform, the leading one included. Randomness: a 32-byte seed
// from libsodium's CSPRNG expanded with Salsa20 (crypto_stream_salsa20).
mesh::Status Split(std::span<const uint8_t> secret, int threshold,
                   std::span<const std::span<uint8_t>> ys, std::span<uint8_t> xs,
                   Kernel kernel = Kernel::kAuto);

// Evaluates at `x` the polynomial of degree shares.size()-1 through `shares`. Every share's
// y must be out.size() bytes; x coordinates must be distinct and non-zero. x = 0 recovers the
// secret; any other x reproduces the share at that coordinate (used to check extra shares).
mesh::Status Interpolate(std::span<const Share> shares, uint8_t x, std::span<uint8_t> out,
                         Kernel kernel = Kernel::kAuto);

// Recovers the secret from at least `kMinThreshold` shares: Interpolate at x = 0.
inline mesh::Status Combine(std::span<const Share> shares, std::span<uint8_t> out,
                            Kernel kernel = Kernel::kAuto) {
  return Interpolate(shares, 0, out, kernel);
}

}  // namespace vault::shamir

#endif  // VAULT_SHAMIR_H_
