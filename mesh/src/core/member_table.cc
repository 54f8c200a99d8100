#include "core/member_table.h"

#include <utility>

#include "core/linear_probe.h"
#include "core/short_hash.h"

namespace mesh::core {
namespace {

uint32_t TagOf(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }
size_t PosOf(uint64_t slot) { return static_cast<size_t>(slot & 0xffffffffu) - 1; }

}  // namespace

MemberTable::MemberTable(std::array<uint8_t, 16> key) : key_(key), slots_(16, 0) {}

uint32_t MemberTable::Tag(const PublicKey& id) const {
  return static_cast<uint32_t>(ShortHash(id.data(), id.size(), key_));
}

size_t MemberTable::Locate(const PublicKey& id) const {
  const uint32_t tag = Tag(id);
  const size_t mask = slots_.size() - 1;
  for (size_t i = tag & mask; slots_[i] != 0; i = (i + 1) & mask) {
    if (TagOf(slots_[i]) != tag) continue;
    const size_t pos = PosOf(slots_[i]);
    if (entries_[pos].record->id() == id) return pos;
  }
  return kNone;
}

void MemberTable::Place(uint64_t slot) {
  const size_t mask = slots_.size() - 1;
  size_t i = TagOf(slot) & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = slot;
}

void MemberTable::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.size() * 2, 0);
  for (uint64_t slot : old) {
    if (slot != 0) Place(slot);
  }
}

size_t MemberTable::Insert(MemberEntry entry) {
  if (10 * (count_ + 1) > 7 * slots_.size()) Grow();
  const uint32_t tag = Tag(entry.record->id());
  size_t pos;
  if (!free_.empty()) {
    pos = free_.back();
    free_.pop_back();
    entries_[pos] = std::move(entry);
  } else {
    pos = entries_.size();
    entries_.push_back(std::move(entry));
  }
  Place((static_cast<uint64_t>(tag) << 32) | (pos + 1));
  ++count_;
  return pos;
}

void MemberTable::Erase(size_t pos) {
  const size_t mask = slots_.size() - 1;
  const uint64_t want = pos + 1;
  size_t i = Tag(entries_[pos].record->id()) & mask;
  while ((slots_[i] & 0xffffffffu) != want) i = (i + 1) & mask;
  EraseSlot(slots_, i, TagOf, [](uint64_t slot) { return slot == 0; });
  entries_[pos] = MemberEntry{};
  free_.push_back(static_cast<uint32_t>(pos));
  --count_;
}

size_t MemberTable::FirstFrom(size_t pos) const {
  if (count_ == 0) return kNone;
  const size_t n = entries_.size();
  for (size_t k = 0, p = pos % n; k < n; ++k, p = p + 1 == n ? 0 : p + 1) {
    if (entries_[p].record) return p;
  }
  return kNone;
}

}  // namespace mesh::core
