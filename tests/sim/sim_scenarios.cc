// Scenarios of the scale simulator. Timers are Config::FastTimings (probe round 200 ms);
// "round" below means one probe round. Real: the mesh core of every node, its messages as
// bytes, its signature checks (see SimOptions::memo_signatures). Modelled: links (latency,
// jitter, loss as retransmit delay, TCP order), dials and handshakes (a round trip, no
// Noise), crashes (peers see a reset), pauses, partitions, slow nodes, clocks.
#include "sim_scenarios.h"

#include "sim_run.h"

namespace mesh::sim {

// Crash o.fraction of the nodes at once; broadcasts right after (repair by GRAFT while links
// are lost and the views refill), then detection everywhere, then a broadcast again.
void Run::MassFailure() {
  auto all = Running();
  std::vector<size_t> order = all;
  std::shuffle(order.begin(), order.end(), rng);
  const size_t k = static_cast<size_t>(std::llround(o.fraction * double(all.size())));
  std::vector<size_t> crashed(order.begin(), order.begin() + k);
  std::set<size_t> crashed_set(crashed.begin(), crashed.end());
  std::vector<size_t> survivors;
  for (size_t i : all) {
    if (!crashed_set.count(i)) survivors.push_back(i);
  }
  const uint64_t false_before = net->false_dead();
  const uint64_t messages_before = net->messages_sent();
  auto published = [&](core::GossipKind kind) { return net->published(kind); };
  const uint64_t suspect_before = published(core::GossipKind::kSuspect);
  const uint64_t dead_before = published(core::GossipKind::kDead);
  const uint64_t records_before = published(core::GossipKind::kRecord);
  const uint64_t suspect_claims_before = net->claims_published(core::GossipKind::kSuspect);
  const uint64_t dead_claims_before = net->claims_published(core::GossipKind::kDead);
  const int64_t crash_at = net->now();
  for (size_t i : crashed) net->Crash(i);
  // Broadcasts 1, 5, 10 and 25 rounds after the crash, while links go down, views refill
  // and the failures are suspected, gossiped and declared (the suspicion timeout is 9 to 55
  // rounds at 200 nodes): each must reach every survivor within two rounds of being sent.
  // Each waits 2 s at most and one round after it completes: one that completes within its
  // bound leaves the schedule on time (500 ms of late copies did not, at 10,000 nodes).
  int64_t traced = crash_at;  // --memory-trace: up to here
  for (int64_t after : {1, 5, 10, 25}) {
    for (; o.memory_trace_ms > 0 && traced < crash_at + after * Round();
         traced += o.memory_trace_ms) {
      net->RunTo(std::max(traced, net->now()));
      auto m = MemoryLine();
      m["ms_after_crash"] = net->now() - crash_at;
      emit(m);
    }
    net->RunTo(crash_at + after * Round());
    const int64_t sent_after = net->now() - crash_at;
    auto line = Broadcast(Pick(survivors), survivors, 2'000, "after_crash", Round());
    line["crashed"] = k;
    line["rounds_after_crash"] = after;
    line["sent_ms_after_crash"] = sent_after;
    Check(sent_after == after * Round(), line, "sent on schedule");
    line["within_2_rounds"] = line["complete_ms"].get<int64_t>() >= 0 &&
                              line["complete_ms"].get<int64_t>() <= 2 * Round();
    Check(line["reach"].get<double>() == 1.0, line, "reach 100% of survivors");
    Check(line["within_2_rounds"].get<bool>(), line, "within 2 rounds");
    emit(line);
  }
  const bool detected =
      net->RunUntil([&] { return OneView(survivors, crashed.size()); }, crash_at + 120'000);
  auto line = Line("detection");
  line["crashed"] = k;
  line["survivors"] = survivors.size();
  line["detected_everywhere"] = detected;
  line["detection_ms"] = detected ? net->now() - crash_at : -1;
  line["suspicion_max_ms"] = SuspicionMax(all.size());
  line["false_failed"] = net->false_dead() - false_before;
  // What the crash cost: envelopes originated (claims, refutations) and messages sent.
  line["published_suspect"] = published(core::GossipKind::kSuspect) - suspect_before;
  line["published_dead"] = published(core::GossipKind::kDead) - dead_before;
  line["published_records"] = published(core::GossipKind::kRecord) - records_before;
  line["suspect_claims"] =
      net->claims_published(core::GossipKind::kSuspect) - suspect_claims_before;
  line["dead_claims"] = net->claims_published(core::GossipKind::kDead) - dead_claims_before;
  line["messages_since_crash"] = net->messages_sent() - messages_before;
  line["rss_mb"] = RssMb();
  Check(detected, line, "every crash detected by every survivor");
  Check(net->false_dead() == false_before, line, "no survivor marked failed");
  emit(line);
  net->RunFor(5 * Round());
  auto after = Broadcast(Pick(survivors), survivors, 20'000, "after_detection");
  Check(after["reach"].get<double>() == 1.0, after, "reach 100% of survivors");
  emit(after);
}

namespace {

bool RunScenarioImpl(Run& run) {
  const std::string& s = run.o.scenario;
  run.Join();
  if (s == "join") return run.ok;
  run.net->RunFor(2000);
  if (s == "broadcast") {
    run.SteadyBroadcasts(3);
  } else if (s == "mass-failure") {
    run.SteadyBroadcasts(3);
    run.MassFailure();
  } else if (s == "churn") {
    run.Churn();
  } else if (s == "partition-heal") {
    run.PartitionHeal();
  } else if (s == "pause") {
    run.Pause(run.o.fraction);
  } else if (s == "slow") {
    run.Slow();
  } else if (s == "all") {
    // One join for the large runs: each phase ends with every node up and in one view, and
    // the destructive one comes last. 2% pause (o.fraction is the share crashed at the end).
    run.SteadyBroadcasts(3);
    run.Pause(0.02);
    run.PartitionHeal();
    run.MassFailure();
  } else {
    auto line = run.Line("error");
    line["error"] = "unknown scenario";
    run.emit(line);
    return false;
  }
  return run.ok;
}

}  // namespace

bool RunScenario(const ScenarioOptions& o, const Emit& emit) {
  Run run(o, emit);
  return RunScenarioImpl(run);
}

}  // namespace mesh::sim
