// Core: links, the HELLO exchange, active and passive views, timers. Membership is in
// membership.cc, broadcast in gossip.cc, point-to-point messages in direct.cc.
#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mesh::core {
namespace {

std::array<uint8_t, 16> SeenKey(Host* host) {
  std::array<uint8_t, 16> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(host->Random() >> 8);
  return key;
}

// A SipHash key for an id table from one draw of the host's randomness (a simulation of
// 10,000 nodes draws these a lot): 64 unknown bits are enough to keep anyone from aiming ids
// at one bucket.
std::array<uint8_t, 16> TableKey(Host* host) {
  const uint64_t r = host->Random(), s = r * 0x9E3779B97F4A7C15ull;
  std::array<uint8_t, 16> key{};
  for (size_t i = 0; i < 8; ++i) {
    key[i] = static_cast<uint8_t>(r >> (8 * i));
    key[8 + i] = static_cast<uint8_t>(s >> (8 * i));
  }
  return key;
}

GossipIdHash IdHash(Host* host) { return GossipIdHash{TableKey(host)}; }

}  // namespace

Core::Core(const Config& config, Host* host, std::string advertise, uint64_t incarnation,
           uint64_t sequence, uint64_t sequence_reserved, Counters* counters)
    : config_(config),
      host_(host),
      advertise_(std::move(advertise)),
      incarnation_(incarnation),
      sequence_(sequence),
      sequence_reserved_(sequence_reserved),
      members_(TableKey(host)),
      seen_(config.seen_ttl.count(), config.seen_cache_max, SeenKey(host)),
      missing_(0, IdHash(host)),
      recent_(TableKey(host)),
      own_counters_(counters ? nullptr : std::make_unique<Counters>()),
      counters_(counters ? counters : own_counters_.get()) {
  self_ = MemberRecord::Make(*config_.key, config_.certificate, advertise_, incarnation_, false,
                             host_->UnixMs());
}

void Core::Start(int64_t now, std::vector<std::string> bootstrap) {
  last_now_ = now;
  started_ = true;
  for (auto& address : bootstrap) {
    if (address == advertise_) continue;
    bool dup = std::any_of(bootstrap_.begin(), bootstrap_.end(),
                           [&](const Bootstrap& b) { return b.address == address; });
    if (!dup) bootstrap_.push_back(Bootstrap{std::move(address)});
  }
  next_probe_round_ = now + config_.probe_interval.count();
  next_anti_entropy_ = now + config_.anti_entropy_interval.count();
  Tick(now);
}

void Core::Leave(int64_t now) {
  if (!started_ || leaving_) return;
  leaving_ = true;
  self_ = MemberRecord::Make(*config_.key, config_.certificate, advertise_, incarnation_, true,
                             host_->UnixMs());
  // Flooded: the links close next, so nothing could answer a GRAFT from here.
  Publish(now, GossipKind::kRecord, self_.encoded, /*flood=*/true);
  std::vector<LinkId> ids;
  for (auto& [id, link] : links_) ids.push_back(id);
  for (LinkId id : ids) CloseLink(id, /*announce=*/true);
}

