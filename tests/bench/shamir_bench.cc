// Shamir split/combine benchmark. Prints one JSON object per line:
//   {"bench":"shamir.split","format":"vault","kernel":"gfni","size":32,"t":3,"n":5,
//    "ns_per_op":...,"bytes_per_sec":...,"iterations":...,"runs":7}
// ns_per_op is the median over `runs` timed batches. "vault" is the raw Vault share layout
// (y bytes then x) made by vault::shamir with randomness included; "text" is the full
// authenticated text format through vault::SplitSecret / CombineShares.
// Usage: shamir_bench [--quick]
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mesh/secure_buffer.h"
#include "vault/shamir.h"
#include "vault/shares.h"

using vault::shamir::Kernel;

namespace {

struct Result {
  double ns_per_op;
  size_t iterations;
};

// Runs `op` in batches sized to take ~target_ms each; returns the median ns per op.
Result Measure(const std::function<void()>& op, int runs, double target_ms) {
  using Clock = std::chrono::steady_clock;
  size_t iters = 1;
  for (;;) {  // calibrate
    const auto t0 = Clock::now();
    for (size_t i = 0; i < iters; ++i) op();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (ms > target_ms / 4 || iters > (size_t{1} << 30)) {
      iters = std::max<size_t>(1, static_cast<size_t>(iters * target_ms / std::max(ms, 1e-3)));
      break;
    }
    iters *= 4;
  }
  std::vector<double> ns;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < iters; ++i) op();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
                 static_cast<double>(iters));
  }
  std::sort(ns.begin(), ns.end());
  return {ns[ns.size() / 2], iters};
}

void Print(const char* bench, const char* format, Kernel k, size_t size, int t, int n,
           const Result& r, int runs) {
  std::printf(
      "{\"bench\":\"%s\",\"format\":\"%s\",\"kernel\":\"%s\",\"size\":%zu,\"t\":%d,\"n\":%d,"
      "\"ns_per_op\":%.1f,\"bytes_per_sec\":%.0f,\"iterations\":%zu,\"runs\":%d}\n",
      bench, format, std::string(vault::shamir::KernelName(k)).c_str(), size, t, n, r.ns_per_op,
      static_cast<double>(size) * 1e9 / r.ns_per_op, r.iterations, runs);
  std::fflush(stdout);
}

void BenchVault(size_t size, int t, int n, Kernel k, int runs, double target_ms) {
  std::vector<uint8_t> secret(size);
  randombytes_buf(secret.data(), size);
  // Vault layout: each share is size+1 bytes, x last.
  std::vector<std::vector<uint8_t>> shares(n, std::vector<uint8_t>(size + 1));
  std::vector<std::span<uint8_t>> ys;
  for (auto& s : shares) ys.emplace_back(s.data(), size);
  std::vector<uint8_t> xs(n);
  auto split = [&] {
    if (!vault::shamir::Split(secret, t, ys, xs, k).ok()) std::abort();
    for (int i = 0; i < n; ++i) shares[i][size] = xs[i];
  };
  Print("shamir.split", "vault", k, size, t, n, Measure(split, runs, target_ms), runs);
  split();
  std::vector<vault::shamir::Share> in;
  for (int i = 0; i < t; ++i) in.push_back({shares[i][size], {shares[i].data(), size}});
  std::vector<uint8_t> out(size);
  auto combine = [&] {
    if (!vault::shamir::Combine(in, out, k).ok()) std::abort();
  };
  Print("shamir.combine", "vault", k, size, t, n, Measure(combine, runs, target_ms), runs);
  if (out != secret) std::abort();
}

void BenchText(size_t size, int t, int n, int runs, double target_ms) {
  std::vector<uint8_t> secret(size);
  randombytes_buf(secret.data(), size);
  vault::SplitOptions o;
  o.threshold = t;
  o.shares = n;
  mesh::SecureBuffer printed;
  auto split = [&] {
    if (!vault::SplitSecret(secret, o, &printed).ok()) std::abort();
  };
  Print("shares.split", "text", vault::shamir::BestKernel(), size, t, n,
        Measure(split, runs, target_ms), runs);
  auto inputs = vault::SplitShareLines(printed.view(), "line ");
  inputs.resize(t);
  mesh::SecureBuffer out;
  vault::CombineReport report;
  auto combine = [&] {
    if (!vault::CombineShares(inputs, {}, &out, &report).ok()) std::abort();
  };
  Print("shares.combine", "text", vault::shamir::BestKernel(), size, t, n,
        Measure(combine, runs, target_ms), runs);
}

}  // namespace

int main(int argc, char** argv) {
  if (!mesh::InitSodium().ok()) return 1;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int runs = quick ? 3 : 7;
  const double target_ms = quick ? 20 : 200;
  for (Kernel k : {Kernel::kScalar, Kernel::kSsse3, Kernel::kAvx2, Kernel::kGfni}) {
    if (!vault::shamir::KernelAvailable(k)) continue;
    for (size_t size : {size_t{32}, size_t{1} << 20}) BenchVault(size, 3, 5, k, runs, target_ms);
  }
  for (size_t size : {size_t{32}, size_t{1} << 20}) BenchText(size, 3, 5, runs, target_ms);
  return 0;
}
