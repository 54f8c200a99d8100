// Link message decoders (mesh/src/core/messages.cc) on hostile input. Found by the
// link_messages fuzz target (docs/security.md, "Fuzzing").
#include "core/messages.h"

#include <catch2/catch.hpp>

using namespace mesh::core;

TEST_CASE("every link message decoder refuses an empty message", "[messages][fuzz]") {
  // A peer may send an empty link message (one frame with an empty chunk); the client decodes
  // DIRECT without looking at the type byte first. Reading past the (missing) type byte was
  // undefined behaviour: a read through a span of SIZE_MAX bytes.
  const std::vector<uint8_t> empty;
  MessageType type;
  CHECK_FALSE(PeekType(empty, &type).ok());
  Hello hello;
  CHECK_FALSE(DecodeHello(empty, &hello).ok());
  ProbeMessage probe;
  CHECK_FALSE(DecodeProbe(empty, &probe).ok());
  PingReq req;
  CHECK_FALSE(DecodePingReq(empty, &req).ok());
  Sync sync;
  CHECK_FALSE(DecodeSync(empty, &sync).ok());
  Gossip gossip;
  CHECK_FALSE(DecodeGossip(empty, &gossip).ok());
  Direct direct;
  CHECK_FALSE(DecodeDirect(empty, &direct).ok());
}

TEST_CASE("link messages round-trip and refuse trailing bytes", "[messages]") {
  Direct d{DirectKind::kRequest, 7, "vault.get", {'{', '}'}};
  const auto bytes = EncodeDirect(d);
  Direct back;
  REQUIRE(DecodeDirect(bytes, &back).ok());
  CHECK(back.event == "vault.get");
  CHECK(EncodeDirect(back) == bytes);
  auto ping = EncodeProbe(MessageType::kPing, {9});
  ProbeMessage p;
  REQUIRE(DecodeProbe(ping, &p).ok());
  CHECK(p.probe_id == 9);
  ping.push_back(0);
  CHECK_FALSE(DecodeProbe(ping, &p).ok());
  CHECK_FALSE(DecodeProbe(std::vector<uint8_t>{2}, &p).ok());  // the type byte alone
}
