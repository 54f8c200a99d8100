// Tree dissemination (Plumtree: PRUNE, IHAVE, GRAFT) and digest anti-entropy of the core,
// driven by hand: one node with three peers that speak the tree protocol.
#include <catch2/catch.hpp>
#include <ctime>

#include "core/core.h"
#include "core/messages.h"

namespace mesh::core {
namespace {

class RecordingHost : public Host {
 public:
  void Send(LinkId link, std::vector<uint8_t> message) override {
    sent.emplace_back(link, std::move(message));
  }
  void Dial(uint64_t, const std::string&) override {}
  void Close(LinkId) override {}
  int64_t UnixMs() override { return now_ms; }
  uint64_t Random() override { return ++random; }
  void Deliver(const Delivery& d) override {
    delivered.emplace_back(d.payload.begin(), d.payload.end());
  }
  void Replied(uint64_t, const Status&, std::span<const uint8_t>) override {}
  void MemberChanged(const MemberInfo&) override {}
  void ReserveSequence(uint64_t) override {}
  void PeerSeen(const MemberRecord&) override {}
  void PeerConnect(const PublicKey&, bool) override {}
  void PeerAddresses(const PublicKey&, uint64_t, uint64_t) override {}
  void VerifyGossip(VerifyJob job) override { core->OnGossipVerified(0, job.token, job.Verify()); }
  // Messages of `type` sent on `link` since the last Clear().
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

  const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  Core* core = nullptr;
  uint64_t random = 0;
  std::vector<std::pair<LinkId, std::vector<uint8_t>>> sent;
  std::vector<std::string> delivered;
};

struct Fixture {
  Fixture() {
    const int64_t now_s = host.now_ms / 1000;
    auto issue = [&](const SigningKey& k, const std::string& name) {
      return IssueCertificate(ca, Role::kNode, name, k.public_key(), now_s - 60, now_s + 3600);
    };
    config.key = std::make_shared<SigningKey>(SigningKey::Generate());
    config.certificate = issue(*config.key, "self");
    config.ca_key = ca.public_key();
    config.tree_min_members = 0;  // the tree with three peers
    core = std::make_unique<Core>(config, &host, "127.0.0.1:1", 1, 1, 1);
    host.core = core.get();
    core->Start(0, {});
    for (int i = 0; i < 3; ++i) {
      peers.push_back(SigningKey::Generate());
      const Certificate cert = issue(peers.back(), "peer" + std::to_string(i));
      core->OnLinkUp(0, Link(i), cert, 0);
      records.push_back(
          MemberRecord::Make(peers.back(), cert, "127.0.0.1:2", 1, false, host.now_ms));
      core->OnMessage(0, Link(i), EncodeHello({true, records.back().encoded, /*tree=*/true}));
    }
    REQUIRE(core->active_links() == 3);
    host.sent.clear();
  }
  static LinkId Link(int peer) { return static_cast<LinkId>(peer + 1); }
  GossipEnvelope Envelope(int origin, uint64_t seq, const std::string& text) const {
    const auto body =
        EncodeEvent("test", {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return GossipEnvelope::Make(peers[origin], GossipKind::kEvent, seq, host.now_ms, body);
  }
  uint64_t Counter(const std::string& name) const {
    auto it = core->counters().find(name);
    return it == core->counters().end() ? 0 : it->second;
  }

  SigningKey ca = SigningKey::Generate();
  RecordingHost host;
  Config config;
  std::unique_ptr<Core> core;
  std::vector<SigningKey> peers;
  std::vector<MemberRecord> records;
};

}  // namespace

TEST_CASE("tree: a duplicate from a tree peer is answered with one PRUNE") {
  Fixture f;
  const auto env = f.Envelope(2, 1, "{\"n\":1}");
  f.core->OnMessage(1, Fixture::Link(0), EncodeGossip(1, env.encoded));
  CHECK(f.host.delivered.size() == 1);
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kGossip) == 1);  // eager push
  f.core->OnMessage(2, Fixture::Link(1), EncodeGossip(1, env.encoded));
  f.core->OnMessage(3, Fixture::Link(1), EncodeGossip(1, env.encoded));
  CHECK(f.host.delivered.size() == 1);
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kPrune) == 1);
  // A copy that its origin sends itself prunes nothing (a joiner's repeated announcement).
  f.core->OnMessage(4, Fixture::Link(2), EncodeGossip(0, env.encoded));
  CHECK(f.host.Count(Fixture::Link(2), MessageType::kPrune) == 0);
}

