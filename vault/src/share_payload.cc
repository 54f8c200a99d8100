#include "share_payload.h"

#include <sodium.h>

#include <algorithm>

namespace vault::share_payload {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "mvshare1";
constexpr uint64_t kMacSubkeyId = 1;
constexpr char kDomain[] = "meshvault share set v1";

void ComputeTag(const SetParams& params, std::span<const uint8_t> key,
                std::span<const uint8_t> secret, uint8_t tag[kTagBytes]) {
  uint8_t mac_key[crypto_generichash_KEYBYTES];
  crypto_kdf_derive_from_key(mac_key, sizeof(mac_key), kMacSubkeyId, kKdfContext, key.data());
  crypto_generichash_state st;
  crypto_generichash_init(&st, mac_key, sizeof(mac_key), kTagBytes);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kDomain), sizeof(kDomain));
  crypto_generichash_update(&st, params.set_id.data(), params.set_id.size());
  uint8_t fields[10] = {static_cast<uint8_t>(params.threshold), static_cast<uint8_t>(params.count)};
  const uint64_t len = secret.size();
  for (int i = 0; i < 8; ++i) fields[2 + i] = static_cast<uint8_t>(len >> (8 * i));
  crypto_generichash_update(&st, fields, sizeof(fields));
  crypto_generichash_update(&st, secret.data(), secret.size());
  crypto_generichash_final(&st, tag, kTagBytes);
  sodium_memzero(mac_key, sizeof(mac_key));
  sodium_memzero(&st, sizeof(st));
}

}  // namespace

void Seal(const SetParams& params, std::span<const uint8_t> secret, std::span<uint8_t> payload) {
  uint8_t* p = payload.data();
  crypto_kdf_keygen(p);
  std::copy(secret.begin(), secret.end(), p + kKeyBytes);
  ComputeTag(params, {p, kKeyBytes}, secret, p + kKeyBytes + secret.size());
}

bool Verify(const SetParams& params, std::span<const uint8_t> payload) {
  if (payload.size() <= kOverhead) return false;
  uint8_t tag[kTagBytes];
  ComputeTag(params, payload.first(kKeyBytes), SecretOf(payload), tag);
  const bool ok = crypto_verify_32(tag, payload.data() + payload.size() - kTagBytes) == 0;
  sodium_memzero(tag, sizeof(tag));
  return ok;
}

}  // namespace vault::share_payload
