#include "mesh/identity.h"

#include <sodium.h>

#include <cstdlib>
#include <memory>
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

struct Memo {
  std::unordered_map<std::string, bool> answers;
  SignatureMemoStats stats;
};
std::unique_ptr<Memo> memo;  // test-only; see SetSignatureMemoForTesting

}  // namespace

void SetSignatureMemoForTesting(bool on) { memo = on ? std::make_unique<Memo>() : nullptr; }

SignatureMemoStats GetSignatureMemoStats() { return memo ? memo->stats : SignatureMemoStats{}; }

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
  const std::vector<uint8_t> framed = Framed(domain, message);
  auto check = [&] {
    return crypto_sign_verify_detached(signature.data(), framed.data(), framed.size(),
                                       key.data()) == 0;
  };
  if (!memo) return check();
  ++memo->stats.checks;
  std::string id(key.begin(), key.end());
  id.append(signature.begin(), signature.end());
  id.append(framed.begin(), framed.end());
  auto [it, fresh] = memo->answers.try_emplace(std::move(id), false);
  if (fresh) {
    ++memo->stats.computed;
    it->second = check();
  }
  return it->second;
}

std::string ShortId(const PublicKey& key) {
  char hex[17];
  sodium_bin2hex(hex, sizeof(hex), key.data(), 8);
  return hex;
}

}  // namespace mesh
