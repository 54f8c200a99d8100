// SimNetwork: what the simulated hosts record (deliveries, member changes, reservations,
// the node's own envelopes on the wire) and what they share (records, envelopes, checks).
#include <algorithm>
#include <cstring>

#include "core/messages.h"
#include "core/records.h"
#include "sim_network.h"
#include "sim_node.h"

namespace mesh::sim {
namespace {

std::string AsString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// --- Host callbacks ----------------------------------------------------------------------

// Checks each envelope a node originates against its sequence reservations.
// Checks each envelope a node originates against its sequence reservations. Reads the
// GOSSIP header in place (type, hops, then the envelope: version, kind, origin, sequence).
void SimNetwork::InspectSent(size_t i, const std::vector<uint8_t>& message) {
  if (message.empty()) return;
  Tally& counts = Counts();
  ++counts.sent_by_type[message[0] % counts.sent_by_type.size()];
  if (message[0] != static_cast<uint8_t>(core::MessageType::kGossip)) return;
  constexpr size_t kKind = 3, kOrigin = 4, kSeq = 36;
  if (message.size() < kSeq + 8 || message[kKind] > 3) return;
  const auto kind = static_cast<core::GossipKind>(message[kKind]);
  if (kind == core::GossipKind::kEvent) ++counts.event_gossip_sent;
  Node& n = N(i);
  const PublicKey& me = n.key->public_key();
  if (!std::equal(me.begin(), me.end(), message.begin() + kOrigin)) return;
  uint64_t seq = 0;
  for (size_t k = 8; k-- > 0;) seq = (seq << 8) | message[kSeq + k];  // little-endian
  NodeStats& s = n.stats;
  if (seq >= s.reserved) ++s.seq_unreserved;
  if (n.prev_max_seq != 0 && seq <= n.prev_max_seq) ++s.seq_reused;
  if (seq > s.max_seq_used) {
    ++counts.published[static_cast<size_t>(kind)];
    // Claims: the body (u32 length at 52, little-endian) holds 40 bytes per claim.
    constexpr size_t kBodyLength = 52;
    if ((kind == core::GossipKind::kSuspect || kind == core::GossipKind::kDead) &&
        message.size() >= kBodyLength + 4) {
      uint32_t body = 0;
      for (size_t k = 4; k-- > 0;) body = (body << 8) | message[kBodyLength + k];
      counts.claims_published[static_cast<size_t>(kind)] += body / core::kClaimBytes;
    }
  }
  s.max_seq_used = std::max(s.max_seq_used, seq);
}

void SimNetwork::HostDeliver(size_t i, const core::Delivery& d) {
  NodeStats& s = N(i).stats;
  NodeStats::Key key{d.from, d.event, AsString(d.payload)};
  if (d.kind == core::Delivery::Kind::kBroadcast) {
    ++s.broadcasts[key];
    ++s.broadcasts_delivered;
    if (!deliver_hook_) return;
    if (current_ == nullptr) return deliver_hook_(i, d);
    // Inside a window the hook runs after it (EndWindow), in node order, at this time.
    N(i).heard.push_back({Now(), d, std::get<2>(key)});
    N(i).heard.back().delivery.payload = {};
    return;
  }
  ++s.directs[key];
  if (d.kind == core::Delivery::Kind::kRequest) {
    AtNode(Now(), i, [link = d.link, rid = d.request_id, echo = std::get<2>(key)](core::Core& c) {
      c.Reply(link, rid, false, AsBytes(echo));
    });
  }
}

void SimNetwork::HostMemberChanged(size_t i, const MemberInfo& m) {
  NodeStats& s = N(i).stats;
  ++s.member_changes;
  const size_t j = by_id_.at(m.id);
  if (s.view_state.size() <= j) s.view_state.resize(nodes_.size(), -1);
  int8_t& state = s.view_state[j];
  if (state >= 0) --s.state_counts[static_cast<size_t>(state)];
  ++s.state_counts[Idx(m.state)];
  state = static_cast<int8_t>(m.state);
  if (m.state == MemberState::kDead) {
    ++s.marked_dead;
    if (!N(j).crashed) {
      ++s.false_dead;
      if (current_ != nullptr) {
        N(i).false_marks.push_back(j);  // counted after the window (EndWindow)
      } else {
        if (dead_marks_.size() <= j) dead_marks_.resize(nodes_.size(), 0);
        ++dead_marks_[j];
      }
    }
  }
  if (options_.compact) return;
  if (s.view_incarnation.size() <= j) s.view_incarnation.resize(nodes_.size(), 0);
  s.view_incarnation[j] = m.incarnation;
  if (m.state == MemberState::kDead) s.ever_dead.insert(m.id);
  s.changes.push_back({Now(), m.id, m.state, m.incarnation});
}

void SimNetwork::HostReserve(size_t i, uint64_t limit) {
  NodeStats& s = N(i).stats;
  s.reservations.push_back(limit);
  if (limit <= s.reserved) ++s.reservation_not_rising;
  s.reserved = limit;
}

// Each worker keeps its own tables (the serial calls use worker 0's), found by eight bytes
// of the signature the bytes carry (random to anyone without the key) and confirmed against
// the bytes themselves: other bytes under the same eight are not shared, never confused.
uint64_t SimNetwork::ShareKey(std::span<const uint8_t> signature) {
  uint64_t k = 0;
  std::memcpy(&k, signature.data(), std::min(sizeof k, signature.size()));
  return k;
}

std::shared_ptr<const core::MemberRecord> SimNetwork::HostShareRecord(core::MemberRecord record) {
  Worker& w = current_ != nullptr ? *current_ : *workers_[0];
  auto& shared = w.records[ShareKey(record.signature)];
  if (shared && shared->encoded == record.encoded) return shared;
  auto fresh = std::make_shared<const core::MemberRecord>(std::move(record));
  if (!shared) shared = fresh;
  return fresh;
}

// Envelopes are shared while any node holds them; the table is swept as it doubles. The
// signature closes an envelope's bytes.
std::shared_ptr<const core::GossipEnvelope> SimNetwork::HostShareEnvelope(
    core::GossipEnvelope env) {
  Worker& w = current_ != nullptr ? *current_ : *workers_[0];
  const std::span<const uint8_t> bytes = env.encoded;
  const size_t tail = std::min(bytes.size(), kSignatureBytes);
  auto& weak = w.envelopes[ShareKey(bytes.subspan(bytes.size() - tail))];
  auto shared = weak.lock();
  if (shared && shared->encoded == env.encoded) return shared;
  auto fresh = std::make_shared<const core::GossipEnvelope>(std::move(env));  // body moves along
  if (!shared) weak = fresh;
  if (w.envelopes.size() > 2 * w.envelopes_swept) {
    std::erase_if(w.envelopes, [](const auto& e) { return e.second.expired(); });
    w.envelopes_swept = std::max<size_t>(1024, w.envelopes.size());
  }
  return fresh;
}

void SimNetwork::HostVerify(size_t i, core::VerifyJob job) {
  Node& n = N(i);
  ++n.stats.verifications;
  if (!options_.compact && !n.verified.insert({job.envelope->origin, job.envelope->seq}).second) {
    ++n.stats.verified_again;
  }
  if (options_.verify_delay_ms == 0) {
    return n.core->OnGossipVerified(Now(), job.token, job.Verify());
  }
  AtNode(Now() + options_.verify_delay_ms, i, [this, job = std::move(job)](core::Core& c) {
    c.OnGossipVerified(Now(), job.token, job.Verify());
  });
}

}  // namespace mesh::sim
