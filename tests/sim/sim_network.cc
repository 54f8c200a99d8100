// SimNetwork: the event loop, the link model and the simulated Host of each node.
#include "sim_network.h"

#include <algorithm>
#include <stdexcept>

#include "core/messages.h"
#include "core/records.h"
#include "mesh/certificate.h"
#include "signature_memo.h"
#include "sim_node.h"
#include "sim_workers.h"

namespace mesh::sim {
namespace {

// SplitMix64: spreads (seed, index) into independent generator seeds.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t SeedFor(uint64_t seed, uint64_t index, uint64_t run) {
  return Mix(Mix(Mix(seed) ^ index) ^ run);
}

// A deterministic Ed25519 key from (seed, index).
std::shared_ptr<const SigningKey> KeyFor(uint64_t seed, uint64_t index) {
  std::mt19937_64 rng(SeedFor(seed, index, 0xC0FFEE));
  std::array<uint8_t, kSeedBytes> bytes{};
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return std::make_shared<const SigningKey>(SigningKey::FromSeed(bytes));
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string AsString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

bool Later(const auto& a, const auto& b) {
  return a.time > b.time || (a.time == b.time && a.seq > b.seq);
}

// The comparator of the event heaps (std::*_heap keep the greatest first: here the earliest).
struct Earlier {
  bool operator()(const auto& a, const auto& b) const { return Later(a, b); }
};

// Events a node makes for itself inside a window come after its queued ones at that time.
constexpr uint64_t kLocalSeq = uint64_t{1} << 63;

}  // namespace

// The Host of one node: every call goes to the network with the node's index.
class SimNetwork::SimHost : public core::Host {
 public:
  SimHost(SimNetwork* net, size_t i) : net_(net), i_(i) {}
  void Send(core::LinkId link, std::vector<uint8_t> message) override {
    net_->HostSend(i_, link, std::move(message));
  }
  void Dial(uint64_t dial_id, const std::string& address) override {
    net_->HostDial(i_, dial_id, address);
  }
  void Close(core::LinkId link) override { net_->HostClose(i_, link); }
  int64_t UnixMs() override { return kEpochMs + net_->Now(); }
  uint64_t Random() override { return net_->N(i_).rng(); }
  void Deliver(const core::Delivery& delivery) override { net_->HostDeliver(i_, delivery); }
  void Replied(uint64_t token, const Status& status, std::span<const uint8_t> payload) override {
    net_->N(i_).stats.replies.push_back({token, status, AsString(payload)});
  }
  void MemberChanged(const MemberInfo& member) override { net_->HostMemberChanged(i_, member); }
  void ReserveSequence(uint64_t limit) override { net_->HostReserve(i_, limit); }
  void PeerSeen(const core::MemberRecord&) override {}
  void PeerConnect(const PublicKey&, bool) override {}
  void PeerAddresses(const PublicKey&, uint64_t, uint64_t) override {}
  void VerifyGossip(core::VerifyJob job) override { net_->HostVerify(i_, std::move(job)); }
  std::shared_ptr<const core::MemberRecord> ShareRecord(core::MemberRecord record) override {
    return net_->HostShareRecord(std::move(record));
  }
  std::shared_ptr<const core::GossipEnvelope> ShareEnvelope(core::GossipEnvelope env) override {
    return net_->HostShareEnvelope(std::move(env));
  }

 private:
  SimNetwork* net_;
  size_t i_;
};

thread_local SimNetwork::Worker* SimNetwork::current_ = nullptr;

SimNetwork::SimNetwork(SimOptions options)
    : options_(std::move(options)), ca_(KeyFor(options_.seed, ~0ull)) {
  if (options_.latency_ms < 1) throw std::invalid_argument("sim: latency_ms must be at least 1");
  if (options_.jitter_ms < 0) throw std::invalid_argument("sim: jitter_ms cannot be negative");
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t w = 0; w < threads; ++w) workers_.push_back(std::make_unique<Worker>());
  if (threads > 1)
    pool_ = std::make_unique<WorkerPool>(threads, [this](size_t w) { WorkerJob(w); });
  if (options_.memo_signatures) SetSignatureMemoForTesting(true);
}

SimNetwork::~SimNetwork() {
  pool_.reset();
  if (options_.memo_signatures) SetSignatureMemoForTesting(false);
}

