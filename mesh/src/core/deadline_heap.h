// DeadlineHeap: a binary min-heap of slot numbers (small integers the caller hands out and
// reuses), ordered by a deadline the caller keeps for each slot. Each slot's place in the
// heap is kept too, so a deadline can move and a slot can leave in O(log n), and the heap
// holds each slot once: 8 bytes a slot. (A heap of (deadline, slot) pairs that skips stale
// entries when they come up keeps one entry per change; a suspicion's deadline changes with
// each confirmation, and after a mass failure every node holds thousands of suspicions.)
// The deadline lookup `at(slot) -> int64_t` is passed to each call that reorders.
#ifndef MESH_CORE_DEADLINE_HEAP_H_
#define MESH_CORE_DEADLINE_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mesh::core {

class DeadlineHeap {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint32_t top() const { return heap_.front(); }
  bool contains(uint32_t slot) const { return slot < place_.size() && place_[slot] != 0; }

  // Adds `slot`, or moves it after its deadline changed.
  template <class At>
  void Set(uint32_t slot, At at) {
    if (slot >= place_.size()) place_.resize(slot + 1, 0);
    if (place_[slot] == 0) {
      heap_.push_back(slot);
      place_[slot] = static_cast<uint32_t>(heap_.size());
    }
    Fix(place_[slot] - 1, at);
  }

  // Removes `slot` if present.
  template <class At>
  void Erase(uint32_t slot, At at) {
    if (!contains(slot)) return;
    const size_t i = place_[slot] - 1;
    place_[slot] = 0;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    heap_[i] = last;
    place_[last] = static_cast<uint32_t>(i + 1);
    Fix(i, at);
  }

 private:
  template <class At>
  void Fix(size_t i, At at) {
    while (i > 0 && at(heap_[i]) < at(heap_[(i - 1) / 2])) {
      Swap(i, (i - 1) / 2);
      i = (i - 1) / 2;
    }
    for (;;) {
      size_t least = i;
      for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < heap_.size(); ++c) {
        if (at(heap_[c]) < at(heap_[least])) least = c;
      }
      if (least == i) return;
      Swap(i, least);
      i = least;
    }
  }
  void Swap(size_t a, size_t b) {
    std::swap(heap_[a], heap_[b]);
    place_[heap_[a]] = static_cast<uint32_t>(a + 1);
    place_[heap_[b]] = static_cast<uint32_t>(b + 1);
  }

  std::vector<uint32_t> heap_;
  std::vector<uint32_t> place_;  // by slot: its index in heap_ plus 1; 0 when not in it
};

}  // namespace mesh::core

#endif  // MESH_CORE_DEADLINE_HEAP_H_
