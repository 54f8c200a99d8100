// CertificateCache: remembers certificates whose CA signature already verified, so a holder
// answering many gets from one client checks the CA signature once. The validity window and
// role are still checked on every use. Bounded; not thread-safe (the agent's worker uses it).
#ifndef VAULT_PROTOCOL_CERTIFICATE_CACHE_H_
#define VAULT_PROTOCOL_CERTIFICATE_CACHE_H_

#include <set>

#include "mesh/certificate.h"
#include "protocol/codec.h"

namespace vault::protocol {

class CertificateCache {
 public:
  explicit CertificateCache(size_t capacity = 1024) : capacity_(capacity) {}

  // As mesh::VerifyCertificate.
  mesh::Status Verify(const mesh::Certificate& cert, const mesh::PublicKey& ca_key, int64_t now_s,
                      mesh::Role expected) {
    const Digest key = Hash("meshvault certificate cache v1", cert.Encode());
    if (cert.issuer == ca_key && verified_.count(key) != 0) {
      if (cert.role != expected) return mesh::Status::PermissionDenied("wrong certificate role");
      if (now_s + mesh::kClockSkewSeconds < cert.not_before) {
        return mesh::Status::PermissionDenied("certificate is not yet valid");
      }
      if (now_s > cert.not_after) return mesh::Status::PermissionDenied("certificate expired");
      return mesh::Status::OK();
    }
    if (auto s = mesh::VerifyCertificate(cert, ca_key, now_s, expected); !s.ok()) return s;
    if (verified_.size() >= capacity_) verified_.clear();
    verified_.insert(key);
    return mesh::Status::OK();
  }

 private:
  const size_t capacity_;
  std::set<Digest> verified_;
};

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_CERTIFICATE_CACHE_H_
