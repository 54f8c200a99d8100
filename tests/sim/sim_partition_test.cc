// Partitions, driven by the deterministic simulator: detection on both sides of a cut,
// short cuts that must fail nobody of one's own side, a seed cut off alone, and a member
// whose newer record only its own side holds. Bounds are virtual milliseconds; measured
// values are reported with WARN.
#include "sim_checks.h"

namespace mesh::sim {
namespace {

// n nodes (seed 22, failed members kept 10 minutes) joined and settled, and their two halves.
struct Halves {
  std::vector<size_t> all, a, b;
};
Halves JoinForCut(SimNetwork& net, size_t n) {
  const int64_t last_join = JoinRandomly(net, n, 1000, 7);
  Halves h{Range(0, n), Range(0, n / 2), Range(n / 2, n)};
  REQUIRE(net.RunUntil([&] { return CountsAre(net, h.all, n - 1); }, last_join + 5000));
  net.RunFor(1000);
  return h;
}
SimOptions CutOptions() {
  SimOptions options;
  options.seed = 22;
  options.config.reap_after = std::chrono::minutes(10);  // keep the failed members around
  return options;
}

}  // namespace

TEST_CASE("a partition into two groups is detected on both sides and heals") {
  SimNetwork net(CutOptions());
  const auto [all, a, b] = JoinForCut(net, 20);
  std::map<size_t, uint64_t> incarnation;
  for (size_t i : all) incarnation[i] = net.CoreOf(i).Self().incarnation;

  const int64_t cut_at = net.now();
  net.Partition({a, b});
  // Bound: 10 s (probes fail at once; the longest suspicion for 20 members is about 6.2 s).
  const bool split = net.RunUntil(
      [&] { return AllSee(net, a, b, State::kDead) && AllSee(net, b, a, State::kDead); },
      cut_at + 10'000);
  WARN("partition: each side marked the other failed after " << net.now() - cut_at
                                                             << " virtual ms");
  REQUIRE(split);
  REQUIRE(AllSee(net, a, a, State::kAlive));
  REQUIRE(AllSee(net, b, b, State::kAlive));
  net.RunFor(5000);

  const int64_t heal_at = net.now();
  net.Heal();
  // Bound: 30 s after healing.
  const bool healed = net.RunUntil([&] { return CountsAre(net, all, 19); }, heal_at + 30'000);
  WARN("partition healed: all alive everywhere "
       << net.now() - heal_at << " virtual ms after healing ("
       << (healed ? "converged" : "NOT converged") << "); views " << Views(net) << "; "
       << Counters(net));
  REQUIRE(healed);
  net.RunFor(3000);
  // Everyone was failed on the other side, so everyone refuted (Core::Members is the
  // authority: a newer record of a live member changes no state, so no callback).
  for (size_t i : all) {
    REQUIRE(TableMismatch(net, i, Expect(all)) == "");
    for (const MemberInfo& m : net.CoreOf(i).Members()) {
      const size_t j = static_cast<size_t>(
          std::find_if(all.begin(), all.end(), [&](size_t k) { return net.Id(k) == m.id; }) -
          all.begin());
      INFO("node " << i << " sees node " << j << " at incarnation " << m.incarnation);
      REQUIRE(m.incarnation > incarnation[j]);
    }
  }
  // Only the other side failed anyone: nobody failed a member of its own side.
  for (const auto& side : {a, b}) {
    for (size_t i : side) {
      for (size_t j : side) {
        INFO("node " << i << " marked node " << j << " of its own side failed");
        REQUIRE(net.Stats(i).ever_dead.count(net.Id(j)) == 0);
      }
    }
  }
  BroadcastOnce(net, 0, all, "{\"healed\":true}", 500);
  CheckInvariants(net);
}

TEST_CASE("after short partitions nobody holds a member of its own side failed") {
  // After the heal each side learns the other's suspicions by push-pull. Those must reach
  // their targets (gossiped on), so they refute at once; a suspicion kept to the node that
  // pulled it would time out there and fail a member of its own side. What may happen: the
  // other side's failed claims arrive and are refuted within milliseconds. How often that
  // happens depends on the seed: over seeds 40-99 (180 runs) about one run in five had some,
  // 1.2 own-side failures a run on average, in bursts (one failed claim reaches the whole
  // side): 216 before the hashed member table, 210 after. The bound allows that spread for
  // these 15 runs; a broken refutation path fails far more, and for seconds.
  size_t own_side_failures = 0;
  int64_t longest_ms = 0;  // from a failed callback to the next alive one
  for (int64_t cut_ms : {500, 1500, 3000}) {
    for (uint64_t seed = 40; seed < 45; ++seed) {
      SimOptions options;
      options.seed = seed;
      // Flooding: with tree dissemination the refutations after these short cuts come
      // later (the tree spans both sides, and links across the cut stay silent until their
      // idle timeout): when measured, 35 own-side failures in these 15 runs lasting up to
      // 370 ms, against 5 under 100 ms with flooding (docs/mesh.md, "Known gaps"). This test
      // keeps the push-pull path checked.
      options.config.tree_broadcast = false;
      SimNetwork net(options);
      const int64_t last_join = JoinRandomly(net, 20, 1000, seed);
      const auto all = Range(0, 20);
      REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 19); }, last_join + 5000));
      net.RunFor(2000);
      std::vector<size_t> a, b;
      for (size_t i : all) (i % 2 == 0 ? a : b).push_back(i);
      net.Partition({a, b});
      net.RunFor(cut_ms);
      net.Heal();
      REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 19); }, net.now() + 30'000));
      net.RunFor(5000);
      REQUIRE(CountsAre(net, all, 19));
      for (size_t i : all) {
        int64_t failed_at = -1;
        for (const auto& c : net.Stats(i).changes) {
          size_t j = 0;
          while (net.Id(j) != c.id) ++j;
          if (i % 2 != j % 2) continue;
          if (c.state == State::kDead) {
            ++own_side_failures;
            failed_at = c.time;
          } else if (c.state == State::kAlive && failed_at >= 0) {
            longest_ms = std::max(longest_ms, c.time - failed_at);
            failed_at = -1;
          }
        }
      }
      CheckInvariants(net);
    }
  }
  WARN("partitions of 0.5, 1.5 and 3 s, 5 seeds each: "
       << own_side_failures << " own-side failures, the longest lasting " << longest_ms << " ms");
  CHECK(own_side_failures <= 45);
  CHECK(longest_ms < 100);
}

