// Link messages (mesh/src/core/messages.*): the input is one link message as it arrives from
// a peer. Every decoder runs on it, whatever its type byte (they are public functions, and a
// client decodes DIRECT without looking at the type), and what decodes must re-encode to the
// same bytes.
#include <cstring>

#include "core/messages.h"
#include "fuzz_common.h"

using namespace mesh::core;

namespace {

// Encodings write their own type byte; decoders skip byte 0 without reading it.
void CheckSameBody(const std::vector<uint8_t>& encoded, std::span<const uint8_t> in) {
  FUZZ_CHECK(encoded.size() == in.size());
  FUZZ_CHECK(std::memcmp(encoded.data() + 1, in.data() + 1, in.size() - 1) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reseed();
  const std::span<const uint8_t> in(data, size);
  MessageType type;
  if (PeekType(in, &type).ok()) FUZZ_CHECK(size >= 1 && data[0] == static_cast<uint8_t>(type));

  Hello hello;
  if (DecodeHello(in, &hello).ok()) CheckSameBody(EncodeHello(hello), in);
  ProbeMessage probe;
  if (DecodeProbe(in, &probe).ok()) CheckSameBody(EncodeProbe(MessageType::kPing, probe), in);
  PingReq req;
  if (DecodePingReq(in, &req).ok()) CheckSameBody(EncodePingReq(req), in);
  Sync sync;
  if (DecodeSync(in, &sync).ok()) {
    size_t next = 0;
    CheckSameBody(EncodeSync(sync.reply_wanted, sync.entries, SIZE_MAX, &next), in);
    FUZZ_CHECK(next == sync.entries.size());
  }
  Gossip gossip;
  if (DecodeGossip(in, &gossip).ok()) CheckSameBody(EncodeGossip(gossip.hops, gossip.envelope), in);
  Direct direct;
  if (DecodeDirect(in, &direct).ok()) CheckSameBody(EncodeDirect(direct), in);
  return 0;
}
