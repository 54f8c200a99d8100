// Core: the mesh protocol of one node, sans-IO (DESIGN §3). It is told about authenticated
// links coming and going, messages arriving and time passing, and answers through its Host:
// messages to send, addresses to dial, links to close, deliveries for the application.
// Membership (signed member records, SWIM probes with indirect probes, Lifeguard suspicion,
// refutation, leave, reaping), the active and passive views, push-pull anti-entropy, signed
// gossip with exactly-once delivery, and direct messages with requests. No sockets, no
// threads, no clocks of its own: the Asio node and the simulator drive the same code. The
// one expensive step, checking a gossip signature, is asked of the Host (VerifyGossip) so a
// node can run it on worker threads; the envelope waits in the core until the answer.
// Not thread-safe: one caller at a time (the node's strand).
#ifndef MESH_CORE_CORE_H_
#define MESH_CORE_CORE_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/counters.h"
#include "core/deadline_heap.h"
#include "core/member_table.h"
#include "core/messages.h"
#include "core/recent_cache.h"
#include "core/records.h"
#include "core/seen_cache.h"
#include "mesh/config.h"
#include "mesh/member.h"
#include "mesh/status.h"

namespace mesh::core {

using LinkId = uint64_t;

// A message for the application.
struct Delivery {
  enum class Kind { kBroadcast, kMessage, kRequest };
  Kind kind = Kind::kBroadcast;
  PublicKey from{};  // broadcast: the origin; otherwise the link's peer
  std::string from_name;
  Role from_role = Role::kNode;
  std::string event;
  std::span<const uint8_t> payload;  // JSON text, valid during the call
  LinkId link = 0;                   // kRequest: where the reply goes
  uint64_t request_id = 0;           // kRequest
  uint8_t hops = 0;                  // kBroadcast: links it crossed from the origin (1: direct)
};

// A gossip signature to check, handed to Host::VerifyGossip. The envelope is shared with the
// core and never changed again, so any thread may check it while the core goes on.
struct VerifyJob {
  uint64_t token = 0;                              // goes back in Core::OnGossipVerified
  std::shared_ptr<const GossipEnvelope> envelope;  // origin key, signed bytes, signature
  bool Verify() const { return envelope->VerifySignature(envelope->origin); }
};

// What the core asks of its environment. All calls happen inside a Core call.
class Host {
 public:
  virtual ~Host() = default;
  // Queues one message on a link. The host closes links whose queue overflows and then
  // reports them with Core::OnLinkDown like any other lost link.
  virtual void Send(LinkId link, std::vector<uint8_t> message) = 0;
  // Opens a link to `address`; answered later with OnLinkUp(..., dial_id) or OnDialFailed.
  virtual void Dial(uint64_t dial_id, const std::string& address) = 0;
  // Closes a link; the host still reports it with OnLinkDown.
  virtual void Close(LinkId link) = 0;
  virtual int64_t UnixMs() = 0;
  virtual uint64_t Random() = 0;
  virtual void Deliver(const Delivery& delivery) = 0;
  // A request made with Core::Request finished: a reply, an error reply, or a local failure.
  virtual void Replied(uint64_t token, const Status& status, std::span<const uint8_t> payload) = 0;
  virtual void MemberChanged(const MemberInfo& member) = 0;
  // Durable state: called with the next unused sequence number limit to store before the
  // core uses numbers below it. Must return only once it is durable.
  virtual void ReserveSequence(uint64_t limit) = 0;
  // Peer statistics for the peer store (no-ops are fine).
  virtual void PeerSeen(const MemberRecord& record) = 0;
  virtual void PeerConnect(const PublicKey& id, bool success) = 0;
  virtual void PeerAddresses(const PublicKey& id, uint64_t received, uint64_t sent) = 0;
  // Checks a gossip envelope's signature (job.Verify(), on any thread) and answers with
  // Core::OnGossipVerified(now, job.token, ok) on the core's thread: from inside this call
  // (checking inline) or later. Jobs the host drops (at shutdown) just stay pending.
  virtual void VerifyGossip(VerifyJob job) = 0;
  // Keeps a checked member record. The simulator shares one copy among the thousands of
  // cores in its process that hold the same bytes; a node keeps its own.
  virtual std::shared_ptr<const MemberRecord> ShareRecord(MemberRecord record) {
    return std::make_shared<const MemberRecord>(std::move(record));
  }
  // The same for a gossip envelope about to be checked (and kept a while for GRAFTs).
  virtual std::shared_ptr<const GossipEnvelope> ShareEnvelope(GossipEnvelope envelope) {
    return std::make_shared<const GossipEnvelope>(std::move(envelope));
  }
};

class Core {
 public:
  // `incarnation` and `sequence` must exceed any value an earlier run of this node used
  // (the node derives them from its store and the clock). `counters`, when given, must
  // outlive the core (a node keeps them to read from other threads); otherwise it has its own.
  Core(const Config& config, Host* host, std::string advertise, uint64_t incarnation,
       uint64_t sequence, uint64_t sequence_reserved, Counters* counters = nullptr);

