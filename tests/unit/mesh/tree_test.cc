// Tree dissemination (Plumtree: PRUNE, IHAVE, GRAFT) and digest anti-entropy of the core,
// driven by hand: one node with three peers that speak the tree protocol.
#include <catch2/catch.hpp>
#include <ctime>
#include <functional>
#include <limits>
#include <set>

#include "core/core.h"
#include "core/messages.h"
#include "mesh/node.h"

namespace mesh::core {
namespace {

class RecordingHost : public Host {
 public:
  void Send(LinkId link, std::vector<uint8_t> message) override {
    sent.emplace_back(link, std::move(message));
  }
  void Dial(uint64_t, const std::string&) override {}
  void Close(LinkId link) override { closed.insert(link); }
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
  void VerifyGossip(VerifyJob job) override {
    if (defer_verify) return jobs.push_back(std::move(job));
    core->OnGossipVerified(0, job.token, job.Verify());
  }
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
  bool defer_verify = false;  // keep signature checks for the test to answer
  std::vector<VerifyJob> jobs;
};

struct Fixture {
  explicit Fixture(uint64_t incarnation = 1, const std::function<void(Config&)>& tweak = {}) {
    const int64_t now_s = host.now_ms / 1000;
    auto issue = [&](const SigningKey& k, const std::string& name) {
      return IssueCertificate(ca, Role::kNode, name, k.public_key(), now_s - 60, now_s + 3600);
    };
    config.key = std::make_shared<SigningKey>(SigningKey::Generate());
    config.certificate = issue(*config.key, "self");
    config.ca_key = ca.public_key();
    config.tree_min_members = 0;  // the tree with three peers
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
  uint64_t Counter(const std::string& name) const { return core->counter(name); }

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

TEST_CASE("tree: a node with no eager link GRAFTs an announced id at once") {
  Fixture f;
  const auto env = f.Envelope(2, 9, "{\"late\":1}");
  const IHaveEntry e{{env.origin, env.seq}, 3};
  // Two of three links pruned: one eager link left, so the node waits for its copy.
  f.core->OnMessage(1, Fixture::Link(0), EncodePrune());
  f.core->OnMessage(1, Fixture::Link(1), EncodePrune());
  f.core->OnMessage(10, Fixture::Link(0), EncodeIHave(std::span(&e, 1)));
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kGraft) == 0);
  CHECK(f.Counter("tree_isolated_grafts") == 0);
  // The last one pruned too: nothing can push the envelope here, so the next announcement of
  // a missing id is GRAFTed at once, without waiting for a tick or ihave_timeout.
  f.core->OnMessage(11, Fixture::Link(2), EncodePrune());
  const auto other = f.Envelope(2, 10, "{\"other\":1}");
  const IHaveEntry e2{{other.origin, other.seq}, 3};
  f.core->OnMessage(12, Fixture::Link(1), EncodeIHave(std::span(&e2, 1)));
  CHECK(f.host.Grafted(Fixture::Link(1)) == std::vector<GossipId>{e2.id});
  CHECK(f.Counter("tree_isolated_grafts") == 1);
  f.core->OnMessage(13, Fixture::Link(1), EncodeGossip(4, other.encoded));  // the answer
  CHECK(f.host.delivered == std::vector<std::string>{"{\"other\":1}"});
  // The first id keeps its deadline, and the GRAFT made link 1 eager again.
  CHECK(f.host.Grafted(Fixture::Link(0)).empty());
  f.core->Tick(10 + f.config.ihave_timeout.count());
  CHECK(f.host.Grafted(Fixture::Link(0)) == std::vector<GossipId>{e.id});
  const auto third = f.Envelope(2, 11, "{\"third\":1}");
  const IHaveEntry e3{{third.origin, third.seq}, 3};
  f.core->OnMessage(120, Fixture::Link(2), EncodeIHave(std::span(&e3, 1)));
  CHECK(f.host.Grafted(Fixture::Link(2)).empty());  // eager links again: it waits
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

TEST_CASE("digest: a member held as failed that links in is shown its failed state") {
  Fixture f;
  // Peer 1 declares peer 0 failed; this node holds peer 0 failed and closes its link.
  const auto claim = EncodeClaim(Claim{f.peers[0].public_key(), 1});
  const auto dead = GossipEnvelope::Make(f.peers[1], GossipKind::kDead, 1, f.host.now_ms, claim);
  f.core->OnMessage(1, Fixture::Link(1), EncodeGossip(0, dead.encoded));
  REQUIRE(f.Counter("members_failed") == 1);
  f.host.sent.clear();

  // Peer 0 comes back (after a pause it does not know it was failed) and links in.
  const LinkId back = 10;
  f.core->OnLinkUp(2, back, f.records[0].certificate, 0);
  f.core->OnMessage(2, back, EncodeHello({true, f.records[0].encoded, /*tree=*/true}));
  REQUIRE(f.host.Count(back, MessageType::kDigest) == 1);
  Digest d;
  REQUIRE(DecodeDigest(*f.host.Last(back, MessageType::kDigest), &d).ok());
  CHECK(d.reply_wanted);
  const auto entry = std::find_if(d.entries.begin(), d.entries.end(), [&](const DigestEntry& e) {
    return e.id == f.peers[0].public_key();
  });
  REQUIRE(entry != d.entries.end());
  CHECK(entry->state == MemberState::kDead);
  CHECK(f.Counter("digests_to_failed_members") == 1);

  // Linking in again at once buys no second table.
  f.core->OnLinkDown(3, back);
  f.core->OnLinkUp(3, back + 5, f.records[0].certificate, 0);
  f.core->OnMessage(3, back + 5, EncodeHello({true, f.records[0].encoded, /*tree=*/true}));
  CHECK(f.host.Count(back + 5, MessageType::kDigest) == 0);
  CHECK(f.Counter("digests_to_failed_members") == 1);

  // A member in good standing that links in gets no such digest.
  f.host.sent.clear();
  const LinkId again = 11;
  f.core->OnLinkUp(3, again, f.records[2].certificate, 0);
  f.core->OnMessage(3, again, EncodeHello({true, f.records[2].encoded, /*tree=*/true}));
  CHECK(f.host.Count(again, MessageType::kDigest) == 0);
}

// --- Review of the tree and digest protocol (hostile peers) ----------------------------------

TEST_CASE("digest: a made-up incarnation of this node is pulled, never refuted") {
  Fixture f;
  const PublicKey self = f.config.key->public_key();
  const uint64_t top = std::numeric_limits<uint64_t>::max();
  const std::vector<DigestEntry> entries{{self, top, false, MemberState::kAlive, top}};
  size_t next = 0;
  f.core->OnMessage(1, Fixture::Link(0), EncodeDigest(false, entries, 1 << 20, &next));
  CHECK(f.core->Self().incarnation == 1);
  CHECK(f.Counter("refutations") == 0);
  // The record is asked for instead.
  REQUIRE(f.host.Count(Fixture::Link(0), MessageType::kPull) == 1);
  std::vector<PublicKey> ids;
  REQUIRE(DecodePull(*f.host.Last(Fixture::Link(0), MessageType::kPull), &ids).ok());
  CHECK(ids == std::vector<PublicKey>{self});
  // An answer with a record of this node that this node did not sign refutes nothing.
  const auto forged = MemberRecord::Make(f.peers[0], f.config.certificate, "127.0.0.1:1", top,
                                         false, f.host.now_ms);
  std::vector<SyncEntry> sync{{forged.encoded, MemberState::kAlive, top}};
  next = 0;
  f.core->OnMessage(2, Fixture::Link(0), EncodeSync(false, sync, 1 << 20, &next));
  CHECK(f.core->Self().incarnation == 1);
  CHECK(f.Counter("dropped.bad_record") == 1);
  // A signed record of an earlier run is outbid.
  const auto earlier = MemberRecord::Make(*f.config.key, f.config.certificate, "127.0.0.1:1", 5,
                                          false, f.host.now_ms);
  sync = {{earlier.encoded, MemberState::kAlive, 5}};
  next = 0;
  f.core->OnMessage(3, Fixture::Link(0), EncodeSync(false, sync, 1 << 20, &next));
  CHECK(f.core->Self().incarnation == 6);
}

TEST_CASE("membership: a refutation at the top of the incarnation range does not wrap") {
  const uint64_t top = std::numeric_limits<uint64_t>::max();
  Fixture f(top - 1);
  const PublicKey self = f.config.key->public_key();
  auto suspect = [&](uint64_t incarnation) {
    const std::vector<DigestEntry> e{
        {self, incarnation, false, MemberState::kSuspect, incarnation}};
    size_t next = 0;
    f.core->OnMessage(1, Fixture::Link(0), EncodeDigest(false, e, 1 << 20, &next));
  };
  suspect(top - 1);
  CHECK(f.core->Self().incarnation == top);
  suspect(top);
  CHECK(f.core->Self().incarnation == top);  // kept, not 0
  CHECK(f.Counter("dropped.refute_overflow") == 1);
  // Nor does a record this node signed at the top.
  const auto signed_top = MemberRecord::Make(*f.config.key, f.config.certificate, "127.0.0.1:9",
                                             top, false, f.host.now_ms);
  std::vector<SyncEntry> sync{{signed_top.encoded, MemberState::kAlive, top}};
  size_t next = 0;
  f.core->OnMessage(2, Fixture::Link(0), EncodeSync(false, sync, 1 << 20, &next));
  CHECK(f.core->Self().incarnation == top);
  CHECK(f.Counter("dropped.refute_overflow") == 2);
}

// Found by the mesh_core fuzzer: the join announcement, repeated on new links for a few probe
// rounds, went out as first signed even after a refutation had replaced it.
TEST_CASE("membership: a new link gets the current record of this node, not a refuted one") {
  Fixture f;
  const PublicKey self = f.config.key->public_key();
  const std::vector<DigestEntry> e{{self, 1, false, MemberState::kSuspect, 1}};
  size_t next = 0;
  f.core->OnMessage(1, Fixture::Link(0), EncodeDigest(false, e, 1 << 20, &next));
  REQUIRE(f.core->Self().incarnation == 2);
  const SigningKey late = SigningKey::Generate();
  const int64_t now_s = f.host.now_ms / 1000;
  const Certificate cert =
      IssueCertificate(f.ca, Role::kNode, "late", late.public_key(), now_s - 60, now_s + 3600);
  const LinkId link = Fixture::Link(3);
  f.core->OnLinkUp(2, link, cert, 0);
  const auto record = MemberRecord::Make(late, cert, "127.0.0.1:3", 1, false, f.host.now_ms);
  f.core->OnMessage(2, link, EncodeHello({true, record.encoded, /*tree=*/true}));
  const std::vector<uint8_t>* sent = f.host.Last(link, MessageType::kGossip);
  REQUIRE(sent != nullptr);
  Gossip g;
  GossipEnvelope env;
  MemberRecord announced;
  REQUIRE(DecodeGossip(*sent, &g).ok());
  REQUIRE(GossipEnvelope::Decode(g.envelope, 1 << 20, &env).ok());
  REQUIRE(env.origin == self);
  REQUIRE(MemberRecord::Decode(env.body, &announced).ok());
  CHECK(announced.incarnation == 2);
}

TEST_CASE("tree: an id repeated by one announcer takes one place; later GRAFTs ask two at once") {
  Fixture f;
  const auto env = f.Envelope(2, 9, "{\"late\":1}");
  const GossipId id{env.origin, env.seq};
  // Link 0 repeats the id as often as an IHAVE allows; links 1 and 2 announce it once.
  const std::vector<IHaveEntry> flood(kMaxIdsPerMessage, IHaveEntry{id, 1});
  f.core->OnMessage(10, Fixture::Link(0), EncodeIHave(flood));
  f.core->OnMessage(10, Fixture::Link(0), EncodeIHave(flood));
  const IHaveEntry once{id, 1};
  f.core->OnMessage(11, Fixture::Link(1), EncodeIHave(std::span(&once, 1)));
  f.core->OnMessage(12, Fixture::Link(2), EncodeIHave(std::span(&once, 1)));
  const int64_t first = 12 + f.config.ihave_timeout.count();
  f.core->Tick(first);
  CHECK(f.host.Grafted(Fixture::Link(0)).size() == 1);
  CHECK(f.host.Grafted(Fixture::Link(1)).empty());
  // No answer: the two other announcers at once, and link 0 never again.
  f.core->Tick(first + f.config.graft_timeout.count());
  CHECK(f.host.Grafted(Fixture::Link(0)).size() == 1);
  CHECK(f.host.Grafted(Fixture::Link(1)) == std::vector<GossipId>{id});
  CHECK(f.host.Grafted(Fixture::Link(2)) == std::vector<GossipId>{id});
  f.core->Tick(first + 10 * f.config.graft_timeout.count());
  CHECK(f.host.Grafted(Fixture::Link(0)).size() == 1);
  CHECK(f.host.Grafted(Fixture::Link(1)).size() == 1);
  CHECK(f.host.Grafted(Fixture::Link(2)).size() == 1);
  CHECK(f.Counter("tree_missing_given_up") == 1);
}

TEST_CASE("tree: IHAVE hops 0 from a peer that is not the origin does not move the parent") {
  Fixture f;
  auto receive = [&](uint64_t seq, int64_t now) {
    const auto env = f.Envelope(2, seq, "{}");
    f.core->OnMessage(now, Fixture::Link(0), EncodeGossip(6, env.encoded));
    return GossipId{env.origin, env.seq};
  };
  const GossipId a = receive(1, 1);
  f.host.sent.clear();
  const IHaveEntry lie{a, 0};  // link 1 is peer 1, not the origin (peer 2)
  f.core->OnMessage(2, Fixture::Link(1), EncodeIHave(std::span(&lie, 1)));
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kPrune) == 0);
  CHECK(f.Counter("tree_optimized") == 0);
  // A plausible shorter path swaps once; the next swap toward that link waits.
  const IHaveEntry near{a, 1};
  f.core->OnMessage(3, Fixture::Link(1), EncodeIHave(std::span(&near, 1)));
  CHECK(f.Counter("tree_optimized") == 1);
  const GossipId b = receive(2, 4);
  const IHaveEntry near_b{b, 1};
  f.core->OnMessage(5, Fixture::Link(1), EncodeIHave(std::span(&near_b, 1)));
  CHECK(f.Counter("tree_optimized") == 1);
  CHECK(f.Counter("tree_optimize_limited") == 1);
}

TEST_CASE("tree: one peer's IHAVEs cannot fill the missing-id table; left origins are ignored") {
  Fixture f(1, [](Config& c) { c.max_missing_ids = 8; });
  std::vector<IHaveEntry> many;
  for (uint64_t seq = 100; seq < 108; ++seq) {
    many.push_back(IHaveEntry{{f.peers[2].public_key(), seq}, 1});
  }
  f.core->OnMessage(1, Fixture::Link(0), EncodeIHave(many));
  CHECK(f.Counter("dropped.missing_ids_full") == 6);  // a quarter of 8 for link 0
  const IHaveEntry other{{f.peers[2].public_key(), 200}, 1};
  f.core->OnMessage(2, Fixture::Link(1), EncodeIHave(std::span(&other, 1)));
  CHECK(f.Counter("dropped.missing_ids_full") == 6);
  f.core->Tick(2 + f.config.ihave_timeout.count());
  CHECK(f.host.Grafted(Fixture::Link(1)) == std::vector<GossipId>{other.id});
  CHECK(f.host.Grafted(Fixture::Link(0)).size() == 2);
  // A member that left sends nothing more: its ids are not waited for.
  const auto leave = MemberRecord::Make(f.peers[2], f.records[2].certificate, "127.0.0.1:2", 1,
                                        true, f.host.now_ms);
  std::vector<SyncEntry> sync{{leave.encoded, MemberState::kLeft, 1}};
  size_t next = 0;
  f.core->OnMessage(3, Fixture::Link(0), EncodeSync(false, sync, 1 << 20, &next));
  const IHaveEntry gone{{f.peers[2].public_key(), 300}, 1};
  f.core->OnMessage(4, Fixture::Link(0), EncodeIHave(std::span(&gone, 1)));
  CHECK(f.Counter("dropped.ihave_left_origin") == 1);
}

TEST_CASE("tree: ids of an unknown origin are GRAFTed from their announcers only") {
  Fixture f;
  const IHaveEntry made_up{{SigningKey::Generate().public_key(), 1}, 1};
  f.core->OnMessage(1, Fixture::Link(0), EncodeIHave(std::span(&made_up, 1)));
  const int64_t first = 1 + f.config.ihave_timeout.count();
  f.core->Tick(first);
  CHECK(f.host.Grafted(Fixture::Link(0)).size() == 1);
  f.core->Tick(first + f.config.graft_timeout.count());  // no answer
  CHECK(f.host.Grafted(Fixture::Link(1)).empty());       // no fallback to the tree links
  CHECK(f.host.Grafted(Fixture::Link(2)).empty());
  CHECK(f.Counter("tree_missing_given_up") == 1);
}

TEST_CASE("tree: when every announcer's link is gone, the tree links are asked") {
  Fixture f;
  const IHaveEntry e{{f.peers[2].public_key(), 9}, 1};
  f.core->OnMessage(1, Fixture::Link(0), EncodeIHave(std::span(&e, 1)));
  f.core->OnLinkDown(2, Fixture::Link(0));
  f.core->Tick(2 + f.config.ihave_timeout.count());
  const size_t asked =
      f.host.Grafted(Fixture::Link(1)).size() + f.host.Grafted(Fixture::Link(2)).size();
  CHECK(asked == 1);
  CHECK(f.Counter("tree_graft_fallback") == 1);
  CHECK(f.Counter("tree_missing_given_up") == 0);
}

TEST_CASE("hash: ids that a linear hash puts in one bucket spread under SipHash") {
  // The old hash was salt ^ seq * C ^ le64(origin[0..8]) before its finaliser: origins chosen
  // as le64(seq * C) gave every id the same value whatever the salt.
  GossipIdHash h;
  for (size_t i = 0; i < h.key.size(); ++i) h.key[i] = static_cast<uint8_t>(i * 7 + 1);
  std::set<size_t> values;
  for (uint64_t seq = 1; seq <= 1000; ++seq) {
    GossipId id{{}, seq};
    const uint64_t x = seq * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < 8; ++i) id.origin[i] = static_cast<uint8_t>(x >> (8 * i));
    values.insert(h(id));
  }
  CHECK(values.size() == 1000);
  // And the key matters.
  GossipIdHash other = h;
  other.key[0] ^= 1;
  const GossipId id{{}, 1};
  CHECK(h(id) != other(id));
}

