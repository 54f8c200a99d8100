// Membership and failure detection of the mesh core, driven by the deterministic simulator.
// Every scenario runs in virtual time with a fixed seed; the bounds are virtual milliseconds
// and each measured value is reported with WARN so regressions show.
#include "sim_checks.h"

namespace mesh::sim {

// One 200-node mesh for three checks (building it costs most of this binary's time):
// random joins converge, broadcasts arrive exactly once, and a 20% crash is detected.
TEST_CASE("200 nodes: join at random times, broadcast, then 20 percent crash at once") {
  const auto real_start = std::chrono::steady_clock::now();
  SimOptions options;
  options.seed = 200;
  options.check_interval_ms = 20;
  SimNetwork net(options);
  constexpr size_t kNodes = 200;
  const int64_t last_join = JoinRandomly(net, kNodes, 10'000, 1);
  const auto all = Range(0, kNodes);

  // 1. Full membership. Bound: 10 s after the last join (ten anti-entropy rounds).
  const bool converged =
      net.RunUntil([&] { return CountsAre(net, all, kNodes - 1); }, last_join + 10'000);
  WARN("200 nodes: full membership "
       << net.now() - last_join << " virtual ms after the last join (t=" << net.now() << " ms); "
       << net.messages_sent() << " messages, " << net.bytes_sent() / 1000 << " kB; real "
       << RealSeconds(real_start) << " s");
  REQUIRE(converged);
  for (size_t i : all) REQUIRE(TableMismatch(net, i, Expect(all)) == "");

  // 2. Broadcasts from a few nodes reach all 199 others exactly once.
  double per_delivery = 0;
  for (size_t from : {0, 57, 133, 199}) {
    per_delivery += BroadcastOnce(net, from, all, "{\"n\":" + std::to_string(from) + "}", 1000);
  }
  WARN("200 nodes: " << per_delivery / 4 << " transmissions per delivery");
  net.RunFor(2000);

  // 3. Crash 40 random nodes at once, node 0 (a seed) among them.
  std::vector<size_t> order = all;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  std::vector<size_t> crashed(order.begin(), order.begin() + 40);
  if (std::find(crashed.begin(), crashed.end(), 0) == crashed.end()) crashed[0] = 0;
  std::vector<size_t> survivors;
  for (size_t i : all) {
    if (std::find(crashed.begin(), crashed.end(), i) == crashed.end()) survivors.push_back(i);
  }
  const uint64_t published_before = net.CounterSum("gossip_published");
  const int64_t crash_at = net.now();
  for (size_t i : crashed) net.Crash(i);

  // Bound: 15 s (a probe round plus the longest suspicion for 200 members, about 11.2 s).
  const bool detected =
      net.RunUntil([&] { return CountsAre(net, survivors, survivors.size() - 1, crashed.size()); },
                   crash_at + 15'000);
  WARN("200 nodes: every survivor marked all 40 crashed nodes failed after "
       << net.now() - crash_at << " virtual ms; "
       << net.CounterSum("gossip_published") - published_before
       << " broadcasts published meanwhile; " << Counters(net) << "; real "
       << RealSeconds(real_start) << " s");
  REQUIRE(detected);
  // Suspect and failed claims scale with the failed members' neighbours (who probe them),
  // not with the cluster: 30 per failure is well above a neighbourhood, well below 160.
  CHECK(net.CounterSum("gossip_published") - published_before < crashed.size() * 30);
  REQUIRE(AllSee(net, survivors, crashed, State::kDead));
  REQUIRE(AllSee(net, survivors, survivors, State::kAlive));
  for (size_t i : survivors) {
    for (size_t j : survivors) {
      INFO("node " << i << " once marked survivor " << j << " failed");
      REQUIRE(net.Stats(i).ever_dead.count(net.Id(j)) == 0);
    }
    REQUIRE(TableMismatch(net, i, Expect(survivors, crashed)) == "");
  }
  // Still one mesh: broadcasts from survivors reach every survivor exactly once.
  net.RunFor(3000);
  per_delivery = BroadcastOnce(net, survivors[0], survivors, "{\"after\":1}", 1000) +
                 BroadcastOnce(net, survivors[77], survivors, "{\"after\":2}", 1000);
  WARN("160 survivors: " << per_delivery / 2 << " transmissions per delivery; real "
                         << RealSeconds(real_start) << " s");
  CheckInvariants(net);
}

TEST_CASE("chain join of 16 nodes converges") {
  SimOptions options;
  options.seed = 16;
  SimNetwork net(options);
  net.AddAndStart({});
  for (size_t i = 1; i < 16; ++i) net.AddAndStart({net.Address(i - 1)});
  const auto all = Range(0, 16);
  // Bound: 5 s (five anti-entropy rounds).
  const bool converged = net.RunUntil([&] { return CountsAre(net, all, 15); }, 5000);
  WARN("chain of 16: full membership at " << net.now() << " virtual ms");
  REQUIRE(converged);
  for (size_t i : all) REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  CheckInvariants(net);
}

TEST_CASE("star join through node 0 survives the crash of node 0") {
  SimOptions options;
  options.seed = 17;
  SimNetwork net(options);
  net.AddAndStart({});
  for (size_t i = 1; i < 16; ++i) net.AddAndStart({net.Address(0)});
  const auto all = Range(0, 16);
  const auto rest = Range(1, 16);
  const bool converged = net.RunUntil([&] { return CountsAre(net, all, 15); }, 5000);
  WARN("star of 16: full membership at " << net.now() << " virtual ms");
  REQUIRE(converged);
  net.RunFor(2000);

  const int64_t crash_at = net.now();
  net.Crash(0);
  // Bound: 8 s (the longest suspicion for 16 members is about 5.8 s).
  const bool detected =
      net.RunUntil([&] { return AllSee(net, rest, {0}, State::kDead); }, crash_at + 8000);
  WARN("star of 16: node 0 failed everywhere after " << net.now() - crash_at << " virtual ms");
  REQUIRE(detected);
  net.RunFor(2000);
  for (size_t i : rest) {
    REQUIRE(TableMismatch(net, i, Expect(rest, {0})) == "");
    REQUIRE(net.Stats(i).ever_dead.size() == 1);
  }
  BroadcastOnce(net, 5, rest, "{\"star\":true}", 500);
  BroadcastOnce(net, 15, rest, "{\"star\":false}", 500);
  CheckInvariants(net);
}

TEST_CASE("a crashed node whose neighbours all crashed with it is still detected") {
  // Five seeds: whether some survivor happens to hold a transient link to it varies.
  size_t undetected_runs = 0;
  for (uint64_t seed = 32; seed < 37; ++seed) {
    SimOptions options;
    options.seed = seed;
    SimNetwork net(options);
    const int64_t last_join = JoinRandomly(net, 30, 1000, seed);
    const auto all = Range(0, 30);
    REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 29); }, last_join + 5000));
    net.RunFor(2000);
    // Node 5 and every node it has an active link to.
    std::vector<size_t> crashed = {5};
    for (const MemberInfo& m : net.CoreOf(5).Members()) {
      for (size_t j : all) {
        if (!m.self && m.linked && net.Id(j) == m.id) crashed.push_back(j);
      }
    }
    std::vector<size_t> survivors;
    for (size_t i : all) {
      if (std::find(crashed.begin(), crashed.end(), i) == crashed.end()) survivors.push_back(i);
    }
    const int64_t crash_at = net.now();
    for (size_t i : crashed) net.Crash(i);
    // Bound: 15 s (the longest suspicion for 30 members is about 7.1 s).
    const bool detected = net.RunUntil(
        [&] { return AllSee(net, survivors, crashed, State::kDead); }, crash_at + 15'000);
    size_t still_alive = 0;
    for (size_t i : survivors) still_alive += net.StateAt(i, 5) == State::kAlive;
    WARN("seed " << seed << ": node 5 and its " << crashed.size() - 1
                 << " neighbours crashed; after " << net.now() - crash_at << " virtual ms "
                 << still_alive << " of " << survivors.size() << " survivors see node 5 alive");
    undetected_runs += detected ? 0 : 1;
    CheckInvariants(net);
  }
  REQUIRE(undetected_runs == 0);
}

TEST_CASE("a pause longer than the suspicion timeout is a death, then a refutation") {
  SimOptions options;
  options.seed = 18;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 16, 500, 4);
  const auto all = Range(0, 16);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 15); }, last_join + 5000));
  net.RunFor(1000);
  const size_t target = 5;
  std::vector<size_t> others = all;
  others.erase(others.begin() + target);
  const uint64_t incarnation = net.CoreOf(target).Self().incarnation;

  const int64_t pause_at = net.now();
  net.Pause(target, 10'000);  // the longest suspicion for 16 members is about 5.8 s
  const bool dead =
      net.RunUntil([&] { return AllSee(net, others, {target}, State::kDead); }, pause_at + 10'000);
  const int64_t failed_after = net.now() - pause_at;
  WARN("paused node failed everywhere after " << failed_after << " virtual ms, "
                                              << net.CounterSum("suspicions_confirmed")
                                              << " suspicions confirmed by own probes");
  REQUIRE(dead);
  // Its linked neighbours probe it in turn (about 6 of them, each within 6 rounds, 1.2 s),
  // and each whose own probe fails confirms the suspicion that reached it by gossip (Lifeguard).
  // With 3 confirmations the suspicion lasts its base, about 960 ms: so within 2.4 s. Were
  // gossiped suspicions never confirmed, only concurrent claims and SYNC reports would shorten
  // it (2.7 s with this seed), and at worst it would last the full 5.8 s.
  CHECK(net.CounterSum("suspicions_confirmed") >= 1);
  CHECK(failed_after <= 2'400);

  net.RunTo(pause_at + 10'000);
  const int64_t resume_at = net.now();
  // Bound: 5 s after the resume (it learns it was declared failed and refutes).
  const bool back = net.RunUntil(
      [&] {
        return AllSee(net, others, {target}, State::kAlive) && CountsAre(net, {target}, 15) &&
               std::all_of(others.begin(), others.end(),
                           [&](size_t i) { return net.IncarnationAt(i, target) > incarnation; });
      },
      resume_at + 5000);
  WARN("paused node alive everywhere again "
       << net.now() - resume_at << " virtual ms after resuming, incarnation +"
       << net.CoreOf(target).Self().incarnation - incarnation);
  REQUIRE(back);
  net.RunFor(3000);
  for (size_t i : all) REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  for (size_t i : others) REQUIRE(net.Stats(i).ever_dead.size() == 1);
  BroadcastOnce(net, target, all, "{\"back\":true}", 500);
  CheckInvariants(net);
}

TEST_CASE("a short pause causes no death") {
  SimOptions options;
  options.seed = 19;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 16, 500, 5);
  const auto all = Range(0, 16);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 15); }, last_join + 5000));
  net.RunFor(1000);
  // 400 ms: two probe rounds, well under the shortest suspicion timeout (about 960 ms).
  for (size_t target : {3, 9, 14}) {
    net.Pause(target, 400);
    net.RunFor(3000);
  }
  net.RunFor(5000);
  for (size_t i : all) {
    INFO("node " << i << " marked " << net.Stats(i).ever_dead.size() << " members failed");
    REQUIRE(net.Stats(i).ever_dead.empty());
    REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  }
  WARN("short pauses: " << net.CounterSum("refutations") << " refutations, "
                        << net.CounterSum("probes_failed") << " failed probes");
  CheckInvariants(net);
}

