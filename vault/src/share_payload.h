// The authenticated payload that text and json shares split (docs/share-format.md):
//   P = K || secret || tag,  tag = BLAKE2b-256 keyed with KDF(K) over the set parameters and
//   the secret. All of P is shared, so fewer than t shares reveal nothing of K, the secret or
//   the tag; a share altered by anyone without t shares makes the tag check fail.
#ifndef VAULT_SHARE_PAYLOAD_H_
#define VAULT_SHARE_PAYLOAD_H_

#include <array>
#include <cstdint>
#include <span>

#include "mesh/secure_buffer.h"
#include "text_share.h"

namespace vault::share_payload {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kTagBytes = 32;
inline constexpr size_t kOverhead = kKeyBytes + kTagBytes;

struct SetParams {
  std::array<uint8_t, text_share::kSetIdBytes> set_id{};
  int threshold = 0;
  int count = 0;
};

// Writes P for `secret` with a fresh random K into `payload` (secret.size() + kOverhead bytes).
void Seal(const SetParams& params, std::span<const uint8_t> secret, std::span<uint8_t> payload);

// True when P's tag matches (constant-time comparison). P must be longer than kOverhead.
bool Verify(const SetParams& params, std::span<const uint8_t> payload);

inline std::span<const uint8_t> SecretOf(std::span<const uint8_t> payload) {
  return payload.subspan(kKeyBytes, payload.size() - kOverhead);
}

}  // namespace vault::share_payload

#endif  // VAULT_SHARE_PAYLOAD_H_