TEST_CASE("tree: a copy that comes while a forgery is checked is GRAFTed when the check fails") {
  Fixture f;
  f.host.defer_verify = true;
  const auto env = f.Envelope(2, 7, "{\"real\":1}");
  auto forged = env.encoded;
  forged.back() ^= 0x01;  // the signature
  f.core->OnMessage(1, Fixture::Link(0), EncodeGossip(1, forged));
  REQUIRE(f.host.jobs.size() == 1);
  // The honest copy, and an IHAVE, during the check: no PRUNE for the honest link.
  f.core->OnMessage(2, Fixture::Link(1), EncodeGossip(1, env.encoded));
  const IHaveEntry e{{env.origin, env.seq}, 1};
  f.core->OnMessage(3, Fixture::Link(2), EncodeIHave(std::span(&e, 1)));
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kPrune) == 0);
  CHECK(f.host.jobs.size() == 1);
  // The forgery fails: its link closes and the honest copy is asked for at once.
  const VerifyJob job = f.host.jobs.front();
  f.host.jobs.clear();
  f.core->OnGossipVerified(4, job.token, job.Verify());
  CHECK(f.host.closed.count(Fixture::Link(0)) == 1);
  CHECK(f.host.Grafted(Fixture::Link(1)) == std::vector<GossipId>{e.id});
  f.core->OnMessage(5, Fixture::Link(1), EncodeGossip(1, env.encoded));
  REQUIRE(f.host.jobs.size() == 1);
  f.core->OnGossipVerified(6, f.host.jobs.front().token, f.host.jobs.front().Verify());
  CHECK(f.host.delivered == std::vector<std::string>{"{\"real\":1}"});
}

