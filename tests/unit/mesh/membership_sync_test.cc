// Membership and push-pull of the core driven by hand (core_fixture.h): digests and PULL,
// refutation, the announcement on new links, probes and NACKs.
#include <catch2/catch.hpp>
#include <limits>

#include "core_fixture.h"

namespace mesh::core {

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

// Revived by push-pull (a newer record in SYNC, which no gossip will repeat): one more
// DIGEST goes to a random active peer at once, then at most one per ReplyInterval (1 s
// here). Revived by the member's own gossip: none, its envelope spreads by itself.
TEST_CASE("digest: a member revived by push-pull is passed on by one more push-pull") {
  // No probe rounds or join digests within the test (an hour apart); periodic push-pull
  // every 2 s, so ReplyInterval is 1 s and the first periodic digest is due at 2 s.
  Fixture f(1, [](Config& c) {
    c.probe_interval = std::chrono::hours(1);
    c.anti_entropy_interval = std::chrono::milliseconds(2000);
  });
  auto fail = [&](int peer, uint64_t seq) {  // peer 1 declares `peer` failed
    const auto claim = EncodeClaim(Claim{f.peers[peer].public_key(), 1});
    const auto dead =
        GossipEnvelope::Make(f.peers[1], GossipKind::kDead, seq, f.host.now_ms, claim);
    f.core->OnMessage(1, Fixture::Link(1), EncodeGossip(0, dead.encoded));
  };
  auto newer = [&](int peer) {
    return MemberRecord::Make(f.peers[peer], f.records[peer].certificate, "127.0.0.1:2", 2, false,
                              f.host.now_ms);
  };
  auto sync_with = [&](int64_t now, int peer) {
    std::vector<SyncEntry> entries{{newer(peer).encoded, MemberState::kAlive, 2}};
    size_t next = 0;
    f.core->OnMessage(now, Fixture::Link(1), EncodeSync(false, entries, 1 << 20, &next));
  };
  auto digests = [&] {
    int n = 0;
    for (int i = 0; i < 3; ++i) n += f.host.Count(Fixture::Link(i), MessageType::kDigest);
    return n;
  };
  fail(0, 1);
  fail(2, 2);
  REQUIRE(f.Counter("members_failed") == 2);
  f.host.sent.clear();

  SECTION("by SYNC: at once, then rate-limited") {
    sync_with(100, 0);
    f.core->Tick(101);
    REQUIRE(digests() == 1);
    CHECK(f.Counter("followup_digests") == 1);
    Digest d;
    REQUIRE(DecodeDigest(*f.host.Last(Fixture::Link(1), MessageType::kDigest), &d).ok());
    CHECK(d.reply_wanted);
    sync_with(200, 2);
    f.core->Tick(900);
    CHECK(digests() == 1);
    f.core->Tick(1101);
    CHECK(digests() == 2);
    CHECK(f.Counter("followup_digests") == 2);
  }
  SECTION("by the member's own gossip: no digest") {
    const auto env =
        GossipEnvelope::Make(f.peers[0], GossipKind::kRecord, 9, f.host.now_ms, newer(0).encoded);
    f.core->OnMessage(100, Fixture::Link(1), EncodeGossip(0, env.encoded));
    const auto members = f.core->Members();
    const auto m = std::find_if(members.begin(), members.end(), [&](const MemberInfo& i) {
      return i.id == f.peers[0].public_key();
    });
    REQUIRE((m != members.end() && m->state == MemberState::kAlive));
    f.core->Tick(101);
    f.core->Tick(1101);
    CHECK(digests() == 0);
    CHECK(f.Counter("followup_digests") == 0);
  }
}

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

// A claim about an incarnation this node refuted long ago: its holder never got the newer
// record, and push-pull alone would bring it there. The node gossips its current record
// again, at most once per 5 probe rounds; not for the claims that arrive after a refutation.
TEST_CASE("membership: a stale claim about this node re-gossips its record, rate-limited") {
  Fixture f(5);
  uint64_t seq = 0;
  auto claim_about_self = [&](int64_t now, int by, uint64_t incarnation) {
    const auto body = EncodeClaim(Claim{f.config.key->public_key(), incarnation});
    const auto env =
        GossipEnvelope::Make(f.peers[by], GossipKind::kDead, ++seq, f.host.now_ms, body);
    f.core->OnMessage(now, Fixture::Link(by), EncodeGossip(0, env.encoded));
    for (auto& job : f.host.jobs) f.core->OnGossipVerified(now, job.token, job.Verify());
    f.host.jobs.clear();
  };
  f.host.defer_verify = true;  // checked at `now` (the host answers at time 0)
  const uint64_t published = f.Counter("gossip_published");
  claim_about_self(10, 1, 3);
  CHECK(f.Counter("stale_claims_answered") == 1);
  CHECK(f.Counter("gossip_published") == published + 1);
  CHECK(f.core->Self().incarnation == 5);  // nothing to refute
  claim_about_self(20, 2, 4);
  CHECK(f.Counter("stale_claims_answered") == 1);
  claim_about_self(5011, 2, 4);  // 5 probe rounds later
  CHECK(f.Counter("stale_claims_answered") == 2);

  // A refutation, then the other claimants' copies of the refuted claim: no second gossip.
  claim_about_self(20000, 1, 5);
  REQUIRE(f.core->Self().incarnation == 6);
  CHECK(f.Counter("refutations") == 1);
  claim_about_self(20100, 2, 5);
  CHECK(f.Counter("stale_claims_answered") == 2);
}

// A node that refuted was unreachable or paused and likely missed news (refutations of
// others among it): one push-pull follows a probe round later.
TEST_CASE("membership: a refutation is followed by one push-pull") {
  Fixture f(5);
  const auto body = EncodeClaim(Claim{f.config.key->public_key(), 5});
  const auto env = GossipEnvelope::Make(f.peers[1], GossipKind::kSuspect, 1, f.host.now_ms, body);
  f.core->OnMessage(100, Fixture::Link(1), EncodeGossip(0, env.encoded));
  REQUIRE(f.core->Self().incarnation == 6);
  f.core->Tick(600);
  CHECK(f.Counter("followup_digests") == 0);
  f.core->Tick(100 + f.config.probe_interval.count());
  CHECK(f.Counter("followup_digests") == 1);
  f.core->Tick(100 + 3 * f.config.probe_interval.count());
  CHECK(f.Counter("followup_digests") == 1);
}

// A dial started during a partition fails after the heal, while the member already shows
// alive again: a request queued meanwhile gets a dial of its own instead of failing with
// it; one queued before that dial started fails with it.
TEST_CASE("direct: a request queued during an old dial gets a dial of its own") {
  Fixture f;
  f.core->OnLinkDown(10, Fixture::Link(0));  // lost without a goodbye: a probe dials at once
  REQUIRE(f.host.dialed.size() == 1);
  const PublicKey peer = f.peers[0].public_key();
  REQUIRE(f.core->Request(500, peer, "test", {}, 5000, 7).ok());
  REQUIRE(f.host.dialed.size() == 1);  // queued on the dial under way
  f.core->OnDialFailed(600, f.host.dialed[0]);
  CHECK(f.host.replies.empty());
  REQUIRE(f.host.dialed.size() == 2);
  CHECK(f.Counter("direct_redials") == 1);
  f.core->OnDialFailed(700, f.host.dialed[1]);  // its own dial failed too: now it fails
  REQUIRE(f.host.replies.size() == 1);
  CHECK(f.host.replies[0].first == 7);
  CHECK(f.host.replies[0].second.code() == Status::Code::kUnavailable);
  CHECK(f.host.dialed.size() == 2);
}

// Periodic push-pull intervals are drawn from [1/2, 3/2) of the mean (10 s here), so nodes
// started together do not push-pull, and redial failed members, in step.
TEST_CASE("digest: periodic push-pull intervals are jittered around the mean") {
  Fixture f(1, [](Config& c) { c.probe_interval = std::chrono::hours(1); });
  std::vector<int64_t> sent_at;
  for (int64_t t = 0; t <= 200'000; t += 100) {
    const size_t before = f.host.sent.size();
    f.host.random = f.host.random * 6364136223846793005u + 1442695040888963407u;  // scrambled
    f.core->Tick(t);
    for (size_t i = before; i < f.host.sent.size(); ++i) {
      if (f.host.sent[i].second[0] == static_cast<uint8_t>(MessageType::kDigest)) {
        sent_at.push_back(t);
        break;
      }
    }
  }
  REQUIRE(sent_at.size() >= 10);
  std::set<int64_t> gaps;
  for (size_t i = 1; i < sent_at.size(); ++i) {
    const int64_t gap = sent_at[i] - sent_at[i - 1];
    CHECK(gap >= 5000);
    CHECK(gap <= 15100);  // plus one 100 ms tick
    gaps.insert(gap);
  }
  CHECK(gaps.size() > 3);
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

}  // namespace mesh::core
