#include "vault/shamir.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "ct.h"
#include "gf256.h"
#include "shamir_internal.h"

namespace vault::shamir {

using mesh::Status;

std::string_view KernelName(Kernel kernel) {
  switch (kernel) {
    case Kernel::kAuto:
      return "auto";
    case Kernel::kScalar:
      return "scalar";
    case Kernel::kSsse3:
      return "ssse3";
    case Kernel::kAvx2:
      return "avx2";
    case Kernel::kGfni:
      return "gfni";
  }
  return "unknown";
}

bool KernelAvailable(Kernel kernel) {
  switch (kernel) {
    case Kernel::kAuto:
    case Kernel::kScalar:
      return true;
#if defined(__x86_64__) || defined(__i386__)
    case Kernel::kSsse3:
      return __builtin_cpu_supports("ssse3");
    case Kernel::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Kernel::kGfni:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("gfni");
#else
    default:
      return false;
#endif
  }
  return false;
}

Kernel BestKernel() {
  static const Kernel best = [] {
    for (Kernel k : {Kernel::kGfni, Kernel::kAvx2, Kernel::kSsse3}) {
      if (KernelAvailable(k)) return k;
    }
    return Kernel::kScalar;
  }();
  return best;
}

}  // namespace vault::shamir

namespace vault::gf256 {
MulAddFn MulAddFor(shamir::Kernel kernel) {
  if (kernel == shamir::Kernel::kAuto) kernel = shamir::BestKernel();
  switch (kernel) {
#if defined(__x86_64__) || defined(__i386__)
    case shamir::Kernel::kSsse3:
      return MulAddSsse3;
    case shamir::Kernel::kAvx2:
      return MulAddAvx2;
    case shamir::Kernel::kGfni:
      return MulAddGfni;
#endif
    default:
      return MulAddScalar;
  }
}
}  // namespace vault::gf256

namespace vault::shamir {
namespace {

// Coefficients are made and used one block at a time so they stay in L1 and on the stack:
// no heap allocation, and the used part is wiped before returning.
constexpr size_t kCoefficientBufferBytes = size_t{8} * 1024;
constexpr size_t kStreamBlock = 64;  // Salsa20 block: the unit of its counter

Status CheckSplitArgs(std::span<const uint8_t> secret, int threshold,
                      std::span<const std::span<uint8_t>> ys, size_t xs_size, Kernel kernel) {
  const size_t n = ys.size();
  if (secret.empty()) return Status::InvalidArgument("the secret is empty");
  if (threshold < kMinThreshold) {
    return Status::InvalidArgument("threshold " + std::to_string(threshold) +
                                   " is below the minimum of 2");
  }
  if (n > static_cast<size_t>(kMaxShares)) {
    return Status::InvalidArgument("share count " + std::to_string(n) +
                                   " is above the maximum of 255");
  }
  if (static_cast<size_t>(threshold) > n) {
    return Status::InvalidArgument("threshold " + std::to_string(threshold) +
                                   " is greater than the share count " + std::to_string(n));
  }
  if (xs_size != n) return Status::InvalidArgument("xs and ys differ in length");
  for (const auto& y : ys) {
    if (y.size() != secret.size()) {
      return Status::InvalidArgument("each share buffer must be as long as the secret");
    }
  }
  if (!KernelAvailable(kernel)) {
    return Status::InvalidArgument(std::string("kernel ") + std::string(KernelName(kernel)) +
                                   " is not supported by this CPU");
  }
  return Status::OK();
}

// Fills `out` with Salsa20 keystream for (seed, nonce) starting at block `counter`.
void Keystream(std::span<uint8_t> out, const std::array<uint8_t, 8>& nonce, uint64_t counter,
               std::span<const uint8_t, internal::kSeedBytes> seed) {
  std::fill(out.begin(), out.end(), uint8_t{0});
  crypto_stream_salsa20_xor_ic(out.data(), out.data(), out.size(), nonce.data(), counter,
                               seed.data());
}

// Draws xs.size() distinct values from 1..255 in uniformly random order: the first n steps of
// a Fisher-Yates shuffle, each index drawn without bias by rejection sampling on keystream
// bytes (nonce 1). x coordinates are public, so branching on them is fine.
void DrawXs(std::span<const uint8_t, internal::kSeedBytes> seed, std::span<uint8_t> xs) {
  std::array<uint8_t, 255> pool{};
  for (int i = 0; i < 255; ++i) pool[i] = static_cast<uint8_t>(i + 1);
  const std::array<uint8_t, 8> nonce = {1};
  std::array<uint8_t, kStreamBlock> stream{};
  uint64_t counter = 0;
  size_t used = stream.size();
  for (size_t i = 0; i < xs.size(); ++i) {
    const unsigned range = 255U - static_cast<unsigned>(i);  // pick from pool[i..254]
    const unsigned limit = 256U - (256U % range);            // largest multiple of range
    unsigned r = 0;
    do {
      if (used == stream.size()) {
        Keystream(stream, nonce, counter++, seed);
        // This keystream only picks x coordinates, which are public.
        MESHVAULT_DECLASSIFY(stream.data(), stream.size());
        used = 0;
      }
      r = stream[used++];
    } while (r >= limit);
    std::swap(pool[i], pool[i + r % range]);
    xs[i] = pool[i];
  }
  sodium_memzero(stream.data(), stream.size());
}

void Evaluate(Kernel kernel, const uint8_t* const* coeffs, size_t t, const uint8_t* xs, size_t n,
              uint8_t* const* outs, size_t len) {
  if (kernel == Kernel::kAuto) kernel = BestKernel();
#if defined(__x86_64__) || defined(__i386__)
  if (kernel == Kernel::kGfni) return gf256::EvalGfni(coeffs, t, xs, n, outs, len);
  if (kernel == Kernel::kAvx2) return gf256::EvalAvx2(coeffs, t, xs, n, outs, len);
#endif
  gf256::EvalByPasses(gf256::MulAddFor(kernel), coeffs, t, xs, n, outs, len);
}

}  // namespace

namespace internal {

Status SplitWithXs(std::span<const uint8_t> secret, int threshold,
                   std::span<const std::span<uint8_t>> ys, std::span<const uint8_t> xs,
                   std::span<const uint8_t, kSeedBytes> seed, Kernel kernel) {
  Status s = CheckSplitArgs(secret, threshold, ys, xs.size(), kernel);
  if (!s.ok()) return s;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i] == 0) return Status::InvalidArgument("x coordinate 0 would reveal the secret");
    for (size_t j = 0; j < i; ++j) {
      if (xs[i] == xs[j]) return Status::InvalidArgument("x coordinates must be distinct");
    }
  }
  const auto t = static_cast<size_t>(threshold);
  const size_t degree = t - 1;
  // Block length: a multiple of the Salsa20 block, so each block's keystream starts on one.
  const size_t block =
      std::max(kStreamBlock, kCoefficientBufferBytes / degree / kStreamBlock * kStreamBlock);
  alignas(64) uint8_t coeffs[kCoefficientBufferBytes + kStreamBlock * kMaxShares];
  const uint8_t* columns[kMaxShares];
  uint8_t* outs[kMaxShares];
  const std::array<uint8_t, 8> nonce{};
  size_t used = 0;
  for (size_t off = 0; off < secret.size(); off += block) {
    const size_t len = std::min(block, secret.size() - off);
    // Coefficient j (1..degree) of byte off+p is coeffs[(j-1)*stride + p]; this block owns
    // keystream bytes [off*degree, (off+block)*degree), so blocks never share keystream.
    const size_t stride = (len + kStreamBlock - 1) / kStreamBlock * kStreamBlock;
    Keystream({coeffs, degree * stride}, nonce, off * degree / kStreamBlock, seed);
    used = std::max(used, degree * stride);
    columns[0] = secret.data() + off;
    for (size_t j = 1; j <= degree; ++j) columns[j] = coeffs + (j - 1) * stride;
    for (size_t k = 0; k < ys.size(); ++k) outs[k] = ys[k].data() + off;
    Evaluate(kernel, columns, t, xs.data(), ys.size(), outs, len);
  }
  sodium_memzero(coeffs, used);
  return Status::OK();
}

