// Arithmetic in GF(2^8) modulo x^8+x^4+x^3+x+1 (0x11B), the AES and Vault field.
// Every function here is constant time in its data arguments: no branch and no memory
// index depends on a byte being multiplied. Internal to meshvault::vault.
#ifndef VAULT_GF256_H_
#define VAULT_GF256_H_

#include <cstddef>
#include <cstdint>

#include "vault/shamir.h"

namespace vault::gf256 {

// a * b, shift-and-add with masks instead of branches.
inline uint8_t Mul(uint8_t a, uint8_t b) {
  uint8_t r = 0;
  for (int bit = 0; bit < 8; ++bit) {
    r ^= static_cast<uint8_t>(a & -((b >> bit) & 1));
    a = static_cast<uint8_t>((a << 1) ^ (0x1B & -(a >> 7)));
  }
  return r;
}

// a^254, which is a^-1 for a != 0 (and 0 for 0): a fixed square-and-multiply chain.
inline uint8_t Inverse(uint8_t a) {
  uint8_t a2 = Mul(a, a);        // a^2
  uint8_t a3 = Mul(a2, a);       // a^3
  uint8_t a6 = Mul(a3, a3);      // a^6
  uint8_t a7 = Mul(a6, a);       // a^7
  uint8_t a14 = Mul(a7, a7);     // a^14
  uint8_t a15 = Mul(a14, a);     // a^15
  uint8_t a30 = Mul(a15, a15);   // a^30
  uint8_t a60 = Mul(a30, a30);   // a^60
  uint8_t a120 = Mul(a60, a60);  // a^120
  uint8_t a127 = Mul(a120, a7);  // a^127
  return Mul(a127, a127);        // a^254
}

// out[i] = in[i] * c ^ add[i] for i < len. `out` may alias `in` or `add` exactly.
// `c` is public (an x coordinate or a Lagrange weight); `in` and `add` may be secret.
using MulAddFn = void (*)(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add,
                          size_t len);

void MulAddScalar(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add, size_t len);
#if defined(__x86_64__) || defined(__i386__)
void MulAddSsse3(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add, size_t len);
void MulAddAvx2(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add, size_t len);
void MulAddGfni(uint8_t* out, const uint8_t* in, uint8_t c, const uint8_t* add, size_t len);
#endif

// The MulAdd of `kernel` (kAuto resolved). The kernel must be available.
MulAddFn MulAddFor(shamir::Kernel kernel);

// Evaluates, for every k < n, the polynomial sum_j coeffs[j][i] * xs[k]^j at each byte
// position i < len (Horner's rule) and writes it to outs[k][i]. coeffs[0] is the secret.
// The x values are public; coefficient bytes may be secret. 1 <= t, n <= 255.
using EvalFn = void (*)(const uint8_t* const* coeffs, size_t t, const uint8_t* xs, size_t n,
                        uint8_t* const* outs, size_t len);

// Generic Horner through MulAdd passes (any kernel).
void EvalByPasses(MulAddFn mul_add, const uint8_t* const* coeffs, size_t t, const uint8_t* xs,
                  size_t n, uint8_t* const* outs, size_t len);
#if defined(__x86_64__) || defined(__i386__)
// Fused: each 32-byte column of coefficients is loaded once and all n shares are evaluated
// in registers.
void EvalAvx2(const uint8_t* const* coeffs, size_t t, const uint8_t* xs, size_t n,
              uint8_t* const* outs, size_t len);
void EvalGfni(const uint8_t* const* coeffs, size_t t, const uint8_t* xs, size_t n,
              uint8_t* const* outs, size_t len);
#endif

}  // namespace vault::gf256

#endif  // VAULT_GF256_H_
