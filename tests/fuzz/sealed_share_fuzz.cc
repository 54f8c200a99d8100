// Dealer shares (vault/src/protocol/sealed_share.cc), sealed to a holder (vault.share.store)
// or to a reader's one-time key (get replies). Input byte 0 is a mode: bit 0 set, the rest
// is taken as the plaintext record and sealed to the fixed holder's key first, so the parser
// sees chosen bytes; clear, the rest is the sealed bytes as they arrive. What opens must
// re-seal to the same plaintext and open again to the same fields.
#include <sodium.h>

#include <cstring>

#include "fuzz_common.h"
#include "protocol/sealed_share.h"

using vault::protocol::BoxKey;
using vault::protocol::DealerShare;

namespace {

const BoxKey& HolderKey() {
  static const BoxKey* key = new BoxKey(BoxKey::FromSigningKey(fuzz::Ids().node_keys[0]));
  return *key;
}

std::vector<uint8_t> Unseal(std::span<const uint8_t> sealed) {
  std::vector<uint8_t> plain(sealed.size() - crypto_box_SEALBYTES);
  FUZZ_CHECK(crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(),
                                  HolderKey().public_key().data(), HolderKey().secret()) == 0);
  return plain;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  HolderKey();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  std::vector<uint8_t> sealed(rest.begin(), rest.end());
  if (data[0] & 1) {
    sealed.resize(rest.size() + crypto_box_SEALBYTES);
    crypto_box_seal(sealed.data(), rest.data(), rest.size(), HolderKey().public_key().data());
  }
  DealerShare share;
  if (!DealerShare::Open(sealed, HolderKey(), &share).ok()) return 0;
  const std::vector<uint8_t> plain = Unseal(sealed);
  const std::vector<uint8_t> resealed = share.SealTo(HolderKey().public_key());
  FUZZ_CHECK(Unseal(resealed) == plain);
  DealerShare back;
  FUZZ_CHECK(DealerShare::Open(resealed, HolderKey(), &back).ok());
  FUZZ_CHECK(back.name == share.name && back.version == share.version &&
             back.holder == share.holder && back.index == share.index &&
             back.manifest_id == share.manifest_id && back.signature == share.signature &&
             back.payload.view() == share.payload.view());
  (void)share.VerifySignature(fuzz::Ids().client_keys[0].public_key());
  return 0;
}
