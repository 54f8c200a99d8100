#include "core/messages.h"

#include <algorithm>
#include <cstring>

#include "core/bytes.h"
#include "core/short_hash.h"

namespace mesh::core {
namespace {

std::vector<uint8_t> Start(MessageType type, size_t reserve = 64) {
  std::vector<uint8_t> out;
  out.reserve(reserve);
  out.push_back(static_cast<uint8_t>(type));
  return out;
}

Status Finish(const ByteReader& r, std::string_view what) {
  if (!r.done()) {
    return Status::InvalidArgument(std::string(what) +
                                   " message is truncated or has trailing bytes");
  }
  return Status::OK();
}

constexpr uint8_t kHelloActive = 0x01;
constexpr uint8_t kHelloTree = 0x02;

// The fields after the type byte. An empty message has none: every read fails (subspan(1)
// of an empty span would be undefined, and a client decodes DIRECT without PeekType).
ByteReader Body(std::span<const uint8_t> message) {
  ByteReader r(message.empty() ? message : message.subspan(1));
  if (message.empty()) r.Fail();
  return r;
}

}  // namespace

std::vector<uint8_t> EncodeHello(const Hello& m) {
  auto out = Start(MessageType::kHello, 4 + m.record.size());
  ByteWriter w(&out);
  w.U8((m.want_active ? kHelloActive : 0) | (m.tree ? kHelloTree : 0));
  w.Bytes16(m.record);
  return out;
}

std::vector<uint8_t> EncodeProbe(MessageType type, const ProbeMessage& m) {
  auto out = Start(type);
  ByteWriter(&out).U64(m.probe_id);
  return out;
}

std::vector<uint8_t> EncodePingReq(const PingReq& m) {
  auto out = Start(MessageType::kPingReq);
  ByteWriter w(&out);
  w.U64(m.probe_id);
  w.Bytes(m.target);
  return out;
}

std::vector<uint8_t> EncodeSync(bool reply_wanted, std::span<const SyncEntry> entries,
                                size_t max_bytes, size_t* next) {
  auto out = Start(MessageType::kSync);
  ByteWriter w(&out);
  w.U8(reply_wanted ? 1 : 0);
  const size_t count_at = out.size();
  w.U16(0);
  uint16_t count = 0;
  while (*next < entries.size() && count < UINT16_MAX) {
    const SyncEntry& e = entries[*next];
    const size_t need = 2 + e.record.size() + 1 + 8;
    if (count > 0 && out.size() + need > max_bytes) break;
    w.Bytes16(e.record);
    w.U8(static_cast<uint8_t>(e.state));
    w.U64(e.state_incarnation);
    ++count;
    ++*next;
  }
  out[count_at] = static_cast<uint8_t>(count);
  out[count_at + 1] = static_cast<uint8_t>(count >> 8);
  return out;
}

std::vector<uint8_t> EncodeGossip(uint8_t hops, std::span<const uint8_t> envelope) {
  auto out = Start(MessageType::kGossip, 2 + envelope.size());
  ByteWriter w(&out);
  w.U8(hops);
  w.Bytes(envelope);
  return out;
}

std::vector<uint8_t> EncodeDirect(const Direct& m) {
  auto out = Start(MessageType::kDirect, 11 + m.event.size() + m.payload.size());
  ByteWriter w(&out);
  w.U8(static_cast<uint8_t>(m.kind));
  w.U64(m.request_id);
  w.Str8(m.event);
  w.Bytes(m.payload);
  return out;
}

std::vector<uint8_t> EncodeDisconnect() { return Start(MessageType::kDisconnect); }

size_t GossipIdHash::operator()(const GossipId& id) const {
  uint8_t in[40];
  std::memcpy(in, id.origin.data(), 32);
  std::memcpy(in + 32, &id.seq, 8);
  return static_cast<size_t>(ShortHash(in, sizeof in, key));
}

Status PeekType(std::span<const uint8_t> message, MessageType* type) {
  if (message.empty()) return Status::InvalidArgument("empty link message");
  const uint8_t t = message[0];
  if (t < static_cast<uint8_t>(MessageType::kHello) ||
      t > static_cast<uint8_t>(MessageType::kPull)) {
    return Status::InvalidArgument("unknown link message type " + std::to_string(t));
  }
  *type = static_cast<MessageType>(t);
  return Status::OK();
}

Status DecodeHello(std::span<const uint8_t> message, Hello* out) {
  ByteReader r = Body(message);
  const uint8_t flags = r.U8();
  auto record = r.Bytes16();
  if (Status s = Finish(r, "hello"); !s.ok()) return s;
  if ((flags & ~(kHelloActive | kHelloTree)) != 0) {
    return Status::InvalidArgument("hello message has unknown flags");
  }
  out->want_active = (flags & kHelloActive) != 0;
  out->tree = (flags & kHelloTree) != 0;
  out->record.assign(record.begin(), record.end());
  return Status::OK();
}

Status DecodeProbe(std::span<const uint8_t> message, ProbeMessage* out) {
  ByteReader r = Body(message);
  out->probe_id = r.U64();
  return Finish(r, "probe");
}

Status DecodePingReq(std::span<const uint8_t> message, PingReq* out) {
  ByteReader r = Body(message);
  out->probe_id = r.U64();
  r.Fixed(&out->target);
  return Finish(r, "ping-req");
}

Status DecodeSync(std::span<const uint8_t> message, Sync* out) {
  ByteReader r = Body(message);
  const uint8_t flags = r.U8();
  const uint16_t count = r.U16();
  if (flags > 1) return Status::InvalidArgument("sync message has unknown flags");
  out->reply_wanted = flags == 1;
  out->entries.clear();
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    SyncEntry e;
    auto record = r.Bytes16();
    const uint8_t state = r.U8();
    e.state_incarnation = r.U64();
    if (state > static_cast<uint8_t>(MemberState::kLeft)) {
      return Status::InvalidArgument("sync entry has unknown state " + std::to_string(state));
    }
    e.state = static_cast<MemberState>(state);
    e.record.assign(record.begin(), record.end());
    out->entries.push_back(std::move(e));
  }
  return Finish(r, "sync");
}

