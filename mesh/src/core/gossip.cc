// Core: signed broadcast. Every envelope is signed by its origin over the exact bytes sent
// and identified by (origin, sequence). A node accepts an id once (SeenCache), inside the
// replay window, from a known origin, with a valid signature; then it delivers and forwards
// to its active links except the sender, while the hop limit allows. The forwarding policy
// is Forward (tree.cc: Plumtree, or flooding when it is off). The signature
// check is the host's (VerifyGossip): the envelope waits in `verifying_` until the answer
// (OnGossipVerified), and copies that arrive meanwhile count as duplicates (without a PRUNE:
// the copy being checked may be forged, and then they are GRAFTed from their senders).
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

void Core::Publish(int64_t now, GossipKind kind, std::span<const uint8_t> body, bool flood) {
  const uint64_t seq = NextSequence();
  auto env = std::make_shared<const GossipEnvelope>(
      GossipEnvelope::Make(*config_.key, kind, seq, host_->UnixMs(), body));
  seen_.Insert(now, env->origin, seq);
  Count("gossip_published");
  last_published_ = env;
  Forward(now, env, 0, 0, flood);
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
  // A copy of an envelope still being verified is a duplicate too: one check per id. But the
  // copy being checked may be a forgery of a predictable (origin, sequence): this one is not
  // pruned, and its link is kept as an announcer, to GRAFT from if the check fails.
  std::pair<PublicKey, uint64_t> id{env.origin, env.seq};
  const GossipId gid{env.origin, env.seq};
  if (Known(gid)) {
    Count("gossip_duplicates");
    if (env.origin != link.peer.subject) OnDuplicate(link);
    return;
  }
  if (Verifying(gid)) {
    Count("gossip_duplicates");
    if (config_.tree_broadcast && link.tree) {
      AddAnnouncer(now, link, gid, gossip.hops, config_.ihave_timeout.count());
    }
    return;
  }
  // |local - sent| > window, written so nothing overflows: sent_ms is any i64 the origin chose.
  const int64_t local = host_->UnixMs(), window = config_.replay_window.count();
  if (env.sent_ms < local - window || env.sent_ms > local + window) {
    Count("dropped.outside_replay_window");
    return;
  }
  // The origin's key: from the member table, or for a member record, from the record itself
  // (the first news of a new member is its own record).
  MemberRecord record;
  if (env.kind == GossipKind::kRecord) {
    if (!MemberRecord::Decode(env.body, &record).ok() || record.id() != env.origin) {
      return ProtocolError(link, "malformed_gossip");
    }
    const Member* known = members_.Find(env.origin);
    // Not the forwarder's fault when, say, clocks disagree on a certificate's window:
    // drop the record, keep the link.
    if ((known == nullptr || known->record->encoded != record.encoded) &&
        !CheckRecord(record).ok()) {
      Count("dropped.bad_record");
      return;
    }
  } else if (members_.Find(env.origin) == nullptr) {
    Count("dropped.unknown_origin");
    return;
  }
  // The signature check goes to the host; the envelope waits here, within bounds.
  const size_t bytes = env.encoded.size();
  if (!verifying_.empty() && (verifying_.size() >= config_.max_verify_inflight ||
                              verifying_bytes_ + bytes > config_.max_verify_inflight_bytes)) {
    Count("dropped.verify_backlog");
    return;
  }
  const uint64_t token = next_verify_token_++;
  auto shared = host_->ShareEnvelope(std::move(env));
  verifying_ids_.insert(std::move(id));
  verifying_bytes_ += bytes;
  verifying_.emplace(token, PendingGossip{shared, link.id, gossip.hops, std::move(record), {}});
  // Last: the host may answer from inside this call.
  host_->VerifyGossip(VerifyJob{token, std::move(shared)});
}

void Core::OnGossipVerified(int64_t now, uint64_t token, bool ok) {
  last_now_ = now;
  auto it = verifying_.find(token);
  if (it == verifying_.end() || it->second.verified) return;
  it->second.verified = ok;
  // In arrival order, as with a synchronous check: handlers see broadcasts in the order they
  // came, whichever worker finished first.
  while (!verifying_.empty() && verifying_.begin()->second.verified) {
    const PendingGossip p = std::move(verifying_.begin()->second);
    verifying_.erase(verifying_.begin());
    verifying_ids_.erase({p.envelope->origin, p.envelope->seq});
    verifying_bytes_ -= p.envelope->encoded.size();
    Finish(now, p);
  }
}

// A checked envelope: a forgery closes the link it came on; otherwise the envelope is
// remembered, delivered and forwarded.
void Core::Finish(int64_t now, const PendingGossip& p) {
  if (!*p.verified) {
    Count("dropped.bad_signature");
    if (auto link = links_.find(p.from); link != links_.end()) {
      ProtocolError(link->second, "forwarded_forgery");
    }
    // Copies or IHAVEs of this id that came during the check: GRAFT the real one now.
    if (auto m = missing_.find(GossipId{p.envelope->origin, p.envelope->seq});
        m != missing_.end()) {
      missing_due_.erase({m->second.deadline, m->first});
      m->second.deadline = now;
      missing_due_.insert({now, m->first});
      SendDueGrafts(now);
    }
    return;
  }
  const GossipEnvelope& env = *p.envelope;
  const PublicKey& origin = env.origin;
  // Reaped while its envelope was being verified.
  const Member* from = members_.Find(origin);
  if (env.kind != GossipKind::kRecord && from == nullptr) {
    Count("dropped.unknown_origin");
    return;
  }
  seen_.Insert(now, origin, env.seq);
  EraseMissing(GossipId{origin, env.seq});
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
      d.from_name = from->record->certificate.name;
      d.event = body.event;
      d.payload = body.payload;
      d.hops = static_cast<uint8_t>(p.hops + 1);
      Count("broadcasts_delivered");
      host_->Deliver(d);
      break;
    }
    case GossipKind::kRecord:
      ApplyRecord(now, p.record, /*verified=*/true);
      break;
    case GossipKind::kSuspect:
    case GossipKind::kDead: {
      std::vector<Claim> claims;
      if (!DecodeClaims(env.body, &claims).ok()) {
        Count("dropped.malformed_claim");
        break;
      }
      const auto state = env.kind == GossipKind::kDead ? MemberState::kDead : MemberState::kSuspect;
      for (const Claim& claim : claims) ApplyClaim(now, state, claim, origin);
      break;
    }
  }
  if (p.hops + 1 < config_.gossip_hop_limit) {
    // A leave is flooded: it is rare, and its origin can answer no GRAFT any more.
    const bool flood = env.kind == GossipKind::kRecord && p.record.left;
    Forward(now, p.envelope, static_cast<uint8_t>(p.hops + 1), p.from, flood);
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
