// Manifest: the owner-signed description of one version of a secret (who owns and may read
// it, t and n, which nodes hold its shares), and Commit: a manifest with every holder's
// signed acknowledgement, the form in which a version becomes visible. A tombstone is a
// manifest with `deleted` set and no holders. Binary layout: docs/vault.md ("Records").
#ifndef VAULT_PROTOCOL_MANIFEST_H_
#define VAULT_PROTOCOL_MANIFEST_H_

#include <string>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"
#include "protocol/codec.h"

namespace vault::protocol {

inline constexpr size_t kMaxSecretNameBytes = 128;
inline constexpr size_t kMaxReaders = 64;
inline constexpr size_t kMaxManifestBytes = 16384 + 255 * (2 + mesh::kMaxCertificateBytes);
inline constexpr size_t kMaxCommitBytes = kMaxManifestBytes + 8 + 255 * mesh::kSignatureBytes;

// Secret names: 1..128 bytes of [A-Za-z0-9._/-], not starting with '/' or '.'.
mesh::Status CheckSecretName(std::string_view name);

struct Manifest {
  std::string name;
  uint64_t version = 0;  // 1 for the first put; each put or delete raises it by one
  bool deleted = false;
  int threshold = 0;
  int count = 0;
  mesh::Certificate owner;                 // a client certificate
  std::vector<std::string> readers;        // certificate names, besides the owner
  std::vector<mesh::Certificate> holders;  // node certificates; holder i keeps share i
  int64_t created_ms = 0;
  mesh::Signature signature{};

  std::vector<uint8_t> Body() const;  // the signed bytes
  std::vector<uint8_t> Encode() const;
  static mesh::Status Decode(std::span<const uint8_t> bytes, Manifest* out);
  void Sign(const mesh::SigningKey& owner_key);
  // Checks that the owner's certificate (role client) and every holder's (role node) chain
  // to `ca_key` and were valid at created_ms, and the owner's signature.
  mesh::Status Verify(const mesh::PublicKey& ca_key) const;
  // Only the owner's certificate and signature: what a reader needs, since every share it
  // accepts carries the owner's signature over this manifest's id.
  mesh::Status VerifyOwner(const mesh::PublicKey& ca_key) const;
  // Digest that holders acknowledge.
  Digest Id() const;
  // The owner or a named reader.
  bool MayRead(std::string_view client_name) const;
  int HolderIndex(const mesh::PublicKey& node) const;  // -1 when not a holder
  std::vector<mesh::PublicKey> HolderIds() const;
};

// What holder `index` signs when its share of `manifest_id` is durably stored.
std::vector<uint8_t> AckBody(const Digest& manifest_id, int index);
mesh::Signature SignAck(const mesh::SigningKey& holder_key, const Digest& manifest_id, int index);
bool VerifyAck(const Manifest& manifest, int index, const mesh::Signature& ack);

struct Commit {
  Manifest manifest;
  std::vector<mesh::Signature> acks;  // one per holder, in holder order

  std::vector<uint8_t> Encode() const;
  static mesh::Status Decode(std::span<const uint8_t> bytes, Commit* out);
  // The manifest is valid and every holder acknowledged it.
  mesh::Status Verify(const mesh::PublicKey& ca_key) const;
};

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_MANIFEST_H_
