// Link messages: what two authenticated ends of a link say to each other, one message per
// LinkCodec message (docs/wire-format.md, "Link messages"). The first byte is the type.
// Parsing is strict and never trusts a length. Value types.
#ifndef MESH_CORE_MESSAGES_H_
#define MESH_CORE_MESSAGES_H_

#include <array>
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
  // Tree dissemination (Plumtree), only to peers whose HELLO set the tree flag:
  kIHave = 9,    // ids of envelopes the sender has (lazy push)
  kGraft = 10,   // please send these envelopes, and push eagerly to me from now on
  kPrune = 11,   // stop pushing envelopes eagerly to me; IHAVE is enough
  kNack = 12,    // probe helper: no answer from the target yet (Lifeguard)
  kDigest = 13,  // push-pull anti-entropy: member ids, incarnations and states, no records
  kPull = 14,    // please send your records of these members (answered with SYNC)
};

// Most ids in one IHAVE or GRAFT.
inline constexpr size_t kMaxIdsPerMessage = 1024;

struct Hello {
  bool want_active = false;
  std::vector<uint8_t> record;  // signed MemberRecord
  bool tree = false;            // the sender speaks IHAVE / GRAFT / PRUNE (tree dissemination v1)
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

struct DigestEntry {
  PublicKey id{};
  uint64_t incarnation = 0;  // of the record held
  bool left = false;         // the record held is a leave record
  MemberState state = MemberState::kAlive;
  uint64_t state_incarnation = 0;
};

struct Digest {
  bool reply_wanted = false;
  std::vector<DigestEntry> entries;
};

struct Gossip {
  uint8_t hops = 0;
  std::vector<uint8_t> envelope;
};

struct GossipId {
  PublicKey origin{};
  uint64_t seq = 0;
  auto operator<=>(const GossipId&) const = default;
};

// Hashes ids for the core's tables: SipHash-2-4 (libsodium's crypto_shorthash, as SeenCache)
// over all 40 bytes, under a key random to each table, so nobody can aim many ids at one
// bucket (a linear mix of the bytes can be collided whatever its salt).
struct GossipIdHash {
  std::array<uint8_t, 16> key{};
  size_t operator()(const GossipId& id) const;
};

struct IHaveEntry {
  GossipId id;
  uint8_t hops = 0;  // the hops a GOSSIP of it from the sender would carry
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
// At most kMaxIdsPerMessage entries each.
std::vector<uint8_t> EncodeIHave(std::span<const IHaveEntry> entries);
std::vector<uint8_t> EncodeGraft(std::span<const GossipId> ids);
std::vector<uint8_t> EncodePrune();
// Appends entries from `entries[*next]` until the message would pass `max_bytes`.
std::vector<uint8_t> EncodeDigest(bool reply_wanted, std::span<const DigestEntry> entries,
                                  size_t max_bytes, size_t* next);
std::vector<uint8_t> EncodePull(std::span<const PublicKey> ids);  // at most kMaxIdsPerMessage

// The type byte of a message, or an error for an empty or unknown one.
Status PeekType(std::span<const uint8_t> message, MessageType* type);
Status DecodeHello(std::span<const uint8_t> message, Hello* out);
Status DecodeProbe(std::span<const uint8_t> message, ProbeMessage* out);
Status DecodePingReq(std::span<const uint8_t> message, PingReq* out);
Status DecodeSync(std::span<const uint8_t> message, Sync* out);
Status DecodeGossip(std::span<const uint8_t> message, Gossip* out);
Status DecodeDirect(std::span<const uint8_t> message, Direct* out);
Status DecodeIHave(std::span<const uint8_t> message, std::vector<IHaveEntry>* out);
Status DecodeGraft(std::span<const uint8_t> message, std::vector<GossipId>* out);
Status DecodeDigest(std::span<const uint8_t> message, Digest* out);
Status DecodePull(std::span<const uint8_t> message, std::vector<PublicKey>* out);

}  // namespace mesh::core

#endif  // MESH_CORE_MESSAGES_H_