void Core::OnLinkUp(int64_t now, LinkId id, const Certificate& peer, uint64_t dial_id) {
  last_now_ = now;
  gauges_dirty_ = true;
  Link link;
  link.id = id;
  link.peer = peer;
  link.inbound = dial_id == 0;
  link.last_used = now;
  link.since = now;
  bool want_active = false;
  bool bootstrap = false;
  bool resync = false;  // a member this node marked failed answered: compare tables
  std::string dialed;
  if (auto d = dials_.find(dial_id); d != dials_.end()) {
    want_active = d->second.want_active;
    dialed = d->second.address;
    bootstrap = !d->second.expect.has_value();
    if (d->second.expect) {
      const Member* m = members_.Find(*d->second.expect);
      resync = m != nullptr && m->state == MemberState::kDead;
    }
    if (d->second.expect && *d->second.expect != peer.subject) Count("dial_identity_mismatch");
    for (auto& b : bootstrap_) {
      if (b.address == d->second.address) b = Bootstrap{b.address};  // reset its backoff
    }
    dials_.erase(d);
  }
  if (peer.subject == self_.id()) {  // a join address that is this node
    Count("self_dials");
    std::erase_if(bootstrap_, [&](const Bootstrap& b) { return b.address == dialed; });
    links_[id] = link;
    peer_links_.emplace(peer.subject, id);
    CloseLink(id, false);
    return;
  }
  if (leaving_) {
    links_[id] = link;
    peer_links_.emplace(peer.subject, id);
    CloseLink(id, true);
    return;
  }
  if (peer.role == Role::kClient) {
    link.hello_done = true;  // clients only exchange direct messages
    links_[id] = link;
    peer_links_.emplace(peer.subject, id);
    return;
  }
  link.active = want_active || bootstrap;
  links_[id] = link;
  peer_links_.emplace(peer.subject, id);
  SendTo(links_[id], EncodeHello(MakeHello(link.active)));
  // Tables are exchanged once on joining (on the first join address that answers; the
  // others would send the same table again) and with a failed member that answers.
  if ((bootstrap && !bootstrap_synced_) || resync) {
    bootstrap_synced_ = bootstrap_synced_ || bootstrap;
    SendSync(links_[id], /*reply_wanted=*/true);
  }
}

void Core::OnDialFailed(int64_t now, uint64_t dial_id) {
  auto d = dials_.find(dial_id);
  if (d == dials_.end()) return;
  PendingDial dial = std::move(d->second);
  dials_.erase(d);
  // A dial cut by this node's own stop says nothing about the peer: no failure recorded.
  if (leaving_) {
    if (dial.expect) FailQueued(*dial.expect, "node stopped");
    return;
  }
  if (!dial.expect) {
    for (auto& b : bootstrap_) {
      if (b.address != dial.address) continue;
      b.dialing = false;
      b.next_dial = now + Backoff(++b.failures);
    }
    return;
  }
  const PublicKey& id = *dial.expect;
  host_->PeerConnect(id, false);
  if (members_.Find(id) != nullptr) {
    DialBackoff& b = backoff_[id];
    b.next_dial = now + Backoff(++b.failures);
  }
  for (auto& [pid, probe] : probes_) {
    if (probe.target == id && probe.awaiting_link) {
      probe.awaiting_link = false;
      probe.direct_deadline = now;  // go straight to indirect probes
      probe.deadline = now + config_.probe_interval.count();
    }
  }
  if (LinkTo(id) == nullptr) RetryOrFailQueued(now, id, dial.started);
  Tick(now);
}

void Core::OnLinkDown(int64_t now, LinkId id) {
  gauges_dirty_ = true;
  auto it = links_.find(id);
  if (it == links_.end()) return;
  Link link = std::move(it->second);
  links_.erase(it);
  for (auto [p, end] = peer_links_.equal_range(link.peer.subject); p != end; ++p) {
    if (p->second == id) {
      peer_links_.erase(p);
      break;
    }
  }
  if (link.peer.role != Role::kNode || !link.hello_done) return;
  const PublicKey& peer = link.peer.subject;
  if (LinkTo(peer) != nullptr) return;  // a duplicate link went away
  const Member* m = members_.Find(peer);
  if (m == nullptr) return;
  // A lost link, or a closed one that was a tree edge (trimmed, or closed by the peer), may
  // have split the tree: repair it rather than wait for IHAVE timeouts on every envelope.
  if (!leaving_ && (!link.closing || (link.active && link.tree && link.eager))) RepairTree(now);
  if (!link.closing && !leaving_ && WantsOwnClaim(*m)) {
    Count("links_lost");
    StartProbe(now, peer, 0, 0);  // lost without a goodbye: find out at once
  }
}

