#include "core/seen_cache.h"

#include <algorithm>
#include <cstring>

#include "core/linear_probe.h"
#include "core/short_hash.h"

namespace mesh::core {

SeenCache::SeenCache(int64_t ttl_ms, size_t max_entries, std::array<uint8_t, 16> key)
    : ttl_(ttl_ms), max_(max_entries), key_(key), slots_(64, 0), floors_(16, {0, 0}) {}

uint64_t SeenCache::OriginDigest(const PublicKey& origin) const {
  const uint64_t h = ShortHash(origin.data(), origin.size(), key_);
  return h == 0 ? 1 : h;  // 0 marks an empty floor slot
}

uint64_t SeenCache::IdDigest(uint64_t origin, uint64_t seq) const {
  uint8_t in[16];
  std::memcpy(in, &origin, 8);
  std::memcpy(in + 8, &seq, 8);
  const uint64_t h = ShortHash(in, sizeof in, key_);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

bool SeenCache::Contains(uint64_t id) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = id & mask;; i = (i + 1) & mask) {
    if (slots_[i] == id) return true;
    if (slots_[i] == 0) return false;
  }
}

void SeenCache::Add(uint64_t id) {
  if (2 * (count_ + 1) > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  size_t i = id & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = id;
  ++count_;
}

void SeenCache::Remove(uint64_t id) {
  const size_t mask = slots_.size() - 1;
  size_t i = id & mask;
  while (slots_[i] != id) {
    if (slots_[i] == 0) return;
    i = (i + 1) & mask;
  }
  EraseSlot(
      slots_, i, [](uint64_t slot) { return slot; }, [](uint64_t slot) { return slot == 0; });
  --count_;
}

size_t SeenCache::FloorSlot(uint64_t origin) const {
  const size_t mask = floors_.size() - 1;
  size_t i = origin & mask;
  while (floors_[i].first != 0 && floors_[i].first != origin) i = (i + 1) & mask;
  return i;
}

void SeenCache::RaiseFloor(uint64_t origin, uint64_t seq) {
  if (2 * (floor_count_ + 1) > floors_.size()) GrowFloors();
  auto& [o, floor] = floors_[FloorSlot(origin)];
  if (o == 0) {
    o = origin;
    floor = seq;
    ++floor_count_;
  } else {
    floor = std::max(floor, seq);
  }
}

void SeenCache::GrowFloors() {
  std::vector<std::pair<uint64_t, uint64_t>> old = std::move(floors_);
  floors_.assign(old.size() * 2, {0, 0});
  floor_count_ = 0;
  for (const auto& [origin, seq] : old) {
    if (origin != 0) RaiseFloor(origin, seq);
  }
}

void SeenCache::ForgetOrigin(const PublicKey& origin) {
  const size_t i = FloorSlot(OriginDigest(origin));
  if (floors_[i].first == 0) return;
  EraseSlot(
      floors_, i, [](const auto& slot) { return slot.first; },
      [](const auto& slot) { return slot.first == 0; });
  --floor_count_;
}

void SeenCache::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.size() * 2, 0);
  count_ = 0;
  for (uint64_t id : old) {
    if (id != 0) Add(id);
  }
}

bool SeenCache::IsNew(const PublicKey& origin, uint64_t seq) const {
  const uint64_t o = OriginDigest(origin);
  const auto& [held, floor] = floors_[FloorSlot(o)];
  if (held != 0 && seq <= floor) return false;
  return !Contains(IdDigest(o, seq));
}

void SeenCache::Insert(int64_t now, const PublicKey& origin, uint64_t seq) {
  const uint64_t o = OriginDigest(origin);
  const uint64_t id = IdDigest(o, seq);
  if (Contains(id)) return;
  Add(id);
  order_.push_back(Entry{now, o, seq});
  while (count_ > max_) EvictOldest();
}

void SeenCache::Expire(int64_t now) {
  while (!order_.empty() && now - order_.front().time > ttl_) EvictOldest();
}

void SeenCache::EvictOldest() {
  const Entry e = order_.front();
  order_.pop_front();
  Remove(IdDigest(e.origin, e.seq));
  RaiseFloor(e.origin, e.seq);
}

}  // namespace mesh::core
