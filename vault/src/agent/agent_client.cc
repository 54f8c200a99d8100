// Read-only client requests at the entry node: list, audit, status.
#include <algorithm>

#include "agent/agent_state.h"

namespace vault::agent {

using protocol::Commit;

void AgentState::OnList(const mesh::Message& m, const mesh::Responder& r) {
  std::vector<ManifestRow> rows;
  if (auto s = store_->ListManifests(&rows); !s.ok()) return r.Error(s.message());
  const auto members = node_->Members();
  mesh::Json secrets = mesh::Json::array();
  for (const auto& row : rows) {
    Commit commit;
    if (row.deleted || !Commit::Decode(row.encoded, &commit).ok()) continue;
    const auto& manifest = commit.manifest;
    if (!manifest.MayRead(m.from_name)) continue;
    mesh::Json holders = mesh::Json::array();
    int live = 0;
    for (const auto& id : manifest.holders) {
      auto it = std::find_if(members.begin(), members.end(),
                             [&](const mesh::MemberInfo& mi) { return mi.id == id; });
      const std::string state =
          it == members.end() ? "unknown" : std::string(mesh::MemberStateName(it->state));
      if (state == "alive") live++;
      holders.push_back(
          {{"name", it == members.end() ? mesh::ShortId(id) : it->name}, {"state", state}});
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
      if (!h.status.ok() || !h.reply.contains("records") || !h.reply["records"].is_array()) {
        errors.push_back(h.name + ": " + (h.status.ok() ? "malformed reply" : h.status.message()));
        continue;
      }
      for (auto& rec : h.reply["records"]) {
        rec["node"] = h.name;
        records.push_back(std::move(rec));
      }
    }
    std::stable_sort(records.begin(), records.end(), [](const mesh::Json& a, const mesh::Json& b) {
      return a.value("time_ms", int64_t{0}) < b.value("time_ms", int64_t{0});
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
    return r.Error(s.message());
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

// Members with their full ids, which a putting client needs to seal shares to holders.
void AgentState::OnMembers(const mesh::Message&, const mesh::Responder& r) {
  mesh::Json members = mesh::Json::array();
  for (const auto& member : node_->Members()) {
    members.push_back({{"id", protocol::Hex(member.id)},
                       {"name", member.name},
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