void SimNetwork::Tally::AddTo(Tally& sum) const {
  sum.messages_sent += messages_sent;
  sum.bytes_sent += bytes_sent;
  sum.event_gossip_sent += event_gossip_sent;
  sum.messages_dropped += messages_dropped;
  for (size_t k = 0; k < published.size(); ++k) sum.published[k] += published[k];
  for (size_t k = 0; k < claims_published.size(); ++k) {
    sum.claims_published[k] += claims_published[k];
  }
  for (size_t k = 0; k < sent_by_type.size(); ++k) sum.sent_by_type[k] += sent_by_type[k];
  sum.events_run += events_run;
}

int64_t SimNetwork::Now() const { return current_ != nullptr ? current_->now : now_; }

SimNetwork::Tally& SimNetwork::Counts() { return current_ != nullptr ? current_->tally : tally_; }

size_t SimNetwork::events_queued() const {
  size_t n = net_queue_.size();
  for (const auto& w : workers_) n += w->queue.size();
  return n;
}

// SplitMix64 per sending node: its draws do not depend on what other nodes do meanwhile.
uint64_t SimNetwork::NetRandom(size_t i) { return Mix(N(i).net_random++); }

// --- Event queue -------------------------------------------------------------------------

void SimNetwork::Push(Event e) {
  if (Worker* w = current_) {
    // Inside a window: a node's own events before its end join its queue; the rest wait for
    // the end of the window (a message takes at least the lookahead).
    e.time = std::max(e.time, w->now);
    Node& n = N(w->node);
    if (e.time >= window_end_) return n.outbox.push_back(std::move(e));
    if (e.node != static_cast<int64_t>(w->node)) {
      throw std::logic_error("sim: an event for another node inside the lookahead");
    }
    e.seq = kLocalSeq + w->local_seq++;
    n.window.push_back(std::move(e));
    std::push_heap(n.window.begin(), n.window.end(), Earlier());
    return;
  }
  if (in_hooks_) throw std::logic_error("sim: an OnDeliver hook may only observe");
  e.time = std::max(e.time, now_);
  e.seq = next_seq_++;
  auto& q = e.node < 0 ? net_queue_ : QueueOf(static_cast<size_t>(e.node));
  q.push_back(std::move(e));
  std::push_heap(q.begin(), q.end(), Earlier());
}

std::vector<SimNetwork::Event>& SimNetwork::QueueOf(size_t i) {
  return workers_[i % workers_.size()]->queue;
}

void SimNetwork::AtNet(int64_t t, std::function<void()> fn) {
  Event e;
  e.time = t;
  e.fn = std::move(fn);
  Push(std::move(e));
}

void SimNetwork::AtNode(int64_t t, size_t i, std::function<void(core::Core&)> call) {
  Event e;
  e.time = t;
  e.node = static_cast<int64_t>(i);
  e.gen = N(i).gen;
  e.call = std::move(call);
  Push(std::move(e));
}

void SimNetwork::Dispatch(Event e) {
  if (e.node < 0) {
    ++Counts().events_run;
    e.fn();
    return;
  }
  Node& n = N(static_cast<size_t>(e.node));
  if (n.crashed || e.gen != n.gen) return;
  if (n.paused) {
    n.held.push_back(std::move(e));
    return;
  }
  ++Counts().events_run;
  if (e.call) return RunOn(static_cast<size_t>(e.node), e.call);
  RunOn(static_cast<size_t>(e.node),
        [&](core::Core& c) { Receive(c, e.link, std::move(e.message)); });
}

void SimNetwork::Receive(core::Core& c, core::LinkId link, std::vector<uint8_t> message) {
  LinkEnd* p = links_.Find(link);
  if (p == nullptr || p->closed || p->down || p->cut) {
    ++Counts().messages_dropped;
    return;
  }
  c.OnMessage(Now(), link, std::move(message));
}

// One call into node i's Core, then its Tick timer follows Core::NextWakeup.
void SimNetwork::RunOn(size_t i, const std::function<void(core::Core&)>& call) {
  Node& n = N(i);
  call(*n.core);
  if (!n.started || n.crashed) return;
  const int64_t wake = n.core->NextWakeup();
  if (wake == n.tick_at) return;
  n.tick_at = wake;
  const uint64_t token = ++n.tick_token;
  AtNode(wake, i, [this, i, token](core::Core& c) {
    if (N(i).tick_token == token) c.Tick(Now());
  });
}

