// SimNetwork: a deterministic discrete-event simulator that drives one mesh::core::Core per
// node through a simulated Host. A virtual clock (ms) and event queues ordered by (time,
// sequence) make every run exactly repeatable for a seed; nothing sleeps. Links behave like
// TCP (FIFO per direction, latency + jitter, loss as retransmit delay); nodes can crash,
// pause, restart and be partitioned. Each node's deliveries, member callbacks, replies and
// sequence reservations are recorded for the tests.
//
// Time advances in windows no longer than the one-way latency, the lookahead: a message
// sent inside a window arrives after it, so within a window each node's events depend only
// on that node, and the nodes run on `threads` workers at once (a conservative parallel
// discrete-event simulation). Network events (handshakes, resumes, cuts) start windows and
// run alone. Whatever a window's nodes send is queued after the window in node order, so a
// run is the same, event for event, with any number of threads (only the signature memo's
// count of checks computed, one table per thread, differs). The class itself is not
// thread-safe: call it from one thread.
#ifndef MESHVAULT_TESTS_SIM_SIM_NETWORK_H_
#define MESHVAULT_TESTS_SIM_SIM_NETWORK_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/core.h"
#include "mesh/config.h"
#include "mesh/identity.h"
#include "mesh/member.h"
#include "mesh/status.h"

namespace mesh::sim {

class WorkerPool;

struct SimOptions {
  uint64_t seed = 1;
  // Timers and limits for every node; key, certificate, CA and addresses are filled in.
  Config config = Config::FastTimings();
  int64_t latency_ms = 2;  // one way; at least 1 (the lookahead of a window)
  int64_t jitter_ms = 3;   // uniform extra delay in [0, jitter_ms] per message
  // Per message: probability of a lost segment, delivered late by retransmit_ms (repeatable).
  double loss = 0;
  int64_t retransmit_ms = 200;
  int64_t check_interval_ms = 5;  // how often RunUntil evaluates its predicate
  // Gossip signature checks (Host::VerifyGossip): 0 answers inside the call, as a node
  // verifying inline does; more answers that much later, as a node's worker pool does.
  int64_t verify_delay_ms = 0;
  // Scale runs: keep per node only each member's last state (no change log, no incarnations,
  // no ever_dead set; false failures are still counted), so 10,000 nodes fit in memory.
  bool compact = false;
  // Test-only fast path (mesh::SetSignatureMemoForTesting): every node still runs its whole
  // verification code path, but libsodium checks each distinct (key, bytes, signature) once
  // per thread and the answer is reused by the other nodes that check the same bytes.
  bool memo_signatures = true;
  // Worker threads that run a window's nodes (the run does not depend on it).
  size_t threads = 1;
};

// What one node's application and host saw.
struct NodeStats {
  // Broadcasts and direct messages delivered: (origin or peer, event, payload) -> count.
  using Key = std::tuple<PublicKey, std::string, std::string>;
  std::map<Key, int> broadcasts;
  std::map<Key, int> directs;
  uint64_t broadcasts_delivered = 0;
  // MemberChanged callbacks, and the view they build (the last callback per member; the
  // view restarts empty with the node, the rest is kept across runs).
  uint64_t member_changes = 0;
  // The view, by node index: the last state (-1: never heard of) and incarnation (not kept
  // when compact).
  std::vector<int8_t> view_state;
  std::vector<uint64_t> view_incarnation;
  std::array<size_t, 4> state_counts{};  // view members per MemberState
  std::set<PublicKey> ever_dead;         // members this node ever marked failed (not compact)
  uint64_t marked_dead = 0;              // failed callbacks
  uint64_t false_dead = 0;  // of which the member was running (not crashed) at that time
  struct Change {
    int64_t time;  // virtual ms
    PublicKey id;
    MemberState state;
    uint64_t incarnation;
  };
  std::vector<Change> changes;  // every callback, in order
  struct Reply {
    uint64_t token;
    Status status;
    std::string payload;
  };
  std::vector<Reply> replies;
  // Durable sequence reservations, in call order, and checks of the node's own envelopes.
  std::vector<uint64_t> reservations;
  uint64_t reserved = 0;        // the latest limit (survives restarts, like a store)
  uint64_t max_seq_used = 0;    // highest own gossip sequence seen on the wire
  uint64_t seq_unreserved = 0;  // own sequences sent at or above the reservation
  uint64_t seq_reused = 0;      // own sequences not above the previous run's maximum
  uint64_t reservation_not_rising = 0;
  // Traffic sent by this node.
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t sends_on_closed_link = 0;  // the core sent on a link it had closed
  uint64_t dials = 0;
  uint64_t restarts = 0;
  // Gossip signature checks asked for, and those of an id this run had checked already.
  uint64_t verifications = 0;
  uint64_t verified_again = 0;
};

class SimNetwork {
 public:
  static constexpr int64_t kEpochMs = 1'800'000'000'000;  // UnixMs at virtual time 0

