// Link messages: what two authenticated ends of a link say to each other, one message per
// LinkCodec message (docs/wire-format.md, "Link messages"). The first byte is the type.
// Parsing is strict and never trusts a length. Value types.
#ifndef MESH_CORE_MESSAGES_H_
#define MESH_CORE_MESSAGES_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mesh/identity.h"
#include "mesh/member.h"
#include "mesh/status.h"

namespace mesh::core {

enum class MessageType : uint8_t {
  kHello = 1,       // node links: the sender's member record and whether it wants an active link
  kPing = 2,        // probe
  kAck = 3,         // probe answer
  kPingReq = 4,     // please probe target for me
  kSync = 5,        // push-pull anti-entropy: member entries
  kGossip = 6,      // hops + signed envelope
  kDirect = 7,      // point-to-point event, request or reply
  kDisconnect = 8,  // the sender closes this link on purpose (not a failure)
};

struct Hello {
  bool want_active = false;
  std::vector<uint8_t> record;  // signed MemberRecord
};

struct ProbeMessage {  // kPing, kAck
  uint64_t probe_id = 0;
};

struct PingReq {
  uint64_t probe_id = 0;
  PublicKey target{};
};

struct SyncEntry {
  std::vector<uint8_t> record;  // signed MemberRecord
  MemberState state = MemberState::kAlive;
  uint64_t state_incarnation = 0;  // the incarnation the suspect / dead state is about
};

struct Sync {
  bool reply_wanted = false;
  std::vector<SyncEntry> entries;
};

struct Gossip {
  uint8_t hops = 0;
  std::vector<uint8_t> envelope;
};

enum class DirectKind : uint8_t { kMessage = 0, kRequest = 1, kReply = 2, kError = 3 };

struct Direct {
  DirectKind kind = DirectKind::kMessage;
  uint64_t request_id = 0;  // kRequest / kReply / kError
  std::string event;
  std::vector<uint8_t> payload;  // JSON text (kError: a UTF-8 message)
};

std::vector<uint8_t> EncodeHello(const Hello& m);
std::vector<uint8_t> EncodeProbe(MessageType type, const ProbeMessage& m);
std::vector<uint8_t> EncodePingReq(const PingReq& m);
// Appends entries from `entries[*next]` until the message would pass `max_bytes`.
std::vector<uint8_t> EncodeSync(bool reply_wanted, std::span<const SyncEntry> entries,
                                size_t max_bytes, size_t* next);
std::vector<uint8_t> EncodeGossip(uint8_t hops, std::span<const uint8_t> envelope);
std::vector<uint8_t> EncodeDirect(const Direct& m);
std::vector<uint8_t> EncodeDisconnect();

// The type byte of a message, or an error for an empty or unknown one.
Status PeekType(std::span<const uint8_t> message, MessageType* type);
Status DecodeHello(std::span<const uint8_t> message, Hello* out);
Status DecodeProbe(std::span<const uint8_t> message, ProbeMessage* out);
Status DecodePingReq(std::span<const uint8_t> message, PingReq* out);
Status DecodeSync(std::span<const uint8_t> message, Sync* out);
Status DecodeGossip(std::span<const uint8_t> message, Gossip* out);
Status DecodeDirect(std::span<const uint8_t> message, Direct* out);

}  // namespace mesh::core

#endif  // MESH_CORE_MESSAGES_H_
