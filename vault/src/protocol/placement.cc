#include "protocol/placement.h"

#include <algorithm>

#include "protocol/codec.h"

namespace vault::protocol {

std::vector<Candidate> ChooseHolders(std::string_view name, std::vector<Candidate> candidates,
                                     size_t n) {
  std::vector<std::pair<Digest, Candidate>> scored;
  for (auto& c : candidates) {
    std::vector<uint8_t> input(name.begin(), name.end());
    input.push_back(0);
    input.insert(input.end(), c.id.begin(), c.id.end());
    scored.emplace_back(Hash("meshvault placement v1", input), std::move(c));
  }
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Candidate> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(std::move(scored[i].second));
  return out;
}

}  // namespace vault::protocol