  explicit SimNetwork(SimOptions options);
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // --- Nodes ---------------------------------------------------------------------------
  // Creates a node (key, certificate, Core) that joins through `join` once started.
  size_t AddNode(std::vector<std::string> join = {});
  void Start(size_t i);
  size_t AddAndStart(std::vector<std::string> join) {
    const size_t i = AddNode(std::move(join));
    Start(i);
    return i;
  }
  void Leave(size_t i);  // Core::Leave; the node keeps running
  // Stops node i for good: its pending events are dropped, the remote end of each of its
  // links goes down one latency later (a kernel RST).
  void Crash(size_t i);
  // A crashed node comes back with the same key, joining through `bootstrap` (join list
  // plus stored peers). Like mesh::Node, it takes the incarnation max(stored + 1, clock ms)
  // and the sequence max(last reservation, clock µs); `incarnation` overrides the first (a
  // node whose store was lost and whose clock went back).
  void Restart(size_t i, std::vector<std::string> bootstrap,
               std::optional<uint64_t> incarnation = std::nullopt);
  // Node i processes nothing for `ms`; events for it wait and arrive in order afterwards.
  void Pause(size_t i, int64_t ms);
  // Nodes in different groups cannot reach each other (nodes not listed: group 0). Links
  // across the cut lose their messages and go down after config.idle_timeout.
  void Partition(const std::vector<std::vector<size_t>>& groups);
  void Heal();
  // Only a and b cannot reach each other (a non-transitive cut); links between them are
  // treated like links across a partition.
  void Block(size_t a, size_t b);
  void Unblock(size_t a, size_t b);
  // Bridge nodes reach every group of a partition (a non-transitive partition).
  void SetBridges(std::vector<size_t> bridges);
  // Every message to or from node i takes `ms` (>= 0) longer (a slow or overloaded node).
  void SetSlow(size_t i, int64_t ms);
  // Called on every broadcast delivered, after the stats are updated: inside a window, after
  // the window (in node order), with now() at the delivery time. A hook only observes; one
  // that would schedule anything (Broadcast, Start, ...) throws std::logic_error.
  void OnDeliver(std::function<void(size_t node, const core::Delivery&)> hook) {
    deliver_hook_ = std::move(hook);
  }

  // --- Application ---------------------------------------------------------------------
  Status Broadcast(size_t i, std::string_view event, std::string_view payload);
  Status SendDirect(size_t i, size_t to, std::string_view event, std::string_view payload);
  // Requests are answered by the receiving node with an echo of the payload.
  Status Request(size_t i, size_t to, std::string_view event, std::string_view payload,
                 int64_t timeout_ms, uint64_t token);

  // --- Time ----------------------------------------------------------------------------
  int64_t now() const { return now_; }
  void RunFor(int64_t ms) { RunTo(now_ + ms); }
  void RunTo(int64_t t);
  // Runs until `done` holds (checked every check_interval_ms) or `deadline`; true if held.
  bool RunUntil(const std::function<bool()>& done, int64_t deadline);

