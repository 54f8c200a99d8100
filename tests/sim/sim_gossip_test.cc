// Gossip, direct requests, sequence numbers and determinism of the mesh core, driven by the
// deterministic simulator (virtual time, fixed seeds).
#include "sim_checks.h"

namespace mesh::sim {

TEST_CASE("a broadcast from every node reaches every other node exactly once") {
  SimOptions options;
  options.seed = 50;
  SimNetwork net(options);
  constexpr size_t kNodes = 50;
  const int64_t last_join = JoinRandomly(net, kNodes, 2000, 3);
  const auto all = Range(0, kNodes);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, kNodes - 1); }, last_join + 10'000));

  // All 50 broadcast, 10 ms apart, so their floods overlap.
  const uint64_t sent_before = net.event_gossip_sent();
  for (size_t i : all) {
    REQUIRE(net.Broadcast(i, "test.all", "{\"from\":" + std::to_string(i) + "}").ok());
    net.RunFor(10);
  }
  net.RunFor(3000);
  size_t deliveries = 0;
  for (size_t j : all) {
    const NodeStats& s = net.Stats(j);
    for (size_t i : all) {
      const NodeStats::Key key{net.Id(i), "test.all", "{\"from\":" + std::to_string(i) + "}"};
      auto it = s.broadcasts.find(key);
      const int count = it == s.broadcasts.end() ? 0 : it->second;
      INFO("node " << j << " delivered node " << i << "'s broadcast " << count << " times");
      REQUIRE(count == (i == j ? 0 : 1));
    }
    REQUIRE(s.broadcasts_delivered == kNodes - 1);
    deliveries += s.broadcasts_delivered;
  }
  const double per_delivery =
      static_cast<double>(net.event_gossip_sent() - sent_before) / static_cast<double>(deliveries);
  WARN("50 nodes, 50 broadcasts: " << per_delivery << " transmissions per delivery, "
                                   << net.CounterSum("gossip_duplicates")
                                   << " duplicates dropped in all");
  CHECK(per_delivery < 13);  // flooding: at most active_max links per node
  CheckInvariants(net);
}

TEST_CASE("with signatures checked later, as on a worker pool, each id is verified once per node") {
  SimOptions options;
  options.seed = 51;
  options.verify_delay_ms = 4;  // longer than a hop: copies arrive while the first is checked
  SimNetwork net(options);
  constexpr size_t kNodes = 30;
  const int64_t last_join = JoinRandomly(net, kNodes, 1000, 4);
  const auto all = Range(0, kNodes);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, kNodes - 1); }, last_join + 10'000));
  for (size_t i : all) {
    REQUIRE(net.Broadcast(i, "test.async", "{\"from\":" + std::to_string(i) + "}").ok());
    net.RunFor(5);
  }
  net.RunFor(3000);
  for (size_t j : all) {
    const NodeStats& s = net.Stats(j);
    for (size_t i : all) {
      const NodeStats::Key key{net.Id(i), "test.async", "{\"from\":" + std::to_string(i) + "}"};
      auto it = s.broadcasts.find(key);
      const int count = it == s.broadcasts.end() ? 0 : it->second;
      INFO("node " << j << " delivered node " << i << "'s broadcast " << count << " times");
      REQUIRE(count == (i == j ? 0 : 1));
    }
    INFO("node " << j);
    REQUIRE(s.verified_again == 0);  // a copy that came during the check was not checked again
  }
  const uint64_t duplicates = net.CounterSum("gossip_duplicates");
  uint64_t verifications = 0;
  for (size_t j : all) verifications += net.Stats(j).verifications;
  WARN("async checks: " << verifications << " signatures checked, " << duplicates
                        << " duplicates dropped");
  REQUIRE(net.CounterSum("dropped.bad_signature") == 0);
  REQUIRE(net.CounterSum("dropped.verify_backlog") == 0);
  CheckInvariants(net);
}

TEST_CASE("with 2 percent segment loss nothing is falsely failed and broadcasts arrive once") {
  SimOptions options;
  options.seed = 29;
  options.loss = 0.02;  // each lost segment arrives 200 ms late, after the probe timeout
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 30, 1000, 14);
  const auto all = Range(0, 30);
  const bool converged = net.RunUntil([&] { return CountsAre(net, all, 29); }, last_join + 10'000);
  WARN("lossy links: full membership " << net.now() - last_join << " ms after the last join");
  REQUIRE(converged);
  for (size_t from : {0, 7, 21, 29}) {
    BroadcastOnce(net, from, all, "{\"lossy\":" + std::to_string(from) + "}", 2000);
  }
  net.RunFor(20'000);
  for (size_t i : all) {
    INFO("node " << i << " marked " << net.Stats(i).ever_dead.size() << " members failed");
    REQUIRE(net.Stats(i).ever_dead.empty());
    REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  }
  WARN("lossy links: " << net.CounterSum("probes_failed") << " failed probes, "
                       << net.CounterSum("refutations") << " refutations");
  CheckInvariants(net);
}

TEST_CASE("a cut between two nodes is bridged by indirect probes") {
  SimOptions options;
  options.seed = 31;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 10, 300, 15);
  const auto all = Range(0, 10);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 9); }, last_join + 5000));
  net.RunFor(1000);
  net.Block(2, 7);
  net.RunFor(20'000);
  for (size_t i : all) {
    INFO("node " << i << " marked " << net.Stats(i).ever_dead.size() << " members failed");
    REQUIRE(net.Stats(i).ever_dead.empty());
    REQUIRE(TableMismatch(net, i, Expect(all)) == "");
  }
  WARN("cut 2-7: " << net.CounterSum("probes_failed") << " failed probes, "
                   << net.CounterSum("refutations") << " refutations");
  BroadcastOnce(net, 2, all, "{\"cut\":true}", 500);
  net.Unblock(2, 7);
  CheckInvariants(net);
}