void SimNetwork::RunTo(int64_t t) {
  while (NextTime() <= t) RunWindow(t);
  now_ = std::max(now_, t);
}

int64_t SimNetwork::NextTime() const {
  int64_t next = net_queue_.empty() ? INT64_MAX : net_queue_.front().time;
  for (const auto& w : workers_) {
    if (!w->queue.empty()) next = std::min(next, w->queue.front().time);
  }
  return next;
}

// One window from the earliest event. The network events at its start run first, alone.
// Then each worker takes its nodes' events before the window's end (the lookahead, the next
// network event, t + 1); the workers run them node by node; then each queues what the
// window's nodes sent to its own nodes, numbered in node order.
void SimNetwork::RunWindow(int64_t t) {
  const int64_t start = NextTime();
  now_ = start;
  while (!net_queue_.empty() && net_queue_.front().time <= start) {
    std::pop_heap(net_queue_.begin(), net_queue_.end(), Earlier());
    Event e = std::move(net_queue_.back());
    net_queue_.pop_back();
    Dispatch(std::move(e));
  }
  window_end_ = std::min(start + options_.latency_ms, t + 1);
  if (!net_queue_.empty()) window_end_ = std::min(window_end_, net_queue_.front().time);
  window_end_ = std::max(window_end_, start + 1);
  RunJob(Job::kCollect, last_touched_);  // likely about as many as the last window
  for (const auto& w : workers_) {
    const size_t mid = touched_.size();
    touched_.insert(touched_.end(), w->touched.begin(), w->touched.end());
    std::inplace_merge(touched_.begin(), touched_.begin() + static_cast<ptrdiff_t>(mid),
                       touched_.end());
  }
  next_to_run_.store(0, std::memory_order_relaxed);
  RunJob(Job::kRun, touched_.size());
  RunJob(Job::kQueue, touched_.size());
  EndWindow();
}

// For a window of few nodes the calling thread does every worker's part in turn: the same
// run, without the handoffs.
void SimNetwork::RunJob(Job job, size_t nodes) {
  job_ = job;
  if (pool_ && nodes >= kParallelNodes) return pool_->Run();
  for (size_t w = 0; w < workers_.size(); ++w) WorkerJob(w);
}

void SimNetwork::WorkerJob(size_t w) {
  Worker& worker = *workers_[w];
  struct Current {  // set while the job runs, even if it throws
    explicit Current(Worker* w) { current_ = w; }
    ~Current() { current_ = nullptr; }
    Current(const Current&) = delete;
    Current& operator=(const Current&) = delete;
  } running(&worker);
  switch (job_) {
    case Job::kCollect:
      Collect(worker);
      break;
    case Job::kRun:
      RunNodes(worker);
      break;
    case Job::kQueue:
      QueueSent(worker, w);
      break;
  }
}

// The worker's events before the window's end, into their nodes' queues.
void SimNetwork::Collect(Worker& worker) {
  worker.touched.clear();
  while (!worker.queue.empty() && worker.queue.front().time < window_end_) {
    std::pop_heap(worker.queue.begin(), worker.queue.end(), Earlier());
    Event e = std::move(worker.queue.back());
    worker.queue.pop_back();
    Node& n = N(static_cast<size_t>(e.node));
    if (n.window.empty()) worker.touched.push_back(static_cast<size_t>(e.node));
    n.window.push_back(std::move(e));  // popped in order: already a heap
  }
  std::sort(worker.touched.begin(), worker.touched.end());
}

// The window's nodes, each taken by whichever worker is free (a node's events do not depend
// on which worker runs them), each node's events in order.
void SimNetwork::RunNodes(Worker& worker) {
  for (;;) {
    const size_t k = next_to_run_.fetch_add(1, std::memory_order_relaxed);
    if (k >= touched_.size()) break;
    const size_t i = touched_[k];
    worker.node = i;
    worker.local_seq = 0;
    std::vector<Event>& q = N(i).window;
    while (!q.empty()) {
      std::pop_heap(q.begin(), q.end(), Earlier());
      Event e = std::move(q.back());
      q.pop_back();
      worker.now = e.time;
      Dispatch(std::move(e));
    }
  }
}