  // Starts joining: dials the bootstrap addresses (join list, stored peers) until linked.
  void Start(int64_t now, std::vector<std::string> bootstrap);
  // Announces a graceful leave to the active peers and closes all links.
  void Leave(int64_t now);

  // Links. `dial_id` is 0 for inbound links.
  void OnLinkUp(int64_t now, LinkId link, const Certificate& peer, uint64_t dial_id);
  void OnDialFailed(int64_t now, uint64_t dial_id);
  void OnLinkDown(int64_t now, LinkId link);
  void OnMessage(int64_t now, LinkId link, std::vector<uint8_t> message);
  // Timers: call when NextWakeup says (every Config::probe_timeout / 4).
  void Tick(int64_t now);
  int64_t NextWakeup() const { return next_wakeup_; }
  // The answer to Host::VerifyGossip: the envelope is delivered and forwarded, or, if its
  // signature failed, dropped and the link it came on closed. Answers may come in any order;
  // envelopes are finished in arrival order. Unknown tokens are ignored.
  void OnGossipVerified(int64_t now, uint64_t token, bool ok);

  // Application.
  Status Broadcast(int64_t now, std::string_view event, std::span<const uint8_t> payload);
  Status SendDirect(int64_t now, const PublicKey& to, std::string_view event,
                    std::span<const uint8_t> payload);
  // `token` comes back in Host::Replied, exactly once.
  Status Request(int64_t now, const PublicKey& to, std::string_view event,
                 std::span<const uint8_t> payload, int64_t timeout_ms, uint64_t token);
  void Reply(LinkId link, uint64_t request_id, bool error, std::span<const uint8_t> payload);

  // Introspection.
  std::vector<MemberInfo> Members() const;
  MemberInfo Self() const;
  size_t active_links() const;
  int local_health() const { return lhm_; }
  size_t links() const { return links_.size(); }
  // Envelopes waiting for their signature check (or for an earlier envelope's).
  size_t verifying() const { return verifying_.size(); }
  // Gossip ids in the seen cache, envelopes kept to answer GRAFTs, and announced ids
  // not received yet: what a broadcast storm costs each node in memory.
  size_t seen_ids() const { return seen_.size(); }
  size_t recent_envelopes() const { return recent_.size(); }
  size_t missing_ids() const { return missing_.size(); }
  // The counters that are above zero (docs/mesh.md "Counters"), and one of them.
  std::map<std::string, uint64_t> counters() const { return counters_->Snapshot(true); }
  uint64_t counter(std::string_view name) const { return counters_->Get(name); }
  void Count(std::string_view name, uint64_t n = 1) { counters_->Add(name, n); }
  // Refreshes the member-state and active-link gauges in the counters. Every Tick does; the
  // node also calls PublishGaugesIfChanged after each event, which is cheap unless a member
  // or a link changed since.
  void PublishGauges();
  void PublishGaugesIfChanged() {
    if (gauges_dirty_) PublishGauges();
  }

