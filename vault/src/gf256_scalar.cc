#include <cstring>

#include "gf256.h"

namespace vault::gf256 {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;
constexpr uint64_t kLowBits = 0x7F7F7F7F7F7F7F7FULL;

// Eight independent field products in one word: each byte lane is shifted and reduced on its
// own; (hi >> 7) leaves 0 or 1 per lane, and multiplying by 0x1B cannot carry across lanes.
inline uint64_t MulWord(uint64_t a, uint8_t c) {
  uint64_t r = 0;
  for (int bit = 0; bit < 8; ++bit) {
    r ^= a & (0 - static_cast<uint64_t>((c >> bit) & 1));
    const uint64_t hi = a & kHighBits;
    a = ((a & kLowBits) << 1) ^ ((hi >> 7) * 0x1B);
  }
  return r;
}

}  // namespace

void MulAddScalar(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, in + i, 8);
    std::memcpy(&b, add + i, 8);
    const uint64_t r = MulWord(a, c) ^ b;
    std::memcpy(out + i, &r, 8);
  }
  for (; i < len; ++i) out[i] = static_cast<uint8_t>(Mul(in[i], c) ^ add[i]);
}

void EvalByPasses(MulAddFn mul_add, const uint8_t* const* coeffs, size_t t, const uint8_t* xs,
                  size_t n, uint8_t* const* outs, size_t len) {
  for (size_t k = 0; k < n; ++k) {
    uint8_t* y = outs[k];
    if (t == 1) {
      std::memcpy(y, coeffs[0], len);
      continue;
    }
    // y = (((c_{t-1} x + c_{t-2}) x + ...) x + c_0
    mul_add(y, coeffs[t - 1], xs[k], coeffs[t - 2], len);
    for (size_t j = t - 2; j-- > 0;) mul_add(y, y, xs[k], coeffs[j], len);
  }
}

}  // namespace vault::gf256
