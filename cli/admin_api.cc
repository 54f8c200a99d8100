#include "admin_api.h"

#include <chrono>

#include "admin_request.h"
#include "prometheus.h"
#include "topology.h"

namespace cli {
namespace {

HttpResponse Json(int status, const mesh::Json& body) {
  return {status, "application/json",
          body.dump(2, ' ', false, mesh::Json::error_handler_t::replace) + "\n"};
}

}  // namespace

// The page, embedded at build time from cli/ui/index.html.
extern const char kAdminUiHtml[];

Health EvaluateHealth(Lifecycle lifecycle, const mesh::NodeMetrics& m) {
  if (lifecycle == Lifecycle::kStarting) return {false, "starting", "the node is starting"};
  if (lifecycle == Lifecycle::kStopping) {
    return {false, "shutting down", "the node is leaving the cluster"};
  }
  if (!m.running) return {false, "stopped", "the mesh node is not running"};
  if (m.ms_since_tick < 0) return {false, "starting", "the mesh node has not started its timers"};
  if (m.ms_since_tick > kMaxTickAgeMs) {
    return {false, "unhealthy",
            "the mesh node's I/O thread has not run its timers for " +
                std::to_string(m.ms_since_tick) + " ms"};
  }
  // members_alive counts the node itself; members that left on purpose are not missed.
  const uint64_t others_alive = m.members_alive > 0 ? m.members_alive - 1 : 0;
  const uint64_t known = others_alive + m.members_suspect + m.members_failed;
  const std::string counts = std::to_string(others_alive) + " of " + std::to_string(known) +
                             " known member" + (known == 1 ? "" : "s") + " alive";
  if (others_alive > 0) return {true, "ok", "joined: " + counts};
  if (known == 0 && m.join_addresses == 0) {
    return {true, "ok", "a cluster of one: no --join address and no other member"};
  }
  return {false, "unhealthy", "no reachable peer: " + counts};
}

HttpResponse AdminApi::Handle(const std::string& path) const {
  using E = AdminRoute::Endpoint;
  const Lifecycle lifecycle = lifecycle_.load(std::memory_order_acquire);
  const AdminRoute route = RouteAdminPath(path);
  switch (route.endpoint) {
    case E::kHealth:
      return HealthResponse(lifecycle);
    case E::kUi:
      return {200, "text/html; charset=utf-8", kAdminUiHtml};
    case E::kNotFound:
      return AdminError(404, "not found: " + path.substr(0, 200));
    case E::kBadEscape:
      return AdminError(400, "malformed %-escape in the name");
    default:
      break;
  }
  if (lifecycle == Lifecycle::kStarting) return AdminError(503, "the node is starting");
  mesh::Node* node = node_->node();
  switch (route.endpoint) {
    case E::kMembers: {
      mesh::Json members = mesh::Json::array();
      for (const auto& m : node->Members()) members.push_back(mesh::MemberToJson(m));
      return Json(200, {{"members", members}});
    }
    case E::kStatus:
      return Json(200, mesh::StatusToJson(node->Status()));
    case E::kTopology:
      return Json(200, Topology(node, std::chrono::milliseconds(1000)));
    case E::kHolders:
      return HoldersResponse(route.name);
    default:
      break;
  }
  // /metrics: the vault agent is there until the node object goes (after the HTTP server).
  vault::AgentStatus agent;
  if (node_->agent()) agent = node_->agent()->Status();
  return {200, std::string(kPrometheusContentType),
          RenderMetrics(node->Metrics(), node_->agent() ? &agent : nullptr, version_)};
}

HttpResponse AdminApi::HoldersResponse(const std::string& name) const {
  if (node_->agent() == nullptr) return AdminError(503, "the vault agent is not running");
  vault::SecretPlacement p;
  const auto s = node_->agent()->Placement(name, &p);
  if (s.code() == mesh::Status::Code::kNotFound) return AdminError(404, "no secret by that name");
  if (!s.ok())
    return AdminError(s.code() == mesh::Status::Code::kInvalidArgument ? 400 : 500, s.message());
  mesh::Json list = mesh::Json::array();
  for (const auto& h : p.holders) list.push_back({{"name", h.name}, {"state", h.state}});
  return Json(200, {{"name", name},
                    {"version", p.version},
                    {"threshold", p.threshold},
                    {"deleted", p.deleted},
                    {"holders", list}});
}

HttpResponse AdminApi::HealthResponse(Lifecycle lifecycle) const {
  mesh::NodeMetrics metrics;
  std::string name;
  if (lifecycle != Lifecycle::kStarting) {
    metrics = node_->node()->Metrics();
    name = node_->name();
  }
  const Health h = EvaluateHealth(lifecycle, metrics);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  // Field names follow HashiCorp Vault's /v1/sys/health where they apply: there is no
  // sealing or standby in meshvault, so sealed and standby are always false.
  mesh::Json body = {
      {"status", h.status},
      {"reason", h.reason},
      {"healthy", h.healthy},
      {"initialized", lifecycle != Lifecycle::kStarting},
      {"sealed", false},
      {"standby", false},
      {"performance_standby", false},
      {"server_time_utc", std::chrono::duration_cast<std::chrono::seconds>(now).count()},
      {"version", version_},
      {"node", name},
      {"members",
       {{"alive", metrics.members_alive},
        {"suspect", metrics.members_suspect},
        {"failed", metrics.members_failed},
        {"left", metrics.members_left}}},
  };
  return Json(h.healthy ? 200 : 503, body);
}

}  // namespace cli
