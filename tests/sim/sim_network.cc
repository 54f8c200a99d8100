// SimNetwork: the event loop, the link model and the simulated Host of each node.
#include "sim_network.h"

#include <algorithm>
#include <stdexcept>

#include "core/messages.h"
#include "core/records.h"
#include "mesh/certificate.h"
#include "signature_memo.h"
#include "sim_node.h"

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
  int64_t UnixMs() override { return kEpochMs + net_->now_; }
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

SimNetwork::SimNetwork(SimOptions options)
    : options_(std::move(options)),
      net_rng_(SeedFor(options_.seed, ~0ull, 1)),
      ca_(KeyFor(options_.seed, ~0ull)) {
  if (options_.memo_signatures) SetSignatureMemoForTesting(true);
}

SimNetwork::~SimNetwork() {
  if (options_.memo_signatures) SetSignatureMemoForTesting(false);
}

// --- Event queue -------------------------------------------------------------------------

void SimNetwork::Push(Event e) {
  e.time = std::max(e.time, now_);
  e.seq = next_seq_++;
  queue_.push_back(std::move(e));
  std::push_heap(queue_.begin(), queue_.end(), [](auto& a, auto& b) { return Later(a, b); });
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
    ++events_run_;
    e.fn();
    return;
  }
  Node& n = N(static_cast<size_t>(e.node));
  if (n.crashed || e.gen != n.gen) return;
  if (n.paused) {
    n.held.push_back(std::move(e));
    return;
  }
  ++events_run_;
  if (e.call) return RunOn(static_cast<size_t>(e.node), e.call);
  RunOn(static_cast<size_t>(e.node),
        [&](core::Core& c) { Receive(c, e.link, std::move(e.message)); });
}

void SimNetwork::Receive(core::Core& c, core::LinkId link, std::vector<uint8_t> message) {
  LinkEnd* p = links_.Find(link);
  if (p == nullptr || p->closed || p->down || p->cut) {
    ++messages_dropped_;
    return;
  }
  c.OnMessage(now_, link, std::move(message));
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
    if (N(i).tick_token == token) c.Tick(now_);
  });
}

void SimNetwork::RunTo(int64_t t) {
  while (!queue_.empty() && queue_.front().time <= t) {
    std::pop_heap(queue_.begin(), queue_.end(), [](auto& a, auto& b) { return Later(a, b); });
    Event e = std::move(queue_.back());
    queue_.pop_back();
    now_ = e.time;
    Dispatch(std::move(e));
  }
  now_ = std::max(now_, t);
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
  node->host = std::make_unique<SimHost>(this, i);
  // As mesh::Node starts without a store: from the clock, in ms (sequences in µs).
  const uint64_t now_ms = static_cast<uint64_t>(kEpochMs + now_);
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
  RunOn(i, [&](core::Core& c) { c.Start(now_, n.join); });
}

void SimNetwork::Leave(size_t i) {
  if (!Running(i) || N(i).paused) throw std::logic_error("Leave: node is not running");
  RunOn(i, [&](core::Core& c) { c.Leave(now_); });
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
      ScheduleDown(end.peer, now_ + options_.latency_ms);
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
  const uint64_t now_ms = static_cast<uint64_t>(kEpochMs + now_);
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
  n.pause_until = std::max(n.pause_until, now_ + ms);
  const uint64_t gen = n.gen;
  AtNet(now_ + ms, [this, i, gen] {
    if (N(i).gen == gen) Resume(i);
  });
}

