// GetRequest: a reader's signed request for its shares of one secret version. It carries a
// fresh nonce and the time (holders refuse replays and stale requests) and a one-time X25519
// key to which each holder seals its share. Layout: docs/vault.md ("Records").
#ifndef VAULT_PROTOCOL_GET_REQUEST_H_
#define VAULT_PROTOCOL_GET_REQUEST_H_

#include <string>
#include <vector>

#include "mesh/certificate.h"
#include "protocol/certificate_cache.h"
#include "protocol/sealed_share.h"
#include "vault/share_store.h"

namespace vault::protocol {

inline constexpr size_t kMaxGetRequestBytes = 1024;

struct GetRequest {
  std::string name;
  uint64_t version = 0;  // 0: the current version
  RequestNonce nonce{};
  BoxPublicKey reply_key{};
  int64_t time_ms = 0;
  mesh::Certificate client;
  mesh::Signature signature{};

  std::vector<uint8_t> Body() const;
  std::vector<uint8_t> Encode() const;
  static mesh::Status Decode(std::span<const uint8_t> bytes, GetRequest* out);
  void Sign(const mesh::SigningKey& client_key);
  // The client certificate chains to `ca_key` and is valid now, the signature holds and the
  // request time is within `window_ms` of `now_ms`. PermissionDenied otherwise. `certs`, when
  // given, spares the CA signature check of a certificate seen before.
  mesh::Status Verify(const mesh::PublicKey& ca_key, int64_t now_ms, int64_t window_ms,
                      CertificateCache* certs = nullptr) const;
};

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_GET_REQUEST_H_