TEST_CASE("a graceful leave is known everywhere within a few gossip hops") {
  SimOptions options;
  options.seed = 20;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 16, 500, 6);
  const auto all = Range(0, 16);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 15); }, last_join + 5000));
  net.RunFor(1000);
  std::vector<size_t> others = all;
  others.erase(others.begin() + 3);

  const int64_t leave_at = net.now();
  net.Leave(3);
  // Bound: 100 ms, a few hops of 2-5 ms (a suspicion would take about a second or more).
  const bool left =
      net.RunUntil([&] { return AllSee(net, others, {3}, State::kLeft); }, leave_at + 100);
  WARN("leave known everywhere after " << net.now() - leave_at << " virtual ms");
  REQUIRE(left);
  net.RunFor(3000);
  net.Crash(3);  // the process exits
  net.RunFor(5000);
  for (size_t i : others) {
    REQUIRE(net.Stats(i).ever_dead.empty());
    REQUIRE(TableMismatch(net, i, Expect(others, {3}, State::kLeft)) == "");
  }
  // It comes back later with a new run: alive again everywhere.
  const uint64_t incarnation = net.CoreOf(3).Self().incarnation;
  net.Restart(3, {net.Address(0)});
  REQUIRE(net.RunUntil([&] { return AllSee(net, others, {3}, State::kAlive); }, net.now() + 2000));
  for (size_t i : others) REQUIRE(net.IncarnationAt(i, 3) > incarnation);
  CheckInvariants(net);
}

