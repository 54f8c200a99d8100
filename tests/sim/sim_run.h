// Run: one scenario's network and bookkeeping, shared by the scenario files
// (sim_scenarios.cc, sim_faults.cc). Internal to the simulator.
#ifndef MESHVAULT_TESTS_SIM_SIM_RUN_H_
#define MESHVAULT_TESTS_SIM_SIM_RUN_H_

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <set>

#include "signature_memo.h"
#include "sim_network.h"
#include "sim_scenarios.h"

namespace mesh::sim {

using Clock = std::chrono::steady_clock;

// From /proc/self/status: "VmHWM:" the peak resident set, "VmRSS:" the current one.
inline double RssMb(const std::string& field = "VmHWM:") {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(field.size())) / 1024.0;  // kB
  }
  return 0;
}

// Bytes allocated from the heap now (RSS also counts freed pages malloc keeps).
inline double HeapMb() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd) / (1024.0 * 1024.0);
}

// One scenario's network and bookkeeping.
struct Run {
  const ScenarioOptions& o;
  const Emit& emit;
  SimOptions so;
  std::unique_ptr<SimNetwork> net;
  std::mt19937_64 rng;
  Clock::time_point start = Clock::now();
  std::vector<size_t> seeds{0, 1, 2};
  bool ok = true;

  Run(const ScenarioOptions& opts, const Emit& e) : o(opts), emit(e), rng(opts.seed * 7919 + 1) {
    so.seed = o.seed;
    so.config = Config::FastTimings();
    so.config.tree_broadcast = o.tree;
    // FastTimings' 1 s push-pull is for small loopback clusters; scale runs keep the default
    // 10 s (scaled by log2 n as in core.cc: 100 s at 10,000 members, as memberlist's 30 s).
    so.config.anti_entropy_interval = Config{}.anti_entropy_interval;
    if (!o.lhm) so.config.lhm_max = 0;
    if (o.hop_limit > 0) so.config.gossip_hop_limit = static_cast<uint8_t>(o.hop_limit);
    so.latency_ms = o.latency_ms;
    so.jitter_ms = o.jitter_ms;
    so.loss = o.loss;
    so.check_interval_ms = o.nodes > 2000 ? 100 : 20;
    so.compact = o.nodes > 1000;
    so.threads = o.threads;
    net = std::make_unique<SimNetwork>(so);
  }

  int64_t Round() const { return so.config.probe_interval.count(); }
  // The suspicion timeout for n live members: from base (all confirmations) to max (none).
  double SuspicionBase(size_t n) const {
    return so.config.suspicion_mult * std::log10(std::max(static_cast<double>(n), 10.0)) *
           static_cast<double>(Round());
  }
  double SuspicionMax(size_t n) const { return so.config.suspicion_max_mult * SuspicionBase(n); }

  nlohmann::json Line(const std::string& phase) const {
    return {{"scenario", o.scenario}, {"phase", phase},     {"nodes", o.nodes},
            {"seed", o.seed},         {"tree", o.tree},     {"lhm", o.lhm},
            {"t_ms", net->now()},     {"real_s", Seconds()}};
  }
  // What the nodes' gossip caches hold, summed, and the process's heap and queued events.
  // Messages sent so far, by type.
  nlohmann::json MessagesByType() const {
    const char* names[] = {"",      "hello",  "ping",   "ack",    "ping_req",
                           "sync",  "gossip", "direct", "disc",   "ihave",
                           "graft", "prune",  "nack",   "digest", "pull"};
    nlohmann::json by_type;
    for (size_t t = 1; t < std::size(names); ++t) {
      by_type[names[t]] = net->sent_of_type(static_cast<core::MessageType>(t));
    }
    return by_type;
  }
  nlohmann::json MemoryLine() const {
    auto line = Line("memory");
    size_t seen = 0, recent = 0, missing = 0;
    for (size_t i = 0; i < net->size(); ++i) {
      if (!net->Running(i)) continue;
      const core::Core& c = net->CoreOf(i);
      seen += c.seen_ids();
      recent += c.recent_envelopes();
      missing += c.missing_ids();
    }
    line["seen_ids"] = seen;
    line["recent_envelopes"] = recent;
    line["missing_ids"] = missing;
    line["events_queued"] = net->events_queued();
    line["messages"] = net->messages_sent();
    line["messages_by_type"] = MessagesByType();
    line["heap_mb"] = std::round(HeapMb());
    line["rss_now_mb"] = RssMb("VmRSS:");
    line["rss_mb"] = RssMb();
    return line;
  }
  double Seconds() const {
    return std::round(std::chrono::duration<double>(Clock::now() - start).count() * 10) / 10;
  }
  void Check(bool cond, nlohmann::json& line, const std::string& what) {
    if (!cond) {
      ok = false;
      line["failed"].push_back(what);
    }
  }

