// Core: tree dissemination, after Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast
// Trees", SRDS 2007), over the active view. Every active link starts "eager": an accepted
// envelope is forwarded whole on it. A copy that arrives twice means a cycle: the receiver
// makes that link lazy and sends PRUNE, and the sender makes it lazy too. On lazy links only
// the id goes, batched into IHAVE each timer tick. An id announced by IHAVE that has not
// arrived ihave_timeout later is pulled with GRAFT from its first announcer (then the next,
// every graft_timeout), which also makes that link eager again: the tree repairs itself where
// links or nodes were lost. Peers that did not announce the tree flag in HELLO are flooded,
// and so is every link while the cluster has fewer than tree_min_members live members.
// Envelopes pulled with GRAFT go through the same checks as any (seen cache, replay window,
// signature); IHAVE and GRAFT carry only ids.
#include <algorithm>

#include "core/core.h"

namespace mesh::core {

Hello Core::MakeHello(bool want_active) const {
  return Hello{want_active, self_.encoded, config_.tree_broadcast};
}

bool Core::Known(const GossipId& id) const {
  return id.origin == self_.id() || !seen_.IsNew(id.origin, id.seq) ||
         verifying_ids_.count({id.origin, id.seq}) > 0;
}

void Core::Forward(int64_t now, const std::shared_ptr<const GossipEnvelope>& env, uint8_t hops,
                   LinkId except, bool flood) {
  const GossipId id{env->origin, env->seq};
  if (LiveMembers() + 1 < config_.tree_min_members) flood = true;
  if (config_.tree_broadcast) {
    recent_[id] = Recent{env, hops, except};
    recent_order_.emplace_back(now, id);
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
// duplicates prune it back to a tree.
void Core::RepairTree() {
  if (!config_.tree_broadcast) return;
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
  Count("tree_ihave_ids_in", entries.size());
  for (const IHaveEntry& e : entries) {
    if (Known(e.id)) {
      Optimize(link, e);
      continue;
    }
    auto it = missing_.find(e.id);
    if (it == missing_.end()) {
      if (missing_.size() >= config_.max_missing_ids) {
        Count("dropped.missing_ids_full");
        continue;
      }
      it = missing_.emplace(e.id, Missing{}).first;
      it->second.deadline = now + config_.ihave_timeout.count();
      missing_due_.insert({it->second.deadline, e.id});
    }
    it->second.announcers.emplace_back(link.id, e.hops);
  }
}

// Plumtree's tree optimisation: an IHAVE showing a path at least kOptimizeHops shorter than
// the eager one this envelope took swaps them (GRAFT with no ids to the announcer, PRUNE to
// the eager parent), so the tree does not keep the long detours that repairs leave behind.
void Core::Optimize(Link& link, const IHaveEntry& e) {
  constexpr int kOptimizeHops = 3;
  auto it = recent_.find(e.id);
  if (it == recent_.end() || it->second.from == 0 || it->second.from == link.id) return;
  if (e.hops + 1 + kOptimizeHops > it->second.hops) return;
  auto parent = links_.find(it->second.from);
  Count("tree_optimized");
  link.eager = true;
  link.pruned = false;
  SendTo(link, EncodeGraft({}));
  if (parent != links_.end() && !parent->second.closing && parent->second.tree) {
    parent->second.eager = false;
    parent->second.pruned = true;
    SendTo(parent->second, EncodePrune());
  }
  it->second.hops = static_cast<uint8_t>(e.hops + 1);
  it->second.from = link.id;
}

void Core::HandleGraft(int64_t now, Link& link, std::span<const uint8_t> message) {
  (void)now;
  std::vector<GossipId> ids;
  if (!DecodeGraft(message, &ids).ok()) return ProtocolError(link, "malformed_graft");
  Count("tree_grafts_in");
  link.eager = true;
  link.pruned = false;  // the peer asks to be in the tree: it also pushes to this node
  for (const GossipId& id : ids) {
    auto it = recent_.find(id);
    if (it == recent_.end()) {
      Count("tree_graft_unknown");
      continue;
    }
    const auto out = EncodeGossip(it->second.hops, it->second.envelope->encoded);
    Count("gossip_out_messages");
    Count("gossip_out_bytes", out.size());
    SendTo(link, out);
  }
}

// Each tick: IHAVE batches go out, due GRAFTs are sent, old envelopes are forgotten.
void Core::TreeTick(int64_t now) {
  if (!config_.tree_broadcast) return;
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
  // Due GRAFTs: pull each missing envelope from its first announcer still linked, and try
  // the next one graft_timeout later if this does not answer.
  std::map<LinkId, std::vector<GossipId>> grafts;
  while (!missing_due_.empty() && missing_due_.begin()->first <= now) {
    const GossipId id = missing_due_.begin()->second;
    missing_due_.erase(missing_due_.begin());
    auto it = missing_.find(id);
    if (it == missing_.end()) continue;
    Missing& m = it->second;
    if (Known(id)) {
      missing_.erase(it);
      continue;
    }
    // No announcer left linked (links churn while a node joins): ask the active links once.
    if (m.next >= m.announcers.size() && !m.fallback) {
      m.fallback = true;
      for (Link* l : ActiveLinks()) {
        if (l->tree) m.announcers.emplace_back(l->id, 0);
      }
      Count("tree_graft_fallback");
    }
    bool sent = false;
    while (m.next < m.announcers.size() && !sent) {
      const LinkId lid = m.announcers[m.next++].first;
      auto link = links_.find(lid);
      if (link == links_.end() || link->second.closing) continue;
      link->second.eager = true;
      link->second.pruned = false;
      grafts[lid].push_back(id);
      sent = true;
    }
    if (!sent) {
      Count("tree_missing_given_up");
      missing_.erase(it);
      continue;
    }
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
  while (!recent_order_.empty() &&
         now - recent_order_.front().first > config_.tree_cache_ttl.count()) {
    recent_.erase(recent_order_.front().second);
    recent_order_.pop_front();
  }
}

}  // namespace mesh::core
