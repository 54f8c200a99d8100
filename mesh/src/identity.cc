#include "mesh/identity.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "signature_memo.h"

namespace mesh {
namespace {

// "<domain>\0<message>": the bytes every signature covers.
std::vector<uint8_t> Framed(std::string_view domain, std::span<const uint8_t> message) {
  std::vector<uint8_t> framed(domain.size() + 1 + message.size());
  std::copy(domain.begin(), domain.end(), framed.begin());
  framed[domain.size()] = 0;
  std::copy(message.begin(), message.end(), framed.begin() + domain.size() + 1);
  return framed;
}

// The test-only memo (SetSignatureMemoForTesting). Each thread keeps its own table, so the
// simulator's worker threads check without locks; the tables of the current generation are
// listed for GetSignatureMemoStats. An answer is found by (key, signature) and holds the
// exact bytes it was computed for: other bytes under the same pair are checked afresh.
struct MemoAnswer {
  std::vector<uint8_t> framed;
  bool valid = false;
};
using MemoKey = std::array<uint8_t, kPublicKeyBytes + kSignatureBytes>;
struct MemoKeyHash {
  size_t operator()(const MemoKey& k) const {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  }
};
struct Memo {
  uint64_t generation = 0;
  std::unordered_map<MemoKey, MemoAnswer, MemoKeyHash> answers;
  SignatureMemoStats stats;
};
std::atomic<uint64_t> memo_generation{0};  // 0: off
std::mutex memo_mu;                        // guards memo_registry and memo_generations
uint64_t memo_generations = 0;
std::vector<std::shared_ptr<Memo>> memo_registry;  // this generation's tables
thread_local std::shared_ptr<Memo> memo_here;

Memo* ThisThreadMemo() {
  const uint64_t generation = memo_generation.load(std::memory_order_acquire);
  if (generation == 0) return nullptr;
  if (!memo_here || memo_here->generation != generation) {
    memo_here = std::make_shared<Memo>();
    memo_here->generation = generation;
    std::lock_guard lock(memo_mu);
    memo_registry.push_back(memo_here);
  }
  return memo_here.get();
}

// Whether `framed` is "<domain>\0<message>", without building the latter.
bool SameFramed(const std::vector<uint8_t>& framed, std::string_view domain,
                std::span<const uint8_t> message) {
  return framed.size() == domain.size() + 1 + message.size() &&
         std::equal(domain.begin(), domain.end(), framed.begin()) && framed[domain.size()] == 0 &&
         std::equal(message.begin(), message.end(), framed.begin() + domain.size() + 1);
}

}  // namespace

void SetSignatureMemoForTesting(bool on) {
  memo_here.reset();  // this thread's table goes now; other threads' at their next check
  std::lock_guard lock(memo_mu);
  memo_registry.clear();
  memo_generation.store(on ? ++memo_generations : 0, std::memory_order_release);
}

SignatureMemoStats GetSignatureMemoStats() {
  std::lock_guard lock(memo_mu);
  SignatureMemoStats sum;
  for (const auto& m : memo_registry) {
    sum.checks += m->stats.checks;
    sum.computed += m->stats.computed;
  }
  return sum;
}

SigningKey SigningKey::Generate() {
  std::array<uint8_t, kSeedBytes> seed{};
  randombytes_buf(seed.data(), seed.size());
  SigningKey key = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SigningKey SigningKey::FromSeed(std::span<const uint8_t, kSeedBytes> seed) {
  if (!InitSodium().ok()) std::abort();
  SigningKey key;
  key.secret_ = SecureBuffer(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), seed.data());
  return key;
}

Signature SigningKey::Sign(std::string_view domain, std::span<const uint8_t> message) const {
  Signature sig{};
  if (!valid()) std::abort();  // programming error: signing with an empty key
  const std::vector<uint8_t> framed = Framed(domain, message);
  crypto_sign_detached(sig.data(), nullptr, framed.data(), framed.size(), secret_.data());
  return sig;
}

bool VerifySignature(const PublicKey& key, std::string_view domain,
                     std::span<const uint8_t> message, std::span<const uint8_t> signature) {
  if (signature.size() != kSignatureBytes) return false;
  auto check = [&](const std::vector<uint8_t>& framed) {
    return crypto_sign_verify_detached(signature.data(), framed.data(), framed.size(),
                                       key.data()) == 0;
  };
  Memo* memo = ThisThreadMemo();
  if (memo == nullptr) return check(Framed(domain, message));
  ++memo->stats.checks;
  MemoKey id;
  std::copy(key.begin(), key.end(), id.begin());
  std::copy(signature.begin(), signature.end(), id.begin() + kPublicKeyBytes);
  auto [it, fresh] = memo->answers.try_emplace(id);
  MemoAnswer& answer = it->second;
  if (!fresh && SameFramed(answer.framed, domain, message)) return answer.valid;
  ++memo->stats.computed;
  std::vector<uint8_t> framed = Framed(domain, message);
  const bool valid = check(framed);
  if (fresh) answer = MemoAnswer{std::move(framed), valid};
  return valid;
}

std::string ShortId(const PublicKey& key) {
  char hex[17];
  sodium_bin2hex(hex, sizeof(hex), key.data(), 8);
  return hex;
}

}  // namespace mesh