Status SplitWithSeed(std::span<const uint8_t> secret, int threshold,
                     std::span<const std::span<uint8_t>> ys, std::span<uint8_t> xs,
                     std::span<const uint8_t, kSeedBytes> seed, Kernel kernel) {
  Status s = CheckSplitArgs(secret, threshold, ys, xs.size(), kernel);
  if (!s.ok()) return s;
  DrawXs(seed, xs);
  return SplitWithXs(secret, threshold, ys, xs, seed, kernel);
}

}  // namespace internal

Status Split(std::span<const uint8_t> secret, int threshold, std::span<const std::span<uint8_t>> ys,
             std::span<uint8_t> xs, Kernel kernel) {
  std::array<uint8_t, internal::kSeedBytes> seed{};
  randombytes_buf(seed.data(), seed.size());
  Status s = internal::SplitWithSeed(secret, threshold, ys, xs, seed, kernel);
  sodium_memzero(seed.data(), seed.size());
  return s;
}

Status Interpolate(std::span<const Share> shares, uint8_t x, std::span<uint8_t> out,
                   Kernel kernel) {
  if (shares.size() < static_cast<size_t>(kMinThreshold)) {
    return Status::InvalidArgument("at least 2 shares are needed, got " +
                                   std::to_string(shares.size()));
  }
  if (shares.size() > static_cast<size_t>(kMaxShares)) {
    return Status::InvalidArgument("at most 255 shares can be combined");
  }
  if (!KernelAvailable(kernel)) {
    return Status::InvalidArgument("kernel is not supported by this CPU");
  }
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].x == 0) return Status::InvalidArgument("a share has x coordinate 0");
    if (shares[i].y.size() != out.size()) {
      return Status::InvalidArgument("shares differ in length from each other or the output");
    }
    for (size_t j = 0; j < i; ++j) {
      if (shares[i].x == shares[j].x) {
        return Status::InvalidArgument("two shares have the same x coordinate");
      }
    }
  }
  // Lagrange weights at x: w_i = prod_{j != i} (x - x_j) / (x_i - x_j); subtraction is XOR.
  // They depend only on the public x coordinates.
  std::array<uint8_t, kMaxShares> weight{};
  for (size_t i = 0; i < shares.size(); ++i) {
    uint8_t num = 1;
    uint8_t den = 1;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      num = gf256::Mul(num, static_cast<uint8_t>(x ^ shares[j].x));
      den = gf256::Mul(den, static_cast<uint8_t>(shares[i].x ^ shares[j].x));
    }
    weight[i] = gf256::Mul(num, gf256::Inverse(den));
  }
  const gf256::MulAddFn mul_add = gf256::MulAddFor(kernel);
  constexpr size_t kBlock = size_t{8} * 1024;  // keep the accumulator block in L1 across shares
  std::fill(out.begin(), out.end(), uint8_t{0});
  for (size_t off = 0; off < out.size(); off += kBlock) {
    const size_t len = std::min(kBlock, out.size() - off);
    for (size_t i = 0; i < shares.size(); ++i) {
      mul_add(out.data() + off, shares[i].y.data() + off, weight[i], out.data() + off, len);
    }
  }
  return Status::OK();
}

}  // namespace vault::shamir
