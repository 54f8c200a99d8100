#include "prometheus.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <vector>

namespace cli {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string Number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Label values are ours (reason names); anything else is made a valid label value anyway.
class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) out_ += c == '\n' ? ' ' : c;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name, const Labels& labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ',';
        out_ += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void Sample(std::string_view name, const Labels& labels, uint64_t value) {
    Sample(name, labels, std::to_string(value));
  }
  void Histogram(std::string_view name, const vault::LatencyHistogram& h) {
    const std::string base(name);
    for (size_t i = 0; i < h.kBuckets; ++i) {
      Sample(base + "_bucket", {{"le", Number(h.kBounds[i])}}, h.buckets[i]);
    }
    Sample(base + "_bucket", {{"le", "+Inf"}}, h.count);
    Sample(base + "_sum", {}, Number(h.sum_seconds));
    Sample(base + "_count", {}, h.count);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Plain mesh counters (docs/mesh.md "Counters"): name -> help. Each becomes
// meshvault_<name>_total. Counters with a reason are grouped into labelled families below.
const std::map<std::string_view, std::string_view> kPlainCounters = {
    {"gossip_published", "Gossip envelopes this node originated (broadcasts, records, claims)."},
    {"gossip_duplicates", "Gossip envelopes received that were already seen or being verified."},
    {"gossip_verified_inline",
     "Gossip signatures the I/O thread checked itself (worker queues full)."},
    {"gossip_hop_limit_reached", "Accepted envelopes not forwarded because of the hop limit."},
    {"broadcasts_delivered", "Broadcast events delivered to the application."},
    {"direct_delivered", "Direct messages and requests received from links."},
    {"unknown_events", "Messages for an event with no handler."},
    {"handler_exceptions", "Event handlers that threw."},
    {"requests_timed_out", "Requests this node made that timed out."},
    {"refutations", "Times this node raised its incarnation to refute a suspicion."},
    {"probes_failed", "Failure-detector probes that got no acknowledgement."},
    {"suspicions_confirmed",
     "Suspected members this node's own failed probe confirmed (Lifeguard)."},
    {"members_failed", "Members this node saw change to failed."},
    {"members_left", "Members this node saw leave gracefully."},
    {"members_reaped", "Failed or left members forgotten after reap_after."},
    {"self_dials", "Bootstrap addresses that turned out to be this node."},
    {"dial_identity_mismatch", "Member dials answered by another member's certificate."},
    {"tree_prunes_sent", "Plumtree PRUNE messages sent (duplicates on an eager link)."},
    {"tree_prunes_in", "Plumtree PRUNE messages received."},
    {"tree_ihave_ids_out", "Gossip ids announced in IHAVE messages sent."},
    {"tree_ihave_ids_in", "Gossip ids announced in IHAVE messages received."},
    {"tree_grafts_sent", "Plumtree GRAFT messages sent (an announced id never came)."},
    {"tree_grafts_in", "Plumtree GRAFT messages received."},
    {"tree_graft_unknown", "Ids asked for by GRAFT that this node no longer keeps."},
    {"tree_graft_fallback", "Missing ids asked of the tree links, their announcers gone."},
    {"tree_missing_given_up", "Announced gossip ids that no GRAFT brought."},
    {"tree_optimized", "Eager tree parents swapped for a closer announcer."},
    {"sync_pulled", "Member records asked for after a DIGEST comparison."},
};

bool Prefixed(std::string_view name, std::string_view prefix, std::string_view* rest) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  *rest = name.substr(prefix.size());
  return true;
}

