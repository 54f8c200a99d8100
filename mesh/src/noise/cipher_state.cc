#include "noise/cipher_state.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif

namespace mesh::noise {
namespace {

// A MAC verdict is public by design: under the valgrind constant-time check (tests/ct), where
// keys are marked undefined, it is marked defined before the code decides on it.
void DeclassifyVerdict(int* rc) {
#ifdef VALGRIND_MAKE_MEM_DEFINED
  VALGRIND_MAKE_MEM_DEFINED(rc, sizeof(*rc));
#else
  (void)rc;
#endif
}

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kKeyLen);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kTagLen);
static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == 12);

using Nonce = std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES>;

// Section 12.3 (ChaChaPoly): the 96-bit nonce is 32 zero bits followed by the
// little-endian encoding of n.
Nonce EncodeNonce(uint64_t n) {
  Nonce nonce{};
  for (size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

}  // namespace

CipherState::~CipherState() { sodium_memzero(k_.data(), k_.size()); }

CipherState::CipherState(CipherState&& other) noexcept
    : k_(other.k_), has_key_(other.has_key_), n_(other.n_) {
  other.ClearKey();
}

CipherState& CipherState::operator=(CipherState&& other) noexcept {
  if (this != &other) {
    k_ = other.k_;
    has_key_ = other.has_key_;
    n_ = other.n_;
    other.ClearKey();
  }
  return *this;
}

void CipherState::InitializeKey(std::span<const uint8_t, kKeyLen> key) {
  std::copy(key.begin(), key.end(), k_.begin());
  has_key_ = true;
  n_ = 0;
}

void CipherState::ClearKey() {
  sodium_memzero(k_.data(), k_.size());
  has_key_ = false;
  n_ = 0;
}

Status CipherState::EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                                  std::vector<uint8_t>* out) {
  const size_t out_len = plaintext.size() + (has_key_ ? kTagLen : 0);
  if (out_len > kMaxMessageLen) {
    return Status::InvalidArgument("noise: message exceeds 65535 bytes");
  }
  // The spec passes plaintext through a keyless CipherState; only SymmetricState needs that
  // (before the first DH), so here it is an error: a link can never send in the clear.
  if (!has_key_) return Status::InvalidArgument("noise: cipher has no key");
  if (n_ == kMaxNonce) return Status::ResourceExhausted("noise: nonce exhausted");

  const Nonce nonce = EncodeNonce(n_);
  const size_t offset = out->size();
  out->resize(offset + out_len);
  crypto_aead_chacha20poly1305_ietf_encrypt(out->data() + offset, nullptr, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), k_.data());
  ++n_;
  return Status::OK();
}

Status CipherState::DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                                  std::vector<uint8_t>* out) {
  if (ciphertext.size() > kMaxMessageLen) {
    return Status::InvalidArgument("noise: message exceeds 65535 bytes");
  }
  if (!has_key_) return Status::InvalidArgument("noise: cipher has no key");
  if (n_ == kMaxNonce) return Status::ResourceExhausted("noise: nonce exhausted");
  if (ciphertext.size() < kTagLen) {
    return Status::InvalidArgument("noise: ciphertext shorter than the 16-byte tag");
  }

  const Nonce nonce = EncodeNonce(n_);
  const size_t offset = out->size();
  out->resize(offset + ciphertext.size() - kTagLen);
  int rc = crypto_aead_chacha20poly1305_ietf_decrypt(out->data() + offset, nullptr, nullptr,
                                                     ciphertext.data(), ciphertext.size(),
                                                     ad.data(), ad.size(), nonce.data(), k_.data());
  DeclassifyVerdict(&rc);
  if (rc != 0) {
    out->resize(offset);  // section 5.1: on failure n is not incremented
    return Status::Corruption("noise: decrypt failed");
  }
  ++n_;
  return Status::OK();
}

Status CipherState::Rekey() {
  if (!has_key_) return Status::InvalidArgument("noise: rekey without a key");
  // Section 4.2 default REKEY: encrypt 32 zero bytes under nonce 2^64-1, keep 32 bytes.
  std::array<uint8_t, kKeyLen> zeros{};
  std::array<uint8_t, kKeyLen + kTagLen> block{};
  const Nonce nonce = EncodeNonce(kMaxNonce);
  crypto_aead_chacha20poly1305_ietf_encrypt(block.data(), nullptr, zeros.data(), zeros.size(),
                                            nullptr, 0, nullptr, nonce.data(), k_.data());
  std::copy(block.begin(), block.begin() + kKeyLen, k_.begin());
  sodium_memzero(block.data(), block.size());
  return Status::OK();
}

}  // namespace mesh::noise
