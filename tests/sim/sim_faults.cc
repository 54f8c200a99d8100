// Fault scenarios of the scale simulator: churn, partition and heal, pauses, slow nodes.
#include <map>

#include "sim_run.h"

namespace mesh::sim {

// Each round: crash o.churn of the running nodes (not the seeds) and restart as many of those
// crashed earlier (they rejoin through the seeds). A broadcast every fifth round counts as
// reached where a node ran, and had run for 2 s, from its sending to the end of the run.
void Run::Churn() {
  const size_t per_round =
      std::max<size_t>(1, static_cast<size_t>(std::llround(o.churn * double(o.nodes))));
  const std::vector<std::string> join{net->Address(0), net->Address(1), net->Address(2)};
  std::vector<int64_t> up_since(net->size(), 0);
  std::vector<int64_t> down_at(net->size(), -1);  // last crash time
  std::set<size_t> down;
  struct Sent {
    size_t from;
    std::string payload;
    int64_t at;
  };
  std::vector<Sent> sent;
  std::map<std::string, std::vector<int64_t>> got;  // payload -> per node delivery time
  net->OnDeliver([&](size_t i, const core::Delivery& d) {
    auto it = got.find(std::string(d.payload.begin(), d.payload.end()));
    if (it != got.end() && it->second[i] < 0) it->second[i] = net->now();
  });
  const uint64_t false_before = net->false_dead();
  const int64_t churn_start = net->now();
  for (int64_t r = 0; r < o.rounds; ++r) {
    std::vector<size_t> up;
    for (size_t i : Running()) {
      if (i > 2) up.push_back(i);
    }
    std::vector<size_t> back(down.begin(), down.end());
    std::shuffle(up.begin(), up.end(), rng);
    std::shuffle(back.begin(), back.end(), rng);
    for (size_t k = 0; k < per_round && k < back.size(); ++k) {
      net->Restart(back[k], join);
      up_since[back[k]] = net->now();
      down.erase(back[k]);
    }
    for (size_t k = 0; k < per_round && k < up.size(); ++k) {
      net->Crash(up[k]);
      down.insert(up[k]);
      down_at[up[k]] = net->now();
    }
    if (r % 5 == 2) {
      std::vector<size_t> stable;
      for (size_t i : Running()) {
        if (net->now() - up_since[i] >= 2000) stable.push_back(i);
      }
      const size_t from = Pick(stable);
      const std::string payload = "{\"churn\":" + std::to_string(r) + "}";
      got[payload].assign(net->size(), -1);
      if (net->Broadcast(from, "sim.churn", payload).ok())
        sent.push_back({from, payload, net->now()});
    }
    net->RunFor(Round());
  }
  net->RunFor(10 * Round());
  net->OnDeliver(nullptr);
  size_t expected = 0, reached = 0;
  int64_t slowest = 0;
  for (const Sent& s : sent) {
    for (size_t i = 0; i < net->size(); ++i) {
      const bool stayed = net->Running(i) && up_since[i] <= s.at - 2000 && i != s.from;
      if (!stayed) continue;
      ++expected;
      const int64_t t = got[s.payload][i];
      if (t >= 0) {
        ++reached;
        slowest = std::max(slowest, t - s.at);
      }
    }
  }
  auto line = Line("churn");
  line["churn_per_round"] = per_round;
  line["churn_share_per_round"] = o.churn;
  line["rounds"] = o.rounds;
  line["broadcasts"] = sent.size();
  line["reach"] = expected ? double(reached) / double(expected) : 1.0;
  line["slowest_delivery_ms"] = slowest;
  line["false_failed"] = net->false_dead() - false_before;
  Check(reached == expected, line, "broadcasts reach every node up throughout");
  // After the churn stops: one view (running nodes alive; the crashed ones not alive).
  const auto live = Running();
  const std::vector<size_t> gone(down.begin(), down.end());
  const int64_t stop = net->now();
  const bool converged = net->RunUntil(
      [&] {
        for (size_t i : live) {
          if (net->CountAt(i, MemberState::kAlive) != live.size() - 1) return false;
          for (size_t j : gone) {
            auto st = net->StateAt(i, j);
            if (st == MemberState::kAlive || st == MemberState::kSuspect) return false;
          }
        }
        return true;
      },
      stop + 120'000);
  line["converged_after_churn_ms"] = converged ? net->now() - stop : -1;
  line["churn_ms"] = stop - churn_start;
  line["rss_mb"] = RssMb();
  Check(converged, line, "one view after the churn");
  emit(line);
}

// Two halves cut apart (with o.bridge, 1% of the nodes still reach both) until each side has
// failed the other, then healed: time until every node sees every node alive again.
void Run::PartitionHeal() {
  auto all = Running();
  std::vector<size_t> order = all;
  std::shuffle(order.begin(), order.end(), rng);
  const size_t half = order.size() / 2;
  std::vector<size_t> a(order.begin(), order.begin() + half), b(order.begin() + half, order.end());
  std::vector<size_t> bridges;
  if (o.bridge) {
    for (size_t k = 0; k < std::max<size_t>(1, all.size() / 100); ++k) bridges.push_back(order[k]);
    net->SetBridges(bridges);
  }
  const int64_t cut_at = net->now();
  net->Partition({a, b});
  const int64_t hold = static_cast<int64_t>(SuspicionMax(all.size())) +
                       so.config.idle_timeout.count() + 20 * Round();
  net->RunFor(hold);
  // How much of the other side each side holds failed, and failures inside a side.
  std::set<size_t> in_a(a.begin(), a.end());
  double across = 0;
  size_t within = 0;
  for (size_t i : all) {
    for (size_t j : all) {
      if (i == j) continue;
      const bool dead = net->StateAt(i, j) == MemberState::kDead;
      if (in_a.count(i) != in_a.count(j)) {
        across += dead ? 1 : 0;
      } else {
        within += dead ? 1 : 0;
      }
    }
  }
  auto line = Line("partition");
  line["bridges"] = bridges.size();
  line["held_ms"] = hold;
  line["failed_across_share"] = across / (2.0 * double(a.size()) * double(b.size()));
  line["failed_within_pairs"] = within;
  emit(line);
  net->Heal();
  net->SetBridges({});
  const int64_t heal_at = net->now();
  const bool one = net->RunUntil([&] { return OneView(all, 0); }, heal_at + 180'000);
  auto healed = Line("heal");
  healed["one_view"] = one;
  healed["one_view_ms_after_heal"] = one ? net->now() - heal_at : -1;
  healed["partition_ms"] = heal_at - cut_at;
  healed["rss_mb"] = RssMb();
  Check(one, healed, "one membership view after healing");
  emit(healed);
}

// `fraction` of the nodes (at least 2) pause at once: half for half the shortest suspicion
// timeout (must not be failed), half for twice the longest (must be failed, then come back).
void Run::Pause(double fraction) {
  auto all = Running();
  std::vector<size_t> order;
  for (size_t i : all) {
    if (i > 2) order.push_back(i);
  }
  std::shuffle(order.begin(), order.end(), rng);
  const size_t m = std::max<size_t>(2, static_cast<size_t>(fraction * double(all.size())));
  const int64_t short_ms = static_cast<int64_t>(SuspicionBase(all.size()) / 2);
  const int64_t long_ms = static_cast<int64_t>(2 * SuspicionMax(all.size()));
  std::vector<size_t> shorts(order.begin(), order.begin() + m / 2);
  std::vector<size_t> longs(order.begin() + m / 2, order.begin() + m);
  std::vector<uint64_t> marks_before(net->size());
  for (size_t i : all) marks_before[i] = net->DeadMarks(i);
  const int64_t at = net->now();
  for (size_t i : shorts) net->Pause(i, short_ms);
  for (size_t i : longs) net->Pause(i, long_ms);
  net->RunFor(long_ms + 10 * Round());
  std::set<size_t> s_set(shorts.begin(), shorts.end()), l_set(longs.begin(), longs.end());
  size_t false_others = 0, false_short = 0, long_failed = 0;
  for (size_t j : all) {
    const uint64_t marks = net->DeadMarks(j) - marks_before[j];
    if (l_set.count(j)) {
      long_failed += marks > 0 ? 1 : 0;
    } else if (s_set.count(j)) {
      false_short += marks;
    } else {
      false_others += marks;
    }
  }
  const bool back = net->RunUntil([&] { return OneView(all, 0); }, net->now() + 120'000);
  auto line = Line("pause");
  line["paused_short"] = shorts.size();
  line["short_pause_ms"] = short_ms;
  line["paused_long"] = longs.size();
  line["long_pause_ms"] = long_ms;
  line["suspicion_base_ms"] = SuspicionBase(all.size());
  line["suspicion_max_ms"] = SuspicionMax(all.size());
  line["failed_marks_never_paused"] = false_others;
  line["failed_marks_short_paused"] = false_short;
  line["long_paused_failed"] = long_failed;
  line["one_view_again"] = back;
  line["one_view_again_ms_after_pause"] = back ? net->now() - at : -1;
  Check(false_others == 0, line, "no node that never paused failed");
  Check(false_short == 0, line, "no short pause failed");
  Check(long_failed == longs.size(), line, "every long pause failed");
  Check(back, line, "all alive again after the pauses");
  emit(line);
}

// o.fraction of the nodes (at least 1) get o.slow_ms more delay on every message for 50
// rounds: how often healthy nodes are suspected (refutations) or failed.
void Run::Slow() {
  auto all = Running();
  std::vector<size_t> order(all.begin() + 3, all.end());
  std::shuffle(order.begin(), order.end(), rng);
  const size_t m = std::max<size_t>(1, static_cast<size_t>(o.fraction * double(all.size())));
  std::vector<size_t> slow(order.begin(), order.begin() + m);
  std::set<size_t> slow_set(slow.begin(), slow.end());
  auto refutations = [&](bool of_slow) {
    uint64_t n = 0;
    for (size_t i : all) {
      if (slow_set.count(i) != (of_slow ? 1u : 0u)) continue;
      n += net->CoreOf(i).counter("refutations");
    }
    return n;
  };
  std::vector<uint64_t> marks_before(net->size());
  for (size_t i : all) marks_before[i] = net->DeadMarks(i);
  const uint64_t healthy_before = refutations(false), slow_before = refutations(true);
  const uint64_t suspect_before = net->published(core::GossipKind::kSuspect);
  const uint64_t records_before = net->published(core::GossipKind::kRecord);
  const uint64_t messages_before = net->messages_sent();
  const char* const kCounters[] = {"probes_failed", "suspicions_confirmed",
                                   "stale_claims_answered"};
  std::map<std::string, uint64_t> counters_before;
  for (const char* c : kCounters) counters_before[c] = net->CounterSum(c);
  for (size_t i : slow) net->SetSlow(i, o.slow_ms);
  net->RunFor(50 * Round());
  for (size_t i : slow) net->SetSlow(i, 0);
  net->RunFor(10 * Round());
  size_t healthy_failed = 0, slow_failed = 0;
  for (size_t j : all) {
    const uint64_t marks = net->DeadMarks(j) - marks_before[j];
    (slow_set.count(j) ? slow_failed : healthy_failed) += marks;
  }
  const bool back = net->RunUntil([&] { return OneView(all, 0); }, net->now() + 120'000);
  auto line = Line("slow");
  line["slow_nodes"] = m;
  line["slow_ms"] = o.slow_ms;
  line["suspicions_published"] = net->published(core::GossipKind::kSuspect) - suspect_before;
  line["refutations_healthy"] = refutations(false) - healthy_before;
  line["refutations_slow"] = refutations(true) - slow_before;
  line["published_records"] = net->published(core::GossipKind::kRecord) - records_before;
  line["messages"] = net->messages_sent() - messages_before;
  for (const char* c : kCounters) line["counters"][c] = net->CounterSum(c) - counters_before[c];
  line["failed_marks_healthy"] = healthy_failed;
  line["failed_marks_slow"] = slow_failed;
  line["one_view_again"] = back;
  Check(healthy_failed == 0, line, "no healthy node failed");
  Check(back, line, "one view after the slowness");
  emit(line);
}

}  // namespace mesh::sim
