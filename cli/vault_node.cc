#include "vault_node.h"

#include "topology.h"

namespace cli {

mesh::Status VaultNode::Start(const VaultNodeSetup& setup) {
  name_ = setup.creds.certificate.name;
  mesh::Config config = setup.fast_timings ? mesh::Config::FastTimings() : mesh::Config();
  config.key = setup.creds.key;
  config.certificate = setup.creds.certificate;
  config.ca_key = setup.creds.ca_key;
  config.listen = setup.listen;
  config.advertise = setup.advertise;
  config.join = setup.join;
  config.data_dir = setup.data_dir;
  config.log = setup.log;
  config.max_message_bytes = vault::kVaultMaxMessageBytes;
  if (auto s = mesh::Node::Create(config, &node_); !s.ok()) return s;

  vault::AgentConfig agent;
  agent.data_dir = setup.data_dir;
  agent.key = setup.creds.key;
  agent.ca_key = setup.creds.ca_key;
  agent.log = setup.vault_log ? setup.vault_log : setup.log;
  if (setup.fast_timings) agent.sync_interval = mesh::Millis(1000);
  if (auto s = vault::Agent::Create(agent, node_.get(), &agent_); !s.ok()) return s;
  RegisterLinksEvent(node_.get());  // for the admin page's topology
  return node_->Start();
}

void VaultNode::Stop() {
  if (node_) node_->Stop(mesh::Millis(1000));
  agent_.reset();
  node_.reset();
}

}  // namespace cli
