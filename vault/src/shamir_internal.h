// Deterministic entry points behind vault::shamir, for tests and the constant-time check.
#ifndef VAULT_SHAMIR_INTERNAL_H_
#define VAULT_SHAMIR_INTERNAL_H_

#include <sodium.h>

#include "vault/shamir.h"

namespace vault::shamir::internal {

inline constexpr size_t kSeedBytes = crypto_stream_salsa20_KEYBYTES;

// Split with every random choice derived from `seed`: the x coordinates (Salsa20 keystream,
// nonce 1, Fisher-Yates) and the coefficients (keystream, nonce 0).
mesh::Status SplitWithSeed(std::span<const uint8_t> secret, int threshold,
                           std::span<const std::span<uint8_t>> ys, std::span<uint8_t> xs,
                           std::span<const uint8_t, kSeedBytes> seed, Kernel kernel);

// Split with caller-chosen x coordinates and coefficient seed (no checks on xs beyond
// non-zero and distinct).
mesh::Status SplitWithXs(std::span<const uint8_t> secret, int threshold,
                         std::span<const std::span<uint8_t>> ys, std::span<const uint8_t> xs,
                         std::span<const uint8_t, kSeedBytes> seed, Kernel kernel);

}  // namespace vault::shamir::internal

#endif  // VAULT_SHAMIR_INTERNAL_H_