// Every worker walks all the window's sent events in node order and numbers them alike;
// each takes those for its own nodes (worker 0 the network's). Only `node` of the others'
// is read.
void SimNetwork::QueueSent(Worker& worker, size_t w) {
  uint64_t seq = next_seq_;
  for (size_t i : touched_) {
    for (Event& e : N(i).outbox) {
      const size_t owner = e.node < 0 ? 0 : static_cast<size_t>(e.node) % workers_.size();
      if (owner == w) {
        e.seq = seq;
        auto& q = e.node < 0 ? net_queue_ : worker.queue;
        q.push_back(std::move(e));
        std::push_heap(q.begin(), q.end(), Earlier());
      }
      ++seq;
    }
  }
  if (w == 0) sent_in_window_ = seq - next_seq_;
}

// After a window, in node order: ends down at both sides are dropped, and the false failures
// and hook deliveries are recorded.
void SimNetwork::EndWindow() {
  next_seq_ += sent_in_window_;
  for (const auto& w : workers_) {
    w->tally.AddTo(tally_);
    w->tally = Tally{};
  }
  for (size_t i : touched_) {
    Node& n = N(i);
    n.outbox.clear();
    for (core::LinkId id : n.went_down) {
      LinkEnd* end = links_.Find(id);
      if (end == nullptr) continue;
      LinkEnd* peer = links_.Find(end->peer);
      if (peer != nullptr && peer->down) {
        links_.Erase(end->peer);
        links_.Erase(id);
      }
    }
    n.went_down.clear();
    for (size_t j : n.false_marks) {
      if (dead_marks_.size() <= j) dead_marks_.resize(nodes_.size(), 0);
      ++dead_marks_[j];
    }
    n.false_marks.clear();
    in_hooks_ = true;
    for (Node::Heard& h : n.heard) {
      now_ = h.time;  // what the hook sees as the delivery time
      h.delivery.payload = std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(h.payload.data()), h.payload.size());
      if (deliver_hook_) deliver_hook_(i, h.delivery);
    }
    in_hooks_ = false;
    n.heard.clear();
  }
  last_touched_ = touched_.size();
  touched_.clear();
  now_ = window_end_ - 1;
}

bool SimNetwork::RunUntil(const std::function<bool()>& done, int64_t deadline) {
  if (done()) return true;
  while (now_ < deadline) {
    RunTo(std::min(deadline, now_ + options_.check_interval_ms));
    if (done()) return true;
  }
  return false;
}

// --- Nodes -------------------------------------------------------------------------------

size_t SimNetwork::AddNode(std::vector<std::string> join) {
  const size_t i = nodes_.size();
  auto node = std::make_unique<Node>();
  node->address = "sim-" + std::to_string(i) + ":1";
  node->join = std::move(join);
  node->key = KeyFor(options_.seed, i);
  const int64_t epoch_s = kEpochMs / 1000;
  node->cert = IssueCertificate(*ca_, Role::kNode, "node-" + std::to_string(i),
                                node->key->public_key(), epoch_s - 3600, epoch_s + 30 * 86400);
  node->rng.seed(SeedFor(options_.seed, i, 0));
  node->net_random = SeedFor(options_.seed, i, 0x4E4E);
  node->host = std::make_unique<SimHost>(this, i);
  // As mesh::Node starts without a store: from the clock, in ms (sequences in µs).
  const uint64_t now_ms = static_cast<uint64_t>(kEpochMs + Now());
  node->incarnation = now_ms;
  by_address_[node->address] = i;
  by_id_[node->key->public_key()] = i;
  nodes_.push_back(std::move(node));
  nodes_.back()->core = MakeCore(i, now_ms, now_ms * 1000, now_ms * 1000);
  return i;
}

std::unique_ptr<core::Core> SimNetwork::MakeCore(size_t i, uint64_t incarnation, uint64_t sequence,
                                                 uint64_t reserved) {
  Node& n = N(i);
  Config config = options_.config;
  config.key = n.key;
  config.certificate = n.cert;
  config.ca_key = ca_->public_key();
  config.listen = n.address;
  config.advertise = n.address;
  config.join = n.join;
  return std::make_unique<core::Core>(config, n.host.get(), n.address, incarnation, sequence,
                                      reserved);
}

void SimNetwork::Start(size_t i) {
  Node& n = N(i);
  if (n.started || n.crashed) throw std::logic_error("Start: node is running or crashed");
  n.started = true;
  RunOn(i, [&](core::Core& c) { c.Start(Now(), n.join); });
}

void SimNetwork::Leave(size_t i) {
  if (!Running(i) || N(i).paused) throw std::logic_error("Leave: node is not running");
  RunOn(i, [&](core::Core& c) { c.Leave(Now()); });
}

