#include "mesh/identity.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

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

}  // namespace

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
  return crypto_sign_verify_detached(signature.data(), framed.data(), framed.size(), key.data()) ==
         0;
}

std::string ShortId(const PublicKey& key) {
  char hex[17];
  sodium_bin2hex(hex, sizeof(hex), key.data(), 8);
  return hex;
}

}  // namespace mesh