void RenderMesh(const mesh::NodeMetrics& m, Writer& w) {
  w.Family("meshvault_members", "gauge", "Members this node knows, by state (itself included).");
  w.Sample("meshvault_members", {{"state", "alive"}}, m.members_alive);
  w.Sample("meshvault_members", {{"state", "suspect"}}, m.members_suspect);
  w.Sample("meshvault_members", {{"state", "failed"}}, m.members_failed);
  w.Sample("meshvault_members", {{"state", "left"}}, m.members_left);
  w.Family("meshvault_active_links", "gauge", "Links to nodes in this node's active view.");
  w.Sample("meshvault_active_links", {}, m.active_links);
  w.Family("meshvault_links", "gauge",
           "Links up: active, transient and client links (handshakes not included).");
  w.Sample("meshvault_links", {}, m.links);
  w.Family("meshvault_last_tick_age_seconds", "gauge",
           "Seconds since the node's I/O thread last ran its timers (-1 before the first).");
  w.Sample("meshvault_last_tick_age_seconds", {},
           Number(m.ms_since_tick < 0 ? -1.0 : static_cast<double>(m.ms_since_tick) / 1000));

  const auto get = [&](std::string_view name) -> uint64_t {
    auto it = m.counters.find(std::string(name));
    return it == m.counters.end() ? 0 : it->second;
  };
  w.Family("meshvault_gossip_messages_total", "counter",
           "GOSSIP link messages received (in) and sent (out), forwarding included.");
  w.Sample("meshvault_gossip_messages_total", {{"direction", "in"}}, get("gossip_in_messages"));
  w.Sample("meshvault_gossip_messages_total", {{"direction", "out"}}, get("gossip_out_messages"));
  w.Family("meshvault_gossip_bytes_total", "counter",
           "Bytes of GOSSIP link messages received (in) and sent (out).");
  w.Sample("meshvault_gossip_bytes_total", {{"direction", "in"}}, get("gossip_in_bytes"));
  w.Sample("meshvault_gossip_bytes_total", {{"direction", "out"}}, get("gossip_out_bytes"));
  w.Family("meshvault_signature_failures_total", "counter",
           "Gossip envelopes and member records whose Ed25519 signature failed to verify.");
  w.Sample("meshvault_signature_failures_total", {}, get("dropped.bad_signature"));

  std::map<std::string, uint64_t> handshake, dropped, refused, closed, other;
  for (const auto& [name, value] : m.counters) {
    std::string_view rest;
    if (Prefixed(name, "handshake_failures.", &rest)) {
      handshake[std::string(rest)] += value;
    } else if (Prefixed(name, "dropped.", &rest)) {
      dropped[std::string(rest)] += value;
    } else if (Prefixed(name, "refused.", &rest)) {
      refused[std::string(rest)] += value;
    } else if (Prefixed(name, "links_closed.", &rest)) {
      closed[std::string(rest)] += value;
    } else if (name == "links_closed_protocol_error") {
      closed["protocol_error"] += value;
    } else if (name == "links_lost") {
      closed["lost"] += value;
    } else if (name == "links_trimmed") {
      closed["trimmed"] += value;
    } else if (name.rfind("gossip_in_", 0) != 0 && name.rfind("gossip_out_", 0) != 0) {
      other[name] = value;
    }
  }
  const auto labelled = [&](std::string_view family, std::string_view help,
                            const std::map<std::string, uint64_t>& values) {
    w.Family(family, "counter", help);
    for (const auto& [reason, value] : values) w.Sample(family, {{"reason", reason}}, value);
  };
  labelled("meshvault_handshake_failures_total", "Link handshakes that failed, by reason.",
           handshake);
  labelled("meshvault_dropped_messages_total",
           "Messages, envelopes and frames dropped, by reason (docs/mesh.md Counters).", dropped);
  labelled("meshvault_refused_connections_total",
           "Inbound connections closed at accept, by the limit they hit.", refused);
  labelled("meshvault_links_closed_total",
           "Links closed other than by a goodbye: lost, trimmed, protocol_error, send_queue_full.",
           closed);
  for (const auto& [name, help] : kPlainCounters) {
    const std::string family = "meshvault_" + std::string(name) + "_total";
    w.Family(family, "counter", help);
    w.Sample(family, {}, get(name));
    other.erase(std::string(name));
  }
  if (!other.empty()) {
    w.Family("meshvault_mesh_events_total", "counter",
             "Other mesh counters, by name (docs/mesh.md Counters).");
    for (const auto& [name, value] : other) {
      w.Sample("meshvault_mesh_events_total", {{"name", name}}, value);
    }
  }
}

void RenderVault(const vault::AgentStatus& a, Writer& w) {
  w.Family("meshvault_vault_shares_stored", "gauge", "Shares this node holds (all versions).");
  w.Sample("meshvault_vault_shares_stored", {},
           static_cast<uint64_t>(std::max<int64_t>(0, a.shares_held)));
  w.Family("meshvault_vault_secrets", "gauge",
           "Secret names this node has a manifest of: live, or deleted (tombstones).");
  w.Sample("meshvault_vault_secrets", {{"state", "live"}}, a.secrets);
  w.Sample("meshvault_vault_secrets", {{"state", "deleted"}}, a.tombstones);
  w.Family("meshvault_vault_holder_operations_total", "counter",
           "Share operations at this node as a holder: stores, releases, and refusals.");
  w.Sample("meshvault_vault_holder_operations_total", {{"operation", "store"}}, a.puts);
  w.Sample("meshvault_vault_holder_operations_total", {{"operation", "release"}}, a.gets);
  w.Sample("meshvault_vault_holder_operations_total", {{"operation", "deny"}}, a.denied);
  const auto outcomes = [&](std::string_view family, std::string_view help,
                            const std::map<std::string, uint64_t>& values) {
    w.Family(family, "counter", help);
    for (const auto& [outcome, value] : values) w.Sample(family, {{"outcome", outcome}}, value);
  };
  outcomes("meshvault_vault_puts_total", "Client puts this node served as entry node, by outcome.",
           a.client_puts);
  auto gets = a.client_gets;  // a get is one request: never abandoned
  gets.erase("abandoned");
  outcomes("meshvault_vault_gets_total", "Client gets this node served as entry node, by outcome.",
           gets);
  w.Family("meshvault_vault_put_duration_seconds", "histogram",
           "Client puts at this entry node: first share store to commit answer.");
  w.Histogram("meshvault_vault_put_duration_seconds", a.put_latency);
  w.Family("meshvault_vault_get_duration_seconds", "histogram",
           "Client gets at this entry node: request to reply with the holders' shares.");
  w.Histogram("meshvault_vault_get_duration_seconds", a.get_latency);
}

}  // namespace

std::string RenderMetrics(const mesh::NodeMetrics& node, const vault::AgentStatus* agent,
                          std::string_view version) {
  Writer w;
  w.Family("meshvault_build_info", "gauge", "Always 1; the version label says which build.");
  w.Sample("meshvault_build_info", {{"version", std::string(version)}}, uint64_t{1});
  RenderMesh(node, w);
  if (agent) RenderVault(*agent, w);
  return w.Take();
}

}  // namespace cli
