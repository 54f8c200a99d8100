// Gossip envelopes and their bodies (mesh/src/core/records.*): the input is one envelope as
// a GOSSIP message carries it. Decoding is strict; what decodes must re-encode to the same
// bytes, and its body is decoded as each kind would be. The signature check runs against
// the fixed nodes' keys (it may pass only for the seeds, which are signed).
#include "core/bytes.h"
#include "core/records.h"
#include "fuzz_common.h"

using namespace mesh::core;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  const std::vector<uint8_t> bytes(data, data + size);
  GossipEnvelope env;
  // A small body limit too, so the limit check is exercised on short inputs.
  GossipEnvelope small;
  if (GossipEnvelope::Decode(bytes, 64, &small).ok()) FUZZ_CHECK(small.body.size() <= 64);
  if (!GossipEnvelope::Decode(bytes, 1 << 20, &env).ok()) return 0;
  FUZZ_CHECK(env.encoded == bytes);
  FUZZ_CHECK(env.body.data() >= env.encoded.data() &&
             env.body.data() + env.body.size() <= env.encoded.data() + env.encoded.size());
  // Re-encode the header and body; the signature is the last 64 bytes.
  std::vector<uint8_t> again;
  ByteWriter w(&again);
  w.U8(1);
  w.U8(static_cast<uint8_t>(env.kind));
  w.Bytes(env.origin);
  w.U64(env.seq);
  w.I64(env.sent_ms);
  w.Bytes32(env.body);
  w.Bytes(std::span<const uint8_t>(bytes).last(mesh::kSignatureBytes));
  FUZZ_CHECK(again == bytes);
  // A moved envelope keeps its body pointing into its own bytes.
  GossipEnvelope moved = std::move(env);
  FUZZ_CHECK(moved.body.data() >= moved.encoded.data());

  if (const auto* key = fuzz::Ids().KeyFor(moved.origin)) {
    (void)moved.VerifySignature(key->public_key());
  }
  switch (moved.kind) {
    case GossipKind::kEvent: {
      EventBody event;
      if (DecodeEvent(moved.body, &event).ok()) {
        FUZZ_CHECK(CheckEventName(event.event).ok());
        FUZZ_CHECK(EncodeEvent(event.event, event.payload) ==
                   std::vector<uint8_t>(moved.body.begin(), moved.body.end()));
      }
      break;
    }
    case GossipKind::kRecord: {
      MemberRecord record;
      if (MemberRecord::Decode(moved.body, &record).ok()) {
        (void)record.Verify(fuzz::Ids().ca.public_key(), fuzz::kNowS);
      }
      break;
    }
    case GossipKind::kSuspect:
    case GossipKind::kDead: {
      std::vector<Claim> claims;
      if (DecodeClaims(moved.body, &claims).ok()) {
        FUZZ_CHECK(EncodeClaims(claims) ==
                   std::vector<uint8_t>(moved.body.begin(), moved.body.end()));
      }
      break;
    }
  }
  return 0;
}
