// Network addresses as users write them: "host:port", "[v6]:port", "dns-name:port".
#ifndef MESH_ADDRESS_H_
#define MESH_ADDRESS_H_

#include <string>

#include "mesh/status.h"

namespace mesh {

// Splits an address into host (brackets removed) and port (1-5 digits, at most 65535).
Status SplitHostPort(const std::string& address, std::string* host, std::string* port);

}  // namespace mesh

#endif  // MESH_ADDRESS_H_
