// Core: push-pull anti-entropy. A joining node (and one that hears back from a member it had
// failed) exchanges whole tables (SYNC, full records). The periodic exchange sends a DIGEST
// (ids, incarnations, states; 50 bytes a member, no records to decode) and each side PULLs
// only the records it lacks or holds older: at 10,000 members a digest is 0.5 MB where a
// table is 3.3 MB, and a receiver looks each entry up in its table. A link gets at
// most one answer to a reply-wanted DIGEST, and one to a reply-wanted SYNC, per
// ReplyInterval (probe_interval, or half anti_entropy_interval if shorter) on average, two
// in a burst: a 4-byte request must not buy the whole table each time.
#include <algorithm>

#include "core/core.h"

namespace mesh::core {

// A generic cell rate algorithm: `next` is when the link would be due if it asked at the
// average rate; one request ahead of that is still answered.
bool Core::ReplyAllowed(int64_t now, int64_t& next) const {
  const int64_t interval = ReplyInterval();
  if (now < next - interval) return false;
  next = std::max(next, now) + interval;
  return true;
}

void Core::SendSync(Link& link, bool reply_wanted) {
  std::vector<SyncEntry> entries;
  entries.reserve(members_.size() + 1);
  entries.push_back(SyncEntry{self_.encoded, MemberState::kAlive, incarnation_});
  members_.ForEach([&](const Member& m) {
    entries.push_back(SyncEntry{m.record->encoded, m.state, m.state_incarnation});
  });
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
    const Member* known = members_.Find(record.id());
    if ((record.left || e.state == MemberState::kDead) && record.id() != self_.id() &&
        known == nullptr) {
      continue;
    }
    const bool was_alive = known != nullptr && known->state == MemberState::kAlive;
    const bool was_down = known != nullptr && (known->state == MemberState::kDead ||
                                               known->state == MemberState::kSuspect);
    // Revived by a table: news no gossip will repeat (the member may have nothing to
    // refute), passed on by one more push-pull soon (Tick).
    if (ApplyRecord(now, record, /*verified=*/false) && was_down &&
        known->state == MemberState::kAlive) {
      FollowUpDigest(now);
    }
    // Push-pull reports states second hand: treat a reported failure as a suspicion, which
    // the member can still refute (as memberlist does), and pass it on like memberlist: the
    // member refutes only what reaches it, or this node alone would fail it at the timeout.
    if (e.state == MemberState::kSuspect || e.state == MemberState::kDead) {
      const Claim claim{record.id(), e.state_incarnation};
      ApplyClaim(now, MemberState::kSuspect, claim, from);
      known = members_.Find(record.id());
      if (was_alive && known != nullptr && known->state == MemberState::kSuspect) {
        RelaySuspicion(*known, claim);
      }
    }
  }
  PublishClaims(now, GossipKind::kSuspect, suspicions_to_publish_);
  host_->PeerAddresses(from, sync.entries.size(), 0);
  auto it = links_.find(id);
  if (!sync.reply_wanted || it == links_.end() || it->second.closing) return;
  if (!ReplyAllowed(now, it->second.next_sync_reply)) {
    Count("dropped.sync_reply_limited");
    return;
  }
  SendSync(it->second, false);
}

void Core::SendDigest(Link& link, bool reply_wanted) {
  std::vector<DigestEntry> entries;
  entries.reserve(members_.size() + 1);
  entries.push_back(
      DigestEntry{self_.id(), incarnation_, false, MemberState::kAlive, incarnation_});
  members_.ForEach([&](const Member& m) {  // in table order: the receiver looks each up
    entries.push_back(DigestEntry{m.record->id(), m.record->incarnation, m.record->left, m.state,
                                  m.state_incarnation});
  });
  size_t next = 0;
  bool first = true;
  while (next < entries.size()) {
    SendTo(link, EncodeDigest(reply_wanted && first, entries, config_.max_message_bytes, &next));
    first = false;
  }
}

void Core::HandleDigest(int64_t now, Link& link, std::span<const uint8_t> message) {
  Digest digest;
  if (!DecodeDigest(message, &digest).ok()) return ProtocolError(link, "malformed_digest");
  const PublicKey from = link.peer.subject;
  const LinkId lid = link.id;
  std::vector<PublicKey> pull;
  for (const DigestEntry& e : digest.entries) {
    if (e.id == self_.id()) {
      if (e.state == MemberState::kSuspect || e.state == MemberState::kDead) {
        ApplyClaim(now, MemberState::kSuspect, Claim{e.id, e.state_incarnation}, from);
      } else if (e.incarnation > incarnation_ && !leaving_) {
        // Perhaps a newer record of this node (an earlier run's), perhaps a made-up number:
        // the entry is not signed, so ask for the record. The answer (SYNC) refutes in
        // ApplyRecord only if the record carries this node's own signature.
        pull.push_back(e.id);
      }
      continue;
    }
    const Member* held = members_.Find(e.id);
    bool want = false;
    if (held == nullptr) {  // failed or left members are not learnt from a table (see SYNC)
      want = !e.left && (e.state == MemberState::kAlive || e.state == MemberState::kSuspect);
    } else {
      const MemberRecord& r = *held->record;
      want = e.incarnation > r.incarnation || (e.incarnation == r.incarnation && e.left && !r.left);
    }
    if (want) {
      pull.push_back(e.id);  // its state comes with the record, in SYNC
      continue;
    }
    if (held == nullptr || (e.state != MemberState::kSuspect && e.state != MemberState::kDead)) {
      continue;
    }
    const bool was_alive = held->state == MemberState::kAlive;
    const Claim claim{e.id, e.state_incarnation};
    ApplyClaim(now, MemberState::kSuspect, claim, from);
    if (was_alive && held->state == MemberState::kSuspect) RelaySuspicion(*held, claim);
  }
  PublishClaims(now, GossipKind::kSuspect, suspicions_to_publish_);
  auto l = links_.find(lid);
  if (l == links_.end() || l->second.closing) return;
  for (size_t i = 0; i < pull.size(); i += kMaxIdsPerMessage) {
    const size_t n = std::min(kMaxIdsPerMessage, pull.size() - i);
    Count("sync_pulled", n);
    SendTo(l->second, EncodePull(std::span(pull).subspan(i, n)));
  }
  if (!digest.reply_wanted) return;
  if (!ReplyAllowed(now, l->second.next_digest_reply)) {
    Count("dropped.digest_reply_limited");
    return;
  }
  SendDigest(l->second, false);
}

void Core::HandlePull(Link& link, std::span<const uint8_t> message) {
  std::vector<PublicKey> ids;
  if (!DecodePull(message, &ids).ok()) return ProtocolError(link, "malformed_pull");
  // Each record once, however often the PULL names it.
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<SyncEntry> entries;
  for (const PublicKey& id : ids) {
    if (id == self_.id()) {
      entries.push_back(SyncEntry{self_.encoded, MemberState::kAlive, incarnation_});
    } else if (const Member* m = members_.Find(id)) {
      entries.push_back(SyncEntry{m->record->encoded, m->state, m->state_incarnation});
    }
  }
  size_t next = 0;
  while (next < entries.size()) {
    SendTo(link, EncodeSync(false, entries, config_.max_message_bytes, &next));
  }
}

}  // namespace mesh::core