void Core::OnMessage(int64_t now, LinkId id, std::vector<uint8_t> message) {
  last_now_ = now;
  auto it = links_.find(id);
  if (it == links_.end() || it->second.closing) return;
  Link& link = it->second;
  link.last_used = now;
  MessageType type;
  if (Status s = PeekType(message, &type); !s.ok()) return ProtocolError(link, "malformed");
  if (link.peer.role == Role::kClient && type != MessageType::kDirect) {
    return ProtocolError(link, "client_not_allowed");
  }
  // Direct messages need no HELLO: tools connect with a node certificate too, as clients.
  if (!link.hello_done && type != MessageType::kHello && type != MessageType::kDirect) {
    return ProtocolError(link, "no_hello");
  }
  switch (type) {
    case MessageType::kHello:
      return HandleHello(now, link, message);
    case MessageType::kPing:
      return HandlePing(now, link, message);
    case MessageType::kAck:
      return HandleAck(now, link, message);
    case MessageType::kNack:
      return HandleNack(link, message);
    case MessageType::kPingReq:
      return HandlePingReq(now, link, message);
    case MessageType::kSync:
      return HandleSync(now, link, message);
    case MessageType::kDigest:
      return HandleDigest(now, link, message);
    case MessageType::kPull:
      return HandlePull(link, message);
    case MessageType::kGossip:
      return HandleGossip(now, link, message);
    case MessageType::kIHave:
      return HandleIHave(now, link, message);
    case MessageType::kGraft:
      return HandleGraft(now, link, message);
    case MessageType::kPrune:
      if (message.size() != 1) return ProtocolError(link, "malformed_prune");
      Count("tree_prunes_in");
      link.eager = false;
      return;
    case MessageType::kDirect:
      return HandleDirect(now, link, message);
    case MessageType::kDisconnect:
      if (message.size() != 1) return ProtocolError(link, "malformed_disconnect");
      link.closing = true;
      host_->Close(link.id);
      return;
  }
}

void Core::HandleHello(int64_t now, Link& link, std::span<const uint8_t> message) {
  gauges_dirty_ = true;
  Hello hello;
  MemberRecord record;
  if (!DecodeHello(message, &hello).ok() || !MemberRecord::Decode(hello.record, &record).ok()) {
    return ProtocolError(link, "malformed_hello");
  }
  if (record.id() != link.peer.subject || record.left) return ProtocolError(link, "bad_hello");
  // A record already held byte for byte was verified when it arrived; check only new ones.
  const Member* held = members_.Find(record.id());
  const bool known = held != nullptr && held->record->encoded == record.encoded;
  if (!known && !CheckRecord(record).ok()) return ProtocolError(link, "bad_record");
  ApplyRecord(now, record, /*verified=*/true);
  const bool first = !link.hello_done;
  link.hello_done = true;
  // Either side may ask for an active link (the dialer, or a listener promoting a transient
  // link); a dialer's "transient" HELLO makes an inbound link transient.
  link.tree = hello.tree;
  if (hello.want_active) {
    link.active = true;
  } else if (link.inbound) {
    link.active = false;
  }
  if (!first) return;
  host_->PeerConnect(record.id(), true);
  if (auto b = backoff_.find(record.id()); b != backoff_.end()) b->second.failures = 0;

  // Two links to one peer (both dialed at once): keep the one dialed by the lower key, on
  // both sides, and close the other with a goodbye.
  const LinkId me = link.id;
  for (auto [p, end] = peer_links_.equal_range(link.peer.subject); p != end; ++p) {
    const LinkId oid = p->second;
    Link& other = links_.at(oid);
    if (oid == me || !other.hello_done || other.closing) continue;
    auto dialer = [&](const Link& l) { return l.inbound ? l.peer.subject : self_.id(); };
    // Same dialer twice: keep the older link.
    const bool keep_new = dialer(link) < dialer(other);
    Link& keep = keep_new ? link : other;
    Link& drop = keep_new ? other : link;
    keep.active = keep.active || drop.active;
    CloseLink(drop.id, /*announce=*/true);
    if (!keep_new) return;
    break;
  }
  if (links_.count(me) == 0) return;
  // A member held as failed linked here (back from a pause, or across a healed cut): it may
  // not know. A DIGEST showing its failed state makes it refute, and its answer brings what
  // this node missed. (A node that dials a failed member sends SYNC instead, OnLinkUp.) At
  // most one per member and ReplyInterval: linking again and again buys no more tables.
  if (const Member* m = members_.Find(link.peer.subject);
      link.inbound && m != nullptr && m->state == MemberState::kDead) {
    int64_t& next = backoff_[link.peer.subject].next_resync;
    if (now >= next) {
      next = now + ReplyInterval();
      Count("digests_to_failed_members");
      SendDigest(link, /*reply_wanted=*/true);
    }
  }
  for (auto& [pid, probe] : probes_) {
    if (probe.target == link.peer.subject && probe.awaiting_link) {
      probe.awaiting_link = false;
      probe.direct_deadline = now + config_.probe_timeout.count();
      probe.deadline = now + config_.probe_interval.count();
      SendPing(now, pid, probe);
    }
  }
  FlushQueued(now, link);
  // A node that just got its first member link announces itself to the mesh. That link may
  // be closed before the announcement crosses it (a busy join address trims its newest
  // links), so for a few probe rounds each new member link gets the same envelope too
  // (receivers keep one copy; a duplicate from its own origin prunes nothing).
  if (!announced_) {
    announced_ = true;
    announce_until_ = now + 5 * config_.probe_interval.count();
    joined_at_ = now;
    next_join_digest_ = now + config_.probe_interval.count();
    Publish(now, GossipKind::kRecord, self_.encoded);
    announcement_ = last_published_;
  } else if (link.active) {
    Announce(now, link);
  }
}