TEST_CASE("a restarted node whose join target crashed rejoins through stored peers") {
  SimOptions options;
  options.seed = 21;
  SimNetwork net(options);
  net.AddAndStart({});
  for (size_t i = 1; i < 16; ++i) net.AddAndStart({net.Address(0)});
  const auto all = Range(0, 16);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 15); }, 5000));
  net.RunFor(1000);
  const size_t node = 9;
  const uint64_t incarnation = net.CoreOf(node).Self().incarnation;
  std::vector<size_t> others;
  for (size_t i = 1; i < 16; ++i) {
    if (i != node) others.push_back(i);
  }

  net.Crash(0);
  net.Crash(node);
  REQUIRE(net.RunUntil(
      [&] {
        return AllSee(net, others, {0, node}, State::kDead);
      },
      net.now() + 8000));
  net.RunFor(1000);
  const int64_t restart_at = net.now();
  // Its join target first, as configured, then addresses its peer store remembered.
  net.Restart(node, {net.Address(0), net.Address(3), net.Address(12)});
  // Bound: 3 s.
  const bool rejoined = net.RunUntil(
      [&] {
        return AllSee(net, others, {node}, State::kAlive) &&
               CountsAre(net, {node}, others.size(), 0);
      },
      restart_at + 3000);
  WARN("restarted node alive everywhere after " << net.now() - restart_at << " virtual ms");
  REQUIRE(rejoined);
  auto members = others;
  members.push_back(node);
  net.RunFor(2000);
  for (size_t i : others) REQUIRE(TableMismatch(net, i, Expect(members, {0})) == "");
  // A new run does not learn failed members from the others' tables.
  REQUIRE(TableMismatch(net, node, Expect(members)) == "");
  for (size_t i : others) REQUIRE(net.IncarnationAt(i, node) > incarnation);
  BroadcastOnce(net, node, members, "{\"restarted\":true}", 500);

  CheckInvariants(net);
}