 private:
  using Member = MemberEntry;  // one per other member (member_table.h)
  struct DialBackoff {
    int64_t next_dial = 0;    // no dial before this
    int64_t next_resync = 0;  // failed: no DIGEST on its inbound links before this
    int32_t failures = 0;     // consecutive dial failures
  };
  // A suspicion of one member, Lifeguard style: independent suspicions of the same
  // incarnation shorten it. After a mass failure every survivor holds one for each failed
  // member at once, so it is kept small: the suspecting members are counted by 32-bit keyed
  // tags (two that share a tag count once: a longer timeout, never a shorter one), and
  // counting stops at kMaxConfirmations, beyond what the timeout uses at the default
  // indirect_probes (3, so 4).
  static constexpr size_t kMaxConfirmations = 8;
  struct Suspicion {
    int64_t deadline = 0;
    uint32_t member = 0;          // its position in members_
    uint8_t count = 0;            // tags in use
    bool by_self = false;         // this node suspected it itself
    bool lower_claimant = false;  // a claimant's id is below this node's (it announces)
    bool relayed = false;         // this node gossiped it on from push-pull, signed as its own
    std::array<uint32_t, kMaxConfirmations> tags{};
  };
  struct Link {
    LinkId id = 0;
    Certificate peer;
    bool inbound = false;
    bool hello_done = false;
    bool active = false;  // part of the active view; otherwise transient (probe, direct)
    bool closing = false;
    int64_t last_used = 0;
    int64_t since = 0;             // when it came up
    bool tree = false;             // the peer speaks IHAVE / GRAFT / PRUNE (its HELLO said so)
    bool eager = true;             // tree: envelopes go whole on this link; otherwise as IHAVE ids
    bool pruned = false;           // tree: PRUNE sent, and no GRAFT since either way
    std::vector<IHaveEntry> lazy;  // IHAVE entries waiting for the next tick
    int64_t next_optimize = 0;     // tree: no optimisation toward this link before then
    size_t missing_owned = 0;      // tree: missing_ entries this link's IHAVE (or copy) opened
    // Anti-entropy: no answer to a reply-wanted DIGEST / SYNC on this link before then.
    int64_t next_digest_reply = 0;  // see ReplyAllowed
    int64_t next_sync_reply = 0;
  };
  struct PendingDial {
    std::string address;
    std::optional<PublicKey> expect;  // a member dial; empty for bootstrap addresses
    bool want_active = false;
    int64_t started = 0;
  };
  struct Probe {
    PublicKey target{};
    int64_t direct_deadline = 0;
    int64_t deadline = 0;
    bool indirect_sent = false;
    bool awaiting_link = false;
    // Relay: a probe made for another member's PING-REQ; the ack goes back to that link.
    LinkId relay_link = 0;
    uint64_t relay_probe_id = 0;
    int64_t nack_at = 0;  // relay: when to NACK if the target has not answered
    bool nack_sent = false;
    int expected_nacks = 0;       // own probe: PING-REQs sent
    int nacks = 0;                // own probe: NACKs received, at most one per helper
    std::vector<LinkId> helpers;  // own probe: links sent a PING-REQ that have not NACKed yet
  };
  struct PendingRequest {
    uint64_t token = 0;
    int64_t deadline = 0;
    PublicKey to{};
  };
  struct Outgoing {  // direct messages waiting for a link
    std::vector<uint8_t> message;
    uint64_t request_id = 0;  // 0 for one-way messages
    int64_t queued_at = 0;
  };
  struct PendingGossip {  // an envelope whose signature the host is checking
    std::shared_ptr<const GossipEnvelope> envelope;
    LinkId from = 0;  // the link it came on (may be gone by the answer)
    uint8_t hops = 0;
    MemberRecord record;           // kRecord: the record, already decoded and checked
    std::optional<bool> verified;  // the answer, once it came
  };
  struct Bootstrap {
    std::string address;
    int failures = 0;
    int64_t next_dial = 0;
    bool dialing = false;
  };