TEST_CASE("tree: the GRAFT cache keeps at most tree_cache_bytes; the oldest go first") {
  const GossipEnvelope probe = Fixture().Envelope(2, 1, "{}");
  const size_t each = probe.encoded.size();
  Fixture f(1, [&](Config& c) { c.tree_cache_bytes = 2 * each; });
  std::vector<GossipId> ids;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    const auto env = f.Envelope(2, seq, "{}");
    REQUIRE(env.encoded.size() == each);
    f.core->OnMessage(1, Fixture::Link(0), EncodeGossip(1, env.encoded));
    ids.push_back({env.origin, env.seq});
  }
  f.host.sent.clear();
  f.core->OnMessage(2, Fixture::Link(1), EncodeGraft(ids));
  CHECK(f.Counter("tree_graft_unknown") == 1);  // the first went when the third came
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kGossip) == 2);
}

TEST_CASE("tree: a GRAFT is answered once per id and link, however often it names the id") {
  Fixture f;
  const auto env = f.Envelope(0, 5, "{\"kept\":1}");
  f.core->OnMessage(1, Fixture::Link(0), EncodeGossip(0, env.encoded));
  f.host.sent.clear();
  const std::vector<GossipId> ids(kMaxIdsPerMessage, GossipId{env.origin, env.seq});
  f.core->OnMessage(2, Fixture::Link(2), EncodeGraft(ids));
  f.core->OnMessage(3, Fixture::Link(2), EncodeGraft(ids));
  CHECK(f.host.Count(Fixture::Link(2), MessageType::kGossip) == 1);
  f.core->OnMessage(4, Fixture::Link(1), EncodeGraft(std::span(ids).first(1)));
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kGossip) == 1);
}

