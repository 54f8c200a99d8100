// Loading a node's or client's credentials from files: the CA certificate, the holder's
// certificate and its private key (refused when others can read it).
#ifndef CLI_CREDENTIALS_H_
#define CLI_CREDENTIALS_H_

#include <memory>
#include <string>

#include "mesh/certificate.h"
#include "mesh/identity.h"
#include "mesh/status.h"

namespace cli {

struct CredentialPaths {
  std::string ca;    // the CA certificate (ca.crt)
  std::string cert;  // the holder's certificate
  std::string key;   // the holder's private key
};

struct Credentials {
  std::shared_ptr<mesh::SigningKey> key;
  mesh::Certificate certificate;
  mesh::PublicKey ca_key{};
};

// Checks that the CA certificate is a self-signed CA, that the certificate was issued by it
// and has `role`, and that the key matches the certificate.
mesh::Status LoadCredentials(const CredentialPaths& paths, mesh::Role role, Credentials* out);

}  // namespace cli

#endif  // CLI_CREDENTIALS_H_
