// SymmetricState (Noise Protocol Framework rev. 34, section 5.2): a CipherState plus
// the chaining key `ck` and the handshake hash `h`, for the SHA256 hash (HASHLEN 32).
// Not thread-safe. `ck` and `h` are wiped on destruction.
#ifndef MESH_NOISE_SYMMETRIC_STATE_H_
#define MESH_NOISE_SYMMETRIC_STATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mesh/status.h"
#include "noise/cipher_state.h"

namespace mesh::noise {

inline constexpr size_t kHashLen = 32;  // SHA256 (section 12.5)

using HandshakeHash = std::array<uint8_t, kHashLen>;

// HKDF(chaining_key, input_key_material, num_outputs) of section 4.3 with HMAC-SHA256,
// producing two outputs (out3 == nullptr) or three. input_key_material is 0, 32 or DHLEN
// bytes. Exposed for tests; all outputs are secret and should be wiped by the caller.
void Hkdf(std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input_key_material, std::array<uint8_t, kHashLen>* out1,
          std::array<uint8_t, kHashLen>* out2, std::array<uint8_t, kHashLen>* out3);

class SymmetricState {
 public:
  SymmetricState() = default;
  ~SymmetricState();
  SymmetricState(const SymmetricState&) = delete;
  SymmetricState& operator=(const SymmetricState&) = delete;

  // h = protocol_name zero-padded to HASHLEN, or HASH(protocol_name) if longer;
  // ck = h; k = empty.
  void InitializeSymmetric(std::string_view protocol_name);

  // ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k).
  void MixKey(std::span<const uint8_t> input_key_material);

  // h = HASH(h || data).
  void MixHash(std::span<const uint8_t> data);

  // For PSKs (section 9): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h);
  // InitializeKey(temp_k). Unused by the supported (non-PSK) patterns.
  void MixKeyAndHash(std::span<const uint8_t> input_key_material);

  bool HasKey() const { return cipher_.HasKey(); }

  // Appends EncryptWithAd(h, plaintext) to *out, then MixHash(ciphertext).
  Status EncryptAndHash(std::span<const uint8_t> plaintext, std::vector<uint8_t>* out);

  // Appends DecryptWithAd(h, ciphertext) to *out, then MixHash(ciphertext).
  // On failure neither *out nor h changes.
  Status DecryptAndHash(std::span<const uint8_t> ciphertext, std::vector<uint8_t>* out);

  // temp_k1, temp_k2 = HKDF(ck, zerolen, 2); c1 gets temp_k1 (initiator -> responder),
  // c2 gets temp_k2. Wipes ck afterwards: the SymmetricState is finished.
  void Split(CipherState* c1, CipherState* c2);

  // GetHandshakeHash(): h, for channel binding (section 11.2).
  const HandshakeHash& handshake_hash() const { return h_; }

 private:
  CipherState cipher_;
  std::array<uint8_t, kHashLen> ck_{};
  HandshakeHash h_{};
};

}  // namespace mesh::noise

#endif  // MESH_NOISE_SYMMETRIC_STATE_H_
