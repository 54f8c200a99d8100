// The compose topology of docker/docker-compose.yml run natively, for CI that has no Docker
// engine: one network namespace per node service (tests/ops/netns.sh), docker/entrypoint.sh
// `init` once, then `entrypoint.sh node` in each namespace with the compose file's node
// environment, and the vault CLI through `entrypoint.sh` as the compose `cli` service runs
// it. Waits are on conditions with deadlines. Everything (agents, namespaces, hosts files,
// the temporary directory) is removed by the destructor, also when a REQUIRE fails. Agents
// die with the test process (PR_SET_PDEATHSIG); namespaces and directories left by a killed
// test process are removed by the next run (netns.sh reap-stale).
#ifndef TESTS_OPS_NETNS_CLUSTER_H_
#define TESTS_OPS_NETNS_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "process.h"

namespace ops_test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// CTest's skip code for these tests (SKIP_RETURN_CODE).
inline constexpr int kSkipExitCode = 77;

// Exits the test process with kSkipExitCode, after printing why, when network namespaces
// cannot be made here (not root, no `ip`, unshare refused).
void RequireNetns();

// The path of docker/entrypoint.sh and tests/ops/netns.sh in the source tree.
std::string EntrypointPath();
std::string NetnsScriptPath();

// The environment every node service gets in docker/docker-compose.yml (x-node-env), for
// `nodes` nodes named node1..nodeN; NODE_NAME is added per node. Test settings (paths, the
// timings) are added by NetnsCluster on top.
std::vector<std::string> ComposeNodeEnv(int nodes);

// Runs `sh entrypoint.sh ARGS` outside any namespace with a clean environment holding PATH
// (the meshvault under test first) and `env`.
testing::ProcessResult RunEntrypoint(const std::vector<std::string>& args,
                                     const std::vector<std::string>& env,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

class NetnsCluster {
 public:
  // `nodes` namespaces; node1..node`split` on one side of the partition switch, the rest on
  // the other. `timings` is MESHVAULT_TIMINGS for the agents ("default" as in compose, or
  // "fast").
  NetnsCluster(int nodes, int split, std::string timings);
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  // `entrypoint.sh init` with MESHVAULT_NODES=node1..nodeN (REQUIREs exit 0).
  testing::ProcessResult Init();
  // `entrypoint.sh node` in node i's namespace (1-based), the compose environment plus
  // `extra` ("NAME=value"; an entry "NAME=" without value removes NAME).
  void Start(int i, const std::vector<std::string>& extra = {});
  void StartAll(const std::vector<std::string>& extra = {});
  void Signal(int i, int sig);
  // Waits for node i's process to exit; its exit status (128+signal when killed), -1 when
  // it is still running at the deadline.
  int Reap(int i, milliseconds timeout);
  bool Running(int i) const {
    auto it = pids_.find(i);
    return it != pids_.end() && it->second > 0;
  }

  // The vault CLI as the compose `cli` service runs it: `entrypoint.sh ARGS` in node
  // `from`'s namespace with the admin client certificate, talking to node `to`.
  testing::ProcessResult Cli(int from, int to, const std::vector<std::string>& args,
                             std::string_view input = {},
                             milliseconds timeout = milliseconds(30000));
  testing::ProcessResult Cli(int i, const std::vector<std::string>& args,
                             std::string_view input = {}) {
    return Cli(i, i, args, input);
  }
  // name -> status as node i sees it (`members --format json`); empty when it does not answer.
  // A name with two identities (after a key rotation) is alive when one of them is.
  std::map<std::string, std::string> Members(int i);
  // Each node in `observers` sees every member of `expected` with the given status.
  bool AllSee(const std::vector<int>& observers,
              const std::map<std::string, std::string>& expected);
  // Waits until AllSee holds; returns the seconds it took, or -1 at the deadline.
  double WaitUntilAllSee(const std::vector<int>& observers,
                         const std::map<std::string, std::string>& expected, milliseconds deadline);

  void Partition();  // cut node1..split from the rest (frames dropped silently)
  void Heal();
  // Moves nodeI to 10.213.0.(base+I) and rewrites the hosts files, as containers get new
  // addresses when they are recreated. Only for stopped nodes.
  void Renumber(int base);

  int size() const { return nodes_; }
  std::string Name(int i) const { return "node" + std::to_string(i); }
  const std::string& dir() const { return dir_; }
  std::string DataDir(int i) const { return dir_ + "/" + Name(i) + "-data"; }
  std::string Log(int i) const;
  // A one-line summary of node i's log tail, for failure messages.
  std::string LogTail(int i, size_t lines = 30) const;
  std::map<std::string, std::string> All(const std::string& status) const;
  std::vector<int> Range(int first, int last) const;

 private:
  std::string Namespace(int i) const { return run_ + "-" + Name(i); }
  void Netns(const std::vector<std::string>& args);

  int nodes_;
  int split_;
  std::string timings_;
  std::string run_;  // mvt<pid>: the prefix of every namespace of this cluster
  std::string dir_;
  std::map<int, pid_t> pids_;
  bool up_ = false;
};

}  // namespace ops_test

#endif  // TESTS_OPS_NETNS_CLUSTER_H_
