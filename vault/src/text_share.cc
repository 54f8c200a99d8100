#include "text_share.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "crc32c.h"
#include "ct.h"

namespace vault::text_share {

using mesh::SecureBuffer;
using mesh::Status;

namespace {

constexpr int kB64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr size_t kCrcChars = 8;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// CRC-32C of `covered` as 8 lowercase hex digits, written without secret-dependent branches.
std::string CrcHex(std::string_view covered) {
  const uint32_t crc = Crc32c(Bytes(covered));
  std::string hex(kCrcChars, '0');
  for (size_t i = 0; i < kCrcChars; ++i) hex[i] = ct::HexDigit(crc >> (28 - 4 * i) & 0xFU);
  return hex;
}

// A decimal in [lo, hi] with no sign, no leading zero and nothing after it.
bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

std::string SetIdString(const std::array<uint8_t, kSetIdBytes>& set_id) {
  char buf[sodium_base64_ENCODED_LEN(kSetIdBytes, kB64)];
  sodium_bin2base64(buf, sizeof(buf), set_id.data(), set_id.size(), kB64);
  return buf;
}

namespace {
std::string HeaderText(const Header& header) {
  return std::string(kPrefix) + std::to_string(header.threshold) + "of" +
         std::to_string(header.count) + "." + std::to_string(header.index) + "." +
         SetIdString(header.set_id) + ".";
}
}  // namespace

size_t EncodedSize(const Header& header, size_t xy_size) {
  return HeaderText(header).size() + sodium_base64_ENCODED_LEN(xy_size, kB64) - 1 + 1 + kCrcChars;
}

void Encode(const Header& header, std::span<const uint8_t> xy, SecureBuffer* out) {
  const size_t start = out->size();
  out->Append(HeaderText(header));
  // base64url(x || y), encoded in constant time straight into secure memory.
  const size_t b64_len = sodium_base64_ENCODED_LEN(xy.size(), kB64);  // includes the NUL
  const size_t body_at = out->size();
  out->Reserve(body_at + b64_len + 1 + kCrcChars);
  out->Resize(body_at + b64_len);
  sodium_bin2base64(reinterpret_cast<char*>(out->data() + body_at), b64_len, xy.data(), xy.size(),
                    kB64);
  out->Resize(body_at + b64_len - 1);  // drop the NUL
  out->Append(".");
  const std::string crc = CrcHex(out->view().substr(start));
  out->Append(crc);
}

Status Decode(std::string_view line, size_t max_y_bytes, Decoded* out) {
  const size_t max_body = sodium_base64_ENCODED_LEN(max_y_bytes + 1, kB64);
  if (line.size() > max_body + 64) {
    return Status::ResourceExhausted("share is longer than the secret size limit allows");
  }
  // 1. The checksum, before anything else is trusted: '.' then 8 hex digits at the end.
  const size_t n = line.size();
  if (n < kCrcChars + 2 || ct::PublicChar(line.data() + n - kCrcChars - 1) != '.') {
    return Status::InvalidArgument(
        "share is truncated or malformed: it does not end with a '.' and an 8-digit checksum");
  }
  const std::string expected = CrcHex(line.substr(0, n - kCrcChars));
  // The verdict is public: it is what the share's own last field says.
  if (ct::Declassify(sodium_memcmp(expected.data(), line.data() + n - kCrcChars, kCrcChars)) != 0) {
    return Status::Corruption("checksum mismatch: a character is wrong, missing, extra or swapped");
  }
  // Every character of a share is URL-safe ASCII; libsodium would read bytes 0x80-0xFF in the
  // set id or body as '_' (ct::Ascii), so another spelling of the same share would decode.
  if (!ct::Ascii(line)) {
    return Status::InvalidArgument("share holds a character that is not URL-safe base64");
  }
  // 2. The header: public metadata up to the fourth '.', read one character at a time so no
  // body character is ever compared.
  const size_t body_end = n - kCrcChars - 1;
  size_t body_start = 0;
  for (int dots = 0; body_start < body_end && dots < 4; ++body_start) {
    dots += ct::PublicChar(line.data() + body_start) == '.';
  }
  const std::string_view header = line.substr(0, body_start);
  if (!header.starts_with(kPrefix)) {
    // Name the version only when it looks like one: never echo what may be share content.
    const std::string_view version = header.substr(0, header.find('.'));
    const bool plain = version.starts_with(kMagic) && version.size() <= 8 &&
                       std::all_of(version.begin() + 3, version.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
    return Status::InvalidArgument(
        plain ? "unsupported share version '" + std::string(version) + "': this build reads mvs1"
              : std::string("not a meshvault share (it should start with mvs1.)"));
  }
  const std::vector<std::string_view> f = SplitDots(header.substr(kPrefix.size()));
  if (f.size() != 4 || !f[3].empty()) {
    return Status::InvalidArgument("share has the wrong number of fields");
  }
  Header h;
  const size_t of = f[0].find("of");
  if (of == std::string_view::npos || !ParseInt(f[0].substr(0, of), 2, 255, &h.threshold) ||
      !ParseInt(f[0].substr(of + 2), h.threshold, 255, &h.count)) {
    return Status::InvalidArgument("share has an invalid '<t>of<n>' field");
  }
  if (!ParseInt(f[1], 1, h.count, &h.index)) {
    return Status::InvalidArgument("share has an invalid index field");
  }
  size_t set_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(h.set_id.data(), h.set_id.size(), f[2].data(), f[2].size(), nullptr,
                        &set_len, &end, kB64) != 0 ||
      set_len != kSetIdBytes || end != f[2].data() + f[2].size()) {
    return Status::InvalidArgument("share has an invalid set id");
  }
  // 3. The body, decoded in constant time into secure memory.
  const std::string_view body = line.substr(body_start, body_end - body_start);
  SecureBuffer raw(body.size() * 3 / 4 + 1);
  size_t raw_len = 0;
  const int rc = sodium_base642bin(raw.data(), raw.size(), body.data(), body.size(), nullptr,
                                   &raw_len, &end, kB64);
  // Whether the body decodes, and its length, are public; its bytes are not.
  if (ct::Declassify(rc) != 0 || ct::Declassify(end) != body.data() + body.size()) {
    return Status::InvalidArgument("share body is not valid base64url");
  }
  raw_len = ct::Declassify(raw_len);
  if (raw_len < 2) return Status::InvalidArgument("share body is too short");
  if (raw_len - 1 > max_y_bytes) {
    return Status::ResourceExhausted("share is longer than the secret size limit allows");
  }
  MESHVAULT_DECLASSIFY(raw.data(), 1);  // x is public
  if (raw.data()[0] == 0) return Status::InvalidArgument("share has x coordinate 0");
  out->header = h;
  out->x = raw.data()[0];
  out->y = std::span<const uint8_t>(raw.data() + 1, raw_len - 1);
  out->storage = std::move(raw);
  return Status::OK();
}

}  // namespace vault::text_share