TEST_CASE("tree: a pruned link gets ids in IHAVE at the next tick instead of envelopes") {
  Fixture f;
  f.core->OnMessage(1, Fixture::Link(1), EncodePrune());
  const std::string payload = "{\"b\":1}";
  REQUIRE(
      f.core
          ->Broadcast(1, "test", {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()})
          .ok());
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kGossip) == 1);
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kGossip) == 0);
  f.core->Tick(100);
  REQUIRE(f.host.Count(Fixture::Link(1), MessageType::kIHave) == 1);
  std::vector<IHaveEntry> entries;
  REQUIRE(DecodeIHave(*f.host.Last(Fixture::Link(1), MessageType::kIHave), &entries).ok());
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].id.origin == f.config.key->public_key());
  CHECK(entries[0].hops == 0);
}

TEST_CASE("tree: an announced id that does not arrive is pulled with GRAFT, then delivered") {
  Fixture f;
  const auto env = f.Envelope(2, 9, "{\"late\":1}");
  const IHaveEntry e{{env.origin, env.seq}, 3};
  f.core->OnMessage(10, Fixture::Link(0), EncodeIHave(std::span(&e, 1)));
  f.core->OnMessage(12, Fixture::Link(1), EncodeIHave(std::span(&e, 1)));
  f.core->Tick(50);
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kGraft) == 0);  // still waiting
  f.core->Tick(10 + f.config.ihave_timeout.count());
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kGraft) == 1);  // the first announcer
  f.core->Tick(10 + f.config.ihave_timeout.count() + f.config.graft_timeout.count());
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kGraft) == 1);  // then the next
  f.core->OnMessage(200, Fixture::Link(1), EncodeGossip(4, env.encoded));
  CHECK(f.host.delivered == std::vector<std::string>{"{\"late\":1}"});
  f.core->Tick(400);
  CHECK(f.host.Count(Fixture::Link(2), MessageType::kGraft) == 0);  // nothing more to pull
  CHECK(f.Counter("tree_missing_given_up") == 0);
}

TEST_CASE("tree: GRAFT is answered with the envelope kept, and makes the link eager") {
  Fixture f;
  const auto env = f.Envelope(0, 5, "{\"kept\":1}");
  f.core->OnMessage(1, Fixture::Link(0), EncodeGossip(0, env.encoded));
  f.core->OnMessage(2, Fixture::Link(2), EncodePrune());
  f.host.sent.clear();
  const GossipId id{env.origin, env.seq};
  f.core->OnMessage(3, Fixture::Link(2), EncodeGraft(std::span(&id, 1)));
  REQUIRE(f.host.Count(Fixture::Link(2), MessageType::kGossip) == 1);
  Gossip g;
  REQUIRE(DecodeGossip(*f.host.Last(Fixture::Link(2), MessageType::kGossip), &g).ok());
  CHECK(g.hops == 1);
  CHECK(g.envelope == env.encoded);
  // Eager again: the next envelope goes whole.
  f.core->OnMessage(4, Fixture::Link(0), EncodeGossip(0, f.Envelope(0, 6, "{}").encoded));
  CHECK(f.host.Count(Fixture::Link(2), MessageType::kGossip) == 2);
}

TEST_CASE("digest: unknown and newer members are pulled; a PULL is answered with records") {
  Fixture f;
  // Peer 0 reports a member this node does not know, and a newer record of peer 1.
  SigningKey stranger = SigningKey::Generate();
  Digest d;
  d.reply_wanted = true;
  d.entries.push_back({stranger.public_key(), 7, false, MemberState::kAlive, 7});
  d.entries.push_back({f.peers[1].public_key(), 2, false, MemberState::kAlive, 2});
  d.entries.push_back({f.peers[2].public_key(), 1, false, MemberState::kAlive, 1});
  size_t next = 0;
  f.core->OnMessage(1, Fixture::Link(0), EncodeDigest(true, d.entries, 1 << 20, &next));
  REQUIRE(f.host.Count(Fixture::Link(0), MessageType::kPull) == 1);
  std::vector<PublicKey> ids;
  REQUIRE(DecodePull(*f.host.Last(Fixture::Link(0), MessageType::kPull), &ids).ok());
  CHECK(ids.size() == 2);
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kDigest) == 1);  // the reply

  const PublicKey want = f.peers[2].public_key();
  f.core->OnMessage(2, Fixture::Link(1), EncodePull(std::span(&want, 1)));
  REQUIRE(f.host.Count(Fixture::Link(1), MessageType::kSync) == 1);
  Sync sync;
  REQUIRE(DecodeSync(*f.host.Last(Fixture::Link(1), MessageType::kSync), &sync).ok());
  REQUIRE(sync.entries.size() == 1);
  CHECK(sync.entries[0].record == f.records[2].encoded);
  CHECK_FALSE(sync.reply_wanted);
}

}  // namespace mesh::core
