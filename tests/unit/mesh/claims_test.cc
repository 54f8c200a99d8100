// Suspect and failed claims (records.h, membership.cc): their wire form, one envelope for the
// claims of one tick, every claim of an envelope applied, own confirmations of a gossiped
// suspicion, one announcer per failure.
#include <catch2/catch.hpp>

#include "core_fixture.h"

namespace mesh::core {
namespace {

// The claims of each suspect (or failed) envelope the node sent on `link`.
std::vector<std::vector<Claim>> ClaimsSent(const RecordingHost& host, LinkId link,
                                           GossipKind kind) {
  std::vector<std::vector<Claim>> out;
  for (const auto& [l, m] : host.sent) {
    if (l != link || m[0] != static_cast<uint8_t>(MessageType::kGossip)) continue;
    Gossip g;
    GossipEnvelope env;
    REQUIRE(DecodeGossip(m, &g).ok());
    REQUIRE(GossipEnvelope::Decode(g.envelope, 1 << 20, &env).ok());
    if (env.kind != kind) continue;
    std::vector<Claim> claims;
    REQUIRE(DecodeClaims(env.body, &claims).ok());
    out.push_back(std::move(claims));
  }
  return out;
}

std::optional<MemberState> StateOf(const Core& core, const PublicKey& id) {
  for (const MemberInfo& m : core.Members()) {
    if (m.id == id) return m.state;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("claims: 1 to 256 claims of 40 bytes each decode; any other body is refused") {
  const std::vector<Claim> three{{PublicKey{1}, 7}, {PublicKey{2}, 8}, {PublicKey{3}, UINT64_MAX}};
  const auto body = EncodeClaims(three);
  REQUIRE(body.size() == 3 * kClaimBytes);
  std::vector<Claim> back;
  REQUIRE(DecodeClaims(body, &back).ok());
  REQUIRE(back.size() == 3);
  CHECK(back[2].target == PublicKey{3});
  CHECK(back[2].incarnation == UINT64_MAX);
  CHECK(EncodeClaim(three[0]) == std::vector<uint8_t>(body.begin(), body.begin() + kClaimBytes));

  CHECK_FALSE(DecodeClaims({}, &back).ok());
  auto ragged = body;
  ragged.push_back(0);
  CHECK_FALSE(DecodeClaims(ragged, &back).ok());
  const std::vector<Claim> too_many(kMaxClaimsPerEnvelope + 1);
  CHECK_FALSE(DecodeClaims(EncodeClaims(too_many), &back).ok());
  const std::vector<Claim> most(kMaxClaimsPerEnvelope);
  CHECK(DecodeClaims(EncodeClaims(most), &back).ok());
}

TEST_CASE("claims: probes that fail in the same tick share one suspect envelope") {
  Fixture f;
  // Two links lost without a goodbye: each peer is probed at once (a dial, which never
  // answers here); both probes fail at the handshake timeout plus a probe round.
  f.core->OnLinkDown(10, Fixture::Link(0));
  f.core->OnLinkDown(10, Fixture::Link(1));
  const int64_t fail_at = 10 + f.config.handshake_timeout.count() + f.config.probe_interval.count();
  f.host.sent.clear();
  const uint64_t published = f.Counter("gossip_published");
  f.core->Tick(fail_at);
  CHECK(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  CHECK(StateOf(*f.core, f.peers[1].public_key()) == MemberState::kSuspect);
  const auto sent = ClaimsSent(f.host, Fixture::Link(2), GossipKind::kSuspect);
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].size() == 2);
  std::set<PublicKey> targets{sent[0][0].target, sent[0][1].target};
  CHECK(targets == std::set<PublicKey>{f.peers[0].public_key(), f.peers[1].public_key()});
  CHECK(f.Counter("gossip_published") == published + 1);
}

TEST_CASE("claims: every claim of a received envelope is applied") {
  Fixture f;
  const std::vector<Claim> claims{{f.peers[0].public_key(), 1}, {f.peers[1].public_key(), 1}};
  const auto env = GossipEnvelope::Make(f.peers[2], GossipKind::kSuspect, 1, f.host.now_ms,
                                        EncodeClaims(claims));
  f.core->OnMessage(1, Fixture::Link(2), EncodeGossip(0, env.encoded));
  CHECK(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  CHECK(StateOf(*f.core, f.peers[1].public_key()) == MemberState::kSuspect);
  CHECK(StateOf(*f.core, f.peers[2].public_key()) == MemberState::kAlive);

  // A body that is not whole claims is dropped, and the link stays.
  auto ragged = EncodeClaims(claims);
  ragged.pop_back();
  const auto bad = GossipEnvelope::Make(f.peers[2], GossipKind::kDead, 2, f.host.now_ms, ragged);
  f.core->OnMessage(2, Fixture::Link(2), EncodeGossip(0, bad.encoded));
  CHECK(f.Counter("dropped.malformed_claim") == 1);
  CHECK(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  CHECK(f.host.closed.count(Fixture::Link(2)) == 0);
}

// The suspect claims about peer 0 the node sent on link 1 since the last clear.
size_t ClaimsAboutPeer0(const Fixture& f) {
  size_t n = 0;
  for (const auto& claims : ClaimsSent(f.host, Fixture::Link(1), GossipKind::kSuspect)) {
    for (const Claim& c : claims) n += c.target == f.peers[0].public_key();
  }
  return n;
}

// The node loses its link to peer 0 and its own probe (a dial that never answers) fails.
// Returns the suspect claims about peer 0 it sent meanwhile.
size_t OwnClaimsAfterLinkLoss(Fixture& f, int64_t at, LinkId link) {
  f.host.sent.clear();
  f.core->OnLinkDown(at, link);
  f.core->Tick(at + f.config.handshake_timeout.count() + f.config.probe_interval.count());
  return ClaimsAboutPeer0(f);
}

// Peers `claimants` gossip a suspicion of peer 0; then the node's own probe of it fails.
size_t OwnClaimsAfterGossipedSuspicion(Fixture& f, std::vector<int> claimants) {
  const auto claim = EncodeClaim(Claim{f.peers[0].public_key(), 1});
  for (int c : claimants) {
    const auto env =
        GossipEnvelope::Make(f.peers[c], GossipKind::kSuspect, 1, f.host.now_ms, claim);
    f.core->OnMessage(1, Fixture::Link(c), EncodeGossip(0, env.encoded));
  }
  REQUIRE(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  return OwnClaimsAfterLinkLoss(f, 10, Fixture::Link(0));
}

TEST_CASE("claims: a node whose own probe fails confirms a gossiped suspicion, while that counts") {
  {
    // One claimant so far: this node's confirmation shortens the suspicion (Lifeguard), so it
    // publishes its own claim, once: a later link loss starts no probe and sends nothing.
    Fixture f;
    CHECK(OwnClaimsAfterGossipedSuspicion(f, {2}) == 1);
    CHECK(f.Counter("suspicions_confirmed") == 1);
    CHECK(f.Counter("links_lost") == 1);
    const LinkId again = 10;
    f.core->OnLinkUp(20'000, again, f.records[0].certificate, 0);
    f.core->OnMessage(20'000, again, EncodeHello({true, f.records[0].encoded, true}));
    REQUIRE(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
    CHECK(OwnClaimsAfterLinkLoss(f, 20'001, again) == 0);
    CHECK(f.Counter("links_lost") == 1);
    CHECK(f.Counter("suspicions_confirmed") == 1);
  }
  {
    // indirect_probes = 2: confirmations count up to 2 beyond the first claimant. Two
    // claimants so far: a third still shortens the suspicion, so the node claims.
    Fixture f(1, [](Config& c) { c.indirect_probes = 2; });
    CHECK(OwnClaimsAfterGossipedSuspicion(f, {1, 2}) == 1);
    CHECK(f.Counter("suspicions_confirmed") == 1);
  }
  {
    // indirect_probes = 1: two claimants already are all that count, so the node's own failed
    // probe is not news: no probe on the link loss, nothing sent.
    Fixture f(1, [](Config& c) { c.indirect_probes = 1; });
    CHECK(OwnClaimsAfterGossipedSuspicion(f, {1, 2}) == 0);
    CHECK(f.Counter("suspicions_confirmed") == 0);
    CHECK(f.Counter("links_lost") == 0);
  }
}

TEST_CASE("claims: a suspicion relayed from push-pull is not claimed again after an own probe") {
  Fixture f;
  // Peer 1's DIGEST reports peer 0 suspect: the node suspects it and gossips that on, signed
  // by itself, so peer 0 can hear it and refute.
  Digest d;
  d.entries.push_back({f.peers[0].public_key(), 1, false, MemberState::kSuspect, 1});
  size_t next = 0;
  f.core->OnMessage(1, Fixture::Link(1), EncodeDigest(false, d.entries, 1 << 20, &next));
  REQUIRE(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  REQUIRE(ClaimsAboutPeer0(f) == 1);
  // Its own probe then fails: a confirmation here, but the others count its relayed envelope
  // as its claim already, so no second one goes out.
  CHECK(OwnClaimsAfterLinkLoss(f, 10, Fixture::Link(0)) == 0);
  CHECK(f.Counter("suspicions_confirmed") == 1);
}

// Peer 0's link is lost and its probe fails here; peer `claimant` (1 or 2) suspects it too.
// The suspicion runs out (ACKing every other probe meanwhile); returns the failed claims
// about peer 0 the node sent.
size_t FailedClaimsAfterTimeout(Fixture& f, int claimant) {
  f.core->OnLinkDown(10, Fixture::Link(0));
  int64_t t = 10 + f.config.handshake_timeout.count() + f.config.probe_interval.count();
  f.core->Tick(t);
  REQUIRE(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kSuspect);
  const auto claim = EncodeClaim(Claim{f.peers[0].public_key(), 1});
  const auto env =
      GossipEnvelope::Make(f.peers[claimant], GossipKind::kSuspect, 1, f.host.now_ms, claim);
  f.core->OnMessage(t, Fixture::Link(claimant), EncodeGossip(0, env.encoded));
  // Two claimants: 14 s with the default timers (base 4 s, at most 24 s, k = 3).
  size_t answered = 0;
  for (const int64_t end = t + 20'000; t < end; t += 50) {
    f.core->Tick(t);
    for (; answered < f.host.sent.size(); ++answered) {
      const auto& [link, m] = f.host.sent[answered];
      if (m[0] != static_cast<uint8_t>(MessageType::kPing)) continue;
      ProbeMessage ping;
      REQUIRE(DecodeProbe(m, &ping).ok());
      f.core->OnMessage(t, link, EncodeProbe(MessageType::kAck, ping));
    }
  }
  REQUIRE(StateOf(*f.core, f.peers[0].public_key()) == MemberState::kDead);
  // One envelope goes on both links: count each once.
  std::set<std::vector<Claim>> envelopes;
  for (int i = 1; i < 3; ++i) {
    for (auto& claims : ClaimsSent(f.host, Fixture::Link(i), GossipKind::kDead)) {
      envelopes.insert(std::move(claims));
    }
  }
  size_t failed = 0;
  for (const auto& claims : envelopes) {
    for (const Claim& c : claims) failed += c.target == f.peers[0].public_key();
  }
  return failed;
}

// The claimant (1 or 2) whose id is below (or above) this node's, if one is.
int ClaimantBelow(const Fixture& f, bool below) {
  for (int c : {1, 2}) {
    if ((f.peers[c].public_key() < f.config.key->public_key()) == below) return c;
  }
  return 0;
}

TEST_CASE("claims: of the nodes that suspected a member themselves, the lowest id announces") {
  for (const bool below : {true, false}) {
    // Keys are random: a fixture with a claimant on the wanted side of this node's id.
    std::unique_ptr<Fixture> f;
    for (int tries = 0; tries < 64 && (f == nullptr || ClaimantBelow(*f, below) == 0); ++tries) {
      f = std::make_unique<Fixture>();
    }
    const int claimant = ClaimantBelow(*f, below);
    REQUIRE(claimant != 0);
    INFO("claimant's id below this node's: " << below);
    // Both suspected it themselves; only the lower id announces it failed.
    CHECK(FailedClaimsAfterTimeout(*f, claimant) == (below ? 0u : 1u));
  }
}

}  // namespace mesh::core