  // core.cc: links and views
  void HandleHello(int64_t now, Link& link, std::span<const uint8_t> message);
  void Announce(int64_t now, Link& link);
  void MaintainViews(int64_t now);
  void DialMember(int64_t now, Member& m, bool want_active);
  void DialBootstrap(int64_t now);
  void RedialFailed(int64_t now);
  void CloseLink(LinkId id, bool announce);
  Link* LinkTo(const PublicKey& id, bool active_only = false);
  const Link* LinkTo(const PublicKey& id, bool active_only = false) const;
  // An active member link that has exchanged HELLOs and is not closing (ActiveLinks).
  static bool InActiveView(const Link& l) {
    return l.active && l.hello_done && !l.closing && l.peer.role == Role::kNode;
  }
  std::vector<Link*> ActiveLinks();
  int64_t Backoff(int failures);
  void SendTo(Link& link, std::vector<uint8_t> message);
  void ProtocolError(Link& link, const std::string& reason);

  // membership.cc: member table, failure detection, anti-entropy
  bool ApplyRecord(int64_t now, const MemberRecord& record, bool verified);
  void ApplyClaim(int64_t now, MemberState state, const Claim& claim, const PublicKey& by);
  void SetState(int64_t now, size_t pos, MemberState state, uint64_t incarnation);
  void Refute(int64_t now, uint64_t incarnation);
  void ResignSelf(int64_t now);
  Status CheckRecord(const MemberRecord& record);
  // sync.cc: push-pull anti-entropy
  void HandleSync(int64_t now, Link& link, std::span<const uint8_t> message);
  void SendSync(Link& link, bool reply_wanted);
  void SendDigest(Link& link, bool reply_wanted);
  void HandleDigest(int64_t now, Link& link, std::span<const uint8_t> message);
  void HandlePull(Link& link, std::span<const uint8_t> message);
  // Whether a link may have an answer to a reply-wanted DIGEST (or SYNC) now; `next` is the
  // link's schedule for that kind. One answer per ReplyInterval on average, two in a burst.
  bool ReplyAllowed(int64_t now, int64_t& next) const;
  // probe_interval, or half anti_entropy_interval if shorter. An honest peer asks one link at
  // most once per anti_entropy_interval, plus join digests two or more probe_intervals apart
  // (at 1, 3, 9 and 27 probe_intervals), which may meet a periodic one: hence the burst.
  int64_t ReplyInterval() const {
    return std::min(config_.probe_interval.count(), config_.anti_entropy_interval.count() / 2);
  }
  void HandlePing(int64_t now, Link& link, std::span<const uint8_t> message);
  void HandleAck(int64_t now, Link& link, std::span<const uint8_t> message);
  void HandlePingReq(int64_t now, Link& link, std::span<const uint8_t> message);
  void HandleNack(Link& link, std::span<const uint8_t> message);
  void AdjustHealth(int delta);
  int64_t Health() const { return 1 + lhm_; }
  void StartProbe(int64_t now, const PublicKey& target, LinkId relay_link, uint64_t relay_id);
  void SendPing(int64_t now, uint64_t probe_id, Probe& probe);
  void ProbeTick(int64_t now);
  const PublicKey* NextLinkedTarget();
  const PublicKey* NextUnlinkedTarget();
  void ProbeFailed(int64_t now, const PublicKey& target);
  bool WantsOwnClaim(const Member& m) const;
  void RelaySuspicion(const Member& m, const Claim& claim);
  void SuspicionTick(int64_t now);
  int64_t SuspicionTimeout(const Suspicion& s) const;
  // The deadline of a suspicions_ slot, for suspicion_deadlines_.
  auto SuspicionDeadline() const {
    return [this](uint32_t slot) { return suspicions_[slot].deadline; };
  }
  void ReapTick(int64_t now);
  MemberInfo Info(const Member& m) const;
  size_t LiveMembers() const { return live_; }
  void Track(size_t pos, std::optional<MemberState> from, std::optional<MemberState> to,
             int64_t now);
  void SetDeadline(Suspicion& s, int64_t deadline);
  // Adds `by` to the suspicion's confirmations; false if it was counted already.
  bool Confirm(Suspicion& s, const PublicKey& by);
  // The position of a random member (the table must not be empty).
  size_t RandomMember() { return members_.FirstFrom(host_->Random()); }
  bool Dialing(const PublicKey& id) const;
  int64_t NextDial(const PublicKey& id) const {
    auto b = backoff_.find(id);
    return b == backoff_.end() ? 0 : b->second.next_dial;
  }

