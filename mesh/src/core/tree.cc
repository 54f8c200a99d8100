// Core: tree dissemination, after Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast
// Trees", SRDS 2007), over the active view. Every active link starts "eager": an accepted
// envelope is forwarded whole on it. A copy that arrives twice means a cycle: the receiver
// makes that link lazy and sends PRUNE, and the sender makes it lazy too. On lazy links only
// the id goes, batched into IHAVE each timer tick. An id announced by IHAVE that has not
// arrived ihave_timeout later is pulled with GRAFT from its first announcer (then the next two
// at a time, every graft_timeout), which also makes that link eager again: the tree repairs
// itself where links or nodes were lost. Peers that did not announce the tree flag in HELLO are
// flooded, and so is every link while the cluster has fewer than tree_min_members live members.
// Envelopes pulled with GRAFT go through the same checks as any (seen cache, replay window,
// signature); IHAVE and GRAFT carry only ids.
#include <algorithm>

#include "core/core.h"

namespace mesh::core {

Hello Core::MakeHello(bool want_active) const {
  return Hello{want_active, self_.encoded, config_.tree_broadcast};
}

bool Core::Known(const GossipId& id) const {
  return id.origin == self_.id() || !seen_.IsNew(id.origin, id.seq);
}

void Core::Forward(int64_t now, const std::shared_ptr<const GossipEnvelope>& env, uint8_t hops,
                   LinkId except, bool flood) {
  const GossipId id{env->origin, env->seq};
  if (LiveMembers() + 1 < config_.tree_min_members) flood = true;
  if (config_.tree_broadcast) {
    recent_.Put(now, env, hops, except);
    // A flood of valid envelopes must not hold more than tree_cache_bytes for GRAFTs: the
    // oldest go first (a GRAFT for them is answered as unknown).
    recent_.Expire(now, config_.tree_cache_ttl.count(), config_.tree_cache_bytes);
  }
  std::vector<uint8_t> message;
  for (Link* link : ActiveLinks()) {
    if (link->id == except) continue;
    if (config_.tree_broadcast && link->tree && !link->eager && !flood) {
      link->lazy.push_back(IHaveEntry{id, hops});
      continue;
    }
    if (message.empty()) message = EncodeGossip(hops, env->encoded);
    Count("gossip_out_messages");
    Count("gossip_out_bytes", message.size());
    SendTo(*link, message);
  }
}

// A link lost without a goodbye (a crash, a cut) may have been a tree edge: rather than wait
// for IHAVE timeouts on every envelope, this node makes all its tree links eager again, both
// ways (GRAFT with no ids). The next envelopes flood its neighbourhood once, and the
// duplicates prune it back to a tree. At most one repair per ihave_timeout: a peer that
// flaps its link on purpose cannot make the node GRAFT every tree link each time; a link
// lost meanwhile makes one more repair when the time is up (TreeTick).
void Core::RepairTree(int64_t now) {
  if (!config_.tree_broadcast) return;
  if (now < next_repair_) {
    repair_pending_ = true;
    return;
  }
  repair_pending_ = false;
  next_repair_ = now + config_.ihave_timeout.count();
  Count("tree_repairs");
  for (Link* l : ActiveLinks()) {
    if (!l->tree) continue;
    l->eager = true;
    l->pruned = false;
    SendTo(*l, EncodeGraft({}));
  }
}

// A copy of an envelope this node had already: the sender's eager push is redundant.
// One PRUNE per link until a GRAFT either way makes the peer push eagerly again: copies
// already in flight when the PRUNE left are duplicates too, and need no PRUNE of their own.
void Core::OnDuplicate(Link& link) {
  if (!config_.tree_broadcast || !link.tree || !link.active) return;
  link.eager = false;
  if (link.pruned) return;
  link.pruned = true;
  Count("tree_prunes_sent");
  SendTo(link, EncodePrune());
}

void Core::HandleIHave(int64_t now, Link& link, std::span<const uint8_t> message) {
  std::vector<IHaveEntry> entries;
  if (!DecodeIHave(message, &entries).ok()) return ProtocolError(link, "malformed_ihave");
  // Without the tree flag in this node's HELLO no peer sends IHAVE; nothing would GRAFT.
  if (!config_.tree_broadcast) return;
  Count("tree_ihave_ids_in", entries.size());
  std::optional<int64_t> wait;  // for the first GRAFT of an id announced here first
  bool graft_now = false;
  for (const IHaveEntry& e : entries) {
    if (Known(e.id)) {
      Optimize(now, link, e);
      continue;
    }
    if (!wait) wait = EagerTreeLinks() == 0 ? 0 : config_.ihave_timeout.count();
    graft_now |= AddAnnouncer(now, link, e.id, e.hops, *wait);
  }
  if (graft_now) {
    Count("tree_isolated_grafts");
    SendDueGrafts(now);
  }
}

// Eager links, counted when an IHAVE brings news. With none, nothing can push the envelopes
// here: the node GRAFTs at once rather than wait ihave_timeout for a copy that will not come.
// Concurrent broadcasts from many origins (after a mass failure, while many nodes join) can
// prune every tree link of a node: each duplicate prunes the link it came on.
size_t Core::EagerTreeLinks() const {
  size_t n = 0;
  for (const auto& [id, l] : links_) {
    n += InActiveView(l) && l.tree && l.eager;
  }
  return n;
}

bool Core::AddAnnouncer(int64_t now, Link& link, const GossipId& id, uint8_t hops, int64_t wait) {
  // An origin held as left sends nothing more (its leave was flooded). An unknown origin may
  // be a new member announcing itself (its record is the first news of it), and a failed one
  // may be refuting: both are GRAFTed from their announcers, but never from the fallback
  // links, so made-up ids cost one GRAFT to whoever announced them.
  const Member* origin = members_.Find(id.origin);
  if (origin != nullptr && origin->state == MemberState::kLeft) {
    Count("dropped.ihave_left_origin");
    return false;
  }
  bool opened = false;
  auto it = missing_.find(id);
  if (it == missing_.end()) {
    // Each link may open at most a quarter of the table: an honest node's missing ids are
    // announced by all its lazy links, so one peer cannot crowd the others out.
    const size_t share = std::max<size_t>(1, config_.max_missing_ids / 4);
    if (missing_.size() >= config_.max_missing_ids || link.missing_owned >= share) {
      Count("dropped.missing_ids_full");
      return false;
    }
    it = missing_.emplace(id, Missing{}).first;
    Missing& m = it->second;
    m.deadline = now + wait;
    m.fallback = origin == nullptr;
    m.owner = link.id;
    ++link.missing_owned;
    missing_due_.insert({m.deadline, id});
    opened = wait == 0;
  }
  // One entry per link (an IHAVE may repeat an id, or come again), and few per id: the
  // GRAFTs go down the list in order, and must reach an honest announcer in time.
  auto& list = it->second.announcers;
  if (std::any_of(list.begin(), list.end(), [&](auto& a) { return a.first == link.id; })) {
    return opened;
  }
  if (list.size() >= config_.active_max) {
    Count("dropped.ihave_announcers_full");
    return opened;
  }
  list.emplace_back(link.id, hops);
  return opened;
}

void Core::EraseMissing(const GossipId& id) {
  auto it = missing_.find(id);
  if (it == missing_.end()) return;
  missing_due_.erase({it->second.deadline, id});
  auto owner = links_.find(it->second.owner);
  if (owner != links_.end() && owner->second.missing_owned > 0) --owner->second.missing_owned;
  missing_.erase(it);
}

// Plumtree's tree optimisation: an IHAVE showing a path at least kOptimizeHops shorter than
// the eager one this envelope took swaps them (GRAFT with no ids to the announcer, PRUNE to
// the eager parent), so the tree does not keep the long detours that repairs leave behind.
// `hops` is not signed, so a peer could claim to be next to every origin and make itself the
// parent: the swap goes only to an active tree link, at most once per probe_interval per
// link, and hops 0 (the origin itself) is believed only from the origin.
void Core::Optimize(int64_t now, Link& link, const IHaveEntry& e) {
  constexpr int kOptimizeHops = 3;
  if (!link.active || !link.tree || link.closing) return;
  if (e.hops == 0 && e.id.origin != link.peer.subject) return;
  RecentCache::Entry* kept = recent_.Find(e.id);
  if (kept == nullptr || kept->from == 0 || kept->from == link.id) return;
  if (e.hops + 1 + kOptimizeHops > kept->hops) return;
  if (now < link.next_optimize) {
    Count("tree_optimize_limited");
    return;
  }
  link.next_optimize = now + config_.probe_interval.count();
  auto parent = links_.find(kept->from);
  Count("tree_optimized");
  link.eager = true;
  link.pruned = false;
  SendTo(link, EncodeGraft({}));
  if (parent != links_.end() && !parent->second.closing && parent->second.tree) {
    parent->second.eager = false;
    parent->second.pruned = true;
    SendTo(parent->second, EncodePrune());
  }
  kept->hops = static_cast<uint8_t>(e.hops + 1);
  kept->from = link.id;
}

// Answers with the envelopes still kept. Each id goes at most once per link (a GRAFT may
// repeat ids, or come again: an honest peer asks a link once per id), and one GRAFT gets at
// most half the link's send queue: more would overflow the queue and close the link anyway,
// after all the copying. The GOSSIP carries this node's own distance (the hops it received
// plus 1), as an eager push would.
void Core::HandleGraft(int64_t now, Link& link, std::span<const uint8_t> message) {
  (void)now;
  std::vector<GossipId> ids;
  if (!DecodeGraft(message, &ids).ok()) return ProtocolError(link, "malformed_graft");
  Count("tree_grafts_in");
  link.eager = true;
  link.pruned = false;  // the peer asks to be in the tree: it also pushes to this node
  const size_t budget = config_.send_queue_bytes / 2;
  size_t bytes = 0;
  for (const GossipId& id : ids) {
    RecentCache::Entry* kept = recent_.Find(id);
    if (kept == nullptr) {
      Count("tree_graft_unknown");
      continue;
    }
    RecentCache::Entry& r = *kept;
    if (std::find(r.grafted.begin(), r.grafted.end(), link.id) != r.grafted.end()) {
      Count("tree_graft_repeated");
      continue;
    }
    const size_t size = r.envelope->encoded.size() + 2;
    if (bytes + size > budget) {
      Count("tree_graft_over_budget");
      continue;
    }
    r.grafted.push_back(link.id);
    bytes += size;
    const auto out = EncodeGossip(r.hops, r.envelope->encoded);
    Count("gossip_out_messages");
    Count("gossip_out_bytes", out.size());
    SendTo(link, out);
  }
}

// Each tick: IHAVE batches go out, due GRAFTs are sent, old envelopes are forgotten.
void Core::TreeTick(int64_t now) {
  if (!config_.tree_broadcast) return;
  if (repair_pending_ && now >= next_repair_) RepairTree(now);
  for (auto& [lid, link] : links_) {
    if (link.lazy.empty()) continue;
    if (link.closing || !link.active) {
      link.lazy.clear();
      continue;
    }
    std::vector<IHaveEntry> pending = std::move(link.lazy);
    link.lazy.clear();
    for (size_t i = 0; i < pending.size(); i += kMaxIdsPerMessage) {
      const size_t n = std::min(kMaxIdsPerMessage, pending.size() - i);
      Count("tree_ihave_ids_out", n);
      SendTo(link, EncodeIHave(std::span(pending).subspan(i, n)));
    }
  }
  SendDueGrafts(now);
  recent_.Expire(now, config_.tree_cache_ttl.count(), config_.tree_cache_bytes);
}

// Due GRAFTs: pull each missing envelope from its first announcer still linked; without an
// answer graft_timeout later, from the next two at once, and so on, so that the whole list
// is asked well within tree_cache_ttl (node.cc checks the configuration). When the
// announcers run out, the active tree links not asked yet are added once (links churn
// while a node joins). No link is asked twice for one id.
void Core::SendDueGrafts(int64_t now) {
  std::map<LinkId, std::vector<GossipId>> grafts;
  while (!missing_due_.empty() && missing_due_.begin()->first <= now) {
    const GossipId id = missing_due_.begin()->second;
    missing_due_.erase(missing_due_.begin());
    auto it = missing_.find(id);
    if (it == missing_.end()) continue;
    Missing& m = it->second;
    if (Known(id)) {
      m.deadline = 0;  // its due entry is gone already
      EraseMissing(id);
      continue;
    }
    // A copy is being checked: Finish erases the entry, or GRAFTs at once if it was forged.
    if (Verifying(id)) {
      m.deadline = now + config_.ihave_timeout.count();
      missing_due_.insert({m.deadline, id});
      continue;
    }
    const size_t want = m.grafted ? 2 : 1;
    size_t sent = 0;
    while (sent < want) {
      if (m.next >= m.announcers.size()) {
        if (m.fallback || sent > 0) break;  // the fallback only when no announcer is left
        m.fallback = true;
        Count("tree_graft_fallback");
        for (Link* l : ActiveLinks()) {
          const bool listed = std::any_of(m.announcers.begin(), m.announcers.end(),
                                          [&](auto& a) { return a.first == l->id; });
          if (l->tree && !listed) m.announcers.emplace_back(l->id, 0);
        }
        continue;
      }
      const LinkId lid = m.announcers[m.next++].first;
      auto link = links_.find(lid);
      if (link == links_.end() || link->second.closing) continue;
      link->second.eager = true;
      link->second.pruned = false;
      grafts[lid].push_back(id);
      ++sent;
    }
    if (sent == 0) {
      Count("tree_missing_given_up");
      m.deadline = 0;
      EraseMissing(id);
      continue;
    }
    m.grafted = true;
    m.deadline = now + config_.graft_timeout.count();
    missing_due_.insert({m.deadline, id});
  }
  for (auto& [lid, ids] : grafts) {
    for (size_t i = 0; i < ids.size(); i += kMaxIdsPerMessage) {
      const size_t n = std::min(kMaxIdsPerMessage, ids.size() - i);
      Count("tree_grafts_sent");
      SendTo(links_.at(lid), EncodeGraft(std::span(ids).subspan(i, n)));
    }
  }
}

}  // namespace mesh::core