void SimNetwork::Resume(size_t i) {
  Node& n = N(i);
  if (!n.paused || now_ < n.pause_until) return;
  n.paused = false;
  std::vector<Event> held = std::move(n.held);
  n.held.clear();
  for (Event& e : held) Dispatch(std::move(e));
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
  AtNet(now_ + options_.config.idle_timeout.count(), [this, cut] {
    for (core::LinkId id : cut) {
      LinkEnd* end = links_.Find(id);
      if (end != nullptr && !end->down) ScheduleDown(id, now_);
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
  int64_t t = now_ + options_.latency_ms;
  if (!slow_ms_.empty()) {
    const size_t to = links_.at(from.peer).node;
    if (from.node < slow_ms_.size()) t += slow_ms_[from.node];
    if (to < slow_ms_.size()) t += slow_ms_[to];
  }
  if (options_.jitter_ms > 0) {
    t += static_cast<int64_t>(net_rng_() % static_cast<uint64_t>(options_.jitter_ms + 1));
  }
  if (options_.loss > 0) {
    while (static_cast<double>(net_rng_() >> 11) * 0x1.0p-53 < options_.loss) {
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
    const core::LinkId peer = end->peer;
    c.OnLinkDown(now_, id);
    LinkEnd* p = links_.Find(peer);
    if (p != nullptr && p->down) {
      links_.Erase(peer);
      links_.Erase(id);
    }
  });
}

void SimNetwork::HostSend(size_t i, core::LinkId link, std::vector<uint8_t> message) {
  Node& n = N(i);
  ++n.stats.messages_sent;
  n.stats.bytes_sent += message.size();
  ++messages_sent_;
  bytes_sent_ += message.size();
  InspectSent(i, message);
  LinkEnd* found = links_.Find(link);
  if (found == nullptr || found->node != i || found->closed || found->down) {
    ++n.stats.sends_on_closed_link;
    ++messages_dropped_;
    return;
  }
  LinkEnd& end = *found;
  if (end.cut) {
    ++messages_dropped_;
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
    AtNode(t, i, [this, dial_id](core::Core& c) { c.OnDialFailed(now_, dial_id); });
  };
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return fail_at(now_ + options_.latency_ms);
  const size_t b = it->second;
  const Node& target = N(b);
  // Nothing listens: refused. Silent (paused or cut off): the handshake times out.
  if (!target.started || target.crashed) return fail_at(now_ + options_.latency_ms);
  if (target.paused || !Reachable(i, b)) {
    return fail_at(now_ + options_.config.handshake_timeout.count());
  }
  const uint64_t a_gen = N(i).gen;
  const uint64_t b_gen = target.gen;
  const int64_t start = now_;
  int64_t rtt = 2 * options_.latency_ms;
  if (options_.jitter_ms > 0) {
    rtt += static_cast<int64_t>(net_rng_() % static_cast<uint64_t>(options_.jitter_ms + 1));
  }
  AtNet(now_ + rtt, [=, this] { Connect(i, a_gen, dial_id, b, b_gen, start); });
}

// The handshake finished: both ends exist; the target hears of it first, then the dialer.
void SimNetwork::Connect(size_t a, uint64_t a_gen, uint64_t dial_id, size_t b, uint64_t b_gen,
                         int64_t dial_start) {
  Node& na = N(a);
  Node& nb = N(b);
  if (na.crashed || na.gen != a_gen) return;
  auto fail_at = [&](int64_t t) {
    AtNode(t, a, [this, dial_id](core::Core& c) { c.OnDialFailed(now_, dial_id); });
  };
  if (nb.crashed || nb.gen != b_gen) return fail_at(now_);
  if (nb.paused || !Reachable(a, b)) {
    return fail_at(dial_start + options_.config.handshake_timeout.count());
  }
  const core::LinkId la = next_link_++;
  const core::LinkId lb = next_link_++;
  links_.Put(la, LinkEnd{a, a_gen, lb});
  links_.Put(lb, LinkEnd{b, b_gen, la});
  const Certificate cert_a = na.cert;
  const Certificate cert_b = nb.cert;
  AtNode(now_, b, [this, lb, cert_a](core::Core& c) { c.OnLinkUp(now_, lb, cert_a, 0); });
  AtNode(now_, a,
         [this, la, cert_b, dial_id](core::Core& c) { c.OnLinkUp(now_, la, cert_b, dial_id); });
}

void SimNetwork::HostClose(size_t i, core::LinkId link) {
  LinkEnd* found = links_.Find(link);
  if (found == nullptr || found->node != i || found->closed || found->down) return;
  LinkEnd& end = *found;
  end.closed = true;
  ScheduleDown(link, now_);  // right after the current call
  LinkEnd& peer = links_.at(end.peer);
  // The remote end sees the close behind the messages already in flight (FIFO); across a
  // partition it waits for its idle timeout.
  if (!peer.down && !end.cut) ScheduleDown(end.peer, DeliveryTime(end));
}

// --- Application -------------------------------------------------------------------------

Status SimNetwork::Broadcast(size_t i, std::string_view event, std::string_view payload) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) { s = c.Broadcast(now_, event, AsBytes(payload)); });
  return s;
}

Status SimNetwork::SendDirect(size_t i, size_t to, std::string_view event,
                              std::string_view payload) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) { s = c.SendDirect(now_, Id(to), event, AsBytes(payload)); });
  return s;
}

Status SimNetwork::Request(size_t i, size_t to, std::string_view event, std::string_view payload,
                           int64_t timeout_ms, uint64_t token) {
  if (!Running(i) || N(i).paused) return Status::Unavailable("node is not running");
  Status s;
  RunOn(i, [&](core::Core& c) {
    s = c.Request(now_, Id(to), event, AsBytes(payload), timeout_ms, token);
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
