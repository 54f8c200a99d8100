// Joins strings with a separator, for messages that list shares by origin.
#ifndef VAULT_JOIN_H_
#define VAULT_JOIN_H_

#include <string>
#include <string_view>
#include <vector>

namespace vault {

inline std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace vault

#endif  // VAULT_JOIN_H_
