#include "topology.h"

#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace cli {

namespace {

std::string Hex(const mesh::PublicKey& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(id.size() * 2);
  for (uint8_t b : id) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

mesh::Json OwnLinks(mesh::Node* node) {
  mesh::Json ids = mesh::Json::array();
  for (const auto& m : node->Members()) {
    if (m.linked && !m.self) ids.push_back(Hex(m.id));
  }
  return ids;
}

}  // namespace

void RegisterLinksEvent(mesh::Node* node) {
  node->On("ops.links", [node](const mesh::Message& m, const mesh::Responder& r) {
    if (m.from_role != mesh::Role::kNode) return r.Error("permission denied: nodes only");
    r.Reply({{"linked", OwnLinks(node)}});
  });
}

mesh::Json Topology(mesh::Node* node, std::chrono::milliseconds timeout) {
  const auto members = node->Members();
  mesh::Json nodes = mesh::Json::array();
  std::set<std::string> known;
  for (const auto& m : members) {
    known.insert(Hex(m.id));
    nodes.push_back({{"id", Hex(m.id)},
                     {"name", m.name},
                     {"status", std::string(mesh::MemberStateName(m.state))},
                     {"address", m.address},
                     {"self", m.self}});
  }
  // Ask every live member at once; each answer lands in its own slot.
  struct Answer {
    std::string id, name;
    std::promise<mesh::Json> linked;
  };
  std::vector<std::shared_ptr<Answer>> answers;
  std::set<std::pair<std::string, std::string>> links;
  const auto add_link = [&](const std::string& a, const std::string& b) {
    if (a != b && known.count(a) && known.count(b)) links.insert(std::minmax(a, b));
  };
  for (const auto& m : members) {
    if (m.self) {
      for (const auto& id : OwnLinks(node)) add_link(Hex(m.id), id.get<std::string>());
      continue;
    }
    if (m.state != mesh::MemberState::kAlive && m.state != mesh::MemberState::kSuspect) continue;
    auto a = std::make_shared<Answer>();
    a->id = Hex(m.id);
    a->name = m.name;
    node->Request(
        m.id, "ops.links", mesh::Json::object(), timeout,
        [a](const mesh::Status& s, const mesh::Json& reply) {
          a->linked.set_value(s.ok() && reply.contains("linked") && reply["linked"].is_array()
                                  ? reply["linked"]
                                  : mesh::Json());
        });
    answers.push_back(std::move(a));
  }
  mesh::Json unanswered = mesh::Json::array();
  for (const auto& a : answers) {
    // The callback runs exactly once (reply, error or timeout).
    const mesh::Json linked = a->linked.get_future().get();
    if (!linked.is_array()) {
      unanswered.push_back(a->name);
      continue;
    }
    for (const auto& id : linked) {
      if (id.is_string()) add_link(a->id, id.get<std::string>());
    }
  }
  mesh::Json out_links = mesh::Json::array();
  for (const auto& [a, b] : links) out_links.push_back({{"a", a}, {"b", b}});
  return {{"nodes", nodes}, {"links", out_links}, {"unanswered", unanswered}};
}

}  // namespace cli
