// Tree dissemination of the core (Plumtree: PRUNE, IHAVE, GRAFT, repairs), driven by hand:
// one node with three peers that speak the tree protocol (core_fixture.h).
#include <catch2/catch.hpp>
#include <limits>

#include "core_fixture.h"

namespace mesh::core {

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
