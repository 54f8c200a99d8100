// One text-format share line (vault/src/text_share.cc), as `combine` reads it and as holders
// keep it. The input is taken twice: as a whole line, and as the part a checksum covers with
// the right CRC-32C appended, so the header and body parsers are reached past the checksum.
// A line that decodes must re-encode to exactly itself (the format is canonical).
#include <cstdio>

#include "crc32c.h"
#include "fuzz_common.h"
#include "text_share.h"

using namespace vault::text_share;

namespace {

void DecodeOne(std::string_view line, size_t max_y) {
  Decoded d;
  if (!Decode(line, max_y, &d).ok()) return;
  FUZZ_CHECK(d.x != 0 && !d.y.empty() && d.y.size() <= max_y);
  FUZZ_CHECK(d.header.threshold >= 2 && d.header.threshold <= d.header.count &&
             d.header.count <= 255 && d.header.index >= 1 && d.header.index <= d.header.count);
  FUZZ_CHECK(d.y.data() == d.storage.data() + 1);
  mesh::SecureBuffer again;
  Encode(d.header, std::span<const uint8_t>(d.storage.data(), d.y.size() + 1), &again);
  FUZZ_CHECK(again.view() == line);
  FUZZ_CHECK(EncodedSize(d.header, d.y.size() + 1) == line.size());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  const std::string_view line = fuzz::AsText({data, size});
  DecodeOne(line, 1 << 20);
  DecodeOne(line, 16);  // a small limit, so the size checks run on short inputs
  std::string fixed(line);
  fixed += '.';
  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x", vault::Crc32c(fuzz::AsBytes(fixed)));
  fixed += crc;
  DecodeOne(fixed, 1 << 20);
  return 0;
}
