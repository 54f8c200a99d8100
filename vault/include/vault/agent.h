// Agent: the vault on one node. It registers the vault's events on a mesh::Node (the vault
// protocol is built only from the node's event layer), keeps this node's shares, the
// manifests of every secret and an audit log in a ShareStore, and answers clients: it
// forwards their puts and gets to the holders and gathers the replies. It never sees a
// secret: shares arrive sealed to their holder and leave sealed to the reader.
// Protocol: docs/vault.md. Thread-safe; the agent's work runs on a thread of its own, so
// fsyncs never stall the node's I/O thread.
#ifndef VAULT_AGENT_H_
#define VAULT_AGENT_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mesh/config.h"
#include "mesh/node.h"
#include "mesh/status.h"

namespace vault {

// The mesh message limit a vault node and its clients need. A sealed share of a 1 MiB secret
// (text-format share line, base64 in JSON) is about 1.9 MB, and a get reply carries at least
// t of them (put refuses a t for which they would not fit).
inline constexpr size_t kVaultMaxMessageBytes = size_t{16} << 20;
inline constexpr size_t kMaxVaultSecretBytes = size_t{1} << 20;

struct AgentConfig {
  std::string data_dir;                         // holds vault.db and vault.key
  std::shared_ptr<const mesh::SigningKey> key;  // the node's key (acks; share decryption)
  mesh::PublicKey ca_key{};
  mesh::Millis holder_timeout{3000};     // the entry node's wait for each holder
  int64_t request_window_ms = 60'000;    // a get request's time must be this close to now
  mesh::Millis sync_interval{5000};      // manifest anti-entropy with one random member
  int64_t uncommitted_ttl_ms = 600'000;  // shares of a put that never committed are dropped
  size_t audit_limit = 200;              // records one holder returns for `audit NAME`
  mesh::LogFunction log;                 // empty: silent; called on the agent's thread
};

// A latency histogram as Prometheus keeps one: cumulative counts of observations at or
// below each bound (seconds); `count` includes those above the last bound (+Inf).
struct LatencyHistogram {
  static constexpr size_t kBuckets = 12;
  static constexpr std::array<double, kBuckets> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,   0.25,   0.5,   1,    2.5,   5};
  std::array<uint64_t, kBuckets> buckets{};
  uint64_t count = 0;
  double sum_seconds = 0;
};

struct AgentStatus {
  size_t secrets = 0;  // names with a live (not deleted) manifest
  size_t tombstones = 0;
  int64_t shares_held = 0;
  uint64_t puts = 0, gets = 0, denied = 0;  // share stores and releases by this holder
  // Clients' puts and gets that this node served as their entry node, by outcome: ok,
  // denied, not_found, conflict, unavailable, error, abandoned (every name, zeros included).
  // A put runs from its first vault.store to its vault.commit; a get is one vault.get.
  std::map<std::string, uint64_t> client_puts, client_gets;
  LatencyHistogram put_latency, get_latency;
};

// Where a secret's current version lives, for operators (the admin page): no share data.
struct SecretPlacement {
  uint64_t version = 0;
  int threshold = 0;
  bool deleted = false;
  struct Holder {
    std::string name;   // the holder's certificate name
    std::string state;  // as this node sees it: "alive", "suspect", "failed", "left", "unknown"
  };
  std::vector<Holder> holders;  // share order
};

class Agent {
 public:
  // Opens the store in config.data_dir and registers the vault events on `node`, which
  // must outlive the agent. Call before node->Start() so no request finds it missing.
  static mesh::Status Create(const AgentConfig& config, mesh::Node* node,
                             std::unique_ptr<Agent>* out);
  // Stops the agent's thread; requests still queued are answered with an error.
  virtual ~Agent() = default;

  virtual AgentStatus Status() = 0;
  // The current version of `name` in this node's manifests; NotFound when it has none.
  virtual mesh::Status Placement(const std::string& name, SecretPlacement* out) = 0;
};

}  // namespace vault

#endif  // VAULT_AGENT_H_