void SimNetwork::Crash(size_t i) {
  Node& n = N(i);
  if (n.crashed) return;
  n.crashed = true;
  n.paused = false;
  n.held.clear();
  ++n.gen;
  n.prev_max_seq = std::max(n.prev_max_seq, n.stats.max_seq_used);
  links_.ForEach([&](core::LinkId, LinkEnd& end) {
    if (end.node != i || end.down) return;
    end.down = true;
    LinkEnd& peer = links_.at(end.peer);
    // The peer's kernel answers its next segment with a reset; none crosses a partition
    // (that end goes down with the partition's idle timeout instead).
    if (peer.node != i && !peer.down && !peer.cut)
      ScheduleDown(end.peer, Now() + options_.latency_ms);
  });
}

void SimNetwork::Restart(size_t i, std::vector<std::string> bootstrap,
                         std::optional<uint64_t> incarnation) {
  Node& n = N(i);
  if (!n.crashed) throw std::logic_error("Restart: node is not crashed");
  n.crashed = false;
  n.started = false;
  ++n.gen;
  ++n.stats.restarts;
  n.tick_at = -1;
  n.rng.seed(SeedFor(options_.seed, i, n.stats.restarts));
  // As mesh::Node derives them: the stored incarnation and reservation, and the clock.
  const uint64_t now_ms = static_cast<uint64_t>(kEpochMs + Now());
  n.incarnation = std::max(n.incarnation + 1, now_ms);
  if (incarnation) n.incarnation = *incarnation;
  const uint64_t sequence = std::max(n.stats.reserved, now_ms * 1000);
  n.join = std::move(bootstrap);
  n.stats.view_state.assign(n.stats.view_state.size(), -1);  // a new run starts empty
  n.stats.view_incarnation.assign(n.stats.view_incarnation.size(), 0);
  n.verified.clear();  // and an empty seen cache
  n.stats.state_counts = {};
  n.core = MakeCore(i, n.incarnation, sequence, sequence);
  Start(i);
}

void SimNetwork::Pause(size_t i, int64_t ms) {
  Node& n = N(i);
  if (!Running(i)) throw std::logic_error("Pause: node is not running");
  n.paused = true;
  n.pause_until = std::max(n.pause_until, Now() + ms);
  const uint64_t gen = n.gen;
  AtNet(Now() + ms, [this, i, gen] {
    if (N(i).gen == gen) Resume(i);
  });
}

void SimNetwork::Resume(size_t i) {
  Node& n = N(i);
  if (!n.paused || now_ < n.pause_until) return;
  n.paused = false;
  // A network event, so it starts a window: the held events run in it, at this time, in
  // the order they arrived and ahead of everything else at this time (their sequences come
  // from a range below all others).
  auto& q = QueueOf(i);
  for (Event& e : n.held) {
    e.time = now_;
    e.seq = next_held_seq_++;
    q.push_back(std::move(e));
    std::push_heap(q.begin(), q.end(), Earlier());
  }
  n.held.clear();
}

void SimNetwork::Partition(const std::vector<std::vector<size_t>>& groups) {
  group_.assign(nodes_.size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t i : groups[g]) group_.at(i) = static_cast<int>(g);
  }
  partitioned_ = true;
  CutUnreachableLinks();
}

void SimNetwork::Heal() { partitioned_ = false; }

void SimNetwork::Block(size_t a, size_t b) {
  blocked_.insert({std::min(a, b), std::max(a, b)});
  CutUnreachableLinks();
}

void SimNetwork::Unblock(size_t a, size_t b) { blocked_.erase({std::min(a, b), std::max(a, b)}); }

void SimNetwork::SetBridges(std::vector<size_t> bridges) {
  bridges_ = std::set<size_t>(bridges.begin(), bridges.end());
}

void SimNetwork::SetSlow(size_t i, int64_t ms) {
  if (ms < 0) throw std::invalid_argument("SetSlow: a delay cannot be negative");
  if (slow_ms_.size() <= i) slow_ms_.resize(nodes_.size(), 0);
  slow_ms_[i] = ms;
}