TEST_CASE("a node restarted with a stale incarnation outbids its old record") {
  SimOptions options;
  options.seed = 27;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 10, 300, 12);
  const auto all = Range(0, 10);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 9); }, last_join + 5000));
  std::vector<size_t> others = all;
  others.erase(others.begin() + 4);
  const uint64_t incarnation = net.CoreOf(4).Self().incarnation;

  SECTION("restarted before anyone noticed") {
    net.Crash(4);
    net.Restart(4, {net.Address(1)}, incarnation - 1);  // a clock that went back
  }
  SECTION("restarted after being marked failed") {
    net.Crash(4);
    REQUIRE(net.RunUntil([&] { return AllSee(net, others, {4}, State::kDead); }, net.now() + 8000));
    net.Restart(4, {net.Address(1)}, incarnation);  // the same incarnation again
  }
  const int64_t restart_at = net.now();
  const bool back = net.RunUntil(
      [&] {
        return CountsAre(net, others, 9) && CountsAre(net, {4}, 9) &&
               net.CoreOf(4).Self().incarnation > incarnation;
      },
      restart_at + 5000);
  WARN("stale restart: alive everywhere after "
       << net.now() - restart_at << " virtual ms, incarnation "
       << net.CoreOf(4).Self().incarnation - incarnation << " above the old one");
  REQUIRE(back);
  net.RunFor(2000);
  for (size_t i : all) REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  BroadcastOnce(net, 4, all, "{\"stale\":true}", 500);
  CheckInvariants(net);
}

TEST_CASE("failed and left members are forgotten after reap_after and stay forgotten") {
  SimOptions options;
  options.seed = 28;  // FastTimings: reap_after 60 s
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 12, 300, 13);
  const auto all = Range(0, 12);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 11); }, last_join + 5000));
  std::vector<size_t> rest;
  for (size_t i : all) {
    if (i != 3 && i != 4) rest.push_back(i);
  }
  net.Crash(3);
  net.Leave(4);
  REQUIRE(net.RunUntil(
      [&] { return AllSee(net, rest, {3}, State::kDead) && AllSee(net, rest, {4}, State::kLeft); },
      net.now() + 8000));
  const int64_t marked_at = net.now();
  net.Crash(4);
  net.RunFor(180'000);
  for (size_t i : rest) {
    INFO("node " << i);
    CHECK(TableMismatch(net, i, Expect(rest)) == "");
    // No callback about them once they were failed or left: nothing brought them back.
    for (const auto& c : net.Stats(i).changes) {
      if (c.time <= marked_at || (c.id != net.Id(3) && c.id != net.Id(4))) continue;
      FAIL_CHECK("at " << c.time << " ms node " << i << " saw node " << (c.id == net.Id(3) ? 3 : 4)
                       << " become " << MemberStateName(c.state));
    }
  }
  WARN("reaping: " << net.CounterSum("members_reaped") << " members reaped in all");
  CheckInvariants(net);
}

TEST_CASE("a join retries with backoff until its join target starts") {
  SimOptions options;
  options.seed = 30;
  SimNetwork net(options);
  net.AddNode({});  // listens only later
  for (size_t i = 1; i < 5; ++i) net.AddAndStart({net.Address(0)});
  net.RunFor(10'000);
  uint64_t dials = 0;
  for (size_t i = 1; i < 5; ++i) dials += net.Stats(i).dials;
  // Backoff from 50 ms up to the 1 s cap, with full jitter: about two dials a second each.
  WARN("join target down for 10 s: " << dials << " dials by 4 nodes");
  CHECK(dials < 4 * 40);
  const int64_t start_at = net.now();
  net.Start(0);
  const auto all = Range(0, 5);
  // Bound: the backoff cap (1 s) plus a handshake and a gossip round.
  const bool joined = net.RunUntil([&] { return CountsAre(net, all, 4); }, start_at + 1500);
  WARN("joined " << net.now() - start_at << " virtual ms after the join target started");
  REQUIRE(joined);
  CheckInvariants(net);
}

}  // namespace mesh::sim
