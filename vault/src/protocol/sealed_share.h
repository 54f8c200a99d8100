// A share as the dealer (the putting client) hands it to its holder, and as the holder hands
// it to a reader: the share line, bound by the dealer's signature to the secret's name,
// version, holder, index and manifest, sealed (crypto_box_seal) to one X25519 key, so the entry
// node that forwards it learns nothing. Holders use the X25519 form of their Ed25519 node key;
// readers use a one-time key per request. Layout: docs/vault.md ("Records").
#ifndef VAULT_PROTOCOL_SEALED_SHARE_H_
#define VAULT_PROTOCOL_SEALED_SHARE_H_

#include <sodium.h>

#include <string>
#include <vector>

#include "mesh/identity.h"
#include "mesh/secure_buffer.h"
#include "protocol/codec.h"

namespace vault::protocol {

inline constexpr size_t kBoxPublicKeyBytes = crypto_box_PUBLICKEYBYTES;
using BoxPublicKey = std::array<uint8_t, kBoxPublicKeyBytes>;
// A share line of a 1 MiB secret in the text format fits with room to spare.
inline constexpr size_t kMaxSharePayloadBytes = 2 << 20;
inline constexpr size_t kMaxSealedShareBytes = kMaxSharePayloadBytes + 1024;

// An X25519 key pair for crypto_box_seal; the secret half in secure memory.
class BoxKey {
 public:
  static BoxKey Generate();
  // The X25519 form of an Ed25519 node key (libsodium's ed25519-to-curve25519 conversion).
  static BoxKey FromSigningKey(const mesh::SigningKey& key);
  const BoxPublicKey& public_key() const { return public_; }
  const uint8_t* secret() const { return secret_.data(); }

 private:
  mesh::SecureBuffer secret_;
  BoxPublicKey public_{};
};

// The X25519 form of a node's Ed25519 public key; false for a key that has none.
bool NodeBoxKey(const mesh::PublicKey& node, BoxPublicKey* out);

struct DealerShare {
  std::string name;
  uint64_t version = 0;
  mesh::PublicKey holder{};
  int index = 0;                // the holder's position in the manifest
  Digest manifest_id{};         // the manifest this share was dealt under
  mesh::SecureBuffer payload;   // one text-format share line
  mesh::Signature signature{};  // the dealer's (owner's) signature

  void Sign(const mesh::SigningKey& dealer);
  bool VerifySignature(const mesh::PublicKey& dealer) const;
  // Seals the encoded share to `recipient`.
  std::vector<uint8_t> SealTo(const BoxPublicKey& recipient) const;
  // Opens and decodes a sealed share. Corruption when it does not open or parse.
  static mesh::Status Open(std::span<const uint8_t> sealed, const BoxKey& key, DealerShare* out);

 private:
  mesh::SecureBuffer Body() const;  // the signed bytes
};

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_SEALED_SHARE_H_