Status DecodeGossip(std::span<const uint8_t> message, Gossip* out) {
  ByteReader r = Body(message);
  out->hops = r.U8();
  auto envelope = r.Rest();
  if (!r.ok()) return Status::InvalidArgument("gossip message is truncated");
  out->envelope.assign(envelope.begin(), envelope.end());
  return Status::OK();
}

Status DecodeDirect(std::span<const uint8_t> message, Direct* out) {
  ByteReader r = Body(message);
  const uint8_t kind = r.U8();
  out->request_id = r.U64();
  out->event = r.Str8();
  auto payload = r.Rest();
  if (!r.ok()) return Status::InvalidArgument("direct message is truncated");
  if (kind > static_cast<uint8_t>(DirectKind::kError)) {
    return Status::InvalidArgument("direct message has unknown kind " + std::to_string(kind));
  }
  out->kind = static_cast<DirectKind>(kind);
  out->payload.assign(payload.begin(), payload.end());
  return Status::OK();
}

// --- Tree dissemination --------------------------------------------------------------------

std::vector<uint8_t> EncodeIHave(std::span<const IHaveEntry> entries) {
  auto out = Start(MessageType::kIHave, 3 + entries.size() * 41);
  ByteWriter w(&out);
  w.U16(static_cast<uint16_t>(entries.size()));
  for (const IHaveEntry& e : entries) {
    w.Bytes(e.id.origin);
    w.U64(e.id.seq);
    w.U8(e.hops);
  }
  return out;
}

std::vector<uint8_t> EncodeGraft(std::span<const GossipId> ids) {
  auto out = Start(MessageType::kGraft, 3 + ids.size() * 40);
  ByteWriter w(&out);
  w.U16(static_cast<uint16_t>(ids.size()));
  for (const GossipId& id : ids) {
    w.Bytes(id.origin);
    w.U64(id.seq);
  }
  return out;
}

