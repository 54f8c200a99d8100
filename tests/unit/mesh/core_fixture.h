// The core driven by hand for unit tests: a host that records what the core sends, and a
// node with three peers that speak the tree protocol (peer i on active link i + 1).
#ifndef MESHVAULT_TESTS_UNIT_MESH_CORE_FIXTURE_H_
#define MESHVAULT_TESTS_UNIT_MESH_CORE_FIXTURE_H_

#include <catch2/catch.hpp>
#include <ctime>
#include <functional>
#include <set>

#include "core/core.h"
#include "core/messages.h"
#include "mesh/node.h"

namespace mesh::core {

class RecordingHost : public Host {
 public:
  void Send(LinkId link, std::vector<uint8_t> message) override {
    sent.emplace_back(link, std::move(message));
  }
  void Dial(uint64_t id, const std::string&) override { dialed.push_back(id); }
  void Close(LinkId link) override { closed.insert(link); }
  int64_t UnixMs() override { return now_ms; }
  uint64_t Random() override { return ++random; }
  void Deliver(const Delivery& d) override {
    delivered.emplace_back(d.payload.begin(), d.payload.end());
  }
  void Replied(uint64_t token, const Status& s, std::span<const uint8_t>) override {
    replies.emplace_back(token, s);
  }
  void MemberChanged(const MemberInfo&) override {}
  void ReserveSequence(uint64_t) override {}
  void PeerSeen(const MemberRecord&) override {}
  void PeerConnect(const PublicKey&, bool) override {}
  void PeerAddresses(const PublicKey&, uint64_t, uint64_t) override {}
  void VerifyGossip(VerifyJob job) override {
    if (defer_verify) return jobs.push_back(std::move(job));
    core->OnGossipVerified(0, job.token, job.Verify());
  }
  void ForgetSent() { sent.clear(); }
  // Messages of `type` sent on `link` since the last ForgetSent().
  int Count(LinkId link, MessageType type) const {
    int n = 0;
    for (const auto& [l, m] : sent) n += l == link && m[0] == static_cast<uint8_t>(type);
    return n;
  }
  const std::vector<uint8_t>* Last(LinkId link, MessageType type) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->first == link && it->second[0] == static_cast<uint8_t>(type)) return &it->second;
    }
    return nullptr;
  }
  // The ids of every GRAFT sent on `link` (a GRAFT with none only asks for eager push).
  std::vector<GossipId> Grafted(LinkId link) const {
    std::vector<GossipId> all;
    for (const auto& [l, m] : sent) {
      if (l != link || m[0] != static_cast<uint8_t>(MessageType::kGraft)) continue;
      std::vector<GossipId> ids;
      REQUIRE(DecodeGraft(m, &ids).ok());
      all.insert(all.end(), ids.begin(), ids.end());
    }
    return all;
  }

  const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  Core* core = nullptr;
  uint64_t random = 0;
  std::vector<std::pair<LinkId, std::vector<uint8_t>>> sent;
  std::vector<std::string> delivered;
  std::set<LinkId> closed;
  std::vector<uint64_t> dialed;                      // dial ids, in order
  std::vector<std::pair<uint64_t, Status>> replies;  // request tokens answered
  bool defer_verify = false;                         // keep signature checks for the test to answer
  std::vector<VerifyJob> jobs;
};

// A node (Core) on host H with three member peers, peer i on active link i + 1. With `tree`
// the peers speak the tree protocol and the node uses the tree from 0 members; without, it
// floods (below tree_min_members). H needs now_ms, core and ForgetSent().
template <class H>
struct CoreWithPeers {
  explicit CoreWithPeers(uint64_t incarnation = 1, const std::function<void(Config&)>& tweak = {},
                         bool tree = true) {
    const int64_t now_s = host.now_ms / 1000;
    auto issue = [&](const SigningKey& k, const std::string& name) {
      return IssueCertificate(ca, Role::kNode, name, k.public_key(), now_s - 60, now_s + 3600);
    };
    config.key = std::make_shared<SigningKey>(SigningKey::Generate());
    config.certificate = issue(*config.key, "self");
    config.ca_key = ca.public_key();
    if (tree) config.tree_min_members = 0;  // the tree with three peers
    if (tweak) tweak(config);
    core = std::make_unique<Core>(config, &host, "127.0.0.1:1", incarnation, 1, 1);
    host.core = core.get();
    core->Start(0, {});
    for (int i = 0; i < 3; ++i) {
      peers.push_back(SigningKey::Generate());
      const Certificate cert = issue(peers.back(), "peer" + std::to_string(i));
      core->OnLinkUp(0, Link(i), cert, 0);
      records.push_back(
          MemberRecord::Make(peers.back(), cert, "127.0.0.1:2", 1, false, host.now_ms));
      core->OnMessage(0, Link(i), EncodeHello({true, records.back().encoded, tree}));
    }
    REQUIRE(core->active_links() == 3);
    host.ForgetSent();  // the node's own record, announced on its first member link
  }
  static LinkId Link(int peer) { return static_cast<LinkId>(peer + 1); }
  GossipEnvelope Envelope(int origin, uint64_t seq, const std::string& text) const {
    const auto body =
        EncodeEvent("test", {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return GossipEnvelope::Make(peers[origin], GossipKind::kEvent, seq, host.now_ms, body);
  }
  uint64_t Counter(const std::string& name) const { return core->counter(name); }

  SigningKey ca = SigningKey::Generate();
  H host;
  Config config;
  std::unique_ptr<Core> core;
  std::vector<SigningKey> peers;
  std::vector<MemberRecord> records;
};

using Fixture = CoreWithPeers<RecordingHost>;

}  // namespace mesh::core

#endif  // MESHVAULT_TESTS_UNIT_MESH_CORE_FIXTURE_H_
