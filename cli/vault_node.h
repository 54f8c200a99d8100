// A vault node: a mesh::Node with a vault::Agent on it, as `meshvault agent` runs one and
// `meshvault dev` runs several in one process.
#ifndef CLI_VAULT_NODE_H_
#define CLI_VAULT_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "credentials.h"
#include "mesh/node.h"
#include "vault/agent.h"

namespace cli {

struct VaultNodeSetup {
  Credentials creds;
  std::string data_dir;
  std::string listen;
  std::string advertise;
  std::vector<std::string> join;
  bool fast_timings = false;
  mesh::LogFunction log;        // the mesh node's lines
  mesh::LogFunction vault_log;  // the vault agent's lines; empty: `log`
};

class VaultNode {
 public:
  // Creates the node and its agent and starts the node.
  mesh::Status Start(const VaultNodeSetup& setup);
  // Leaves the mesh (announcing it), then stops the agent. Idempotent.
  void Stop();
  ~VaultNode() { Stop(); }

  mesh::Node* node() { return node_.get(); }
  vault::Agent* agent() { return agent_.get(); }
  const std::string& name() const { return name_; }  // the node certificate's

 private:
  std::string name_;
  std::unique_ptr<mesh::Node> node_;
  std::unique_ptr<vault::Agent> agent_;
};

}  // namespace cli

#endif  // CLI_VAULT_NODE_H_