  // --- Inspection ----------------------------------------------------------------------
  size_t size() const { return nodes_.size(); }
  std::string Address(size_t i) const;
  const PublicKey& Id(size_t i) const;
  core::Core& CoreOf(size_t i);
  const NodeStats& Stats(size_t i) const;
  bool Running(size_t i) const;  // started and not crashed (a node that left still runs)
  bool Crashed(size_t i) const;
  // Node i's view of node j from its MemberChanged callbacks (empty: never heard of it);
  // for i == j, the node's own state.
  std::optional<MemberState> StateAt(size_t i, size_t j) const;
  uint64_t IncarnationAt(size_t i, size_t j) const;  // from the same view; 0 if unknown
  size_t CountAt(size_t i, MemberState state) const { return Stats(i).state_counts[Idx(state)]; }
  uint64_t messages_sent() const { return tally_.messages_sent; }
  uint64_t bytes_sent() const { return tally_.bytes_sent; }
  uint64_t event_gossip_sent() const { return tally_.event_gossip_sent; }  // kEvent envelopes
  uint64_t messages_dropped() const { return tally_.messages_dropped; }
  // Messages sent, by core::MessageType.
  uint64_t sent_of_type(core::MessageType type) const {
    return tally_.sent_by_type[static_cast<size_t>(type) % tally_.sent_by_type.size()];
  }
  // Envelopes of a kind the nodes originated (counted when first sent).
  uint64_t published(core::GossipKind kind) const {
    return tally_.published[static_cast<size_t>(kind)];
  }
  // Claims in the suspect and failed envelopes the nodes originated (several fit in one).
  uint64_t claims_published(core::GossipKind kind) const {
    return tally_.claims_published[static_cast<size_t>(kind)];
  }
  uint64_t events_run() const { return tally_.events_run; }
  size_t events_queued() const;
  uint64_t false_dead() const;  // failed callbacks about a node that was running then
  // Failed callbacks about node j, at any node, while j was running (paused counts).
  uint64_t DeadMarks(size_t j) const { return j < dead_marks_.size() ? dead_marks_[j] : 0; }
  size_t Index(const PublicKey& id) const { return by_id_.at(id); }
  // Sum of a Core counter over all nodes, and of all of them.
  uint64_t CounterSum(const std::string& name) const;
  std::map<std::string, uint64_t> CounterTotals() const;

 private:
  class SimHost;
  struct Node;
  struct Worker;
  // What the nodes did, summed over the workers after each window.
  struct Tally {
    uint64_t messages_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t event_gossip_sent = 0;
    uint64_t messages_dropped = 0;
    std::array<uint64_t, 4> published{};
    std::array<uint64_t, 4> claims_published{};
    std::array<uint64_t, 16> sent_by_type{};
    uint64_t events_run = 0;
    void AddTo(Tally& sum) const;
  };
  // A cache line each: the two ends of a link are neighbours here, and their nodes may run
  // on different workers (each writes its own end on every send).
  struct alignas(64) LinkEnd {
    size_t node = 0;
    uint64_t gen = 0;           // the node's generation (run) the end belongs to
    core::LinkId peer = 0;      // the other end
    bool closed = false;        // closed by its own node: nothing more is sent or received
    bool down = false;          // OnLinkDown delivered (or the node crashed)
    bool cut = false;           // crossed a partition: messages are lost until it goes down
    int64_t last_delivery = 0;  // FIFO: the latest delivery time of a message sent here
  };
  // Link ends by id. Ids are handed out in sequence and never reused, so a vector indexed by
  // id finds an end in O(1) (a std::map of 100,000s of ends cost a cache miss a level on
  // every message); iteration is in id order, as the map's was.
  class LinkTable {
   public:
    LinkEnd* Find(core::LinkId id) {
      return id < ends_.size() && ends_[id].node != kGone ? &ends_[id] : nullptr;
    }
    LinkEnd& at(core::LinkId id) {
      LinkEnd* e = Find(id);
      if (e == nullptr) throw std::out_of_range("sim link");
      return *e;
    }
    void Put(core::LinkId id, const LinkEnd& e) {
      if (ends_.size() <= id) ends_.resize(id + 1, LinkEnd{kGone});
      ends_[id] = e;
    }
    void Erase(core::LinkId id) {
      if (id < ends_.size()) ends_[id].node = kGone;
    }
    template <class F>
    void ForEach(F f) {
      for (core::LinkId id = 0; id < ends_.size(); ++id) {
        if (ends_[id].node != kGone) f(id, ends_[id]);
      }
    }

   private:
    static constexpr size_t kGone = ~size_t{0};
    std::vector<LinkEnd> ends_;
  };
  struct Event {
    int64_t time = 0;
    uint64_t seq = 0;
    int64_t node = -1;  // -1: a network event
    uint64_t gen = 0;
    std::function<void()> fn;               // network events
    std::function<void(core::Core&)> call;  // node events
    // A message arriving on link `link` (a node event without `call`): kept apart from the
    // std::function, whose captures would take an allocation per message.
    core::LinkId link = 0;
    std::vector<uint8_t> message;
  };

