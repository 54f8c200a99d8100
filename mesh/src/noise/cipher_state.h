// CipherState (Noise Protocol Framework rev. 34, section 5.1): a ChaCha20-Poly1305
// key `k` and a 64-bit nonce `n`. Used for handshake payload encryption and, after
// Split(), for transport messages (one CipherState per direction).
//
// An empty key (HasKey() == false) passes data through unchanged, as the spec requires
// during the early handshake; callers must never use a keyless CipherState for transport.
// Not thread-safe. The key is wiped on destruction, reassignment and move.
#ifndef MESH_NOISE_CIPHER_STATE_H_
#define MESH_NOISE_CIPHER_STATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mesh/status.h"

namespace mesh::noise {

inline constexpr size_t kKeyLen = 32;
inline constexpr size_t kTagLen = 16;
// Section 3: every Noise message, handshake or transport, is at most 65535 bytes.
inline constexpr size_t kMaxMessageLen = 65535;
// Section 5.1: n = 2^64-1 is reserved; reaching it exhausts the CipherState.
inline constexpr uint64_t kMaxNonce = std::numeric_limits<uint64_t>::max();

class CipherState {
 public:
  CipherState() = default;
  ~CipherState();

  // Move-only so key bytes are not duplicated by accident; the source is wiped.
  CipherState(CipherState&& other) noexcept;
  CipherState& operator=(CipherState&& other) noexcept;
  CipherState(const CipherState&) = delete;
  CipherState& operator=(const CipherState&) = delete;

  // InitializeKey(key): sets k = key, n = 0.
  void InitializeKey(std::span<const uint8_t, kKeyLen> key);
  // InitializeKey(empty): wipes k, n = 0.
  void ClearKey();
  bool HasKey() const { return has_key_; }

  // Tests only: rewinding a sending nonce reuses it, which breaks ChaCha20-Poly1305. Links
  // deliver in order and never need SetNonce (section 11.4).
  void SetNonceForTesting(uint64_t nonce) { n_ = nonce; }
  uint64_t nonce() const { return n_; }

  // Appends ENCRYPT(k, n++, ad, plaintext) to *out, or plaintext if there is no key.
  // `plaintext` must not alias *out. Errors: ResourceExhausted when n == 2^64-1,
  // InvalidArgument when the ciphertext would exceed kMaxMessageLen.
  Status EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                       std::vector<uint8_t>* out);

  // Appends DECRYPT(k, n++, ad, ciphertext) to *out, or ciphertext if there is no key.
  // On failure *out and n are unchanged. Errors: Corruption on authentication failure,
  // ResourceExhausted when n == 2^64-1, InvalidArgument on a malformed length.
  Status DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                       std::vector<uint8_t>* out);

  // Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes) (section 4.2).
  // n is left unchanged. InvalidArgument if there is no key.
  Status Rekey();

 private:
  std::array<uint8_t, kKeyLen> k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
};

}  // namespace mesh::noise

#endif  // MESH_NOISE_CIPHER_STATE_H_
