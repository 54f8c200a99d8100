// Constant-time checks of the symmetric crypto around the shares: the share store's AEAD
// (storage key), the Noise link cipher and the sealed boxes that carry shares to readers. Keys
// and plaintexts are marked secret; only verdicts and outputs that are public by design are
// declassified.
#include <sodium.h>

#include <array>
#include <cstring>
#include <vector>

#include "ct_marks.h"
#include "mesh/secure_buffer.h"
#include "noise/cipher_state.h"
#include "protocol/sealed_share.h"
#include "share_payload.h"
#include "storage_key.h"

namespace ct {

namespace {

mesh::SecureBuffer SecretBytes(size_t n) {
  mesh::SecureBuffer b(n);
  randombytes_buf(b.data(), b.size());
  Secret(b.data(), b.size());
  return b;
}

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

void CheckSharePayload() {
  vault::share_payload::SetParams params;
  params.threshold = 3;
  params.count = 5;
  const mesh::SecureBuffer secret = SecretBytes(100);
  mesh::SecureBuffer payload(secret.size() + vault::share_payload::kOverhead);
  vault::share_payload::Seal(params, secret.span(), payload.span());
  bool ok = vault::share_payload::Verify(params, payload.span());
  Public(&ok, sizeof(ok));
  Expect(ok, "share payload: the tag verifies");
  payload.data()[vault::share_payload::kKeyBytes] ^= 1;  // a secret byte changed
  ok = vault::share_payload::Verify(params, payload.span());
  Public(&ok, sizeof(ok));
  Expect(!ok, "share payload: a changed secret fails the tag");
  std::fprintf(stderr, "ct_check: share payload tag checked\n");
}

void CheckStorageKey() {
  const mesh::SecureBuffer key = SecretBytes(32);
  const mesh::SecureBuffer plain = SecretBytes(300);
  std::vector<uint8_t> nonce, sealed;
  vault::storage_key::Seal(key, "ct/name", 7, plain.span(), &nonce, &sealed);
  // The ciphertext is public (it is stored); the key stays secret while it is opened.
  Public(sealed.data(), sealed.size());
  mesh::SecureBuffer opened;
  bool ok = vault::storage_key::Open(key, "ct/name", 7, nonce, sealed, &opened);
  Public(&ok, sizeof(ok));
  Public(opened.data(), opened.size());
  Public(plain.data(), plain.size());
  Expect(ok && SameBytes(opened.span(), plain.span()), "storage key: open gives the plaintext");
  Secret(plain.data(), plain.size());
  sealed[10] ^= 1;
  ok = vault::storage_key::Open(key, "ct/name", 7, nonce, sealed, &opened);
  Public(&ok, sizeof(ok));
  Expect(!ok, "storage key: a changed ciphertext does not open");
  std::fprintf(stderr, "ct_check: storage key checked\n");
}

void CheckNoiseCipher() {
  mesh::SecureBuffer key = SecretBytes(mesh::noise::kKeyLen);
  mesh::noise::CipherState send, receive;
  send.InitializeKey(std::span<const uint8_t, mesh::noise::kKeyLen>(key.data(), key.size()));
  receive.InitializeKey(std::span<const uint8_t, mesh::noise::kKeyLen>(key.data(), key.size()));
  const mesh::SecureBuffer plain = SecretBytes(200);
  const std::array<uint8_t, 4> ad = {1, 2, 3, 4};
  std::vector<uint8_t> wire, back;
  Expect(send.EncryptWithAd(ad, plain.span(), &wire).ok(), "noise: encrypt");
  Public(wire.data(), wire.size());  // on the wire
  bool ok = receive.DecryptWithAd(ad, wire, &back).ok();
  Public(&ok, sizeof(ok));
  Public(back.data(), back.size());
  Public(plain.data(), plain.size());
  Expect(ok && SameBytes(back, plain.span()), "noise: decrypt gives the plaintext");
  wire.clear();
  Expect(send.EncryptWithAd(ad, plain.span(), &wire).ok(), "noise: encrypt again");
  Public(wire.data(), wire.size());
  wire.back() ^= 1;
  back.clear();
  ok = receive.DecryptWithAd(ad, wire, &back).ok();
  Public(&ok, sizeof(ok));
  Expect(!ok, "noise: a changed tag does not decrypt");
  std::fprintf(stderr, "ct_check: noise cipher checked\n");
}

void CheckSealedShare() {
  // The reader's one-time key: its secret half is secret; the share travels sealed to it.
  const auto reader = vault::protocol::BoxKey::Generate();
  Secret(reader.secret(), crypto_box_SECRETKEYBYTES);
  const mesh::SecureBuffer payload = SecretBytes(64);
  std::vector<uint8_t> sealed(payload.size() + crypto_box_SEALBYTES);
  crypto_box_seal(sealed.data(), payload.data(), payload.size(), reader.public_key().data());
  Public(sealed.data(), sealed.size());  // on the wire
  mesh::SecureBuffer opened(payload.size());
  int rc = crypto_box_seal_open(opened.data(), sealed.data(), sealed.size(),
                                reader.public_key().data(), reader.secret());
  Public(&rc, sizeof(rc));
  Public(opened.data(), opened.size());
  Public(payload.data(), payload.size());
  Expect(rc == 0 && SameBytes(opened.span(), payload.span()), "sealed box: opens to the share");
  std::fprintf(stderr, "ct_check: sealed box checked\n");
}

}  // namespace ct
