// Manifests (vault/src/protocol/manifest.cc), as vault.store, vault.share.store and
// vault.delete carry them. Input byte 0 is a mode; the rest is the manifest. What decodes
// must re-encode to the same bytes and satisfy the documented limits; mode bit 0 re-signs it
// with its owner's key (when that is a fixed identity) so the certificate checks run.
#include <set>

#include "fuzz_common.h"
#include "protocol/manifest.h"

using vault::protocol::Manifest;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  if (size < 1) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  Manifest m;
  if (!Manifest::Decode(in, &m).ok()) return 0;
  FUZZ_CHECK(m.Encode() == std::vector<uint8_t>(in.begin(), in.end()));
  FUZZ_CHECK(vault::protocol::CheckSecretName(m.name).ok());
  FUZZ_CHECK(m.version >= 1 && m.version <= static_cast<uint64_t>(INT64_MAX));
  FUZZ_CHECK(m.readers.size() <= vault::protocol::kMaxReaders);
  FUZZ_CHECK(static_cast<int>(m.holders.size()) == m.count);
  if (m.deleted) {
    FUZZ_CHECK(m.count == 0 && m.threshold == 0);
  } else {
    FUZZ_CHECK(m.threshold >= 2 && m.threshold <= m.count && m.count <= 255);
  }
  const auto ids = m.HolderIds();
  FUZZ_CHECK(std::set<mesh::PublicKey>(ids.begin(), ids.end()).size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) FUZZ_CHECK(m.HolderIndex(ids[i]) == static_cast<int>(i));
  (void)m.MayRead("alice");
  (void)m.Id();
  const auto& fixed = fuzz::Ids();
  if (data[0] & 1) {
    if (const auto* key = fixed.KeyFor(m.owner.subject)) m.Sign(*key);
  }
  const mesh::Status s = m.Verify(fixed.ca.public_key());
  if (s.ok()) FUZZ_CHECK(m.VerifyOwner(fixed.ca.public_key()).ok());
  return 0;
}
