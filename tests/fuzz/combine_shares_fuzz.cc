// Share input as `meshvault combine` reads it (vault/src/shares_combine.cc, text_combine.cc):
// format detection, text, json, vault and vault-hex shares. Input byte 0 holds options:
//   bits 0-2  format: 1 text, 2 json, 3 vault, 4 vault-hex, else detect
//   bit 3     append the right checksum to every line holding a '.' (past the CRC wall)
//   bit 4     a 64-byte secret limit instead of 1 MiB
//   bit 5     split mode: bytes 1-3 pick t, n and the format, the rest is a secret that is
//             split, then combined from all lines and from the first t; a text share is
//             altered (checksum fixed, as an attacker would) and the result must never be a
//             different secret.
// Otherwise the rest is the text given to combine.
#include <cstdio>

#include "crc32c.h"
#include "fuzz_common.h"
#include "vault/shares.h"

using namespace vault;

namespace {

std::optional<ShareFormat> FormatOf(uint8_t v) {
  switch (v) {
    case 1:
      return ShareFormat::kText;
    case 2:
      return ShareFormat::kJson;
    case 3:
      return ShareFormat::kVault;
    case 4:
      return ShareFormat::kVaultHex;
  }
  return std::nullopt;
}

std::string WithCrc(std::string_view line) {
  std::string out(line);
  out += '.';
  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x", Crc32c(fuzz::AsBytes(out)));
  return out + crc;
}

mesh::Status Combine(std::string_view text, const CombineOptions& o, mesh::SecureBuffer* secret,
                     CombineReport* report) {
  const std::vector<ShareInput> inputs = SplitShareLines(text, "line ");
  const mesh::Status s = CombineShares(inputs, o, secret, report);
  if (s.ok()) {
    FUZZ_CHECK(secret->size() >= 1 && secret->size() <= o.max_secret_bytes);
    FUZZ_CHECK(report->shares_used >= 2 && report->shares_used <= 255);
  }
  return s;
}

void SplitMode(fuzz::Reader& in) {
  const int t = 2 + in.U8() % 4;
  const int n = t + in.U8() % 4;
  const ShareFormat format = FormatOf(1 + in.U8() % 4).value();
  const std::vector<uint8_t> secret = in.Rest();
  SplitOptions so;
  so.threshold = t;
  so.shares = n;
  so.format = format;
  mesh::SecureBuffer lines;
  if (!SplitSecret(secret, so, &lines).ok()) {
    FUZZ_CHECK(secret.empty());
    return;
  }
  CombineOptions co;
  co.format = format;
  mesh::SecureBuffer back;
  CombineReport report;
  FUZZ_CHECK(Combine(lines.view(), co, &back, &report).ok());
  FUZZ_CHECK(back.view() == fuzz::AsText(secret));
  if (format == ShareFormat::kJson) return;
  // Any t lines suffice: the first t.
  std::vector<std::string> split;
  for (const auto& s : SplitShareLines(lines.view(), "")) split.emplace_back(s.text);
  FUZZ_CHECK(split.size() == static_cast<size_t>(n));
  std::string first_t;
  for (int i = 0; i < t; ++i) first_t += split[i] + "\n";
  FUZZ_CHECK(Combine(first_t, co, &back, &report).ok());
  FUZZ_CHECK(back.view() == fuzz::AsText(secret));
  if (format != ShareFormat::kText) return;
  // An altered line (checksum recomputed) never turns into another secret.
  const size_t which = in.U8() % split.size();
  std::string& line = split[which];
  const std::string covered = line.substr(0, line.size() - 9);
  std::string altered = covered;
  const size_t at = in.U16() % altered.size();
  altered[at] = static_cast<char>(in.U8() | 0x20);
  line = WithCrc(altered);
  std::string all;
  for (const auto& l : split) all += l + "\n";
  if (Combine(all, co, &back, &report).ok()) FUZZ_CHECK(back.view() == fuzz::AsText(secret));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  fuzz::Reader in(data, size);
  const uint8_t opts = in.U8();
  if (opts & 0x20) {
    SplitMode(in);
    return 0;
  }
  CombineOptions co;
  co.format = FormatOf(opts & 7);
  co.max_secret_bytes = (opts & 0x10) ? 64 : kDefaultMaxSecretBytes;
  const std::vector<uint8_t> rest = in.Rest();
  std::string text(rest.begin(), rest.end());
  if (opts & 8) {
    std::string fixed;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string_view line = std::string_view(text).substr(start, end - start);
      fixed += line.find('.') != std::string_view::npos ? WithCrc(line) : std::string(line);
      fixed += '\n';
      start = end + 1;
    }
    text = fixed;
  }
  mesh::SecureBuffer secret;
  CombineReport report;
  (void)Combine(text, co, &secret, &report);
  return 0;
}