TEST_CASE("digest: replies are rate-limited per link and PULL ids answered once") {
  Fixture f;
  size_t next = 0;
  const std::vector<DigestEntry> none{{f.peers[1].public_key(), 1, false, MemberState::kAlive, 1}};
  for (int64_t t : {1, 2, 3, 4}) {  // one per probe_interval, two in a burst
    next = 0;
    f.core->OnMessage(t, Fixture::Link(0), EncodeDigest(true, none, 1 << 20, &next));
  }
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kDigest) == 2);
  CHECK(f.Counter("dropped.digest_reply_limited") == 2);
  next = 0;
  f.core->OnMessage(1 + 2 * f.config.probe_interval.count(), Fixture::Link(0),
                    EncodeDigest(true, none, 1 << 20, &next));
  CHECK(f.host.Count(Fixture::Link(0), MessageType::kDigest) == 3);
  // Another link has its own allowance; SYNC has one too.
  next = 0;
  f.core->OnMessage(3, Fixture::Link(1), EncodeDigest(true, none, 1 << 20, &next));
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kDigest) == 1);
  std::vector<SyncEntry> sync{{f.records[1].encoded, MemberState::kAlive, 1}};
  for (int64_t t : {4, 5, 6}) {
    next = 0;
    f.core->OnMessage(t, Fixture::Link(1), EncodeSync(true, sync, 1 << 20, &next));
  }
  CHECK(f.host.Count(Fixture::Link(1), MessageType::kSync) == 2);
  // A PULL naming one member 1024 times gets its record once.
  const std::vector<PublicKey> ids(kMaxIdsPerMessage, f.peers[2].public_key());
  f.core->OnMessage(6, Fixture::Link(2), EncodePull(ids));
  REQUIRE(f.host.Count(Fixture::Link(2), MessageType::kSync) == 1);
  Sync answer;
  REQUIRE(DecodeSync(*f.host.Last(Fixture::Link(2), MessageType::kSync), &answer).ok());
  CHECK(answer.entries.size() == 1);
}

