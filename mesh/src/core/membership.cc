// Core: the member table, SWIM failure detection with Lifeguard suspicion, refutation,
// reaping, and push-pull anti-entropy. Rules (docs/mesh.md, "Membership"):
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
    // Someone holds a record of this node newer than ours (an earlier run): outbid it.
    if (record.incarnation >= incarnation_ && !leaving_ && record.encoded != self_.encoded) {
      Refute(now, record.incarnation);
    }
    return false;
  }
  auto it = members_.find(record.id());
  if (it != members_.end()) {
    const MemberRecord& old = it->second.record;
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
  if (it == members_.end()) {
    Member m;
    m.record = record;
    m.state = record.left ? MemberState::kLeft : MemberState::kAlive;
    m.state_incarnation = record.incarnation;
    m.state_since = now;
    m.state_since_unix = host_->UnixMs();
    auto [pos, inserted] = members_.emplace(record.id(), std::move(m));
    gauges_dirty_ = true;
    host_->MemberChanged(Info(pos->second));
    return true;
  }
  Member& m = it->second;
  m.record = record;
  if (record.left) {
    SetState(now, m, MemberState::kLeft, record.incarnation);
  } else if (m.state == MemberState::kAlive || m.state == MemberState::kLeft ||
             record.incarnation > m.state_incarnation) {
    m.failures = 0;
    m.next_dial = 0;
    SetState(now, m, MemberState::kAlive, record.incarnation);
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
    }
    return;
  }
  auto it = members_.find(claim.target);
  if (it == members_.end()) return;
  Member& m = it->second;
  if (m.state == MemberState::kLeft || m.state == MemberState::kDead) return;
  if (claim.incarnation < m.record.incarnation) return;  // refuted already
  // Above the newest record: not a claim about any record that exists (here, yet).
  if (claim.incarnation > m.record.incarnation) {
    Count("dropped.bogus_claim");
    return;
  }
  if (state == MemberState::kDead) {
    SetState(now, m, MemberState::kDead, claim.incarnation);
    return;
  }
  if (m.state == MemberState::kAlive) {
    SetState(now, m, MemberState::kSuspect, claim.incarnation);
    m.confirmations = {by};
    m.suspect_deadline = m.state_since + SuspicionTimeout(m);
  } else if (claim.incarnation == m.state_incarnation && m.confirmations.insert(by).second) {
    m.suspect_deadline = m.state_since + SuspicionTimeout(m);  // shrinks with confirmations
  }
}

void Core::SetState(int64_t now, Member& m, MemberState state, uint64_t incarnation) {
  const bool changed = m.state != state;
  m.state_incarnation = incarnation;
  if (!changed) return;
  m.state = state;
  m.state_since = now;
  m.state_since_unix = host_->UnixMs();
  if (state != MemberState::kSuspect) m.confirmations.clear();
  if (state == MemberState::kDead || state == MemberState::kLeft) {
    Count(state == MemberState::kDead ? "members_failed" : "members_left");
    std::vector<LinkId> close;
    for (auto& [id, link] : links_) {
      if (link.peer.subject == m.record.id()) close.push_back(id);
    }
    for (LinkId id : close) CloseLink(id, state == MemberState::kLeft);
    FailQueued(m.record.id(),
               ShortId(m.record.id()) + " is " + std::string(MemberStateName(state)));
  }
  gauges_dirty_ = true;
  host_->MemberChanged(Info(m));
}

void Core::Refute(int64_t now, uint64_t incarnation) {
  Count("refutations");
  incarnation_ = std::max(incarnation_, incarnation) + 1;
  ResignSelf(now);
  Publish(now, GossipKind::kRecord, self_.encoded);
}

void Core::ResignSelf(int64_t now) {
  (void)now;
  self_ = MemberRecord::Make(*config_.key, config_.certificate, advertise_, incarnation_, false,
                             host_->UnixMs());
}

int64_t Core::SuspicionTimeout(const Member& m) const {
  const double n = static_cast<double>(std::max<size_t>(LiveMembers() + 1, 10));
  const double base =
      config_.suspicion_mult * std::log10(n) * static_cast<double>(config_.probe_interval.count());
  const double most = config_.suspicion_max_mult * base;
  const double k = static_cast<double>(config_.indirect_probes);
  const double c = static_cast<double>(m.confirmations.size()) - 1;  // beyond the first
  if (k < 1 || c <= 0) return static_cast<int64_t>(most);
  const double t = most - (most - base) * std::log(c + 1) / std::log(k + 1);
  return static_cast<int64_t>(std::max(base, t));
}