void SimNetwork::CutUnreachableLinks() {
  std::vector<core::LinkId> cut;
  links_.ForEach([&](core::LinkId id, LinkEnd& end) {
    if (end.down || end.cut || Reachable(end.node, links_.at(end.peer).node)) return;
    end.cut = true;
    cut.push_back(id);
  });
  // Nothing crosses any more: both ends notice when their idle timeout passes.
  AtNet(Now() + options_.config.idle_timeout.count(), [this, cut] {
    for (core::LinkId id : cut) {
      LinkEnd* end = links_.Find(id);
      if (end != nullptr && !end->down) ScheduleDown(id, Now());
    }
  });
}

bool SimNetwork::Reachable(size_t a, size_t b) const {
  if (blocked_.count({std::min(a, b), std::max(a, b)}) > 0) return false;
  if (!partitioned_ || bridges_.count(a) > 0 || bridges_.count(b) > 0) return true;
  auto group = [&](size_t i) { return i < group_.size() ? group_[i] : 0; };
  return group(a) == group(b);
}

// --- Links -------------------------------------------------------------------------------

int64_t SimNetwork::DeliveryTime(LinkEnd& from) {
  int64_t t = Now() + options_.latency_ms;
  if (!slow_ms_.empty()) {
    const size_t to = links_.at(from.peer).node;
    if (from.node < slow_ms_.size()) t += slow_ms_[from.node];
    if (to < slow_ms_.size()) t += slow_ms_[to];
  }
  if (options_.jitter_ms > 0) {
    t += static_cast<int64_t>(NetRandom(from.node) % static_cast<uint64_t>(options_.jitter_ms + 1));
  }
  if (options_.loss > 0) {
    while (static_cast<double>(NetRandom(from.node) >> 11) * 0x1.0p-53 < options_.loss) {
      t += options_.retransmit_ms;
    }
  }
  t = std::max(t, from.last_delivery);  // TCP: in order behind what is in flight
  from.last_delivery = t;
  return t;
}

void SimNetwork::ScheduleDown(core::LinkId id, int64_t t) {
  AtNode(t, links_.at(id).node, [this, id](core::Core& c) {
    LinkEnd* end = links_.Find(id);
    if (end == nullptr || end->down) return;
    end->down = true;
    c.OnLinkDown(Now(), id);
    N(end->node).went_down.push_back(id);  // dropped after the window if both ends are down
  });
}

void SimNetwork::HostSend(size_t i, core::LinkId link, std::vector<uint8_t> message) {
  Node& n = N(i);
  ++n.stats.messages_sent;
  n.stats.bytes_sent += message.size();
  Tally& counts = Counts();
  ++counts.messages_sent;
  counts.bytes_sent += message.size();
  InspectSent(i, message);
  LinkEnd* found = links_.Find(link);
  if (found == nullptr || found->node != i || found->closed || found->down) {
    ++n.stats.sends_on_closed_link;
    ++counts.messages_dropped;
    return;
  }
  LinkEnd& end = *found;
  if (end.cut) {
    ++counts.messages_dropped;
    return;
  }
  const core::LinkId to = end.peer;
  const int64_t t = DeliveryTime(end);
  Event e;
  e.time = t;
  e.node = static_cast<int64_t>(links_.at(to).node);
  e.gen = N(links_.at(to).node).gen;
  e.link = to;
  e.message = std::move(message);
  Push(std::move(e));
}

void SimNetwork::HostDial(size_t i, uint64_t dial_id, const std::string& address) {
  ++N(i).stats.dials;
  auto fail_at = [&](int64_t t) {
    AtNode(t, i, [this, dial_id](core::Core& c) { c.OnDialFailed(Now(), dial_id); });
  };
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return fail_at(Now() + options_.latency_ms);
  const size_t b = it->second;
  const Node& target = N(b);
  // Nothing listens: refused. Silent (paused or cut off): the handshake times out.
  if (!target.started || target.crashed) return fail_at(Now() + options_.latency_ms);
  if (target.paused || !Reachable(i, b)) {
    return fail_at(Now() + options_.config.handshake_timeout.count());
  }
  const uint64_t a_gen = N(i).gen;
  const uint64_t b_gen = target.gen;
  const int64_t start = Now();
  int64_t rtt = 2 * options_.latency_ms;
  if (options_.jitter_ms > 0) {
    rtt += static_cast<int64_t>(NetRandom(i) % static_cast<uint64_t>(options_.jitter_ms + 1));
  }
  AtNet(Now() + rtt, [=, this] { Connect(i, a_gen, dial_id, b, b_gen, start); });
}

