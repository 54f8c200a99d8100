// A cluster of real `meshvault agent` processes on loopback, for integration tests: a fresh
// CA and certificates in a temporary directory, one data dir and log per node, and the
// agents' HTTP API to observe them. Waits are on conditions with deadlines, never sleeps.
#ifndef TESTS_SUPPORT_CLUSTER_H_
#define TESTS_SUPPORT_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mesh {
class SigningKey;
}

namespace testing {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// GET http://address/path; the body, or empty on any failure (connection, status != 200).
std::string HttpGet(const std::string& address, const std::string& path,
                    milliseconds timeout = milliseconds(1000));

// Sends `request` (a whole HTTP request) to address and reads until the server closes.
// status 0 when there was no answer; headers are the raw header lines.
struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpReply HttpCall(const std::string& address, const std::string& request,
                   milliseconds timeout = milliseconds(1000));
// A plain request: METHOD path HTTP/1.1 with Host and Connection: close.
std::string HttpRequestText(const std::string& method, const std::string& path,
                            const std::string& address);

// A free TCP port on 127.0.0.1 (bound, then released).
int FreePort();

// Polls `done` every 10 ms until it is true or `timeout` passes; returns whether it became true.
bool WaitFor(const std::function<bool()>& done, milliseconds timeout);

struct AgentNode {
  std::string name;
  std::string address;  // 127.0.0.1:port (mesh)
  std::string http;     // 127.0.0.1:port (HTTP API)
  std::string data_dir;
  std::vector<std::string> join;
  std::string timings = "fast";         // --timings
  std::vector<std::string> extra_args;  // appended to the agent's command line
  pid_t pid = -1;
};

class AgentCluster {
 public:
  AgentCluster();   // makes the CA and a client certificate
  ~AgentCluster();  // kills every agent still running, removes the directory
  // Adds and starts node `name` (certificate made on first use) joining `join`, with
  // `extra_args` added to its command line (e.g. {"--log-format", "json"}).
  size_t Start(const std::string& name, std::vector<std::string> join,
               const std::string& timings = "fast", std::vector<std::string> extra_args = {});
  // Restarts a stopped node with the same data dir and addresses; `join` replaces its list.
  void Restart(size_t i, std::vector<std::string> join);
  void Signal(size_t i, int sig);
  // Waits for the process to exit (after a signal); returns its exit status or -1.
  int Reap(size_t i, milliseconds timeout);
  bool Running(size_t i) const { return nodes_[i].pid > 0; }

  // name -> status ("alive", "suspect", "failed", "left") as node i sees it; empty when the
  // node does not answer.
  std::map<std::string, std::string> Members(size_t i) const;
  nlohmann::json Status(size_t i) const;
  const AgentNode& node(size_t i) const { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  const std::string& dir() const { return dir_; }
  // Client credential flags for `meshvault members` etc.
  std::vector<std::string> ClientFlags() const;
  // The same for the client certificate named `client_name`, issued by the cluster's CA on
  // first use (kept in certs/ beside the nodes' certificates, so use a name no node has).
  std::vector<std::string> ClientFlags(const std::string& client_name) const;
  std::string Log(size_t i) const;

 private:
  void Spawn(AgentNode& n);
  std::string dir_;
  std::unique_ptr<mesh::SigningKey> ca_;
  std::vector<AgentNode> nodes_;
};

}  // namespace testing

#endif  // TESTS_SUPPORT_CLUSTER_H_
