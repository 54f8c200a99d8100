// The agent's /metrics: the mesh node's and the vault agent's counters in the Prometheus
// text exposition format 0.0.4, every family with # HELP and # TYPE, names prefixed
// meshvault_. The families and their labels are listed in docs/operations.md.
#ifndef CLI_PROMETHEUS_H_
#define CLI_PROMETHEUS_H_

#include <string>
#include <string_view>

#include "mesh/node.h"
#include "vault/agent.h"

namespace cli {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// `agent` may be null (no vault metrics then).
std::string RenderMetrics(const mesh::NodeMetrics& node, const vault::AgentStatus* agent,
                          std::string_view version);

}  // namespace cli

#endif  // CLI_PROMETHEUS_H_