// The handshake finished: both ends exist; the target hears of it first, then the dialer.
void SimNetwork::Connect(size_t a, uint64_t a_gen, uint64_t dial_id, size_t b, uint64_t b_gen,
                         int64_t dial_start) {
  Node& na = N(a);
  Node& nb = N(b);
  if (na.crashed || na.gen != a_gen) return;
  auto fail_at = [&](int64_t t) {
    AtNode(t, a, [this, dial_id](core::Core& c) { c.OnDialFailed(Now(), dial_id); });
  };
  if (nb.crashed || nb.gen != b_gen) return fail_at(Now());
  if (nb.paused || !Reachable(a, b)) {
    return fail_at(dial_start + options_.config.handshake_timeout.count());
  }
  const core::LinkId la = next_link_++;
  const core::LinkId lb = next_link_++;
  links_.Put(la, LinkEnd{a, a_gen, lb});
  links_.Put(lb, LinkEnd{b, b_gen, la});
  const Certificate cert_a = na.cert;
  const Certificate cert_b = nb.cert;
  AtNode(Now(), b, [this, lb, cert_a](core::Core& c) { c.OnLinkUp(Now(), lb, cert_a, 0); });
  AtNode(Now(), a,
         [this, la, cert_b, dial_id](core::Core& c) { c.OnLinkUp(Now(), la, cert_b, dial_id); });
}

void SimNetwork::HostClose(size_t i, core::LinkId link) {
  LinkEnd* found = links_.Find(link);
  if (found == nullptr || found->node != i || found->closed || found->down) return;
  LinkEnd& end = *found;
  end.closed = true;
  ScheduleDown(link, Now());  // right after the current call
  // The remote end sees the close behind the messages already in flight (FIFO), unless it
  // went down first (the event then does nothing; its state belongs to its own node, which
  // may be running); across a partition it waits for its idle timeout.
  if (!end.cut) ScheduleDown(end.peer, DeliveryTime(end));
}

// --- Application -------------------------------------------------------------------------

Status SimNetwork::Broadcast(size_t i, std::string_view event, std::string_view payload) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) { s = c.Broadcast(Now(), event, AsBytes(payload)); });
  return s;
}

Status SimNetwork::SendDirect(size_t i, size_t to, std::string_view event,
                              std::string_view payload) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) { s = c.SendDirect(Now(), Id(to), event, AsBytes(payload)); });
  return s;
}

Status SimNetwork::Request(size_t i, size_t to, std::string_view event, std::string_view payload,
                           int64_t timeout_ms, uint64_t token) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) {
    s = c.Request(Now(), Id(to), event, AsBytes(payload), timeout_ms, token);
  });
  return s;
}

// --- Inspection --------------------------------------------------------------------------

std::string SimNetwork::Address(size_t i) const { return N(i).address; }
const PublicKey& SimNetwork::Id(size_t i) const { return N(i).key->public_key(); }
core::Core& SimNetwork::CoreOf(size_t i) { return *N(i).core; }
const NodeStats& SimNetwork::Stats(size_t i) const { return N(i).stats; }
bool SimNetwork::Running(size_t i) const { return N(i).started && !N(i).crashed; }
bool SimNetwork::Crashed(size_t i) const { return N(i).crashed; }

std::optional<MemberState> SimNetwork::StateAt(size_t i, size_t j) const {
  if (i == j) return N(i).core->Self().state;
  const auto& view = N(i).stats.view_state;
  if (j >= view.size() || view[j] < 0) return std::nullopt;
  return static_cast<MemberState>(view[j]);
}

uint64_t SimNetwork::IncarnationAt(size_t i, size_t j) const {
  if (i == j) return N(i).core->Self().incarnation;
  const auto& view = N(i).stats.view_incarnation;
  return j < view.size() ? view[j] : 0;
}

uint64_t SimNetwork::false_dead() const {
  uint64_t sum = 0;
  for (const auto& n : nodes_) sum += n->stats.false_dead;
  return sum;
}

uint64_t SimNetwork::CounterSum(const std::string& name) const {
  uint64_t sum = 0;
  for (const auto& n : nodes_) sum += n->core->counter(name);
  return sum;
}

std::map<std::string, uint64_t> SimNetwork::CounterTotals() const {
  std::map<std::string, uint64_t> out;
  for (const auto& n : nodes_) {
    for (const auto& [name, v] : n->core->counters()) out[name] += v;
  }
  return out;
}

}  // namespace mesh::sim
