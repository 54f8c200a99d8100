#include "vault/shamir.h"

#include <sodium.h>

#include <array>
#include <catch2/catch.hpp>
#include <vector>

#include "gf256.h"
#include "mesh/secure_buffer.h"
#include "shamir_internal.h"

using vault::shamir::Combine;
using vault::shamir::Kernel;
using vault::shamir::Share;
using vault::shamir::Split;

namespace {

struct Split_ {
  std::vector<std::vector<uint8_t>> ys;
  std::vector<uint8_t> xs;
};

Split_ DoSplit(const std::vector<uint8_t>& secret, int t, int n, Kernel k = Kernel::kAuto) {
  Split_ s;
  s.ys.assign(n, std::vector<uint8_t>(secret.size()));
  s.xs.resize(n);
  std::vector<std::span<uint8_t>> spans(s.ys.begin(), s.ys.end());
  REQUIRE(Split(secret, t, spans, s.xs, k).ok());
  return s;
}

std::vector<uint8_t> DoCombine(const Split_& s, const std::vector<int>& which,
                               Kernel k = Kernel::kAuto) {
  std::vector<Share> shares;
  for (int i : which) shares.push_back({s.xs[i], s.ys[i]});
  std::vector<uint8_t> out(s.ys[0].size());
  REQUIRE(Combine(shares, out, k).ok());
  return out;
}

std::vector<uint8_t> RandomBytes(size_t n) {
  std::vector<uint8_t> v(n);
  randombytes_buf(v.data(), n);
  return v;
}

// Calls f on every subset of {0..n-1} of size k.
template <class F>
void ForEachSubset(int n, int k, F f) {
  std::vector<int> idx(k);
  for (int i = 0; i < k; ++i) idx[i] = i;
  for (;;) {
    f(idx);
    int i = k - 1;
    while (i >= 0 && idx[i] == n - k + i) --i;
    if (i < 0) return;
    ++idx[i];
    for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
}

}  // namespace

TEST_CASE("every t-subset of n shares recombines, and t-1 do not", "[shamir]") {
  REQUIRE(mesh::InitSodium().ok());
  for (int n = 2; n <= 7; ++n) {
    for (int t = 2; t <= n; ++t) {
      const auto secret = RandomBytes(33);
      const auto s = DoSplit(secret, t, n);
      ForEachSubset(n, t,
                    [&](const std::vector<int>& idx) { REQUIRE(DoCombine(s, idx) == secret); });
      // Any t-1 shares (t-1 >= 2) interpolate a different polynomial: the result is not the
      // secret except with probability 2^-264 for 33 random bytes.
      if (t - 1 >= 2) {
        std::vector<int> fewer(t - 1);
        for (int i = 0; i < t - 1; ++i) fewer[i] = i;
        CHECK(DoCombine(s, fewer) != secret);
      }
    }
  }
}

TEST_CASE("x coordinates are distinct and non-zero, and n=255 works", "[shamir]") {
  REQUIRE(mesh::InitSodium().ok());
  const auto secret = RandomBytes(16);
  const auto s = DoSplit(secret, 128, 255);
  std::array<int, 256> seen{};
  for (uint8_t x : s.xs) {
    CHECK(x != 0);
    CHECK(++seen[x] == 1);
  }
  std::vector<int> first, last;
  for (int i = 0; i < 128; ++i) first.push_back(i), last.push_back(254 - i);
  CHECK(DoCombine(s, first) == secret);
  CHECK(DoCombine(s, last) == secret);
  const auto s2 = DoSplit(secret, 255, 255);
  std::vector<int> all(255);
  for (int i = 0; i < 255; ++i) all[i] = i;
  CHECK(DoCombine(s2, all) == secret);
}

TEST_CASE("random sizes from 1 byte to 1 MiB round-trip on every kernel", "[shamir]") {
  REQUIRE(mesh::InitSodium().ok());
  std::vector<size_t> sizes = {1,  2,    31,   32,   33,    63,     64,
                               65, 4095, 4096, 4097, 16384, 100000, 1 << 20};
  for (int i = 0; i < 6; ++i) sizes.push_back(1 + randombytes_uniform(300000));
  for (Kernel k : {Kernel::kScalar, Kernel::kSsse3, Kernel::kAvx2, Kernel::kGfni}) {
    if (!vault::shamir::KernelAvailable(k)) continue;
    for (size_t size : sizes) {
      const auto secret = RandomBytes(size);
      const auto s = DoSplit(secret, 3, 5, k);
      REQUIRE(DoCombine(s, {4, 0, 2}, Kernel::kScalar) == secret);
      REQUIRE(DoCombine(s, {1, 3, 4}, k) == secret);
    }
  }
}

TEST_CASE("split is bit-identical across kernels for the same seed", "[shamir][simd]") {
  REQUIRE(mesh::InitSodium().ok());
  std::array<uint8_t, vault::shamir::internal::kSeedBytes> seed{};
  randombytes_buf(seed.data(), seed.size());
  const auto secret = RandomBytes(70001);
  std::vector<std::vector<uint8_t>> reference;
  for (Kernel k : {Kernel::kScalar, Kernel::kSsse3, Kernel::kAvx2, Kernel::kGfni}) {
    if (!vault::shamir::KernelAvailable(k)) continue;
    std::vector<std::vector<uint8_t>> ys(6, std::vector<uint8_t>(secret.size()));
    std::vector<std::span<uint8_t>> spans(ys.begin(), ys.end());
    std::vector<uint8_t> xs(6);
    REQUIRE(vault::shamir::internal::SplitWithSeed(secret, 4, spans, xs, seed, k).ok());
    if (reference.empty()) {
      reference = ys;
    } else {
      REQUIRE(ys == reference);
    }
  }
}

TEST_CASE("leading coefficient is uniform, zero included", "[shamir]") {
  // t=2, one byte: y = a1*x + s, so a1 = (y - s) / x. Forcing a1 != 0 (as old Vault did)
  // would make a1 == 0 never happen; uniform a1 hits 0 about 1/256 of the time.
  REQUIRE(mesh::InitSodium().ok());
  const std::vector<uint8_t> secret = {0x42};
  int zeros = 0;
  std::array<int, 256> hits{};
  const int trials = 256 * 64;
  for (int i = 0; i < trials; ++i) {
    const auto s = DoSplit(secret, 2, 2);
    const uint8_t a1 = vault::gf256::Mul(static_cast<uint8_t>(s.ys[0][0] ^ secret[0]),
                                         vault::gf256::Inverse(s.xs[0]));
    ++hits[a1];
    zeros += a1 == 0;
  }
  CHECK(zeros > 16);  // expected 64; P(<=16) is negligible
  for (int v = 0; v < 256; ++v) CHECK(hits[v] > 16);
}

TEST_CASE("x coordinates are a uniform draw (Fisher-Yates)", "[shamir]") {
  // Chi-square over the 255 possible values of the first and of the last x, fixed seeds.
  std::array<uint8_t, vault::shamir::internal::kSeedBytes> seed{};
  const int trials = 255 * 200;
  std::array<int, 256> first{}, last{};
  const std::vector<uint8_t> secret = {1};
  std::vector<std::vector<uint8_t>> ys(5, std::vector<uint8_t>(1));
  std::vector<std::span<uint8_t>> spans(ys.begin(), ys.end());
  std::vector<uint8_t> xs(5);
  for (int i = 0; i < trials; ++i) {
    seed[0] = static_cast<uint8_t>(i);
    seed[1] = static_cast<uint8_t>(i >> 8);
    seed[2] = static_cast<uint8_t>(i >> 16);
    REQUIRE(
        vault::shamir::internal::SplitWithSeed(secret, 2, spans, xs, seed, Kernel::kScalar).ok());
    ++first[xs[0]];
    ++last[xs[4]];
  }
  auto chi2 = [&](const std::array<int, 256>& h) {
    CHECK(h[0] == 0);
    double sum = 0;
    for (int v = 1; v < 256; ++v) sum += (h[v] - 200.0) * (h[v] - 200.0) / 200.0;
    return sum;
  };
  // 254 degrees of freedom: mean 254, the 0.9999 quantile is about 350.
  CHECK(chi2(first) < 350);
  CHECK(chi2(last) < 350);
}

TEST_CASE("split and combine reject bad parameters", "[shamir]") {
  REQUIRE(mesh::InitSodium().ok());
  std::vector<uint8_t> secret = {1, 2, 3};
  std::vector<std::vector<uint8_t>> ys(3, std::vector<uint8_t>(3));
  std::vector<std::span<uint8_t>> spans(ys.begin(), ys.end());
  std::vector<uint8_t> xs(3);
  CHECK(Split(secret, 1, spans, xs).message().find("below the minimum") != std::string::npos);
  CHECK(Split(secret, 4, spans, xs).message().find("greater than the share count") !=
        std::string::npos);
  CHECK(Split({}, 2, spans, xs).message() == "the secret is empty");
  std::vector<std::vector<uint8_t>> many(256, std::vector<uint8_t>(3));
  std::vector<std::span<uint8_t>> many_spans(many.begin(), many.end());
  std::vector<uint8_t> many_xs(256);
  CHECK(Split(secret, 2, many_spans, many_xs).message().find("maximum of 255") !=
        std::string::npos);
  std::vector<uint8_t> out(3);
  const std::vector<Share> one = {{1, ys[0]}};
  CHECK_FALSE(Combine(one, out).ok());
  const std::vector<Share> dup = {{1, ys[0]}, {1, ys[1]}};
  CHECK(Combine(dup, out).message().find("same x") != std::string::npos);
  const std::vector<Share> zero = {{0, ys[0]}, {1, ys[1]}};
  CHECK_FALSE(Combine(zero, out).ok());
}
