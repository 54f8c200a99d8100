// Read-only client requests at the entry node: list, audit, status.
#include <algorithm>

#include "agent/agent_state.h"

namespace vault::agent {

using protocol::Commit;

void AgentState::OnList(const mesh::Message& m, const mesh::Responder& r) {
  std::vector<ManifestRow> rows;
  if (auto s = store_->ListManifests(&rows); !s.ok()) {
    return r.Error(Internal("listing manifests", s).message());
  }
  const auto members = node_->Members();
  mesh::Json secrets = mesh::Json::array();
  for (const auto& row : rows) {
    Commit commit;
    if (row.deleted || !Commit::Decode(row.encoded, &commit).ok()) continue;
    const auto& manifest = commit.manifest;
    if (!manifest.MayRead(m.from_name)) continue;
    mesh::Json holders = mesh::Json::array();
    int live = 0;
    for (const auto& holder : manifest.holders) {
      auto it = std::find_if(members.begin(), members.end(),
                             [&](const mesh::MemberInfo& mi) { return mi.id == holder.subject; });
      const std::string state =
          it == members.end() ? "unknown" : std::string(mesh::MemberStateName(it->state));
      if (state == "alive") live++;
      holders.push_back({{"name", holder.name}, {"state", state}});
    }
    secrets.push_back({{"name", manifest.name},
                       {"version", manifest.version},
                       {"threshold", manifest.threshold},
                       {"shares", manifest.count},
                       {"live_holders", live},
                       {"owner", manifest.owner.name},
                       {"readers", manifest.readers},
                       {"holders", holders},
                       {"created_ms", manifest.created_ms}});
  }
  r.Reply({{"secrets", secrets}});
}

void AgentState::OnAudit(const mesh::Message& m, const mesh::Responder& r) {
  std::string name;
  if (auto s = protocol::StringField(m.data, "name", protocol::kMaxSecretNameBytes, &name);
      !s.ok()) {
    return r.Error(s.message());
  }
  Commit head;
  if (!Head(name, &head).ok()) return r.Error("no secret named \"" + name + "\"");
  if (!head.manifest.MayRead(m.from_name)) {
    return r.Error("permission denied: " + m.from_name + " is not the owner or a reader of \"" +
                   name + "\"");
  }
  // Any node may have held a share of some version: ask every live member.
  std::vector<mesh::PublicKey> nodes;
  for (const auto& member : node_->Members()) {
    if (member.state == mesh::MemberState::kAlive) nodes.push_back(member.id);
  }
  AskHolders(nodes, "vault.share.audit", {{"name", name}}, [r](std::vector<HolderResult> results) {
    mesh::Json records = mesh::Json::array();
    mesh::Json errors = mesh::Json::array();
    for (auto& h : results) {
      if (!h.status.ok() || !h.reply.is_object() || !h.reply.contains("records") ||
          !h.reply["records"].is_array()) {
        errors.push_back(h.name + ": " + (h.status.ok() ? "malformed reply" : h.status.message()));
        continue;
      }
      for (auto& rec : h.reply["records"]) {
        // Another node's reply: keep only well-formed records.
        if (!rec.is_object() || !rec.contains("time_ms") || !rec["time_ms"].is_number_integer()) {
          continue;
        }
        rec["node"] = h.name;
        records.push_back(std::move(rec));
      }
    }
    std::stable_sort(records.begin(), records.end(), [](const mesh::Json& a, const mesh::Json& b) {
      return a["time_ms"].get<int64_t>() < b["time_ms"].get<int64_t>();
    });
    r.Reply({{"records", records}, {"errors", errors}});
  });
}

void AgentState::OnShareAudit(const mesh::Message& m, const mesh::Responder& r) {
  std::string name;
  if (auto s = protocol::StringField(m.data, "name", protocol::kMaxSecretNameBytes, &name);
      !s.ok()) {
    return r.Error(s.message());
  }
  std::vector<AuditRecord> records;
  if (auto s = store_->ListAudit(name, config_.audit_limit, &records); !s.ok()) {
    return r.Error(Internal("reading the audit log", s).message());
  }
  mesh::Json out = mesh::Json::array();
  for (const auto& rec : records) {
    out.push_back({{"time_ms", rec.time_ms},
                   {"version", rec.version},
                   {"action", rec.action},
                   {"client", rec.client},
                   {"client_id", rec.client_id},
                   {"outcome", rec.outcome}});
  }
  r.Reply({{"records", out}});
}

// Members with their node certificates: a putting client checks them against the CA and
// seals each share to a certified node, so an entry node cannot slip in keys of its own.
void AgentState::OnMembers(const mesh::Message&, const mesh::Responder& r) {
  mesh::Json members = mesh::Json::array();
  for (const auto& member : node_->Members()) {
    members.push_back({{"certificate", protocol::ToBase64(member.certificate.Encode())},
                       {"status", std::string(mesh::MemberStateName(member.state))}});
  }
  r.Reply({{"members", members}});
}

void AgentState::OnStatus(const mesh::Message&, const mesh::Responder& r) {
  const auto st = Status();
  const auto node = node_->Status();
  r.Reply({{"node", node.self.name},
           {"id", mesh::ShortId(self_)},
           {"address", node.self.address},
           {"members_alive", node.members_alive},
           {"members_suspect", node.members_suspect},
           {"members_failed", node.members_failed},
           {"active_links", node.active_links},
           {"secrets", st.secrets},
           {"tombstones", st.tombstones},
           {"shares_held", st.shares_held},
           {"puts", st.puts},
           {"gets", st.gets},
           {"denied", st.denied}});
}

}  // namespace vault::agent
