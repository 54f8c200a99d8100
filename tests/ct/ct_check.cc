// Constant-time check, ctgrind style: secret bytes are marked undefined for valgrind memcheck,
// so any branch or memory index that depends on them is reported as an error ("conditional
// jump or move depends on uninitialised value", "use of uninitialised value of size 8").
// Values that are public by design are declassified in the library (vault/src/ct.h).
// Run: valgrind --error-exitcode=1 ct_check  (CTest does this; label "valgrind").
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ct_marks.h"
#include "gf256.h"
#include "mesh/secure_buffer.h"
#include "shamir_internal.h"
#include "vault/shamir.h"
#include "vault/shares.h"

using vault::shamir::Kernel;

namespace {

using ct::Expect;
using ct::Public;
using ct::Secret;

std::vector<Kernel> Kernels() {
  std::vector<Kernel> ks;
  for (Kernel k : {Kernel::kScalar, Kernel::kSsse3, Kernel::kAvx2, Kernel::kGfni}) {
    if (vault::shamir::KernelAvailable(k)) ks.push_back(k);
  }
  return ks;
}

void CheckKernels(const std::vector<uint8_t>& secret) {
  for (Kernel k : Kernels()) {
    const std::string name(vault::shamir::KernelName(k));
    std::vector<uint8_t> in = secret, add(secret.size(), 0x5A), out(secret.size());
    Secret(in.data(), in.size());
    Secret(add.data(), add.size());
    for (int c = 0; c < 256; c += 51) {
      vault::gf256::MulAddFor(k)(out.data(), in.data(), static_cast<uint8_t>(c), add.data(),
                                 in.size());
    }
    // Split with a secret seed (so secret coefficients) and recombine, at 0 and at a share's x.
    std::vector<uint8_t> seed(vault::shamir::internal::kSeedBytes, 7);
    Secret(seed.data(), seed.size());
    std::vector<uint8_t> s = secret;
    Secret(s.data(), s.size());
    std::vector<std::vector<uint8_t>> ys(5, std::vector<uint8_t>(s.size()));
    std::vector<std::span<uint8_t>> spans(ys.begin(), ys.end());
    std::vector<uint8_t> xs(5);
    const auto st = vault::shamir::internal::SplitWithSeed(
        s, 3, spans, xs, std::span<const uint8_t, 32>(seed.data(), 32), k);
    Expect(st.ok(), name + ": split");
    std::vector<vault::shamir::Share> three = {{xs[0], ys[0]}, {xs[2], ys[2]}, {xs[4], ys[4]}};
    std::vector<uint8_t> back(s.size()), again(s.size());
    Expect(vault::shamir::Combine(three, back, k).ok(), name + ": combine");
    Expect(vault::shamir::Interpolate(three, xs[1], again, k).ok(), name + ": interpolate");
    Public(back.data(), back.size());
    Public(again.data(), again.size());
    Public(ys[1].data(), ys[1].size());
    Expect(back == secret, name + ": combine gives the secret");
    Expect(again == ys[1], name + ": interpolate gives share 2");
    std::fprintf(stderr, "ct_check: kernel %s checked\n", name.c_str());
  }
}

// Cuts printed shares into inputs without touching their (secret) bytes: a public copy is
// used to find the line ends.
std::vector<vault::ShareInput> Inputs(const mesh::SecureBuffer& printed) {
  std::string copy(printed.view());
  Public(copy.data(), copy.size());
  std::vector<vault::ShareInput> inputs;
  size_t start = 0;
  while (start < copy.size()) {
    const size_t end = copy.find('\n', start);
    inputs.push_back(
        {"line " + std::to_string(inputs.size() + 1), printed.view().substr(start, end - start)});
    start = end + 1;
  }
  return inputs;
}

void CheckFormats(const std::vector<uint8_t>& secret) {
  for (vault::ShareFormat f :
       {vault::ShareFormat::kText, vault::ShareFormat::kVault, vault::ShareFormat::kVaultHex}) {
    const std::string name(vault::ShareFormatName(f));
    std::vector<uint8_t> s = secret;
    Secret(s.data(), s.size());
    vault::SplitOptions o;
    o.threshold = 3;
    o.shares = 5;
    o.format = f;
    mesh::SecureBuffer printed;
    Expect(vault::SplitSecret(s, o, &printed).ok(), name + ": split");
    auto inputs = Inputs(printed);
    Expect(inputs.size() == 5, name + ": five lines");
    // Four shares: the search tries subsets and checks the extra share against the others.
    inputs.erase(inputs.begin() + 1);
    mesh::SecureBuffer out;
    vault::CombineReport report;
    const auto st = vault::CombineShares(inputs, {}, &out, &report);
    Expect(st.ok(), name + ": combine: " + st.ToString());
    Public(out.data(), out.size());
    Expect(
        out.size() == secret.size() && std::memcmp(out.data(), secret.data(), secret.size()) == 0,
        name + ": combine gives the secret");
    std::fprintf(stderr, "ct_check: format %s checked\n", name.c_str());
  }
}

// The negative control: code that does leak (a table indexed by a secret byte, a branch on
// one). Under valgrind this must be reported, or the harness proves nothing.
int LeakOnPurpose(const std::vector<uint8_t>& secret) {
  static const uint8_t table[256] = {1, 2, 3};
  std::vector<uint8_t> s = secret;
  Secret(s.data(), s.size());
  int sum = table[s[0]];
  if (s[1] > 128) sum += 1;
  Public(&sum, sizeof(sum));
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (!mesh::InitSodium().ok()) return 2;
  std::fprintf(stderr, "ct_check: running under valgrind: %s\n",
               RUNNING_ON_VALGRIND ? "yes" : "NO (the check is meaningful only under valgrind)");
  std::vector<uint8_t> secret(1000);
  randombytes_buf(secret.data(), secret.size());
  if (argc > 1 && std::string(argv[1]) == "--leak-on-purpose") {
    std::fprintf(stderr, "ct_check: leaking on purpose: %d\n", LeakOnPurpose(secret));
    return 0;
  }
  CheckKernels(secret);
  CheckFormats(secret);
  ct::CheckSharePayload();
  ct::CheckStorageKey();
  ct::CheckNoiseCipher();
  ct::CheckSealedShare();
  if (ct::failures == 0) std::fprintf(stderr, "ct_check: all functional checks passed\n");
  return ct::failures == 0 ? 0 : 1;
}