// While announce_until_ lasts (after joining, after a refutation), each link that becomes
// active gets the node's current record envelope: the first copies may have gone on links
// that were closing, and a record only in HELLOs reaches the peers but is not passed on.
void Core::Announce(int64_t now, Link& link) {
  if (announcement_ && now < announce_until_ && !leaving_) {
    SendTo(link, EncodeGossip(0, announcement_->encoded));
  }
}

void Core::Tick(int64_t now) {
  last_now_ = now;
  if (!started_) return;
  RequestTick(now);
  ProbeTick(now);
  SuspicionTick(now);
  TreeTick(now);
  if (now >= next_maintain_) {
    next_maintain_ = now + std::max<int64_t>(1, config_.probe_interval.count() / 2);
    MaintainViews(now);
    ReapTick(now);
    seen_.Expire(now);
  }
  // A joining node's links churn while busy members trim them, and gossip sent meanwhile can
  // pass it by: 1, 3, 9 and 27 probe rounds after its first member link it compares digests
  // with a random active peer, besides the (slow, at scale) periodic push-pull.
  if (join_digests_ < 4 && next_join_digest_ > 0 && now >= next_join_digest_) {
    auto active = ActiveLinks();
    if (!active.empty()) {
      SendDigest(*active[host_->Random() % active.size()], true);
      ++join_digests_;
      int64_t rounds = 1;
      for (int i = 0; i < join_digests_; ++i) rounds *= 3;
      next_join_digest_ = joined_at_ + rounds * config_.probe_interval.count();
    }
  }
  if (followup_digest_at_ != 0 && now >= followup_digest_at_) {
    if (auto active = ActiveLinks(); !active.empty()) {
      followup_digest_at_ = 0;
      followup_digest_allowed_ = now + ReplyInterval();
      Count("followup_digests");
      SendDigest(*active[host_->Random() % active.size()], true);
    }
  }
  if (now >= next_anti_entropy_) {
    // As memberlist: a table grows with the cluster, so push-pull slows down with log2(n)
    // above 32 members (x4 at 200, x10 at 10,000); gossip carries the news meanwhile.
    const double n = static_cast<double>(LiveMembers() + 1);
    const int64_t scale = n <= 32 ? 1 : static_cast<int64_t>(std::ceil(std::log2(n) - 5)) + 1;
    // Each interval drawn from [1/2, 3/2) of the mean: nodes started together would otherwise
    // push-pull (and redial failed members) in step, and a healed partition would wait for
    // the next common round (about 30 s at 1,000 members) before any node tried across.
    const int64_t mean = std::max<int64_t>(1, config_.anti_entropy_interval.count() * scale);
    next_anti_entropy_ =
        now + mean / 2 + static_cast<int64_t>(host_->Random() % static_cast<uint64_t>(mean));
    auto active = ActiveLinks();
    if (!active.empty()) SendDigest(*active[host_->Random() % active.size()], true);
    RedialFailed(now);
  }
  // Probes and suspicions want a quarter of probe_timeout; IHAVE batches and GRAFTs half
  // ihave_timeout.
  int64_t tick = config_.probe_timeout.count() / 4;
  if (config_.tree_broadcast) tick = std::min<int64_t>(tick, config_.ihave_timeout.count() / 2);
  next_wakeup_ = now + std::max<int64_t>(1, tick);
  PublishGauges();
}