  std::vector<size_t> Running() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < net->size(); ++i) {
      if (net->Running(i)) out.push_back(i);
    }
    return out;
  }
  // Every node of `live` sees the others of `live` alive, and `dead` others failed.
  bool OneView(const std::vector<size_t>& live, size_t dead) const {
    return std::all_of(live.begin(), live.end(), [&](size_t i) {
      return net->CountAt(i, MemberState::kAlive) == live.size() - 1 &&
             net->CountAt(i, MemberState::kSuspect) == 0 &&
             net->CountAt(i, MemberState::kDead) == dead;
    });
  }
  double Coverage(const std::vector<size_t>& live) const {
    double known = 0;
    for (size_t i : live) known += static_cast<double>(net->CountAt(i, MemberState::kAlive));
    return known / (static_cast<double>(live.size()) * static_cast<double>(live.size() - 1));
  }

  // Seeds start at 0; the others at random times in the spread, each joining through the
  // three seeds. Then until every node sees every other alive.
  void Join() {
    const size_t n = o.nodes;
    const int64_t spread =
        o.join_spread_ms > 0 ? o.join_spread_ms : std::max<int64_t>(2000, 2 * int64_t(n));
    net->AddAndStart({});
    net->AddAndStart({net->Address(0)});
    net->AddAndStart({net->Address(0), net->Address(1)});
    const std::vector<std::string> join{net->Address(0), net->Address(1), net->Address(2)};
    std::vector<int64_t> times;
    for (size_t i = 3; i < n; ++i) times.push_back(static_cast<int64_t>(rng() % (spread + 1)));
    std::sort(times.begin(), times.end());
    for (int64_t t : times) {
      net->RunTo(std::max(net->now(), t));
      net->AddAndStart(join);
    }
    const int64_t last_join = net->now();
    const auto all = Running();
    int64_t t999 = -1;
    const bool full = net->RunUntil(
        [&] {
          if (t999 < 0 && Coverage(all) >= 0.999) t999 = net->now();
          return OneView(all, 0);
        },
        last_join + 120'000);
    auto line = Line("join");
    line["join_spread_ms"] = spread;
    line["full_membership"] = full;
    line["full_membership_ms_after_last_join"] = full ? net->now() - last_join : -1;
    line["coverage_999_ms_after_last_join"] = t999 < 0 ? -1 : t999 - last_join;
    line["coverage"] = Coverage(all);
    line["messages"] = net->messages_sent();
    line["messages_by_type"] = MessagesByType();
    line["published_suspect"] = net->published(core::GossipKind::kSuspect);
    line["published_records"] = net->published(core::GossipKind::kRecord);
    line["mbytes"] = net->bytes_sent() / 1'000'000;
    line["false_failed"] = net->false_dead();
    line["rss_mb"] = RssMb();
    for (const char* c : {"gossip_hop_limit_reached", "tree_missing_given_up", "tree_graft_unknown",
                          "tree_grafts_sent", "tree_prunes_sent", "gossip_duplicates",
                          "tree_optimized", "tree_repairs", "links_trimmed", "tree_ihave_ids_out",
                          "dropped.missing_ids_full", "dropped.unknown_origin"}) {
      line["counters"][c] = net->CounterSum(c);
    }
    const auto memo = GetSignatureMemoStats();
    line["signature_checks"] = memo.checks;
    line["signature_checks_computed"] = memo.computed;
    Check(full, line, "full membership");
    emit(line);
  }

  struct Delivery {
    int64_t at = -1;
    int hops = 0;
    int copies = 0;
  };
  // One broadcast from `from`, measured over `receivers` (running until the end): runs until
  // every receiver has it (at most `settle_ms`), then `late_ms` more for late copies
  // (default: max(500 ms, settle_ms / 4)).
  nlohmann::json Broadcast(size_t from, const std::vector<size_t>& receivers, int64_t settle_ms,
                           const std::string& phase, int64_t late_ms = -1) {
    static uint64_t tag = 0;
    const std::string payload = "{\"b\":" + std::to_string(++tag) + "}";
    std::vector<Delivery> got(net->size());
    const PublicKey origin = net->Id(from);
    net->OnDeliver([&](size_t i, const core::Delivery& d) {
      if (d.from != origin || std::string(d.payload.begin(), d.payload.end()) != payload) return;
      if (got[i].copies++ == 0) {
        got[i].at = net->now();
        got[i].hops = d.hops;
      }
    });
    using T = core::MessageType;
    const uint64_t payload_before = net->event_gossip_sent();
    const uint64_t ihave_before = net->CounterSum("tree_ihave_ids_out");
    const uint64_t graft_before = net->sent_of_type(T::kGraft);
    const uint64_t prune_before = net->sent_of_type(T::kPrune);
    const int64_t sent_at = net->now();
    const bool sent = net->Broadcast(from, "sim.b", payload).ok();
    size_t remaining = receivers.size();
    auto all_in = [&] {
      remaining = 0;
      for (size_t j : receivers) remaining += (j != from && got[j].copies == 0) ? 1 : 0;
      return remaining == 0;
    };
    net->RunUntil(all_in, sent_at + settle_ms);
    const int64_t done_at = net->now();
    net->RunFor(late_ms >= 0 ? late_ms : std::max<int64_t>(500, settle_ms / 4));  // late copies
    all_in();
    net->OnDeliver(nullptr);
    std::vector<int64_t> lat;
    int max_hop = 0;
    size_t dup = 0, delivered = 0;
    for (size_t j : receivers) {
      if (j == from || got[j].copies == 0) continue;
      ++delivered;
      lat.push_back(got[j].at - sent_at);
      max_hop = std::max(max_hop, got[j].hops);
      dup += got[j].copies - 1;
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      return lat.empty()
                 ? -1
                 : lat[std::min(lat.size() - 1, size_t(p * static_cast<double>(lat.size())))];
    };
    const double payload_msgs = static_cast<double>(net->event_gossip_sent() - payload_before);
    auto line = Line(phase);
    line["from"] = from;
    line["sent"] = sent;
    line["receivers"] = receivers.size() - 1;
    line["delivered"] = delivered;
    line["reach"] = receivers.size() > 1 ? double(delivered) / double(receivers.size() - 1) : 1;
    line["duplicates_delivered"] = dup;
    line["complete_ms"] = remaining == 0 ? done_at - sent_at : -1;
    line["p50_ms"] = pct(0.5);
    line["p99_ms"] = pct(0.99);
    line["max_hop"] = max_hop;
    line["payload_messages"] = payload_msgs;
    line["rmr"] = delivered > 0 ? payload_msgs / double(delivered) - 1 : -1;
    line["ihave_ids_per_delivery"] =
        delivered > 0
            ? double(net->CounterSum("tree_ihave_ids_out") - ihave_before) / double(delivered)
            : 0;
    line["grafts"] = net->sent_of_type(T::kGraft) - graft_before;
    line["prunes"] = net->sent_of_type(T::kPrune) - prune_before;
    return line;
  }

  size_t Pick(const std::vector<size_t>& from) { return from[rng() % from.size()]; }

  // Broadcasts from random senders: `warm` to let the tree settle, then o.broadcasts measured.
  void SteadyBroadcasts(size_t warm) {
    const auto live = Running();
    for (size_t k = 0; k < warm; ++k) Broadcast(Pick(live), live, 10'000, "warmup");
    const double hop_bound = 2 * std::log2(static_cast<double>(live.size()));
    double rmr_max = 0, rmr_sum = 0, reach_min = 1;
    int hop_max = 0;
    int64_t p99_max = 0;
    for (size_t k = 0; k < o.broadcasts; ++k) {
      auto line = Broadcast(Pick(live), live, 10'000, "broadcast");
      Check(line["reach"].get<double>() == 1.0, line, "reach 100%");
      Check(line["rmr"].get<double>() <= 0.1 || !o.tree, line, "rmr <= 0.1");
      Check(line["max_hop"].get<int>() <= hop_bound, line, "last hop <= 2 log2 N");
      rmr_max = std::max(rmr_max, line["rmr"].get<double>());
      rmr_sum += line["rmr"].get<double>();
      reach_min = std::min(reach_min, line["reach"].get<double>());
      hop_max = std::max(hop_max, line["max_hop"].get<int>());
      p99_max = std::max<int64_t>(p99_max, line["p99_ms"].get<int64_t>());
      emit(line);
    }
    auto sum = Line("broadcast_summary");
    sum["broadcasts"] = o.broadcasts;
    sum["reach_min"] = reach_min;
    sum["rmr_max"] = rmr_max;
    sum["rmr_mean"] = o.broadcasts ? rmr_sum / double(o.broadcasts) : 0;
    sum["max_hop"] = hop_max;
    sum["hop_bound"] = hop_bound;
    sum["p99_ms_max"] = p99_max;
    sum["transmissions_per_delivery"] = sum["rmr_mean"].get<double>() + 1;
    emit(sum);
  }

  void MassFailure();
  void Churn();
  void PartitionHeal();
  void Pause(double fraction);  // share of the nodes paused
  void Slow();
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_RUN_H_