  static size_t Idx(MemberState s) { return static_cast<size_t>(s); }
  Node& N(size_t i) { return *nodes_.at(i); }
  const Node& N(size_t i) const { return *nodes_.at(i); }

  // The time of the event running: the worker's inside a window, else the network's.
  int64_t Now() const;
  Tally& Counts();  // the running worker's, else the network's
  void Push(Event e);
  size_t WorkerOf(int64_t node) const;        // whose queue holds the node's events (-1: network)
  std::vector<Event>& QueueOf(int64_t node);  // that queue (the network's for -1)
  int64_t NextTime() const;
  void RunWindow(int64_t t);
  enum class Job { kCollect, kRun, kQueue };
  void RunJob(Job job, size_t nodes);
  void WorkerJob(size_t w);
  void Collect(Worker& worker);
  void RunNodes(Worker& worker);
  void QueueSent(Worker& worker, size_t w);
  void EndWindow();
  uint64_t NetRandom(size_t i);
  void AtNet(int64_t t, std::function<void()> fn);
  void AtNode(int64_t t, size_t i, std::function<void(core::Core&)> call);
  void Dispatch(Event e);
  void RunOn(size_t i, const std::function<void(core::Core&)>& call);
  void Receive(core::Core& c, core::LinkId link, std::vector<uint8_t> message);
  void Resume(size_t i);
  std::unique_ptr<core::Core> MakeCore(size_t i, uint64_t incarnation, uint64_t sequence,
                                       uint64_t reserved);
  bool Reachable(size_t a, size_t b) const;
  void CutUnreachableLinks();
  int64_t DeliveryTime(LinkEnd& from);
  void ScheduleDown(core::LinkId id, int64_t t);
  void Connect(size_t a, uint64_t a_gen, uint64_t dial_id, size_t b, uint64_t b_gen,
               int64_t dial_start);
  void InspectSent(size_t i, const std::vector<uint8_t>& message);

  // Host calls, made by node i's Core.
  void HostSend(size_t i, core::LinkId link, std::vector<uint8_t> message);
  void HostDial(size_t i, uint64_t dial_id, const std::string& address);
  void HostClose(size_t i, core::LinkId link);
  void HostDeliver(size_t i, const core::Delivery& d);
  void HostMemberChanged(size_t i, const MemberInfo& m);
  void HostReserve(size_t i, uint64_t limit);
  void HostVerify(size_t i, core::VerifyJob job);
  std::shared_ptr<const core::MemberRecord> HostShareRecord(core::MemberRecord record);
  std::shared_ptr<const core::GossipEnvelope> HostShareEnvelope(core::GossipEnvelope env);
  static uint64_t ShareKey(std::span<const uint8_t> signature);

  SimOptions options_;
  int64_t now_ = 0;
  uint64_t next_held_seq_ = 0;  // events a resume releases: below all others
  uint64_t next_seq_ = uint64_t{1} << 62;
  bool in_hooks_ = false;                       // EndWindow is calling OnDeliver hooks
  std::vector<Event> net_queue_;                // network events: a min-heap on (time, seq)
  int64_t window_end_ = 0;                      // the window running ends before this
  std::vector<size_t> touched_;                 // nodes with events in the window, ascending
  Job job_ = Job::kRun;                         // what the workers do next
  std::atomic<size_t> next_to_run_{0};          // kRun: the next of touched_ to take
  uint64_t sent_in_window_ = 0;                 // events the window's nodes queued for later
  size_t last_touched_ = 0;                     // nodes the last window ran
  static constexpr size_t kParallelNodes = 64;  // fewer: one thread runs the window
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<WorkerPool> pool_;     // with more than one worker
  static thread_local Worker* current_;  // the worker running on this thread, if any
  std::shared_ptr<const SigningKey> ca_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, size_t> by_address_;
  struct IdHash {
    size_t operator()(const PublicKey& k) const {
      size_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  std::unordered_map<PublicKey, size_t, IdHash> by_id_;
  LinkTable links_;
  core::LinkId next_link_ = 1;
  bool partitioned_ = false;
  std::vector<int> group_;                       // per node, while partitioned
  std::set<std::pair<size_t, size_t>> blocked_;  // (lower, higher) index
  std::set<size_t> bridges_;
  std::vector<int64_t> slow_ms_;      // per node
  std::vector<uint64_t> dead_marks_;  // per node
  std::function<void(size_t, const core::Delivery&)> deliver_hook_;
  Tally tally_;
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_NETWORK_H_