void Core::MaintainViews(int64_t now) {
  if (leaving_) return;
  size_t active = 0;
  size_t node_links = 0;
  for (auto& [id, link] : links_) {
    if (link.closing || link.peer.role != Role::kNode) continue;
    ++node_links;
    if (link.active && link.hello_done) ++active;
  }
  size_t dialing = 0;
  for (auto& [id, dial] : dials_) dialing += dial.want_active ? 1 : 0;

  // Fill the active view: promote transient links to alive members first, then dial alive
  // members without a link, sampled from the member table (the passive pool).
  if (active + dialing < config_.active_target) {
    for (auto& [id, link] : links_) {
      if (active + dialing >= config_.active_target) break;
      if (link.active || link.closing || !link.hello_done || link.peer.role != Role::kNode)
        continue;
      const Member* m = members_.Find(link.peer.subject);
      if (m == nullptr || m->state != MemberState::kAlive) continue;
      if (LinkTo(link.peer.subject, /*active_only=*/true) != nullptr) continue;
      link.active = true;
      SendTo(link, EncodeHello(MakeHello(true)));
      Announce(now, link);
      ++active;
    }
  }
  if (active + dialing < config_.active_target && !members_.empty()) {
    // A walk of at most kScan members from a random position: all of a small table.
    constexpr size_t kScan = 256;
    std::vector<Member*> candidates;
    size_t pos = RandomMember();
    for (size_t n = 0; n < std::min(kScan, members_.size()); ++n) {
      Member& m = *members_.At(pos);
      pos = members_.FirstFrom(pos + 1);
      const PublicKey& id = m.record->id();
      if (m.state != MemberState::kAlive || now < NextDial(id)) continue;
      if (LinkTo(id) != nullptr || Dialing(id)) continue;
      candidates.push_back(&m);
    }
    size_t need = config_.active_target - std::min(config_.active_target, active + dialing);
    while (need > 0 && !candidates.empty()) {
      const size_t i = host_->Random() % candidates.size();
      DialMember(now, *candidates[i], /*want_active=*/true);
      candidates[i] = candidates.back();
      candidates.pop_back();
      --need;
    }
  }
  // No member link at all: the join addresses and stored peers, retried with backoff.
  if (node_links == 0) {
    bootstrap_synced_ = false;  // alone again: the next join address sends its table
    DialBootstrap(now);
  }

  // Too many active links: close some with a goodbye, inbound first, at random (a join
  // address takes many joiners' first links; oldest first would cut its place in the mesh,
  // newest first would make joiners churn).
  if (active > config_.active_max) {
    std::vector<Link*> excess = ActiveLinks();
    for (size_t i = excess.size(); i > 1; --i) {
      std::swap(excess[i - 1], excess[host_->Random() % i]);
    }
    std::stable_partition(excess.begin(), excess.end(), [](Link* l) { return l->inbound; });
    for (size_t i = 0; i < active - config_.active_max && i < excess.size(); ++i) {
      Count("links_trimmed");
      CloseLink(excess[i]->id, true);
    }
  }
  // Transient links (probes, direct messages) close when unused.
  std::vector<LinkId> idle;
  for (auto& [id, link] : links_) {
    if (!link.active && !link.closing && link.peer.role == Role::kNode &&
        now - link.last_used > config_.transient_idle.count()) {
      idle.push_back(id);
    }
  }
  for (LinkId id : idle) CloseLink(id, true);
}

