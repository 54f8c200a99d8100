// SimNetwork::Node: one simulated node's state (internal to sim_network.cc and sim_host.cc).
#ifndef MESHVAULT_TESTS_SIM_SIM_NODE_H_
#define MESHVAULT_TESTS_SIM_SIM_NODE_H_

#include "sim_network.h"

namespace mesh::sim {

struct SimNetwork::Node {
  std::string address;
  std::vector<std::string> join;
  std::shared_ptr<const SigningKey> key;
  Certificate cert;
  std::unique_ptr<SimHost> host;
  std::unique_ptr<core::Core> core;
  std::mt19937_64 rng;
  bool started = false;
  bool crashed = false;
  bool paused = false;
  int64_t pause_until = 0;
  uint64_t gen = 0;         // raised by Crash and Restart; older events are dropped
  std::vector<Event> held;  // events that arrived while paused, in order
  int64_t tick_at = -1;
  uint64_t tick_token = 0;
  uint64_t incarnation = 0;   // what this run started with (a real node stores it)
  uint64_t prev_max_seq = 0;  // the highest sequence earlier runs used
  std::set<std::pair<PublicKey, uint64_t>> verified;  // gossip ids checked in this run
  NodeStats stats;
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_NODE_H_
