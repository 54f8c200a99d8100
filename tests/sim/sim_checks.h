// Checks shared by the simulator tests: expected member states, invariants that every
// scenario must keep, and summaries for failure messages.
#ifndef TESTS_SIM_SIM_CHECKS_H_
#define TESTS_SIM_SIM_CHECKS_H_

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <sstream>

#include "sim_network.h"

namespace mesh::sim {

using State = MemberState;

inline std::vector<size_t> Range(size_t from, size_t to) {
  std::vector<size_t> out;
  for (size_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

// Every observer sees exactly `alive` others alive and `dead` others failed (callback view).
inline bool CountsAre(const SimNetwork& net, const std::vector<size_t>& observers, size_t alive,
                      size_t dead = 0) {
  return std::all_of(observers.begin(), observers.end(), [&](size_t i) {
    return net.CountAt(i, State::kAlive) == alive && net.CountAt(i, State::kDead) == dead;
  });
}

// Every observer (other than the target) sees every target in `state` (callback view).
inline bool AllSee(const SimNetwork& net, const std::vector<size_t>& observers,
                   const std::vector<size_t>& targets, State state) {
  for (size_t i : observers) {
    for (size_t j : targets) {
      if (i != j && net.StateAt(i, j) != state) return false;
    }
  }
  return true;
}

// Node i's own table (Core::Members) holds exactly `expect`: node -> state. "" if so.
inline std::string TableMismatch(SimNetwork& net, size_t i, const std::map<size_t, State>& expect) {
  std::map<PublicKey, size_t> index;
  for (size_t j = 0; j < net.size(); ++j) index[net.Id(j)] = j;
  auto members = net.CoreOf(i).Members();
  std::ostringstream why;
  if (members.size() != expect.size()) {
    why << "node " << i << " has " << members.size() << " members, expected " << expect.size();
    return why.str();
  }
  for (const MemberInfo& m : members) {
    auto e = expect.find(index.at(m.id));
    if (e == expect.end() || e->second != m.state) {
      why << "node " << i << " sees node " << index.at(m.id) << " as " << MemberStateName(m.state);
      return why.str();
    }
  }
  return "";
}

inline std::map<size_t, State> Expect(const std::vector<size_t>& alive,
                                      const std::vector<size_t>& other = {},
                                      State other_state = State::kDead) {
  std::map<size_t, State> out;
  for (size_t j : alive) out[j] = State::kAlive;
  for (size_t j : other) out[j] = other_state;
  return out;
}

// Starts n nodes: three seeds at time 0, the rest at random times in [0, spread_ms], each
// told 1-3 random earlier nodes. Returns the virtual time of the last join.
inline int64_t JoinRandomly(SimNetwork& net, size_t n, int64_t spread_ms, uint64_t seed) {
  std::mt19937_64 rng(seed);
  net.AddAndStart({});
  net.AddAndStart({net.Address(0)});
  net.AddAndStart({net.Address(0), net.Address(1)});
  std::vector<int64_t> times;
  for (size_t i = 3; i < n; ++i) times.push_back(static_cast<int64_t>(rng() % (spread_ms + 1)));
  std::sort(times.begin(), times.end());
  for (int64_t t : times) {
    net.RunTo(std::max(net.now(), t));
    const size_t earlier = net.size();
    const size_t k = 1 + rng() % 3;
    std::vector<std::string> join;
    for (size_t j = 0; j < k; ++j) join.push_back(net.Address(rng() % earlier));
    net.AddAndStart(join);
  }
  return net.now();
}

// Broadcasts from `from`, runs `settle_ms` and checks each running node other than the
// origin delivered it exactly once. Returns kEvent transmissions per delivery.
inline double BroadcastOnce(SimNetwork& net, size_t from, const std::vector<size_t>& receivers,
                            const std::string& payload, int64_t settle_ms) {
  const uint64_t sent_before = net.event_gossip_sent();
  REQUIRE(net.Broadcast(from, "test.event", payload).ok());
  const NodeStats::Key key{net.Id(from), "test.event", payload};
  const bool reached = net.RunUntil(
      [&] {
        return std::all_of(receivers.begin(), receivers.end(), [&](size_t j) {
          return j == from || net.Stats(j).broadcasts.count(key) > 0;
        });
      },
      net.now() + settle_ms);
  REQUIRE(reached);
  net.RunFor(settle_ms);  // let duplicates arrive, if any would
  size_t deliveries = 0;
  for (size_t j : receivers) {
    auto it = net.Stats(j).broadcasts.find(key);
    const int count = it == net.Stats(j).broadcasts.end() ? 0 : it->second;
    INFO("node " << j << " delivered the broadcast from " << from << " " << count << " times");
    REQUIRE(count == (j == from ? 0 : 1));
    deliveries += static_cast<size_t>(count);
  }
  return static_cast<double>(net.event_gossip_sent() - sent_before) /
         static_cast<double>(std::max<size_t>(1, deliveries));
}

// What every node's core must keep to in every scenario: sequence numbers reserved before
// use and never reused across runs, reservations rising, no sends on links it closed, and
// no gossip signature checked twice.
inline void CheckInvariants(const SimNetwork& net) {
  for (size_t i = 0; i < net.size(); ++i) {
    const NodeStats& s = net.Stats(i);
    INFO("node " << i);
    CHECK(s.seq_unreserved == 0);
    CHECK(s.seq_reused == 0);
    CHECK(s.reservation_not_rising == 0);
    CHECK(s.sends_on_closed_link == 0);
    CHECK(s.verified_again == 0);
  }
}

// "node:alive/suspect/failed/left " for each node, from the callback views.
inline std::string Views(const SimNetwork& net) {
  std::ostringstream out;
  for (size_t i = 0; i < net.size(); ++i) {
    out << i << ":" << net.CountAt(i, State::kAlive) << "/" << net.CountAt(i, State::kSuspect)
        << "/" << net.CountAt(i, State::kDead) << "/" << net.CountAt(i, State::kLeft) << " ";
  }
  return out.str();
}

inline std::string Counters(const SimNetwork& net) {
  std::ostringstream out;
  for (const auto& [name, v] : net.CounterTotals()) out << name << "=" << v << " ";
  out << "published: records=" << net.published(core::GossipKind::kRecord)
      << " suspect=" << net.published(core::GossipKind::kSuspect)
      << " dead=" << net.published(core::GossipKind::kDead)
      << " events=" << net.published(core::GossipKind::kEvent);
  using T = core::MessageType;
  out << "; sent: hello=" << net.sent_of_type(T::kHello) << " ping=" << net.sent_of_type(T::kPing)
      << " ping_req=" << net.sent_of_type(T::kPingReq) << " sync=" << net.sent_of_type(T::kSync)
      << " gossip=" << net.sent_of_type(T::kGossip) << " direct=" << net.sent_of_type(T::kDirect)
      << " disconnect=" << net.sent_of_type(T::kDisconnect);
  return out.str();
}

inline double RealSeconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace mesh::sim

#endif  // TESTS_SIM_SIM_CHECKS_H_
