// Get requests (vault/src/protocol/get_request.cc), as vault.get and vault.share.get carry
// them. Input byte 0 is a mode; the rest is the request. What decodes must re-encode to the
// same bytes; mode bit 0 re-signs it with its client's key (when that is a fixed identity)
// so the time window, certificate and cache checks run. Both checks must agree.
#include "fuzz_common.h"
#include "protocol/get_request.h"
#include "protocol/manifest.h"

using vault::protocol::GetRequest;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  GetRequest g;
  if (!GetRequest::Decode(in, &g).ok()) return 0;
  FUZZ_CHECK(g.Encode() == std::vector<uint8_t>(in.begin(), in.end()));
  FUZZ_CHECK(vault::protocol::CheckSecretName(g.name).ok());
  if (data[0] & 1) {
    if (const auto* key = fuzz::Ids().KeyFor(g.client.subject)) g.Sign(*key);
  }
  const mesh::PublicKey ca = fuzz::Ids().ca.public_key();
  vault::protocol::CertificateCache cache(2);
  const bool plain = g.Verify(ca, fuzz::kNowMs, 60000).ok();
  FUZZ_CHECK(g.Verify(ca, fuzz::kNowMs, 60000, &cache).ok() == plain);
  FUZZ_CHECK(g.Verify(ca, fuzz::kNowMs, 60000, &cache).ok() == plain);  // cached now
  // The window arithmetic at extreme request times (UBSan watches it).
  (void)g.Verify(ca, 0, 60000);
  (void)g.Verify(ca, INT64_MAX / 2, 60000);
  return 0;
}
