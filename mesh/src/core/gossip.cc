// Core: signed broadcast. Every envelope is signed by its origin over the exact bytes sent
// and identified by (origin, sequence). A node accepts an id once (SeenCache), inside the
// replay window, from a known origin, with a valid signature; then it delivers and forwards
// to its active links except the sender, while the hop limit allows. The forwarding policy
// is one function (Forward) so tree-based dissemination can replace flooding.
#include <cstdlib>

#include "core/core.h"

namespace mesh::core {

uint64_t Core::NextSequence() {
  if (sequence_ >= sequence_reserved_) {
    constexpr uint64_t kBlock = 1 << 16;
    sequence_reserved_ = sequence_ + kBlock;
    host_->ReserveSequence(sequence_reserved_);
  }
  return sequence_++;
}

void Core::Publish(int64_t now, GossipKind kind, std::span<const uint8_t> body) {
  const uint64_t seq = NextSequence();
  GossipEnvelope env = GossipEnvelope::Make(*config_.key, kind, seq, host_->UnixMs(), body);
  seen_.Insert(now, env.origin, seq);
  Count("gossip_published");
  Forward(env, 0, 0);
}

void Core::Forward(const GossipEnvelope& env, uint8_t hops, LinkId except) {
  const auto message = EncodeGossip(hops, env.encoded);
  for (Link* link : ActiveLinks()) {
    if (link->id == except) continue;
    Count("gossip_out_messages");
    Count("gossip_out_bytes", message.size());
    SendTo(*link, message);
  }
}

void Core::HandleGossip(int64_t now, Link& link, std::span<const uint8_t> message) {
  Count("gossip_in_messages");
  Count("gossip_in_bytes", message.size());
  Gossip gossip;
  GossipEnvelope env;
  if (!DecodeGossip(message, &gossip).ok() ||
      !GossipEnvelope::Decode(std::move(gossip.envelope), config_.max_message_bytes, &env).ok()) {
    return ProtocolError(link, "malformed_gossip");
  }
  if (env.origin == self_.id() || !seen_.IsNew(env.origin, env.seq)) {
    Count("gossip_duplicates");
    return;
  }
  const int64_t skew = host_->UnixMs() - env.sent_ms;
  if (std::llabs(skew) > config_.replay_window.count()) {
    Count("dropped.outside_replay_window");
    return;
  }
  // The origin's key: from the member table, or for a member record, from the record itself
  // (the first news of a new member is its own record).
  MemberRecord record;
  bool record_ok = false;
  if (env.kind == GossipKind::kRecord) {
    if (!MemberRecord::Decode(env.body, &record).ok() || record.id() != env.origin) {
      return ProtocolError(link, "malformed_gossip");
    }
    const auto known = members_.find(env.origin);
    record_ok = known != members_.end() && known->second.record.encoded == record.encoded;
    if (!record_ok) {
      // Not the forwarder's fault when, say, clocks disagree on a certificate's window:
      // drop the record, keep the link.
      if (!CheckRecord(record).ok()) {
        Count("dropped.bad_record");
        return;
      }
      record_ok = true;
    }
  } else if (members_.find(env.origin) == members_.end()) {
    Count("dropped.unknown_origin");
    return;
  }
  if (!env.VerifySignature(env.origin)) {
    Count("dropped.bad_signature");
    return ProtocolError(link, "forwarded_forgery");
  }
  seen_.Insert(now, env.origin, env.seq);
  const LinkId from_link = link.id;
  const PublicKey origin = env.origin;
  switch (env.kind) {
    case GossipKind::kEvent: {
      EventBody body;
      if (!DecodeEvent(env.body, &body).ok()) {
        Count("dropped.malformed_event");
        break;
      }
      Delivery d;
      d.kind = Delivery::Kind::kBroadcast;
      d.from = origin;
      d.from_name = members_.at(origin).record.certificate.name;
      d.event = body.event;
      d.payload = body.payload;
      Count("broadcasts_delivered");
      host_->Deliver(d);
      break;
    }
    case GossipKind::kRecord:
      ApplyRecord(now, record, record_ok);
      break;
    case GossipKind::kSuspect:
    case GossipKind::kDead: {
      Claim claim;
      if (!DecodeClaim(env.body, &claim).ok()) {
        Count("dropped.malformed_claim");
        break;
      }
      const auto state = env.kind == GossipKind::kDead ? MemberState::kDead : MemberState::kSuspect;
      ApplyClaim(now, state, claim, origin);
      break;
    }
  }
  if (gossip.hops + 1 < config_.gossip_hop_limit) {
    Forward(env, static_cast<uint8_t>(gossip.hops + 1), from_link);
  } else {
    Count("gossip_hop_limit_reached");
  }
}

Status Core::Broadcast(int64_t now, std::string_view event, std::span<const uint8_t> payload) {
  if (Status s = CheckEventName(event); !s.ok()) return s;
  auto body = EncodeEvent(event, payload);
  // Room for the envelope and link headers inside one message.
  constexpr size_t kOverhead = 2 + 1 + 1 + 32 + 8 + 8 + 4 + 64;
  if (body.size() + kOverhead > config_.max_message_bytes) {
    return Status::ResourceExhausted("broadcast of " + std::to_string(payload.size()) +
                                     " bytes is over the message limit");
  }
  if (!started_ || leaving_) return Status::Unavailable("node is not running");
  Publish(now, GossipKind::kEvent, body);
  return Status::OK();
}

}  // namespace mesh::core
