#include "mesh/address.h"

namespace mesh {

Status SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("address '" + address + "' is not host:port");
  }
  std::string h = address.substr(0, colon);
  std::string p = address.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || h.find_first_of(" /\\@") != std::string::npos) {
    return Status::InvalidArgument("address '" + address + "' has a bad host");
  }
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(p) > 65535) {
    return Status::InvalidArgument("address '" + address + "' has a bad port");
  }
  *host = std::move(h);
  *port = std::move(p);
  return Status::OK();
}

}  // namespace mesh
