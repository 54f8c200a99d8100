// meshvault-sim: runs the real mesh core with N simulated nodes under a virtual clock and
// prints one JSON object per result line (docs/performance.md, "Simulator").
//   meshvault-sim --nodes 10000 --seed 1 --scenario join|broadcast|mass-failure|churn|
//                 partition-heal|pause|slow|all [--fraction F] [--churn F] [--rounds R]
//                 [--broadcasts K] [--spread MS] [--latency MS] [--jitter MS] [--loss P]
//                 [--slow-ms MS] [--bridge] [--flood] [--no-lhm] [--hop-limit H]
//                 [--memory-trace MS] [--threads T]
// Exit status: 0 if the scenario's checks held, 1 if not, 2 for bad arguments.
#include <cstdlib>
#include <iostream>
#include <string>

#include "sim_scenarios.h"

namespace {

int Usage(const std::string& why) {
  std::cerr << "meshvault-sim: " << why
            << "\nusage: meshvault-sim --nodes N --seed S --scenario NAME [options]; see "
               "docs/performance.md\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mesh::sim::ScenarioOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--nodes") {
        o.nodes = std::stoul(value());
      } else if (a == "--seed") {
        o.seed = std::stoull(value());
      } else if (a == "--scenario") {
        o.scenario = value();
      } else if (a == "--fraction") {
        o.fraction = std::stod(value());
      } else if (a == "--churn") {
        o.churn = std::stod(value());
      } else if (a == "--rounds") {
        o.rounds = std::stoll(value());
      } else if (a == "--broadcasts") {
        o.broadcasts = std::stoul(value());
      } else if (a == "--spread") {
        o.join_spread_ms = std::stoll(value());
      } else if (a == "--latency") {
        o.latency_ms = std::stoll(value());
      } else if (a == "--jitter") {
        o.jitter_ms = std::stoll(value());
      } else if (a == "--loss") {
        o.loss = std::stod(value());
      } else if (a == "--slow-ms") {
        o.slow_ms = std::stoll(value());
      } else if (a == "--hop-limit") {
        o.hop_limit = std::stoi(value());
      } else if (a == "--threads") {
        o.threads = std::stoul(value());
      } else if (a == "--memory-trace") {
        o.memory_trace_ms = std::stoll(value());
      } else if (a == "--bridge") {
        o.bridge = true;
      } else if (a == "--flood") {
        o.tree = false;
      } else if (a == "--no-lhm") {
        o.lhm = false;
      } else {
        return Usage("unknown argument " + a);
      }
    } catch (const std::exception& e) {
      return Usage("bad value for " + a + ": " + e.what());
    }
  }
  if (o.nodes < 4) return Usage("--nodes must be at least 4");
  if (o.latency_ms < 1) return Usage("--latency must be at least 1 (ms)");
  if (o.jitter_ms < 0 || o.slow_ms < 0) return Usage("--jitter and --slow-ms cannot be negative");
  if (o.threads < 1 || o.threads > 64) return Usage("--threads must be 1 to 64");
  const bool ok =
      mesh::sim::RunScenario(o, [](const nlohmann::json& line) { std::cout << line << std::endl; });
  return ok ? 0 : 1;
}
