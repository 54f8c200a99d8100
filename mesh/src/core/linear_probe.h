// Deletion for open-addressing tables with linear probing and no tombstones (SeenCache,
// MemberTable): the later slots of the run move back into the hole.
#ifndef MESH_CORE_LINEAR_PROBE_H_
#define MESH_CORE_LINEAR_PROBE_H_

#include <cstddef>
#include <vector>

namespace mesh::core {

// Empties slot `i` of `slots` (a power-of-two size) and closes the hole. `home(slot)` is the
// slot's home index bits (any value; masked here), and `empty(slot)` tells a free slot; a
// default-constructed Slot is free. A slot stays unless the hole lies cyclically between
// its home and it.
template <typename Slot, typename Home, typename Empty>
void EraseSlot(std::vector<Slot>& slots, size_t i, Home home, Empty empty) {
  const size_t mask = slots.size() - 1;
  slots[i] = Slot{};
  for (size_t j = (i + 1) & mask; !empty(slots[j]); j = (j + 1) & mask) {
    const size_t h = static_cast<size_t>(home(slots[j])) & mask;
    const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots[i] = slots[j];
    slots[j] = Slot{};
    i = j;
  }
}

}  // namespace mesh::core

#endif  // MESH_CORE_LINEAR_PROBE_H_
