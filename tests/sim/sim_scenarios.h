// Scenarios of the scale simulator (meshvault-sim and the `sim` tests): join through three
// seeds, broadcasts, mass failure, churn, partition and heal, pauses and slow nodes. Each
// runs the real mesh core on a SimNetwork and reports JSON objects, one per result; the
// returned flag says whether the scenario's acceptance checks held. Call from one thread (the
// network may run its windows on ScenarioOptions::threads workers).
#ifndef MESHVAULT_TESTS_SIM_SIM_SCENARIOS_H_
#define MESHVAULT_TESTS_SIM_SIM_SCENARIOS_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace mesh::sim {

struct ScenarioOptions {
  // join broadcast mass-failure churn partition-heal pause slow, or all: after one join,
  // broadcast, pause, partition-heal and mass-failure in turn
  std::string scenario = "join";
  size_t nodes = 200;
  uint64_t seed = 1;
  bool tree = true;        // Config::tree_broadcast (false: flooding)
  bool lhm = true;         // Config::lhm_max > 0 (Lifeguard local health)
  double fraction = 0.5;   // mass-failure: share crashed at once; pause/slow: share affected
  double churn = 0.01;     // churn: share of the nodes crashed (and as many restarted) per round
  int64_t rounds = 25;     // churn: rounds of churn
  size_t broadcasts = 10;  // measured broadcasts (after warm-up ones)
  int64_t join_spread_ms = 0;  // 0: 2 ms per node, at least 2 s
  int64_t latency_ms = 2;
  int64_t jitter_ms = 3;
  double loss = 0;
  int64_t slow_ms = 150;  // slow: extra delay per message to or from a slow node
  bool bridge = false;    // partition-heal: 1% of the nodes reach both sides
  int hop_limit = 0;      // 0: Config::gossip_hop_limit's default
  // mass-failure: a "memory" line every this many virtual ms from the crash to the first
  // broadcast after it (0: none)
  int64_t memory_trace_ms = 0;
  size_t threads = 1;  // SimOptions::threads: the same run, faster on more cores
};

using Emit = std::function<void(const nlohmann::json&)>;

// Runs o.scenario; emits result objects; true if its checks passed.
bool RunScenario(const ScenarioOptions& o, const Emit& emit);

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_SCENARIOS_H_
