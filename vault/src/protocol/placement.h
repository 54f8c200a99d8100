// Placement: which nodes hold a secret's shares. Rendezvous (highest random weight) hashing
// on the secret's name: every member gets the score BLAKE2b("meshvault placement v1\0" ||
// name || 0 || id) and the n highest scores hold the shares, so a name's holders move only
// when its own holders come or go.
#ifndef VAULT_PROTOCOL_PLACEMENT_H_
#define VAULT_PROTOCOL_PLACEMENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"

namespace vault::protocol {

struct Candidate {
  mesh::PublicKey id{};
  std::string name;
  mesh::Certificate certificate;  // its node certificate, checked against the CA
};

// The `n` best candidates for `name`, best first; all of them when there are fewer.
std::vector<Candidate> ChooseHolders(std::string_view name, std::vector<Candidate> candidates,
                                     size_t n);

}  // namespace vault::protocol

#endif  // VAULT_PROTOCOL_PLACEMENT_H_