std::vector<uint8_t> EncodePrune() { return Start(MessageType::kPrune, 1); }

Status DecodeIHave(std::span<const uint8_t> message, std::vector<IHaveEntry>* out) {
  ByteReader r = Body(message);
  const uint16_t count = r.U16();
  if (count == 0 || count > kMaxIdsPerMessage) {
    return Status::InvalidArgument("ihave message has " + std::to_string(count) + " ids");
  }
  out->clear();
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    IHaveEntry e;
    r.Fixed(&e.id.origin);
    e.id.seq = r.U64();
    e.hops = r.U8();
    out->push_back(e);
  }
  return Finish(r, "ihave");
}

Status DecodeGraft(std::span<const uint8_t> message, std::vector<GossipId>* out) {
  ByteReader r = Body(message);
  const uint16_t count = r.U16();
  if (count > kMaxIdsPerMessage) {  // 0: only "push eagerly to me"
    return Status::InvalidArgument("graft message has " + std::to_string(count) + " ids");
  }
  out->clear();
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    GossipId id;
    r.Fixed(&id.origin);
    id.seq = r.U64();
    out->push_back(id);
  }
  return Finish(r, "graft");
}

// --- Digest anti-entropy --------------------------------------------------------------------

std::vector<uint8_t> EncodeDigest(bool reply_wanted, std::span<const DigestEntry> entries,
                                  size_t max_bytes, size_t* next) {
  constexpr size_t kEntry = 32 + 8 + 1 + 1 + 8;
  const size_t room = max_bytes > 4 ? (max_bytes - 4) / kEntry : 1;
  const size_t n = std::min({entries.size() - *next, room, size_t{0xFFFF}});
  auto out = Start(MessageType::kDigest, 4 + n * kEntry);
  ByteWriter w(&out);
  w.U8(reply_wanted ? 1 : 0);
  w.U16(static_cast<uint16_t>(n));
  for (size_t i = *next; i < *next + n; ++i) {
    const DigestEntry& e = entries[i];
    w.Bytes(e.id);
    w.U64(e.incarnation);
    w.U8(e.left ? 1 : 0);
    w.U8(static_cast<uint8_t>(e.state));
    w.U64(e.state_incarnation);
  }
  *next += n;
  return out;
}

std::vector<uint8_t> EncodePull(std::span<const PublicKey> ids) {
  auto out = Start(MessageType::kPull, 3 + ids.size() * 32);
  ByteWriter w(&out);
  w.U16(static_cast<uint16_t>(ids.size()));
  for (const PublicKey& id : ids) w.Bytes(id);
  return out;
}

Status DecodeDigest(std::span<const uint8_t> message, Digest* out) {
  ByteReader r = Body(message);
  const uint8_t flags = r.U8();
  const uint16_t count = r.U16();
  if (flags > 1) return Status::InvalidArgument("digest message has unknown flags");
  out->reply_wanted = flags == 1;
  out->entries.clear();
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    DigestEntry e;
    r.Fixed(&e.id);
    e.incarnation = r.U64();
    const uint8_t left = r.U8();
    const uint8_t state = r.U8();
    e.state_incarnation = r.U64();
    if (left > 1 || state > static_cast<uint8_t>(MemberState::kLeft)) {
      return Status::InvalidArgument("digest entry has unknown flags or state");
    }
    e.left = left == 1;
    e.state = static_cast<MemberState>(state);
    out->entries.push_back(e);
  }
  return Finish(r, "digest");
}

Status DecodePull(std::span<const uint8_t> message, std::vector<PublicKey>* out) {
  ByteReader r = Body(message);
  const uint16_t count = r.U16();
  if (count == 0 || count > kMaxIdsPerMessage) {
    return Status::InvalidArgument("pull message has " + std::to_string(count) + " ids");
  }
  out->clear();
  for (uint16_t i = 0; i < count && r.ok(); ++i) {
    PublicKey id;
    r.Fixed(&id);
    out->push_back(id);
  }
  return Finish(r, "pull");
}

}  // namespace mesh::core
