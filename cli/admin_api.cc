#include "admin_api.h"

#include <chrono>

#include "prometheus.h"
#include "topology.h"

namespace cli {
namespace {

HttpResponse Json(int status, const mesh::Json& body) {
  return {status, "application/json",
          body.dump(2, ' ', false, mesh::Json::error_handler_t::replace) + "\n"};
}

HttpResponse Errors(int status, const std::string& message) {
  return Json(status, {{"errors", {message}}});
}

// %XX escapes decoded; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int value = 0;
    for (size_t k = 1; k <= 2; ++k) {
      const char c = in[i + k];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return false;
      value = value * 16 + digit;
    }
    out->push_back(static_cast<char>(value));
    i += 2;
  }
  return true;
}

constexpr std::string_view kHoldersPrefix = "/v1/vault/holders/";

}  // namespace

// The page, embedded at build time from cli/ui/index.html.
extern const char kAdminUiHtml[];

namespace {}  // namespace

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
  const Lifecycle lifecycle = lifecycle_.load(std::memory_order_acquire);
  if (path == "/v1/sys/health") return HealthResponse(lifecycle);
  if (path == "/ui" || path == "/ui/") return {200, "text/html; charset=utf-8", kAdminUiHtml};
  const bool holders = path.rfind(kHoldersPrefix, 0) == 0;
  const bool known = path == "/v1/status" || path == "/v1/members" || path == "/metrics" ||
                     path == "/v1/topology" || holders;
  if (!known) return Errors(404, "not found: " + path.substr(0, 200));
  if (lifecycle == Lifecycle::kStarting) return Errors(503, "the node is starting");
  mesh::Node* node = node_->node();
  if (path == "/v1/members") {
    mesh::Json members = mesh::Json::array();
    for (const auto& m : node->Members()) members.push_back(mesh::MemberToJson(m));
    return Json(200, {{"members", members}});
  }
  if (path == "/v1/status") return Json(200, mesh::StatusToJson(node->Status()));
  if (path == "/v1/topology") return Json(200, Topology(node, std::chrono::milliseconds(1000)));
  if (holders) return HoldersResponse(path.substr(kHoldersPrefix.size()));
  // /metrics: the vault agent is there until the node object goes (after the HTTP server).
  vault::AgentStatus agent;
  if (node_->agent()) agent = node_->agent()->Status();
  return {200, std::string(kPrometheusContentType),
          RenderMetrics(node->Metrics(), node_->agent() ? &agent : nullptr, version_)};
}

HttpResponse AdminApi::HoldersResponse(const std::string& escaped) const {
  std::string name;
  if (!PercentDecode(escaped, &name)) return Errors(400, "malformed %-escape in the name");
  if (node_->agent() == nullptr) return Errors(503, "the vault agent is not running");
  vault::SecretPlacement p;
  const auto s = node_->agent()->Placement(name, &p);
  if (s.code() == mesh::Status::Code::kNotFound) return Errors(404, "no secret by that name");
  if (!s.ok())
    return Errors(s.code() == mesh::Status::Code::kInvalidArgument ? 400 : 500, s.message());
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
