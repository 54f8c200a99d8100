// Commits (vault/src/protocol/manifest.cc), as vault.commit, vault.manifest, vault.head and
// vault.share.get carry them, and acks inside them. The input is the commit. What decodes
// must re-encode to the same bytes; verification runs against the fixed CA, and an ack
// check of each listed ack must agree with Commit::Verify.
#include "fuzz_common.h"
#include "protocol/manifest.h"

using vault::protocol::Commit;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  const std::span<const uint8_t> in(data, size);
  Commit c;
  if (!Commit::Decode(in, &c).ok()) return 0;
  FUZZ_CHECK(c.Encode() == std::vector<uint8_t>(in.begin(), in.end()));
  FUZZ_CHECK(c.acks.size() <= 255);
  bool all_acks = c.acks.size() == c.manifest.holders.size();
  for (size_t i = 0; i < c.acks.size(); ++i) {
    all_acks = vault::protocol::VerifyAck(c.manifest, static_cast<int>(i), c.acks[i]) && all_acks;
  }
  (void)vault::protocol::VerifyAck(c.manifest, -1, {});
  (void)vault::protocol::VerifyAck(c.manifest, 300, {});
  const mesh::PublicKey ca = fuzz::Ids().ca.public_key();
  if (c.Verify(ca).ok()) FUZZ_CHECK(all_acks && c.manifest.Verify(ca).ok());
  return 0;
}