void Core::DialMember(int64_t now, Member& m, bool want_active) {
  const uint64_t id = next_dial_id_++;
  dials_[id] = PendingDial{m.record->address, m.record->id(), want_active, now};
  backoff_[m.record->id()].next_dial = now + config_.probe_interval.count();  // one at a time
  host_->Dial(id, m.record->address);
}

// A member marked failed may only have been cut off (a partition, a long pause), and nothing
// else would ever link the two sides again. Now and then dial one of them, with the usual
// backoff; the sync on that link makes each side refute what the other believes of it.
void Core::RedialFailed(int64_t now) {
  if (leaving_ || dead_.empty()) return;
  // A random failed member past its backoff: up to 16 tries from a random place in the list.
  const size_t start = host_->Random() % dead_.size();
  for (size_t n = 0; n < std::min<size_t>(16, dead_.size()); ++n) {
    Member& m = *members_.At(dead_[(start + n) % dead_.size()]);
    const PublicKey& id = m.record->id();
    if (now < NextDial(id) || LinkTo(id) != nullptr || Dialing(id)) continue;
    DialMember(now, m, true);
    return;
  }
}

void Core::DialBootstrap(int64_t now) {
  for (auto& b : bootstrap_) {
    if (b.dialing || now < b.next_dial) continue;
    b.dialing = true;
    const uint64_t id = next_dial_id_++;
    dials_[id] = PendingDial{b.address, std::nullopt, true};
    host_->Dial(id, b.address);
  }
}

int64_t Core::Backoff(int failures) {
  // Full jitter: uniform in [0, min(cap, base * 2^failures)].
  const int64_t cap = config_.reconnect_cap.count();
  int64_t ceiling = config_.reconnect_base.count();
  for (int i = 0; i < failures && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  return static_cast<int64_t>(host_->Random() % static_cast<uint64_t>(ceiling + 1));
}

void Core::CloseLink(LinkId id, bool announce) {
  gauges_dirty_ = true;
  auto it = links_.find(id);
  if (it == links_.end() || it->second.closing) return;
  if (announce) host_->Send(id, EncodeDisconnect());
  it->second.closing = true;
  host_->Close(id);
}

Core::Link* Core::LinkTo(const PublicKey& id, bool active_only) {
  return const_cast<Link*>(std::as_const(*this).LinkTo(id, active_only));
}

const Core::Link* Core::LinkTo(const PublicKey& id, bool active_only) const {
  const Link* best = nullptr;
  for (auto [p, end] = peer_links_.equal_range(id); p != end; ++p) {
    const Link& link = links_.at(p->second);
    if (link.closing || !link.hello_done) continue;
    if (link.active) return &link;
    if (!active_only) best = &link;
  }
  return best;
}

std::vector<Core::Link*> Core::ActiveLinks() {
  std::vector<Link*> out;
  for (auto& [id, link] : links_) {
    if (InActiveView(link)) out.push_back(&link);
  }
  return out;
}

void Core::PublishGauges() {
  gauges_dirty_ = false;
  // Members by state as Track counts them (a walk of the table would cost O(n) a tick),
  // plus self: alive, or left once leaving.
  uint64_t by_state[4] = {by_state_[0], by_state_[1], by_state_[2], by_state_[3]};
  ++by_state[leaving_ ? 3 : 0];
  constexpr auto relaxed = std::memory_order_relaxed;
  counters_->members_alive.store(by_state[0], relaxed);
  counters_->members_suspect.store(by_state[1], relaxed);
  counters_->members_failed.store(by_state[2], relaxed);
  counters_->members_left.store(by_state[3], relaxed);
  counters_->active_links.store(active_links(), relaxed);
}

size_t Core::active_links() const {
  size_t n = 0;
  for (auto& [id, link] : links_) {
    n += InActiveView(link);
  }
  return n;
}

void Core::SendTo(Link& link, std::vector<uint8_t> message) {
  host_->Send(link.id, std::move(message));
}

void Core::ProtocolError(Link& link, const std::string& reason) {
  Count("dropped." + reason);
  Count("links_closed_protocol_error");
  CloseLink(link.id, false);
}

}  // namespace mesh::core