TEST_CASE("sequence numbers are reserved before use, across a restart") {
  SimOptions options;
  options.seed = 23;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 8, 200, 8);
  const auto all = Range(0, 8);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 7); }, last_join + 5000));
  for (size_t i : all) BroadcastOnce(net, i, all, "{\"first\":" + std::to_string(i) + "}", 300);
  const uint64_t before = net.Stats(2).max_seq_used;
  REQUIRE(net.Stats(2).reservations.size() == 1);
  REQUIRE(before < net.Stats(2).reservations[0]);

  net.Crash(2);
  net.RunFor(5000);
  net.Restart(2, {net.Address(0), net.Address(1)});
  REQUIRE(net.RunUntil([&] { return AllSee(net, all, {2}, State::kAlive); }, net.now() + 3000));
  net.RunFor(1000);
  // The restarted node's broadcasts pass the others' replay protection.
  BroadcastOnce(net, 2, all, "{\"second\":2}", 300);
  const NodeStats& s = net.Stats(2);
  REQUIRE(s.reservations.size() == 2);
  REQUIRE(s.reservations[1] > s.reservations[0]);
  REQUIRE(s.max_seq_used > before);
  REQUIRE(s.max_seq_used >= s.reservations[0]);  // it continued above the old reservation

  CheckInvariants(net);
}

TEST_CASE("requests are answered exactly once, also when the peer crashes") {
  SimOptions options;
  options.seed = 24;
  SimNetwork net(options);
  const int64_t last_join = JoinRandomly(net, 8, 200, 9);
  const auto all = Range(0, 8);
  REQUIRE(net.RunUntil([&] { return CountsAre(net, all, 7); }, last_join + 5000));
  for (size_t to : all) REQUIRE(net.Request(1, to, "test.echo", "{\"to\":1}", 1000, 100 + to).ok());
  REQUIRE(net.SendDirect(1, 6, "test.direct", "{}").ok());
  net.RunFor(2000);
  const auto& replies = net.Stats(1).replies;
  REQUIRE(replies.size() == all.size());
  for (const auto& r : replies) {
    INFO("token " << r.token << ": " << r.status.ToString());
    REQUIRE(r.status.ok());
    REQUIRE(r.payload == "{\"to\":1}");
  }
  REQUIRE(net.Stats(6).directs.size() == 2);

  net.Crash(6);
  REQUIRE(net.Request(1, 6, "test.echo", "{}", 1000, 999).ok());
  net.RunFor(3000);
  REQUIRE(replies.size() == all.size() + 1);
  REQUIRE(replies.back().token == 999);
  REQUIRE_FALSE(replies.back().status.ok());
  CheckInvariants(net);
}

namespace {

// A run with joins, a crash, a pause and broadcasts; everything observable, summed up.
std::vector<uint64_t> Scenario(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.loss = 0.01;
  SimNetwork net(options);
  JoinRandomly(net, 30, 2000, seed);
  net.RunFor(4000);
  net.Crash(7);
  net.Pause(11, 1500);
  for (size_t i = 0; i < 30; i += 5) {
    if (net.Running(i)) (void)net.Broadcast(i, "test.det", "{}");
  }
  net.RunFor(8000);
  std::vector<uint64_t> out = {net.messages_sent(), net.bytes_sent(), net.events_run(),
                               net.messages_dropped()};
  for (size_t i = 0; i < net.size(); ++i) {
    out.push_back(net.Stats(i).member_changes);
    out.push_back(net.Stats(i).broadcasts_delivered);
    out.push_back(net.Stats(i).messages_sent);
  }
  return out;
}

}  // namespace

TEST_CASE("the same seed gives the same run") {
  const auto first = Scenario(5);
  const auto second = Scenario(5);
  WARN("seed 5: " << first[0] << " messages, " << first[1] << " bytes, " << first[2]
                  << " events, twice");
  REQUIRE(first == second);
  REQUIRE(Scenario(6) != first);
}

}  // namespace mesh::sim
