#include "gf256.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <vector>

#include "mesh/secure_buffer.h"

using vault::gf256::Inverse;
using vault::gf256::Mul;
using vault::shamir::Kernel;

namespace {
// Reference multiply written the textbook way (branches are fine in a test).
uint8_t SlowMul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  while (b) {
    if (b & 1) p ^= a;
    a = static_cast<uint8_t>((a & 0x80) ? ((a << 1) ^ 0x1B) : (a << 1));
    b >>= 1;
  }
  return p;
}
}  // namespace

TEST_CASE("GF(2^8) known answers", "[gf256]") {
  CHECK(Mul(3, 7) == 9);
  CHECK(Mul(0x57, 0x83) == 0xC1);  // FIPS-197 section 4.2
  CHECK(Mul(0x57, 0x13) == 0xFE);
  CHECK(Mul(0, 0xAB) == 0);
  CHECK(Mul(1, 0xAB) == 0xAB);
}

TEST_CASE("GF(2^8) multiply matches the reference for all pairs", "[gf256]") {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const auto x = static_cast<uint8_t>(a), y = static_cast<uint8_t>(b);
      if (Mul(x, y) != SlowMul(x, y)) FAIL("mismatch at " << a << "*" << b);
    }
  }
}

TEST_CASE("a^254 is the inverse of every non-zero a", "[gf256]") {
  CHECK(Inverse(0) == 0);
  for (int a = 1; a < 256; ++a) {
    const auto x = static_cast<uint8_t>(a);
    REQUIRE(Mul(x, Inverse(x)) == 1);
  }
}

TEST_CASE("every available SIMD kernel is bit-identical to scalar", "[gf256][simd]") {
  REQUIRE(mesh::InitSodium().ok());
  const Kernel kernels[] = {Kernel::kSsse3, Kernel::kAvx2, Kernel::kGfni};
  int tested = 0;
  for (Kernel k : kernels) {
    if (!vault::shamir::KernelAvailable(k)) {
      WARN("kernel " << vault::shamir::KernelName(k) << " not supported on this CPU: skipped");
      continue;
    }
    ++tested;
    const auto fn = vault::gf256::MulAddFor(k);
    for (size_t len :
         {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 1000, 4096, 65537}) {
      std::vector<uint8_t> in(len), add(len), want(len), got(len);
      if (len > 0) {
        randombytes_buf(in.data(), len);
        randombytes_buf(add.data(), len);
      }
      for (int c = 0; c < 256; c += (len > 1000 ? 37 : 1)) {
        const auto cc = static_cast<uint8_t>(c);
        vault::gf256::MulAddScalar(want.data(), in.data(), cc, add.data(), len);
        fn(got.data(), in.data(), cc, add.data(), len);
        REQUIRE(got == want);
        // In place, as Split and Interpolate use it.
        std::vector<uint8_t> acc = add;
        fn(acc.data(), in.data(), cc, acc.data(), len);
        REQUIRE(acc == want);
      }
    }
  }
  INFO("best kernel: " << vault::shamir::KernelName(vault::shamir::BestKernel()));
  SUCCEED("tested " << tested << " SIMD kernels");
}

TEST_CASE("scalar word kernel matches byte multiply", "[gf256]") {
  std::vector<uint8_t> in(256), add(256, 0), out(256);
  for (int i = 0; i < 256; ++i) in[i] = static_cast<uint8_t>(i);
  for (int c = 0; c < 256; ++c) {
    vault::gf256::MulAddScalar(out.data(), in.data(), static_cast<uint8_t>(c), add.data(), 256);
    for (int i = 0; i < 256; ++i) {
      REQUIRE(out[i] == SlowMul(static_cast<uint8_t>(i), static_cast<uint8_t>(c)));
    }
  }
}
