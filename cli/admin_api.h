// AdminApi: what the agent's admin HTTP server answers (docs/operations.md): GET or HEAD of
// /v1/sys/health, /v1/status, /v1/members, /metrics, /v1/topology, /v1/vault/holders/NAME
// and the page /ui. Thread-safe: the HTTP thread calls
// Handle while the agent's main thread moves the lifecycle along.
#ifndef CLI_ADMIN_API_H_
#define CLI_ADMIN_API_H_

#include <atomic>
#include <string>

#include "admin_http.h"
#include "mesh/node.h"
#include "vault_node.h"

namespace cli {

enum class Lifecycle { kStarting, kServing, kStopping };

// The health verdict (pure, so its rules are in one place). Healthy when serving, the I/O
// thread ran its timers within kMaxTickAgeMs, and another member is alive or the node is a
// cluster of one (no join address, no stored peer, no other member that has not left).
struct Health {
  bool healthy = false;
  std::string status;  // "ok", "starting", "unhealthy", "shutting down", "stopped"
  std::string reason;  // one line for people: why
};
inline constexpr int64_t kMaxTickAgeMs = 5000;
Health EvaluateHealth(Lifecycle lifecycle, const mesh::NodeMetrics& metrics);

class AdminApi {
 public:
  // `node` must outlive the HTTP server; it is used only once set_lifecycle(kServing) ran.
  AdminApi(VaultNode* node, std::string version) : node_(node), version_(std::move(version)) {}
  void set_lifecycle(Lifecycle l) { lifecycle_.store(l, std::memory_order_release); }
  HttpResponse Handle(const std::string& path) const;

 private:
  HttpResponse HealthResponse(Lifecycle lifecycle) const;
  HttpResponse HoldersResponse(const std::string& name) const;
  VaultNode* node_;
  const std::string version_;
  std::atomic<Lifecycle> lifecycle_{Lifecycle::kStarting};
};

}  // namespace cli

#endif  // CLI_ADMIN_API_H_