TEST_CASE("probe: only the helpers' NACKs count, once each") {
  Fixture f;
  const int64_t round = f.config.probe_interval.count();
  f.core->Tick(round);  // the first probe round pings a linked peer
  LinkId target = 0;
  uint64_t probe_id = 0;
  for (int i = 0; i < 3; ++i) {
    if (const auto* ping = f.host.Last(Fixture::Link(i), MessageType::kPing)) {
      ProbeMessage p;
      REQUIRE(DecodeProbe(*ping, &p).ok());
      target = Fixture::Link(i);
      probe_id = p.probe_id;
    }
  }
  REQUIRE(target != 0);
  f.core->Tick(round + f.config.probe_timeout.count());  // no ACK: PING-REQ to the two others
  LinkId helper = 0;
  for (int i = 0; i < 3; ++i) {
    if (f.host.Count(Fixture::Link(i), MessageType::kPingReq) == 1) helper = Fixture::Link(i);
  }
  REQUIRE(helper != 0);
  // The target itself is no helper; a helper's second NACK is not another.
  const auto nack = EncodeProbe(MessageType::kNack, {probe_id});
  f.core->OnMessage(round + 600, target, nack);
  f.core->OnMessage(round + 600, target, nack);
  f.core->OnMessage(round + 601, helper, nack);
  f.core->OnMessage(round + 601, helper, nack);
  CHECK(f.Counter("dropped.unexpected_nack") == 3);
  f.core->Tick(2 * round);  // the probe fails: one helper of two said nothing
  CHECK(f.core->local_health() == 1);
}

