// SIMD field multiply for x86-64, selected at run time. Each function is compiled for its own
// instruction set with a target attribute, so the rest of the library stays baseline x86-64.
// PSHUFB looks up a 16-entry table held in a register, indexed by a nibble: the lookup is an
// in-register permutation, not a memory access, so it is constant time.
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "gf256.h"

namespace vault::gf256 {
namespace {

constexpr size_t kMaxShares = 255;

// lo[i] = i * c and hi[i] = (i << 4) * c, so a * c = lo[a & 15] ^ hi[a >> 4].
struct SplitTables {
  alignas(16) uint8_t lo[16] = {};
  alignas(16) uint8_t hi[16] = {};
  explicit SplitTables(uint8_t c) {
    for (int i = 0; i < 16; ++i) {
      lo[i] = Mul(static_cast<uint8_t>(i), c);
      hi[i] = Mul(static_cast<uint8_t>(i << 4), c);
    }
  }
};

}  // namespace

__attribute__((target("ssse3"))) void MulAddSsse3(uint8_t* out, const uint8_t* in, uint8_t c,
                                                  const uint8_t* add, size_t len) {
  const SplitTables t(c);
  const __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(t.lo));
  const __m128i hi = _mm_load_si128(reinterpret_cast<const __m128i*>(t.hi));
  const __m128i mask = _mm_set1_epi8(0x0F);
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(add + i));
    const __m128i pl = _mm_shuffle_epi8(lo, _mm_and_si128(v, mask));
    const __m128i ph = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), mask));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_xor_si128(_mm_xor_si128(pl, ph), a));
  }
  MulAddScalar(out + i, in + i, c, add + i, len - i);
}

__attribute__((target("avx2"))) void MulAddAvx2(uint8_t* out, const uint8_t* in, uint8_t c,
                                                const uint8_t* add, size_t len) {
  const SplitTables t(c);
  const __m256i lo =
      _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t.lo)));
  const __m256i hi =
      _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t.hi)));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(add + i));
    const __m256i pl = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, mask));
    const __m256i ph = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), mask));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_xor_si256(_mm256_xor_si256(pl, ph), a));
  }
  MulAddScalar(out + i, in + i, c, add + i, len - i);
}

// GF2P8MULB multiplies bytes modulo x^8+x^4+x^3+x+1: exactly this field, no tables at all.
__attribute__((target("avx2,gfni"))) void MulAddGfni(uint8_t* out, const uint8_t* in, uint8_t c,
                                                     const uint8_t* add, size_t len) {
  const __m256i cc = _mm256_set1_epi8(static_cast<char>(c));
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i + 32));
    const __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(add + i));
    const __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(add + i + 32));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_xor_si256(_mm256_gf2p8mul_epi8(v0, cc), a0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 32),
                        _mm256_xor_si256(_mm256_gf2p8mul_epi8(v1, cc), a1));
  }
  for (; i + 32 <= len; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(add + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_xor_si256(_mm256_gf2p8mul_epi8(v, cc), a));
  }
  MulAddScalar(out + i, in + i, c, add + i, len - i);
}

namespace {
__attribute__((target("avx2"))) inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Byte-at-a-time Horner for the tail of a fused evaluation.
void EvalTail(const uint8_t* const* coeffs, size_t t, const uint8_t* xs, size_t n,
              uint8_t* const* outs, size_t from, size_t len) {
  for (size_t i = from; i < len; ++i) {
    for (size_t k = 0; k < n; ++k) {
      uint8_t y = coeffs[t - 1][i];
      for (size_t j = t - 1; j-- > 0;) y = static_cast<uint8_t>(Mul(y, xs[k]) ^ coeffs[j][i]);
      outs[k][i] = y;
    }
  }
}
}  // namespace