size_t Core::LiveMembers() const {
  size_t n = 0;
  for (auto& [id, m] : members_) {
    n += m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
  }
  return n;
}

void Core::SuspicionTick(int64_t now) {
  std::vector<PublicKey> expired;
  for (auto& [id, m] : members_) {
    if (m.state == MemberState::kSuspect && now >= m.suspect_deadline) expired.push_back(id);
  }
  for (const PublicKey& id : expired) {
    Member& m = members_.at(id);
    const uint64_t inc = m.state_incarnation;
    // Only a node that suspected it itself announces the failure. The others hold the same
    // (gossiped) suspicion and time out alike; if each announced too, one failure would cost
    // about one flood per node, N^2 messages and signature checks.
    const bool announce = m.confirmations.count(self_.id()) > 0;
    SetState(now, m, MemberState::kDead, inc);
    if (announce) Publish(now, GossipKind::kDead, EncodeClaim(Claim{id, inc}));
  }
}

void Core::ReapTick(int64_t now) {
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    const bool gone = m.state == MemberState::kDead || m.state == MemberState::kLeft;
    if (gone && now - m.state_since > config_.reap_after.count()) {
      Count("members_reaped");
      seen_.ForgetOrigin(it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

// --- Probes ----------------------------------------------------------------------------------

void Core::ProbeTick(int64_t now) {
  if (now >= next_probe_round_ && !leaving_) {
    next_probe_round_ = now + config_.probe_interval.count();
    constexpr uint64_t kUnlinkedProbeEvery = 5;
    const bool unlinked_round = ++probe_rounds_ % kUnlinkedProbeEvery == 0;
    // Round-robin over a shuffled member list, reshuffled each pass (SWIM's probe order).
    for (size_t tries = 0; tries <= members_.size(); ++tries) {
      if (probe_cursor_ >= probe_order_.size()) {
        probe_order_.clear();
        for (auto& [id, m] : members_) probe_order_.push_back(id);
        for (size_t i = probe_order_.size(); i > 1; --i) {
          std::swap(probe_order_[i - 1], probe_order_[host_->Random() % i]);
        }
        probe_cursor_ = 0;
        if (probe_order_.empty()) break;
      }
      const PublicKey target = probe_order_[probe_cursor_++];
      auto m = members_.find(target);
      if (m == members_.end() || m->second.state == MemberState::kDead ||
          m->second.state == MemberState::kLeft) {
        continue;
      }
      // Neighbours watch each other: most rounds probe over an existing link. A member
      // without a link costs a dial and a handshake, so it is probed only one round in
      // kUnlinkedProbeEvery; that still finds members whose neighbours all failed with them,
      // and members on the far side of a partition.
      if (!unlinked_round && LinkTo(target) == nullptr) continue;
      const bool busy = std::any_of(probes_.begin(), probes_.end(), [&](auto& p) {
        return p.second.target == target && p.second.relay_link == 0;
      });
      if (!busy) StartProbe(now, target, 0, 0);
      break;
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
        SendTo(*helpers[j], EncodePingReq(PingReq{pid, probe.target}));
        helpers[j] = helpers.back();
        helpers.pop_back();
      }
    }
    if (now >= probe.deadline) done.push_back(pid);
  }
  for (uint64_t pid : done) {
    const Probe probe = probes_.at(pid);
    probes_.erase(pid);
    if (probe.relay_link == 0) ProbeFailed(now, probe.target);
  }
}

void Core::StartProbe(int64_t now, const PublicKey& target, LinkId relay_link, uint64_t relay_id) {
  auto m = members_.find(target);
  if (m == members_.end()) return;
  const uint64_t pid = next_probe_id_++;
  Probe& probe = probes_[pid];
  probe.target = target;
  probe.direct_deadline = now + config_.probe_timeout.count();
  probe.deadline = now + config_.probe_interval.count();
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
  if (!pending) DialMember(now, m->second, /*want_active=*/false);
}

void Core::SendPing(int64_t now, uint64_t probe_id, Probe& probe) {
  (void)now;
  if (Link* l = LinkTo(probe.target)) SendTo(*l, EncodeProbe(MessageType::kPing, {probe_id}));
}

void Core::ProbeFailed(int64_t now, const PublicKey& target) {
  Count("probes_failed");
  auto it = members_.find(target);
  if (it == members_.end() || it->second.state != MemberState::kAlive) return;
  const Claim claim{target, it->second.record.incarnation};
  ApplyClaim(now, MemberState::kSuspect, claim, self_.id());
  Publish(now, GossipKind::kSuspect, EncodeClaim(claim));
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
  if (probe.relay_link != 0) {
    auto relay = links_.find(probe.relay_link);
    if (relay != links_.end() && !relay->second.closing) {
      SendTo(relay->second, EncodeProbe(MessageType::kAck, {probe.relay_probe_id}));
    }
  }
}

void Core::HandlePingReq(int64_t now, Link& link, std::span<const uint8_t> message) {
  PingReq req;
  if (!DecodePingReq(message, &req).ok()) return ProtocolError(link, "malformed_ping_req");
  if (req.target == self_.id()) {
    SendTo(link, EncodeProbe(MessageType::kAck, {req.probe_id}));
    return;
  }
  auto m = members_.find(req.target);
  if (m == members_.end() || m->second.state == MemberState::kDead ||
      m->second.state == MemberState::kLeft) {
    return;
  }
  StartProbe(now, req.target, link.id, req.probe_id);
}

// --- Anti-entropy ------------------------------------------------------------------------------

void Core::SendSync(Link& link, bool reply_wanted) {
  std::vector<SyncEntry> entries;
  entries.reserve(members_.size() + 1);
  entries.push_back(SyncEntry{self_.encoded, MemberState::kAlive, incarnation_});
  for (auto& [id, m] : members_) {
    entries.push_back(SyncEntry{m.record.encoded, m.state, m.state_incarnation});
  }
  size_t next = 0;
  bool first = true;
  while (next < entries.size()) {
    SendTo(link, EncodeSync(reply_wanted && first, entries, config_.max_message_bytes, &next));
    first = false;
  }
  host_->PeerAddresses(link.peer.subject, 0, entries.size());
}

void Core::HandleSync(int64_t now, Link& link, std::span<const uint8_t> message) {
  Sync sync;
  if (!DecodeSync(message, &sync).ok()) return ProtocolError(link, "malformed_sync");
  const PublicKey from = link.peer.subject;
  const LinkId id = link.id;
  for (const SyncEntry& e : sync.entries) {
    MemberRecord record;
    if (!MemberRecord::Decode(e.record, &record).ok()) {
      Count("dropped.bad_record");
      continue;
    }
    // A failed or left member this node does not know (reaped, or never seen) is not learnt
    // from a table: it would come back to life here and be failed (or left) again.
    if ((record.left || e.state == MemberState::kDead) && record.id() != self_.id() &&
        members_.find(record.id()) == members_.end()) {
      continue;
    }
    auto known = members_.find(record.id());
    const bool was_alive = known != members_.end() && known->second.state == MemberState::kAlive;
    ApplyRecord(now, record, /*verified=*/false);
    // Push-pull reports states second hand: treat a reported failure as a suspicion, which
    // the member can still refute (as memberlist does), and pass it on like memberlist: the
    // member refutes only what reaches it, or this node alone would fail it at the timeout.
    if (e.state == MemberState::kSuspect || e.state == MemberState::kDead) {
      const Claim claim{record.id(), e.state_incarnation};
      ApplyClaim(now, MemberState::kSuspect, claim, from);
      known = members_.find(record.id());
      if (was_alive && known != members_.end() && known->second.state == MemberState::kSuspect) {
        Publish(now, GossipKind::kSuspect, EncodeClaim(claim));
      }
    }
  }
  host_->PeerAddresses(from, sync.entries.size(), 0);
  auto it = links_.find(id);
  if (sync.reply_wanted && it != links_.end() && !it->second.closing) SendSync(it->second, false);
}

MemberInfo Core::Info(const Member& m) const {
  MemberInfo info;
  info.id = m.record.id();
  info.name = m.record.certificate.name;
  info.certificate = m.record.certificate;
  info.address = m.record.address;
  info.state = m.state;
  info.incarnation = m.record.incarnation;
  info.state_since_ms = m.state_since_unix;
  for (auto& [id, link] : links_) {
    if (link.peer.subject == info.id && link.active && !link.closing) info.linked = true;
  }
  return info;
}

std::vector<MemberInfo> Core::Members() const {
  std::vector<MemberInfo> out;
  out.push_back(Self());
  for (auto& [id, m] : members_) out.push_back(Info(m));
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