  // gossip.cc: signed broadcast
  void Publish(int64_t now, GossipKind kind, std::span<const uint8_t> body, bool flood = false);
  // Publishes `claims` in as few envelopes as fit, and clears it.
  void PublishClaims(int64_t now, GossipKind kind, std::vector<Claim>& claims);
  void HandleGossip(int64_t now, Link& link, std::span<const uint8_t> message);
  void Finish(int64_t now, const PendingGossip& p);
  uint64_t NextSequence();

  // tree.cc: Plumtree (eager push on a tree, lazy push of ids elsewhere, GRAFT, PRUNE)
  // flood: whole on every active link, eager or not.
  void Forward(int64_t now, const std::shared_ptr<const GossipEnvelope>& env, uint8_t hops,
               LinkId except, bool flood = false);
  void RepairTree(int64_t now);
  void OnDuplicate(Link& link);
  void HandleIHave(int64_t now, Link& link, std::span<const uint8_t> message);
  void HandleGraft(int64_t now, Link& link, std::span<const uint8_t> message);
  void Optimize(int64_t now, Link& link, const IHaveEntry& e);
  void TreeTick(int64_t now);
  // Notes that `link` has envelope `id` (IHAVE, or a copy that came while another was being
  // checked), to GRAFT it from there if it does not arrive.
  // `wait`: how long to wait for a copy before the first GRAFT, if this opens the id's entry;
  // true if it opened one due now.
  bool AddAnnouncer(int64_t now, Link& link, const GossipId& id, uint8_t hops, int64_t wait);
  size_t EagerTreeLinks() const;
  void SendDueGrafts(int64_t now);  // GRAFTs for the missing ids whose deadline passed
  void EraseMissing(const GossipId& id);
  bool Known(const GossipId& id) const;  // own, accepted, or at or below its origin's floor
  bool Verifying(const GossipId& id) const { return verifying_ids_.count({id.origin, id.seq}) > 0; }
  Hello MakeHello(bool want_active) const;

  // direct.cc: point-to-point
  void HandleDirect(int64_t now, Link& link, std::span<const uint8_t> message);
  Status SendOrQueue(int64_t now, const PublicKey& to, std::vector<uint8_t> message,
                     uint64_t request_id);
  void FlushQueued(int64_t now, Link& link);
  void FailQueued(const PublicKey& to, const std::string& why);
  void RetryOrFailQueued(int64_t now, const PublicKey& to, int64_t dial_started);
  void RequestTick(int64_t now);

  Config config_;
  Host* host_;
  std::string advertise_;
  MemberRecord self_;
  uint64_t incarnation_;
  uint64_t sequence_;
  uint64_t sequence_reserved_;
  bool started_ = false;
  bool leaving_ = false;
  bool announced_ = false;         // own record gossiped after the first member link
  bool bootstrap_synced_ = false;  // tables exchanged with a join address
  int64_t joined_at_ = 0;          // the first member link
  int64_t next_join_digest_ = 0;   // digests while joining (Tick)
  int join_digests_ = 0;
  // A push-pull soon with a random active peer, at most one per ReplyInterval: after a SYNC
  // revived a member (held failed or suspect, alive in a newer record: news that only
  // push-pull carries then spreads in seconds, not rounds), and after a refutation (this
  // node was unreachable or paused, and likely missed news). Sent once an active link exists.
  int64_t followup_digest_at_ = 0;       // 0: none due
  int64_t followup_digest_allowed_ = 0;  // the earliest time for the next one
  void FollowUpDigest(int64_t at) {
    if (followup_digest_at_ == 0) followup_digest_at_ = std::max(at, followup_digest_allowed_);
  }
  std::shared_ptr<const GossipEnvelope> last_published_;
  std::shared_ptr<const GossipEnvelope> announcement_;  // own record, as last announced
  int64_t announce_until_ = 0;      // new member links get the announcement until then
  int64_t reannounce_allowed_ = 0;  // a stale claim about this node re-gossips its record

