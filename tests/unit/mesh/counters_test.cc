// core::Counters: names registered on first use, well-known ones up front, an overflow slot,
// and reads from another thread while the writer counts.
#include "core/counters.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using mesh::core::Counters;

TEST_CASE("counters: well-known names read 0 before anything is counted", "[counters]") {
  Counters c;
  auto all = c.Snapshot(/*nonzero_only=*/false);
  CHECK(all.count("gossip_in_messages") == 1);
  CHECK(all.at("gossip_in_messages") == 0);
  CHECK(all.count("dropped.bad_signature") == 1);
  CHECK(c.Snapshot(/*nonzero_only=*/true).empty());
}

TEST_CASE("counters: adding, new names, and Get", "[counters]") {
  Counters c;
  c.Add("gossip_in_bytes", 100);
  c.Add("gossip_in_bytes", 20);
  c.Add("dropped.some_new_reason");
  c.Add(std::string("dropped.") + "some_new_reason");
  CHECK(c.Get("gossip_in_bytes") == 120);
  CHECK(c.Get("dropped.some_new_reason") == 2);
  CHECK(c.Get("never_counted") == 0);
  auto nonzero = c.Snapshot(true);
  CHECK(nonzero.size() == 2);
  CHECK(nonzero.at("dropped.some_new_reason") == 2);
}

TEST_CASE("counters: names past the limit are counted as counters_overflow", "[counters]") {
  Counters c;
  for (size_t i = 0; i < Counters::kMaxNames + 10; ++i) c.Add("n" + std::to_string(i));
  auto all = c.Snapshot(false);
  CHECK(all.size() == Counters::kMaxNames);
  CHECK(all.at("counters_overflow") > 0);
  uint64_t total = 0;  // every Add landed in some slot
  for (auto& [name, v] : all) total += v;
  CHECK(total == Counters::kMaxNames + 10);
}

TEST_CASE("counters: a reader on another thread sees monotonic values", "[counters]") {
  Counters c;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done) {
      auto snap = c.Snapshot(false);
      const uint64_t v = snap.count("late_name") ? snap.at("late_name") : 0;
      REQUIRE(v >= last);
      last = v;
    }
  });
  for (int i = 0; i < 100000; ++i) {
    c.Add("gossip_out_messages");
    if (i >= 50000) c.Add("late_name");
  }
  done = true;
  reader.join();
  CHECK(c.Get("gossip_out_messages") == 100000);
  CHECK(c.Get("late_name") == 50000);
}
