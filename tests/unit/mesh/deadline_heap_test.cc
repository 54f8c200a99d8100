// core::DeadlineHeap: slots ordered by a deadline kept outside, with moves and removals,
// checked against a std::set of (deadline, slot) through a long random run.
#include "core/deadline_heap.h"

#include <catch2/catch.hpp>
#include <random>
#include <set>

using mesh::core::DeadlineHeap;

TEST_CASE("deadline heap: the earliest comes first; moved and erased slots follow", "[heap]") {
  std::vector<int64_t> deadline = {50, 10, 30};
  auto at = [&](uint32_t slot) { return deadline[slot]; };
  DeadlineHeap heap;
  for (uint32_t s = 0; s < 3; ++s) heap.Set(s, at);
  CHECK(heap.top() == 1);
  deadline[0] = 5;  // a confirmation brings slot 0 forward
  heap.Set(0, at);
  CHECK(heap.top() == 0);
  CHECK(heap.size() == 3);
  heap.Erase(0, at);
  CHECK_FALSE(heap.contains(0));
  CHECK(heap.top() == 1);
  heap.Erase(0, at);  // absent: nothing happens
  heap.Erase(1, at);
  CHECK(heap.top() == 2);
  heap.Erase(2, at);
  CHECK(heap.empty());
}

TEST_CASE("deadline heap: agrees with an ordered set through random changes", "[heap]") {
  constexpr uint32_t kSlots = 500;
  std::vector<int64_t> deadline(kSlots, 0);
  auto at = [&](uint32_t slot) { return deadline[slot]; };
  DeadlineHeap heap;
  std::set<std::pair<int64_t, uint32_t>> model;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 200000; ++step) {
    const auto slot = static_cast<uint32_t>(rng() % kSlots);
    const uint64_t op = rng() % 4;
    if (op < 2) {  // add or move (earlier or later)
      model.erase({deadline[slot], slot});
      deadline[slot] = static_cast<int64_t>(rng() % 100000);
      model.insert({deadline[slot], slot});
      heap.Set(slot, at);
    } else if (op == 2) {
      model.erase({deadline[slot], slot});
      heap.Erase(slot, at);
    } else if (!model.empty()) {  // take the earliest, as SuspicionTick does
      REQUIRE_FALSE(heap.empty());
      REQUIRE(deadline[heap.top()] == model.begin()->first);
      const uint32_t top = heap.top();
      model.erase({deadline[top], top});
      heap.Erase(top, at);
    }
    REQUIRE(heap.size() == model.size());
    REQUIRE(heap.contains(slot) == model.count({deadline[slot], slot}) > 0);
  }
}
