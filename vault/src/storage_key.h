// The share store's at-rest key (<data dir>/vault.key) and the AEAD that seals each share
// row with it: XChaCha20-Poly1305 (IETF) with a fresh random nonce, the associated data
// binding the row's name and version. Format: docs/vault.md ("Share store").
#ifndef VAULT_STORAGE_KEY_H_
#define VAULT_STORAGE_KEY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace vault::storage_key {

inline constexpr std::string_view kLabel = "MESHVAULT STORAGE KEY";
inline constexpr size_t kNonceBytes = 24;  // crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
inline constexpr size_t kTagBytes = 16;    // crypto_aead_xchacha20poly1305_ietf_ABYTES

// Reads the armoured key at `path` into `key` (32 bytes). NotFound when the file does not
// exist; PermissionDenied when group or others have any permission on it; InvalidArgument
// when it is not a storage key.
mesh::Status Read(const std::string& path, mesh::SecureBuffer* key);
// Creates `path` (mode 0600, written durably, never replacing a file) holding 32 fresh
// random bytes, and gives them in `key`.
mesh::Status Create(const std::string& path, mesh::SecureBuffer* key);

// Encrypts `plaintext` for the row (name, version): *nonce is fresh, *ciphertext is
// plaintext.size() + kTagBytes bytes.
void Seal(const mesh::SecureBuffer& key, std::string_view name, uint64_t version,
          std::span<const uint8_t> plaintext, std::vector<uint8_t>* nonce,
          std::vector<uint8_t>* ciphertext);
// Decrypts into `plaintext` (sized ciphertext.size() - kTagBytes). False when the
// ciphertext, nonce, key or row do not match; `plaintext` is then left empty.
bool Open(const mesh::SecureBuffer& key, std::string_view name, uint64_t version,
          std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
          mesh::SecureBuffer* plaintext);

}  // namespace vault::storage_key

#endif  // VAULT_STORAGE_KEY_H_
