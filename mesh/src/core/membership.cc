// Core: the member table, SWIM failure detection with Lifeguard suspicion, refutation,
// reaping (anti-entropy is in sync.cc). Rules (docs/mesh.md, "Membership"):
//   alive(i) beats suspect/dead(j) when i > j; suspect(i) beats alive(j) when i >= j;
//   dead(i) beats alive/suspect(j) when i >= j; left(i), signed by the member, beats all j <= i.
#include <algorithm>
#include <cmath>

#include "core/core.h"

namespace mesh::core {

Status Core::CheckRecord(const MemberRecord& record) {
  if (record.address.size() > kMaxAddressBytes) {
    return Status::InvalidArgument("member record address is too long");
  }
  return record.Verify(config_.ca_key, host_->UnixMs() / 1000);
}

bool Core::ApplyRecord(int64_t now, const MemberRecord& record, bool verified) {
  if (record.id() == self_.id()) {
    // Someone holds a record of this node newer than ours (an earlier run): outbid it. Only
    // a record this node signed can say so: anything else would let anyone raise (and
    // overflow) its incarnation.
    if (record.incarnation >= incarnation_ && !leaving_ && record.encoded != self_.encoded) {
      if (!verified && !CheckRecord(record).ok()) {
        Count("dropped.bad_record");
        return false;
      }
      Refute(now, record.incarnation);
    }
    return false;
  }
  const size_t pos = members_.Locate(record.id());
  if (pos != MemberTable::kNone) {
    const MemberRecord& old = *members_.At(pos)->record;
    if (record.incarnation < old.incarnation) return false;
    if (record.incarnation == old.incarnation && (old.left || !record.left)) return false;
  }
  if (!verified) {
    if (Status s = CheckRecord(record); !s.ok()) {
      Count("dropped.bad_record");
      return false;
    }
  }
  host_->PeerSeen(record);
  if (pos == MemberTable::kNone) {
    Member m;
    m.record = host_->ShareRecord(record);
    m.state = record.left ? MemberState::kLeft : MemberState::kAlive;
    m.state_incarnation = record.incarnation;
    m.state_since = now;
    const size_t added = members_.Insert(std::move(m));
    Track(added, std::nullopt, members_.At(added)->state, now);
    gauges_dirty_ = true;
    host_->MemberChanged(Info(*members_.At(added)));
    return true;
  }
  Member& m = *members_.At(pos);
  m.record = host_->ShareRecord(record);
  if (record.left) {
    SetState(now, pos, MemberState::kLeft, record.incarnation);
  } else if (m.state == MemberState::kAlive || m.state == MemberState::kLeft ||
             record.incarnation > m.state_incarnation) {
    backoff_.erase(record.id());
    SetState(now, pos, MemberState::kAlive, record.incarnation);
  }
  return true;
}

void Core::ApplyClaim(int64_t now, MemberState state, const Claim& claim, const PublicKey& by) {
  if (claim.target == self_.id()) {
    // A claim about an incarnation this node never had is bogus (and would make the
    // refutation overflow): only the current one is refuted.
    if (claim.incarnation > incarnation_) {
      Count("dropped.bogus_claim");
    } else if (claim.incarnation == incarnation_ && !leaving_) {
      Refute(now, claim.incarnation);
    } else if (!leaving_ && now >= reannounce_allowed_) {
      // A claim about an incarnation refuted long ago: its holder never got the newer record
      // (it was cut off when this node refuted, say). Nothing will carry that record to it
      // but push-pull, and this node has nothing to refute: gossip the current record again.
      reannounce_allowed_ = now + 5 * config_.probe_interval.count();
      Count("stale_claims_answered");
      Publish(now, GossipKind::kRecord, self_.encoded);
    }
    return;
  }
  const size_t pos = members_.Locate(claim.target);
  if (pos == MemberTable::kNone) return;
  Member& m = *members_.At(pos);
  if (m.state == MemberState::kLeft || m.state == MemberState::kDead) return;
  if (claim.incarnation < m.record->incarnation) return;  // refuted already
  // Above the newest record: not a claim about any record that exists (here, yet).
  if (claim.incarnation > m.record->incarnation) {
    Count("dropped.bogus_claim");
    return;
  }
  if (state == MemberState::kDead) {
    SetState(now, pos, MemberState::kDead, claim.incarnation);
    return;
  }
  if (m.state == MemberState::kAlive) {
    SetState(now, pos, MemberState::kSuspect, claim.incarnation);  // opens the suspicion
    Suspicion& s = suspicions_[m.slot - 1];
    Confirm(s, by);
    SetDeadline(s, m.state_since + SuspicionTimeout(s));
  } else if (claim.incarnation == m.state_incarnation) {  // suspect: slot is its suspicion
    Suspicion& s = suspicions_[m.slot - 1];
    if (Confirm(s, by)) SetDeadline(s, m.state_since + SuspicionTimeout(s));  // shrinks
  }
}

// Whether this node's own failed probe of m is news: m is alive (the node suspects it), or
// others suspect it and this node's independent confirmation still shortens the suspicion
// (Lifeguard: up to indirect_probes confirmations beyond the first count; past that one
// changes nothing and is not sent).
bool Core::WantsOwnClaim(const Member& m) const {
  if (m.state == MemberState::kAlive) return true;
  // A suspect member's suspicion is always of its current record: a newer one makes it alive.
  if (m.state != MemberState::kSuspect) return false;
  const Suspicion& s = suspicions_[m.slot - 1];
  return !s.by_self && s.count <= config_.indirect_probes && s.count < s.tags.size();
}

bool Core::Confirm(Suspicion& s, const PublicKey& by) {
  if (by == self_.id()) s.by_self = true;
  if (by < self_.id()) s.lower_claimant = true;
  const uint32_t tag = members_.Tag(by);
  auto end = s.tags.begin() + s.count;
  if (std::find(s.tags.begin(), end, tag) != end || s.count == s.tags.size()) return false;
  s.tags[s.count++] = tag;
  return true;
}

void Core::SetDeadline(Suspicion& s, int64_t deadline) {
  s.deadline = deadline;
  suspicion_deadlines_.Set(static_cast<uint32_t>(&s - suspicions_.data()), SuspicionDeadline());
}

void Core::SetState(int64_t now, size_t pos, MemberState state, uint64_t incarnation) {
  Member& m = *members_.At(pos);
  const bool changed = m.state != state;
  m.state_incarnation = incarnation;
  if (!changed) return;
  const PublicKey id = m.record->id();
  Track(pos, m.state, state, now);
  m.state = state;
  m.state_since = now;
  if (state == MemberState::kDead || state == MemberState::kLeft) {
    Count(state == MemberState::kDead ? "members_failed" : "members_left");
    std::vector<LinkId> close;
    for (auto [p, end] = peer_links_.equal_range(id); p != end; ++p) close.push_back(p->second);
    for (LinkId lid : close) CloseLink(lid, state == MemberState::kLeft);
    FailQueued(id, ShortId(id) + " is " + std::string(MemberStateName(state)));
  }
  gauges_dirty_ = true;
  host_->MemberChanged(Info(m));
}

// Keeps the indexes that spare the periodic work a walk over the whole table: the live
// count, the count by state (for the gauges), the suspicions and their deadlines, the failed set
// and the reaping queue.
void Core::Track(size_t pos, std::optional<MemberState> from, std::optional<MemberState> to,
                 int64_t now) {
  auto live = [](std::optional<MemberState> s) {
    return s == MemberState::kAlive || s == MemberState::kSuspect;
  };
  live_ = live_ + (live(to) ? 1 : 0) - (live(from) ? 1 : 0);
  if (from) --by_state_[static_cast<size_t>(*from)];
  if (to) ++by_state_[static_cast<size_t>(*to)];
  Member& m = *members_.At(pos);
  const auto at = static_cast<uint32_t>(pos);
  if (from == MemberState::kSuspect && m.slot != 0) {
    suspicion_deadlines_.Erase(m.slot - 1, SuspicionDeadline());
    free_suspicions_.push_back(m.slot - 1);
    m.slot = 0;
  }
  if (to == MemberState::kSuspect) {
    if (free_suspicions_.empty()) {
      suspicions_.emplace_back();
      free_suspicions_.push_back(static_cast<uint32_t>(suspicions_.size() - 1));
    }
    const uint32_t slot = free_suspicions_.back();
    free_suspicions_.pop_back();
    suspicions_[slot] = Suspicion{};
    suspicions_[slot].member = at;
    m.slot = slot + 1;
  }
  if (from == MemberState::kDead) {  // the last failed member takes its place in the list
    const uint32_t place = m.slot - 1;
    dead_[place] = dead_.back();
    members_.At(dead_[place])->slot = place + 1;
    dead_.pop_back();
    m.slot = 0;
  }
  if (to == MemberState::kDead) {
    dead_.push_back(at);
    m.slot = static_cast<uint32_t>(dead_.size());
  }
  if (to == MemberState::kDead || to == MemberState::kLeft) gone_.emplace_back(now, at);
}

// Outbids `incarnation` with a new record. Callers pass only incarnations this node signed
// (its own, or an earlier run's signed record), never a number a peer chose; still, at the
// top of the range the node keeps its record rather than wrap to 0, which every peer would
// ignore (a refutation cannot be forced to overflow).
void Core::Refute(int64_t now, uint64_t incarnation) {
  const uint64_t top = std::max(incarnation_, incarnation);
  if (top == UINT64_MAX) {
    Count("dropped.refute_overflow");
    return;
  }
  Count("refutations");
  AdjustHealth(1);  // suspected: this node may be the slow one
  incarnation_ = top + 1;
  // The other suspecters' claims of the old incarnation are still arriving: they need no
  // second announcement.
  reannounce_allowed_ = now + 5 * config_.probe_interval.count();
  FollowUpDigest(now + config_.probe_interval.count());  // what it missed meanwhile
  ResignSelf(now);
  Publish(now, GossipKind::kRecord, self_.encoded);
  // New member links get the refutation for a few probe rounds, as they get the record after
  // a join: a node back from a pause refutes while its old links are being closed under it,
  // and the envelope would otherwise reach the mesh only through push-pull, minutes later.
  if (announcement_) {
    announcement_ = last_published_;
    announce_until_ = now + 5 * config_.probe_interval.count();
  }
}

void Core::ResignSelf(int64_t now) {
  (void)now;
  self_ = MemberRecord::Make(*config_.key, config_.certificate, advertise_, incarnation_, false,
                             host_->UnixMs());
}

int64_t Core::SuspicionTimeout(const Suspicion& s) const {
  const double n = static_cast<double>(std::max<size_t>(LiveMembers() + 1, 10));
  const double base =
      config_.suspicion_mult * std::log10(n) * static_cast<double>(config_.probe_interval.count());
  const double most = config_.suspicion_max_mult * base;
  const double k = static_cast<double>(config_.indirect_probes);
  const double c = static_cast<double>(s.count) - 1;  // beyond the first
  if (k < 1 || c <= 0) return static_cast<int64_t>(most);
  const double t = most - (most - base) * std::log(c + 1) / std::log(k + 1);
  return static_cast<int64_t>(std::max(base, t));
}

void Core::SuspicionTick(int64_t now) {
  auto& heap = suspicion_deadlines_;
  while (!heap.empty() && suspicions_[heap.top()].deadline <= now) {
    const uint32_t slot = heap.top();
    const uint32_t pos = suspicions_[slot].member;
    const Member* m = pos < members_.positions() ? members_.At(pos) : nullptr;
    if (m == nullptr || m->state != MemberState::kSuspect || m->slot != slot + 1) {
      heap.Erase(slot, SuspicionDeadline());  // cannot happen: Track takes ended ones out
      continue;
    }
    const uint64_t inc = m->state_incarnation;
    const PublicKey id = m->record->id();
    // Only a node that suspected it itself announces the failure, and of those only the one
    // with the lowest id among the claimants it knows. The others hold the same (gossiped)
    // suspicion and time out alike; if each announced, one failure would cost a flood per
    // node (N^2 messages and signature checks), and if each suspecter did, a flood per
    // suspecter: all the crashed node's linked peers suspect it at once, about 6 floods.
    const Suspicion& s = suspicions_[m->slot - 1];
    const bool announce = s.by_self && !s.lower_claimant;
    SetState(now, pos, MemberState::kDead, inc);
    if (announce) failures_to_publish_.push_back(Claim{id, inc});
  }
  PublishClaims(now, GossipKind::kDead, failures_to_publish_);
}

// One envelope for the claims a node makes at one time: in a mass failure each survivor
// loses several links at once, and their probes fail in the same tick.
void Core::PublishClaims(int64_t now, GossipKind kind, std::vector<Claim>& claims) {
  for (size_t i = 0; i < claims.size(); i += kMaxClaimsPerEnvelope) {
    const size_t n = std::min(kMaxClaimsPerEnvelope, claims.size() - i);
    Publish(now, kind, EncodeClaims(std::span(claims).subspan(i, n)));
  }
  claims.clear();
}

void Core::ReapTick(int64_t now) {
  while (!gone_.empty() && now - gone_.front().first > config_.reap_after.count()) {
    const auto [since, pos] = gone_.front();
    gone_.pop_front();
    // Positions are reused only after a reap, and a member's later entries come later.
    const Member* m = members_.At(pos);
    if (m == nullptr || m->state_since != since) continue;
    const MemberState state = m->state;
    if (state != MemberState::kDead && state != MemberState::kLeft) continue;
    const PublicKey id = m->record->id();
    Count("members_reaped");
    seen_.ForgetOrigin(id);
    Track(pos, state, std::nullopt, now);
    backoff_.erase(id);
    members_.Erase(pos);
  }
}

bool Core::Dialing(const PublicKey& id) const {
  return std::any_of(dials_.begin(), dials_.end(), [&](auto& d) { return d.second.expect == id; });
}

// --- Probes ----------------------------------------------------------------------------------

void Core::ProbeTick(int64_t now) {
  if (now >= next_probe_round_ && !leaving_) {
    next_probe_round_ = now + config_.probe_interval.count() * Health();
    constexpr uint64_t kUnlinkedProbeEvery = 5;
    const bool unlinked_round = ++probe_rounds_ % kUnlinkedProbeEvery == 0;
    if (const PublicKey* target = unlinked_round ? NextUnlinkedTarget() : NextLinkedTarget()) {
      const PublicKey t = *target;
      const bool busy = std::any_of(probes_.begin(), probes_.end(), [&](auto& p) {
        return p.second.target == t && p.second.relay_link == 0;
      });
      if (!busy) StartProbe(now, t, 0, 0);
    }
  }
  std::vector<uint64_t> done;
  for (auto& [pid, probe] : probes_) {
    if (!probe.indirect_sent && now >= probe.direct_deadline && probe.relay_link == 0) {
      probe.indirect_sent = true;
      std::vector<Link*> helpers;
      for (Link* l : ActiveLinks()) {
        if (l->peer.subject != probe.target) helpers.push_back(l);
      }
      for (size_t i = 0; i < config_.indirect_probes && !helpers.empty(); ++i) {
        const size_t j = host_->Random() % helpers.size();
        ++probe.expected_nacks;
        probe.helpers.push_back(helpers[j]->id);
        SendTo(*helpers[j], EncodePingReq(PingReq{pid, probe.target}));
        helpers[j] = helpers.back();
        helpers.pop_back();
      }
    }
    // A helper that has no answer yet says so (Lifeguard's NACK): the prober then knows
    // the helper, and so its own links, still work.
    if (probe.relay_link != 0 && !probe.nack_sent && now >= probe.nack_at) {
      probe.nack_sent = true;
      auto relay = links_.find(probe.relay_link);
      if (relay != links_.end() && !relay->second.closing) {
        SendTo(relay->second, EncodeProbe(MessageType::kNack, {probe.relay_probe_id}));
      }
    }
    if (now >= probe.deadline) done.push_back(pid);
  }
  for (uint64_t pid : done) {
    const Probe probe = probes_.at(pid);
    probes_.erase(pid);
    if (probe.relay_link != 0) continue;
    // Lifeguard: each helper that sent no NACK counts against this node's own health. With no
    // helper (no active link) the failure says nothing either way, and a node cut off alone
    // must still find out (memberlist counts 1 here).
    AdjustHealth(probe.expected_nacks - std::min(probe.nacks, probe.expected_nacks));
    ProbeFailed(now, probe.target);
  }
  PublishClaims(now, GossipKind::kSuspect, suspicions_to_publish_);
}

// Neighbours watch each other: most rounds probe a member over an existing link, in turn.
const PublicKey* Core::NextLinkedTarget() {
  probe_linked_.clear();
  for (auto& [id, link] : links_) {
    if (link.closing || !link.hello_done || link.peer.role != Role::kNode) continue;
    const Member* m = members_.Find(link.peer.subject);
    if (m == nullptr || m->state == MemberState::kDead || m->state == MemberState::kLeft) {
      continue;
    }
    const PublicKey& peer = link.peer.subject;
    if (std::find(probe_linked_.begin(), probe_linked_.end(), peer) == probe_linked_.end()) {
      probe_linked_.push_back(peer);
    }
  }
  if (probe_linked_.empty()) return nullptr;
  return &probe_linked_[linked_cursor_++ % probe_linked_.size()];
}

// A member without a link costs a dial and a handshake, so it is probed only one round in
// kUnlinkedProbeEvery; that still finds members whose neighbours all failed with them, and
// members on the far side of a partition. Up to kProbeOrderMax members: round-robin over a
// shuffled list, reshuffled each pass (SWIM's order); above, a random member (the list would
// cost 32 bytes per member per node).
const PublicKey* Core::NextUnlinkedTarget() {
  constexpr size_t kProbeOrderMax = 1024;
  auto usable = [&](const PublicKey& id) {
    const Member* m = members_.Find(id);
    return m != nullptr && m->state != MemberState::kDead && m->state != MemberState::kLeft;
  };
  if (members_.empty()) return nullptr;
  if (members_.size() > kProbeOrderMax) {
    probe_order_.clear();
    for (int tries = 0; tries < 8; ++tries) {
      const PublicKey& id = members_.At(RandomMember())->record->id();
      if (usable(id)) {
        probe_order_.push_back(id);
        return &probe_order_.back();
      }
    }
    return nullptr;
  }
  for (size_t tries = 0; tries <= members_.size(); ++tries) {
    if (probe_cursor_ >= probe_order_.size()) {
      probe_order_.clear();
      members_.ForEach([&](const Member& m) { probe_order_.push_back(m.record->id()); });
      for (size_t i = probe_order_.size(); i > 1; --i) {
        std::swap(probe_order_[i - 1], probe_order_[host_->Random() % i]);
      }
      probe_cursor_ = 0;
    }
    const PublicKey& target = probe_order_[probe_cursor_++];
    if (usable(target)) return &target;
  }
  return nullptr;
}

void Core::StartProbe(int64_t now, const PublicKey& target, LinkId relay_link, uint64_t relay_id) {
  Member* m = members_.Find(target);
  if (m == nullptr) return;
  const uint64_t pid = next_probe_id_++;
  Probe& probe = probes_[pid];
  probe.target = target;
  probe.direct_deadline = now + config_.probe_timeout.count() * Health();
  probe.deadline = now + config_.probe_interval.count() * Health();
  // Lifeguard sends the NACK at 80% of the prober's indirect phase.
  probe.nack_at = now + (config_.probe_interval.count() - config_.probe_timeout.count()) * 4 / 5;
  probe.relay_link = relay_link;
  probe.relay_probe_id = relay_id;
  if (LinkTo(target) != nullptr) {
    SendPing(now, pid, probe);
    return;
  }
  // The dial decides the direct phase: refused fails it at once (OnDialFailed), a stalled
  // handshake at the handshake timeout; a link starts the ping's own timeout (HandleHello).
  probe.awaiting_link = true;
  probe.direct_deadline = probe.deadline =
      now + config_.handshake_timeout.count() + config_.probe_interval.count();
  const bool pending =
      std::any_of(dials_.begin(), dials_.end(), [&](auto& d) { return d.second.expect == target; });
  if (!pending) DialMember(now, *m, /*want_active=*/false);
}

void Core::SendPing(int64_t now, uint64_t probe_id, Probe& probe) {
  (void)now;
  if (Link* l = LinkTo(probe.target)) SendTo(*l, EncodeProbe(MessageType::kPing, {probe_id}));
}

void Core::ProbeFailed(int64_t now, const PublicKey& target) {
  Count("probes_failed");
  const Member* m = members_.Find(target);
  if (m == nullptr || !WantsOwnClaim(*m)) return;
  const bool suspected = m->state == MemberState::kSuspect;
  // A suspicion this node relayed from push-pull went out signed by it: the others count it
  // as this node's claim already, and a second envelope would change nothing there.
  const bool relayed = suspected && suspicions_[m->slot - 1].relayed;
  if (suspected) Count("suspicions_confirmed");
  const Claim claim{target, m->record->incarnation};
  ApplyClaim(now, MemberState::kSuspect, claim, self_.id());
  if (!relayed) suspicions_to_publish_.push_back(claim);  // ProbeTick publishes them
}

void Core::RelaySuspicion(const Member& m, const Claim& claim) {
  suspicions_[m.slot - 1].relayed = true;
  suspicions_to_publish_.push_back(claim);
}

void Core::HandlePing(int64_t now, Link& link, std::span<const uint8_t> message) {
  (void)now;
  ProbeMessage ping;
  if (!DecodeProbe(message, &ping).ok()) return ProtocolError(link, "malformed_ping");
  SendTo(link, EncodeProbe(MessageType::kAck, ping));
}

void Core::HandleAck(int64_t now, Link& link, std::span<const uint8_t> message) {
  (void)now;
  ProbeMessage ack;
  if (!DecodeProbe(message, &ack).ok()) return ProtocolError(link, "malformed_ack");
  auto it = probes_.find(ack.probe_id);
  if (it == probes_.end()) return;  // late or unknown: harmless
  const Probe probe = it->second;
  probes_.erase(it);
  if (probe.relay_link == 0) AdjustHealth(-1);
  if (probe.relay_link != 0) {
    auto relay = links_.find(probe.relay_link);
    if (relay != links_.end() && !relay->second.closing) {
      SendTo(relay->second, EncodeProbe(MessageType::kAck, {probe.relay_probe_id}));
    }
  }
}

void Core::HandleNack(Link& link, std::span<const uint8_t> message) {
  ProbeMessage nack;
  if (!DecodeProbe(message, &nack).ok()) return ProtocolError(link, "malformed_nack");
  // Only from a helper this node sent the PING-REQ, once each: probe ids are easy to guess,
  // and NACKs from anyone would cancel the failures that Lifeguard counts against this node.
  auto it = probes_.find(nack.probe_id);
  if (it == probes_.end() || it->second.relay_link != 0) return;
  auto& helpers = it->second.helpers;
  auto helper = std::find(helpers.begin(), helpers.end(), link.id);
  if (helper == helpers.end()) {
    Count("dropped.unexpected_nack");
    return;
  }
  helpers.erase(helper);
  ++it->second.nacks;
}

// Lifeguard's local health multiplier: 0 when all is well, up to lhm_max; probe rounds and
// probe timeouts last (1 + lhm) times longer.
void Core::AdjustHealth(int delta) {
  lhm_ = std::clamp<int>(lhm_ + delta, 0, static_cast<int>(config_.lhm_max));
}

void Core::HandlePingReq(int64_t now, Link& link, std::span<const uint8_t> message) {
  PingReq req;
  if (!DecodePingReq(message, &req).ok()) return ProtocolError(link, "malformed_ping_req");
  if (req.target == self_.id()) {
    SendTo(link, EncodeProbe(MessageType::kAck, {req.probe_id}));
    return;
  }
  const Member* m = members_.Find(req.target);
  if (m == nullptr || m->state == MemberState::kDead || m->state == MemberState::kLeft) return;
  StartProbe(now, req.target, link.id, req.probe_id);
}

MemberInfo Core::Info(const Member& m) const {
  MemberInfo info;
  info.id = m.record->id();
  info.name = m.record->certificate.name;
  info.certificate = m.record->certificate;
  info.address = m.record->address;
  info.state = m.state;
  info.incarnation = m.record->incarnation;
  info.state_since_ms = host_->UnixMs() - (last_now_ - m.state_since);
  for (auto [p, end] = peer_links_.equal_range(info.id); p != end; ++p) {
    const Link& link = links_.at(p->second);
    if (link.active && !link.closing) info.linked = true;
  }
  return info;
}

std::vector<MemberInfo> Core::Members() const {
  std::vector<MemberInfo> out;
  out.push_back(Self());
  members_.ForEach([&](const Member& m) { out.push_back(Info(m)); });
  std::sort(out.begin() + 1, out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

MemberInfo Core::Self() const {
  MemberInfo info;
  info.id = self_.id();
  info.name = self_.certificate.name;
  info.certificate = self_.certificate;
  info.address = self_.address;
  info.state = leaving_ ? MemberState::kLeft : MemberState::kAlive;
  info.incarnation = incarnation_;
  info.self = true;
  return info;
}

}  // namespace mesh::core