  MemberTable members_;                       // without self
  std::map<PublicKey, DialBackoff> backoff_;  // members dialed (until reset or reaped)
  size_t live_ = 0;                           // alive or suspect members
  std::array<size_t, 4> by_state_{};          // members by MemberState (Track), for the gauges
  // Suspicions, in slots a suspect member's entry points to (Member::slot), reused; and
  // the slots by deadline, each once (a confirmation moves it).
  std::vector<Suspicion> suspicions_;
  std::vector<uint32_t> free_suspicions_;
  DeadlineHeap suspicion_deadlines_;  // suspicions_ slots by deadline
  std::vector<uint32_t> dead_;        // positions of failed members (Member::slot), for redials
  // Claims made while handling one tick or message, published together at its end.
  std::vector<Claim> suspicions_to_publish_;
  std::vector<Claim> failures_to_publish_;
  std::deque<std::pair<int64_t, uint32_t>> gone_;  // (since, position): failed or left, to reap
  int64_t last_now_ = 0;                           // the latest `now` seen
  int lhm_ = 0;                                    // Lifeguard local health multiplier
  size_t linked_cursor_ = 0;                       // probe rounds over linked members
  std::map<LinkId, Link> links_;
  std::multimap<PublicKey, LinkId> peer_links_;  // links_ by peer
  std::map<uint64_t, PendingDial> dials_;
  uint64_t next_dial_id_ = 1;
  std::vector<Bootstrap> bootstrap_;

  std::map<uint64_t, Probe> probes_;
  uint64_t next_probe_id_ = 1;
  std::vector<PublicKey> probe_order_;
  size_t probe_cursor_ = 0;
  std::vector<PublicKey> probe_linked_;
  uint64_t probe_rounds_ = 0;
  int64_t next_probe_round_ = 0;
  int64_t next_anti_entropy_ = 0;
  int64_t next_maintain_ = 0;
  int64_t next_wakeup_ = 0;

  SeenCache seen_;
  // Envelopes being verified, by token (arrival order), and their ids, so a copy arriving
  // meanwhile is a duplicate rather than a second check. Bounded by max_verify_inflight(_bytes).
  std::map<uint64_t, PendingGossip> verifying_;
  std::set<std::pair<PublicKey, uint64_t>> verifying_ids_;
  size_t verifying_bytes_ = 0;
  uint64_t next_verify_token_ = 1;
  // Tree dissemination: ids announced by IHAVE and not received yet (who announced them,
  // in order; when to GRAFT next), and recently accepted envelopes, to answer GRAFTs.
  struct Missing {
    // Link and hops, in arrival order; those before `next` were asked already. A vector:
    // thousands of ids can be missing at once after a mass failure, most with 1-3 announcers.
    // One entry per link, at most Config::active_max (plus the fallback's).
    std::vector<std::pair<LinkId, uint8_t>> announcers;
    size_t next = 0;
    int64_t deadline = 0;
    bool fallback = false;  // the active links were added as announcers (or may not be)
    bool grafted = false;   // one GRAFT sent already: the next rounds ask two announcers
    LinkId owner = 0;       // the link whose announcement opened the entry (its share)
  };
  std::unordered_map<GossipId, Missing, GossipIdHash> missing_;
  std::set<std::pair<int64_t, GossipId>> missing_due_;  // (deadline, id) of missing_
  RecentCache recent_;                           // at most tree_cache_ttl and tree_cache_bytes
  int64_t next_repair_ = 0;                      // RepairTree: at most one per ihave_timeout,
  bool repair_pending_ = false;                  // and a link lost meanwhile makes one more then
  std::map<uint64_t, PendingRequest> requests_;  // by request id
  uint64_t next_request_id_ = 1;
  std::map<PublicKey, std::deque<Outgoing>> queued_;
  std::unique_ptr<Counters> own_counters_;  // when the caller gave none
  Counters* counters_;
  bool gauges_dirty_ = true;  // a member or link changed since PublishGauges
};

}  // namespace mesh::core

#endif  // MESH_CORE_CORE_H_
