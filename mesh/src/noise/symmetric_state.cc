#include "noise/symmetric_state.h"

#include <sodium.h>

#include <algorithm>

namespace mesh::noise {
namespace {

static_assert(crypto_hash_sha256_BYTES == kHashLen);
static_assert(crypto_auth_hmacsha256_BYTES == kHashLen);

using Block = std::array<uint8_t, kHashLen>;

// HMAC-HASH(key, a || b) (RFC 2104 with SHA256); `b` may be empty.
void HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> a,
                std::span<const uint8_t> b, Block* out) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, a.data(), a.size());
  crypto_auth_hmacsha256_update(&state, b.data(), b.size());
  crypto_auth_hmacsha256_final(&state, out->data());
  sodium_memzero(&state, sizeof(state));  // the state holds key-derived pads
}

}  // namespace

void Hkdf(std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input_key_material, Block* out1, Block* out2, Block* out3) {
  // Section 4.3: temp_key = HMAC(ck, ikm); output_i = HMAC(temp_key, output_{i-1} || byte(i)).
  Block temp_key;
  HmacSha256(chaining_key, input_key_material, {}, &temp_key);
  const uint8_t one = 0x01, two = 0x02, three = 0x03;
  HmacSha256(temp_key, {}, {&one, 1}, out1);
  HmacSha256(temp_key, *out1, {&two, 1}, out2);
  if (out3 != nullptr) HmacSha256(temp_key, *out2, {&three, 1}, out3);
  sodium_memzero(temp_key.data(), temp_key.size());
}

SymmetricState::~SymmetricState() {
  sodium_memzero(ck_.data(), ck_.size());
  sodium_memzero(h_.data(), h_.size());
}

void SymmetricState::InitializeSymmetric(std::string_view protocol_name) {
  h_.fill(0);
  if (protocol_name.size() <= kHashLen) {
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    crypto_hash_sha256(h_.data(), reinterpret_cast<const uint8_t*>(protocol_name.data()),
                       protocol_name.size());
  }
  ck_ = h_;
  cipher_.ClearKey();
}

void SymmetricState::MixKey(std::span<const uint8_t> input_key_material) {
  Block new_ck, temp_k;
  Hkdf(ck_, input_key_material, &new_ck, &temp_k, nullptr);
  ck_ = new_ck;
  cipher_.InitializeKey(temp_k);  // HASHLEN == 32: no truncation needed
  sodium_memzero(new_ck.data(), new_ck.size());
  sodium_memzero(temp_k.data(), temp_k.size());
}

void SymmetricState::MixHash(std::span<const uint8_t> data) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, h_.data(), h_.size());
  crypto_hash_sha256_update(&state, data.data(), data.size());
  crypto_hash_sha256_final(&state, h_.data());
}

void SymmetricState::MixKeyAndHash(std::span<const uint8_t> input_key_material) {
  Block new_ck, temp_h, temp_k;
  Hkdf(ck_, input_key_material, &new_ck, &temp_h, &temp_k);
  ck_ = new_ck;
  MixHash(temp_h);
  cipher_.InitializeKey(temp_k);
  sodium_memzero(new_ck.data(), new_ck.size());
  sodium_memzero(temp_h.data(), temp_h.size());
  sodium_memzero(temp_k.data(), temp_k.size());
}

Status SymmetricState::EncryptAndHash(std::span<const uint8_t> plaintext,
                                      std::vector<uint8_t>* out) {
  const size_t offset = out->size();
  if (cipher_.HasKey()) {
    Status s = cipher_.EncryptWithAd(h_, plaintext, out);
    if (!s.ok()) return s;
  } else {  // before the first DH the handshake carries plaintext (section 5.2)
    if (offset + plaintext.size() > kMaxMessageLen) {
      return Status::InvalidArgument("noise: message exceeds 65535 bytes");
    }
    out->insert(out->end(), plaintext.begin(), plaintext.end());
  }
  MixHash(std::span<const uint8_t>(*out).subspan(offset));
  return Status::OK();
}

Status SymmetricState::DecryptAndHash(std::span<const uint8_t> ciphertext,
                                      std::vector<uint8_t>* out) {
  if (cipher_.HasKey()) {
    Status s = cipher_.DecryptWithAd(h_, ciphertext, out);
    if (!s.ok()) return s;
  } else {
    out->insert(out->end(), ciphertext.begin(), ciphertext.end());
  }
  MixHash(ciphertext);
  return Status::OK();
}

void SymmetricState::Split(CipherState* c1, CipherState* c2) {
  Block temp_k1, temp_k2;
  Hkdf(ck_, {}, &temp_k1, &temp_k2, nullptr);
  c1->InitializeKey(temp_k1);
  c2->InitializeKey(temp_k2);
  sodium_memzero(temp_k1.data(), temp_k1.size());
  sodium_memzero(temp_k2.data(), temp_k2.size());
  sodium_memzero(ck_.data(), ck_.size());
  cipher_.ClearKey();
}

}  // namespace mesh::noise