TEST_CASE("tree: links lost together repair the tree once, and once more after ihave_timeout") {
  Fixture f;
  f.core->OnLinkDown(5, Fixture::Link(0));
  f.core->OnLinkDown(5, Fixture::Link(1));
  CHECK(f.Counter("tree_repairs") == 1);
  f.core->Tick(5 + f.config.ihave_timeout.count());
  CHECK(f.Counter("tree_repairs") == 2);
  f.core->Tick(5 + 3 * f.config.ihave_timeout.count());
  CHECK(f.Counter("tree_repairs") == 2);
}

TEST_CASE(
    "node: a tree_cache_ttl shorter than the GRAFT chain, or timers and caps out of range, are "
    "refused") {
  Fixture f;
  Config c = f.config;
  c.listen = "127.0.0.1:0";
  c.tree_cache_ttl = Millis(500);  // < 100 + 50 * 13
  std::unique_ptr<Node> node;
  const Status s = Node::Create(c, &node);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("tree_cache_ttl") != std::string::npos);
  c.tree_cache_ttl = Millis(3000);
  CHECK(Node::Create(c, &node).ok());
  node.reset();
  // Values meant as "never" or "no cap" are refused, not wrapped into nonsense.
  auto refused = [&](auto change, const char* field) {
    Config bad = c;
    change(bad);
    std::unique_ptr<Node> n;
    const Status st = Node::Create(bad, &n);
    CHECK(st.code() == Status::Code::kInvalidArgument);
    CHECK(st.message().find(field) != std::string::npos);
  };
  refused([](Config& b) { b.graft_timeout = Millis::max(); }, "graft_timeout");
  refused([](Config& b) { b.ihave_timeout = Millis::max(); }, "ihave_timeout");
  refused([](Config& b) { b.tree_cache_ttl = Millis(120'000); }, "tree_cache_ttl");
  refused([](Config& b) { b.active_max = std::numeric_limits<size_t>::max(); }, "active_max");
  refused([](Config& b) { b.lhm_max = std::numeric_limits<size_t>::max(); }, "lhm_max");
}

}  // namespace mesh::core