__attribute__((target("avx2"))) void EvalAvx2(const uint8_t* const* coeffs, size_t t,
                                              const uint8_t* xs, size_t n, uint8_t* const* outs,
                                              size_t len) {
  __m256i lo[kMaxShares], hi[kMaxShares];
  for (size_t k = 0; k < n; ++k) {
    const SplitTables tables(xs[k]);
    lo[k] =
        _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(tables.lo)));
    hi[k] =
        _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(tables.hi)));
  }
  const __m256i mask = _mm256_set1_epi8(0x0F);
#define MUL(y, k)                                                         \
  _mm256_xor_si256(_mm256_shuffle_epi8(lo[k], _mm256_and_si256(y, mask)), \
                   _mm256_shuffle_epi8(hi[k], _mm256_and_si256(_mm256_srli_epi16(y, 4), mask)))
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {  // two independent chains per share
    for (size_t k = 0; k < n; ++k) {
      __m256i y0 = Load256(coeffs[t - 1] + i), y1 = Load256(coeffs[t - 1] + i + 32);
      for (size_t j = t - 1; j-- > 0;) {
        y0 = _mm256_xor_si256(MUL(y0, k), Load256(coeffs[j] + i));
        y1 = _mm256_xor_si256(MUL(y1, k), Load256(coeffs[j] + i + 32));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(outs[k] + i), y0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(outs[k] + i + 32), y1);
    }
  }
  for (; i + 32 <= len; i += 32) {
    for (size_t k = 0; k < n; ++k) {
      __m256i y = Load256(coeffs[t - 1] + i);
      for (size_t j = t - 1; j-- > 0;) y = _mm256_xor_si256(MUL(y, k), Load256(coeffs[j] + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(outs[k] + i), y);
    }
  }
#undef MUL
  EvalTail(coeffs, t, xs, n, outs, i, len);
}

// Four 32-byte columns per step give four independent multiply chains, hiding the latency of
// GF2P8MULB; Horner's rule is otherwise a serial chain per share.
__attribute__((target("avx2,gfni"))) void EvalGfni(const uint8_t* const* coeffs, size_t t,
                                                   const uint8_t* xs, size_t n,
                                                   uint8_t* const* outs, size_t len) {
  size_t i = 0;
  for (; i + 128 <= len; i += 128) {
    for (size_t k = 0; k < n; ++k) {
      const __m256i x = _mm256_set1_epi8(static_cast<char>(xs[k]));
      const uint8_t* top = coeffs[t - 1] + i;
      __m256i y0 = Load256(top), y1 = Load256(top + 32), y2 = Load256(top + 64),
              y3 = Load256(top + 96);
      for (size_t j = t - 1; j-- > 0;) {
        const uint8_t* c = coeffs[j] + i;
        y0 = _mm256_xor_si256(_mm256_gf2p8mul_epi8(y0, x), Load256(c));
        y1 = _mm256_xor_si256(_mm256_gf2p8mul_epi8(y1, x), Load256(c + 32));
        y2 = _mm256_xor_si256(_mm256_gf2p8mul_epi8(y2, x), Load256(c + 64));
        y3 = _mm256_xor_si256(_mm256_gf2p8mul_epi8(y3, x), Load256(c + 96));
      }
      auto* out = reinterpret_cast<__m256i*>(outs[k] + i);
      _mm256_storeu_si256(out, y0);
      _mm256_storeu_si256(out + 1, y1);
      _mm256_storeu_si256(out + 2, y2);
      _mm256_storeu_si256(out + 3, y3);
    }
  }
  for (; i + 32 <= len; i += 32) {
    for (size_t k = 0; k < n; ++k) {
      const __m256i x = _mm256_set1_epi8(static_cast<char>(xs[k]));
      __m256i y = Load256(coeffs[t - 1] + i);
      for (size_t j = t - 1; j-- > 0;)
        y = _mm256_xor_si256(_mm256_gf2p8mul_epi8(y, x), Load256(coeffs[j] + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(outs[k] + i), y);
    }
  }
  EvalTail(coeffs, t, xs, n, outs, i, len);
}

}  // namespace vault::gf256

#endif  // x86
