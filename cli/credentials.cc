#include "credentials.h"

#include <ctime>

#include "mesh/key_files.h"

namespace cli {

mesh::Status LoadCredentials(const CredentialPaths& paths, mesh::Role role, Credentials* out) {
  if (paths.ca.empty() || paths.cert.empty() || paths.key.empty()) {
    return mesh::Status::InvalidArgument("--ca, --cert and --key are all required");
  }
  mesh::Certificate ca;
  if (auto s = mesh::ReadCertificateFile(paths.ca, &ca); !s.ok()) return s;
  const int64_t now = std::time(nullptr);
  if (ca.role != mesh::Role::kCa) {
    return mesh::Status::InvalidArgument(paths.ca + " is not a CA certificate");
  }
  if (auto s = mesh::VerifyCertificate(ca, ca.subject, now, mesh::Role::kCa); !s.ok()) {
    return mesh::Status::InvalidArgument(paths.ca + ": " + s.message());
  }
  Credentials c;
  c.ca_key = ca.subject;
  if (auto s = mesh::ReadCertificateFile(paths.cert, &c.certificate); !s.ok()) return s;
  if (auto s = mesh::VerifyCertificate(c.certificate, c.ca_key, now, role); !s.ok()) {
    return mesh::Status::InvalidArgument(paths.cert + ": " + s.message());
  }
  c.key = std::make_shared<mesh::SigningKey>();
  if (auto s = mesh::ReadPrivateKeyFile(paths.key, c.key.get()); !s.ok()) return s;
  if (c.key->public_key() != c.certificate.subject) {
    return mesh::Status::InvalidArgument(paths.key + " is not the key of " + paths.cert);
  }
  *out = std::move(c);
  return mesh::Status::OK();
}

}  // namespace cli
