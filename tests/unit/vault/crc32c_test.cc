#include "crc32c.h"

#include <catch2/catch.hpp>
#include <string_view>

namespace {
uint32_t Crc(std::string_view s) {
  return vault::Crc32c({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}
}  // namespace

TEST_CASE("CRC-32C known answers", "[crc32c]") {
  CHECK(Crc("") == 0x00000000U);
  CHECK(Crc("123456789") == 0xE3069283U);  // the standard check value
  CHECK(Crc("a") == 0xC1D04330U);
  // Lengths around the 8-byte hardware stride give the same as byte-at-a-time.
  std::string s;
  for (int i = 0; i < 40; ++i) {
    s.push_back(static_cast<char>('a' + i % 26));
    uint32_t crc = 0xFFFFFFFFU;
    for (unsigned char c : s) {
      crc ^= c;
      for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0x82F63B78U & (0U - (crc & 1U)));
    }
    REQUIRE(Crc(s) == ~crc);
  }
}