TEST_CASE("a seed without a join list, partitioned away alone, comes back after healing") {
  SimOptions options;
  options.seed = 26;
  options.config.reap_after = std::chrono::minutes(10);
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 12, 500, 11);
  const auto all = Range(0, 12);
  const auto rest = Range(1, 12);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 11); }, last_join + 5000));
  net.RunFor(1000);

  const int64_t cut_at = net.now();
  net.Partition({rest, {0}});
  // Bound: 120 s (links go down after the 5 s idle timeout, then probes, each dial timing
  // out after 2 s, and a suspicion of ~1.1-6.5 s). Lifeguard's local health stretches the
  // cut-off node's probe rounds up to 9 times (its probes get no NACKs, and no probe of it
  // succeeds), and it probes an unlinked member one round in five: 20 s without it.
  const bool split = net.RunUntil(
      [&] { return AllSee(net, rest, {0}, State::kDead) && CountsAre(net, {0}, 0, 11); },
      cut_at + 120'000);
  WARN("lone seed: cut off for " << net.now() - cut_at << " ms; it sees "
                                 << net.CountAt(0, State::kDead) << " of 11 failed, "
                                 << net.CountAt(0, State::kAlive) << " alive");
  CHECK(split);  // the isolated node must notice too; the heal below is checked regardless
  net.RunTo(cut_at + 125'000);
  const int64_t heal_at = net.now();
  net.Heal();
  const bool healed = net.RunUntil([&] { return CountsAre(net, all, 11); }, heal_at + 10'000);
  WARN("lone seed: all alive everywhere " << net.now() - heal_at << " virtual ms after healing");
  REQUIRE(healed);
  BroadcastOnce(net, 0, all, "{\"lone\":true}", 500);
  CheckInvariants(net);
}

// A member refutes a suspicion on its side of a cut; the other side, which never saw the new
// record, fails it at the old incarnation. After healing, that side's claims are stale (the
// member has nothing to refute), so no refutation will carry the newer record there: the
// member gossips its record again when a stale claim reaches it, and a push-pull that
// revives a member is repeated at once with another peer (Core::FollowUpDigest).
TEST_CASE("a member refuted on one side of a cut is revived on the other soon after healing") {
  SimNetwork net(CutOptions());  // no reaping: no relearning from a table either
  const auto [all, a, b] = JoinForCut(net, 40);
  constexpr size_t kMember = 5;  // in a
  const uint64_t before = net.CoreOf(kMember).Self().incarnation;

  const int64_t cut_at = net.now();
  net.Partition({a, b});
  // Paused for 0.8 s, under the shortest suspicion (1.3 s for 40 members): if a probe of it
  // starts meanwhile, side a suspects it and it refutes; side b sees nothing of it. Probe
  // targets are random, so pause again until it has refuted.
  for (int i = 0; i < 10 && net.CoreOf(kMember).Self().incarnation == before; ++i) {
    net.Pause(kMember, 800);
    net.RunFor(1500);
  }
  REQUIRE(net.CoreOf(kMember).Self().incarnation > before);
  REQUIRE(net.RunUntil([&] { return AllSee(net, b, a, State::kDead); }, cut_at + 30'000));
  for (size_t i : b) REQUIRE(net.IncarnationAt(i, kMember) == before);  // failed at the old one
  net.RunFor(2000);

  const int64_t heal_at = net.now();
  net.Heal();
  // Bound: 20 s, one push-pull interval at 40 members. Measured 0.3 s: the member answers
  // the first stale claim that reaches it by gossiping its record again, and a push-pull
  // that revives it is followed by another. (An earlier form of this test, one pause: 1.0 s
  // with only the follow-up digests, 2.3 s with neither, since at this size the tables sent
  // across when links form carry the record to most of side b. At 1,000 nodes,
  // meshvault-sim --scenario partition-heal: no one view within 180 s with neither, 10.6 s
  // with both.) The unit tests in membership_sync_test.cc check each mechanism.
  const bool healed = net.RunUntil([&] { return CountsAre(net, all, 39); }, heal_at + 20'000);
  WARN("member refuted on one side: all alive everywhere "
       << net.now() - heal_at << " virtual ms after healing; " << net.CounterSum("followup_digests")
       << " follow-up digests");
  REQUIRE(healed);
  for (size_t i : b) CHECK(net.IncarnationAt(i, kMember) > before);
  CheckInvariants(net);
}

}  // namespace mesh::sim
