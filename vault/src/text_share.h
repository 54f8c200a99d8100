// One share in meshvault's text format (docs/share-format.md):
//   mvs1.<t>of<n>.<i>.<set id>.<body>.<crc>
// body = base64url(x || y), crc = CRC-32C of everything before it, as 8 lowercase hex digits.
#ifndef VAULT_TEXT_SHARE_H_
#define VAULT_TEXT_SHARE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace vault::text_share {

inline constexpr std::string_view kMagic = "mvs";
inline constexpr std::string_view kPrefix = "mvs1.";
inline constexpr size_t kSetIdBytes = 8;

struct Header {
  int threshold = 0;
  int count = 0;
  int index = 0;  // 1..count, for people; the x coordinate is in the body
  std::array<uint8_t, kSetIdBytes> set_id{};
};

struct Decoded {
  Header header;
  uint8_t x = 0;
  std::span<const uint8_t> y;  // points into storage (which moves without reallocating)
  mesh::SecureBuffer storage;  // x || y as decoded
};

std::string SetIdString(const std::array<uint8_t, kSetIdBytes>& set_id);

// Appends the encoded share (no newline) to `out`. `xy` is the x byte followed by the y bytes.
void Encode(const Header& header, std::span<const uint8_t> xy, mesh::SecureBuffer* out);
// The length Encode appends for `header` and an xy of `xy_size` bytes.
size_t EncodedSize(const Header& header, size_t xy_size);

// Checks the checksum first, then parses. `max_y_bytes` bounds the decoded size.
mesh::Status Decode(std::string_view line, size_t max_y_bytes, Decoded* out);

}  // namespace vault::text_share

#endif  // VAULT_TEXT_SHARE_H_
