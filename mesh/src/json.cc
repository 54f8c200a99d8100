// ParseJson: the one way JSON from the network is parsed (mesh/node.h).
#include <string>

#include "mesh/node.h"

namespace mesh {

Status ParseJson(std::span<const uint8_t> text, Json* out) {
  // Brackets outside strings are the structure of valid JSON, so this is its exact depth;
  // text it misjudges is not JSON and fails to parse below.
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const uint8_t c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Status::InvalidArgument("JSON nests deeper than " + std::to_string(kMaxJsonDepth) +
                                       " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidArgument("not JSON");
  *out = std::move(parsed);
  return Status::OK();
}

}  // namespace mesh
