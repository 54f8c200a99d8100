// SimNetwork::Node: one simulated node's state (internal to sim_network.cc and sim_host.cc).
#ifndef MESHVAULT_TESTS_SIM_SIM_NODE_H_
#define MESHVAULT_TESTS_SIM_SIM_NODE_H_

#include "sim_network.h"

namespace mesh::sim {

struct SimNetwork::Node {
  // Read by the workers of other nodes (sends, dials, member changes), written only between
  // windows: a cache line of their own, apart from what this node's worker writes.
  alignas(64) bool started = false;
  bool crashed = false;
  bool paused = false;
  int64_t pause_until = 0;
  uint64_t gen = 0;  // raised by Crash and Restart; older events are dropped
  alignas(64) std::string address;
  std::vector<std::string> join;
  std::shared_ptr<const SigningKey> key;
  Certificate cert;
  std::unique_ptr<SimHost> host;
  std::unique_ptr<core::Core> core;
  std::mt19937_64 rng;
  std::vector<Event> held;  // events that arrived while paused, in order
  int64_t tick_at = -1;
  uint64_t tick_token = 0;
  uint64_t incarnation = 0;   // what this run started with (a real node stores it)
  uint64_t prev_max_seq = 0;  // the highest sequence earlier runs used
  std::set<std::pair<PublicKey, uint64_t>> verified;  // gossip ids checked in this run
  NodeStats stats;
  uint64_t net_random = 0;  // SplitMix64 state: jitter and loss of what this node sends
  // The window running (RunWindow): this node's events in it (a min-heap on (time, seq)),
  // and what its events left for after it: events for later, link ends that went down,
  // members it marked failed while they ran, broadcasts delivered for the hook.
  std::vector<Event> window;
  std::vector<Event> outbox;
  std::vector<core::LinkId> went_down;
  std::vector<size_t> false_marks;
  struct Heard {
    int64_t time;
    core::Delivery delivery;
    std::string payload;
  };
  std::vector<Heard> heard;
};

// A worker: the queue of nodes i with i % workers == w (any worker runs any node's window),
// its clock, the node it runs, what it counted, and the decoded records and envelopes shared
// by the nodes it runs (a table per worker: no locks).
struct alignas(64) SimNetwork::Worker {
  std::vector<Event> queue;     // its nodes' events: a min-heap on (time, seq)
  std::vector<size_t> touched;  // its nodes with events in the window running
  int64_t now = 0;
  size_t node = 0;
  uint64_t local_seq = 0;  // orders events a node makes for itself inside the window
  Tally tally;
  std::unordered_map<uint64_t, std::shared_ptr<const core::MemberRecord>> records;
  std::unordered_map<uint64_t, std::weak_ptr<const core::GossipEnvelope>> envelopes;
  size_t envelopes_swept = 1024;
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_NODE_H_
