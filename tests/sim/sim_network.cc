// SimNetwork: nodes, the link model and the simulated Host of each node (the event queues
// and windows are in sim_events.cc).
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

SimNetwork::SimNetwork(SimOptions options)
    : options_(std::move(options)), ca_(KeyFor(options_.seed, ~0ull)) {
  if (options_.latency_ms < 1) throw std::invalid_argument("sim: latency_ms must be at least 1");
  if (options_.jitter_ms < 0) throw std::invalid_argument("sim: jitter_ms cannot be negative");
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t w = 0; w < threads; ++w) workers_.push_back(std::make_unique<Worker>());
  if (threads > 1) {
    pool_ = std::make_unique<WorkerPool>(threads, [this](size_t w) { WorkerJob(w); });
  }
  if (options_.memo_signatures) SetSignatureMemoForTesting(true);
}

SimNetwork::~SimNetwork() {
  pool_.reset();
  if (options_.memo_signatures) SetSignatureMemoForTesting(false);
}

// SplitMix64 per sending node: its draws do not depend on what other nodes do meanwhile.
uint64_t SimNetwork::NetRandom(size_t i) { return Mix(N(i).net_random++); }

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
