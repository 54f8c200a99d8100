#include "core/seen_cache.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace mesh::core {

SeenCache::SeenCache(int64_t ttl_ms, size_t max_entries, std::array<uint8_t, 16> key)
    : ttl_(ttl_ms), max_(max_entries), key_(key), slots_(64, 0) {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
}

uint64_t SeenCache::OriginDigest(const PublicKey& origin) const {
  uint8_t out[8];
  crypto_shorthash(out, origin.data(), origin.size(), key_.data());
  uint64_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

uint64_t SeenCache::IdDigest(uint64_t origin, uint64_t seq) const {
  uint8_t in[16];
  std::memcpy(in, &origin, 8);
  std::memcpy(in + 8, &seq, 8);
  uint8_t out[8];
  crypto_shorthash(out, in, sizeof in, key_.data());
  uint64_t h;
  std::memcpy(&h, out, sizeof h);
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

// Linear probing without tombstones: shift later entries of the run back into the hole.
void SeenCache::Remove(uint64_t id) {
  const size_t mask = slots_.size() - 1;
  size_t i = id & mask;
  while (slots_[i] != id) {
    if (slots_[i] == 0) return;
    i = (i + 1) & mask;
  }
  slots_[i] = 0;
  --count_;
  for (size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    const size_t home = slots_[j] & mask;
    // Move j into the hole at i unless its home lies cyclically in (i, j].
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    slots_[j] = 0;
    i = j;
  }
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
  auto floor = floors_.find(o);
  if (floor != floors_.end() && seq <= floor->second) return false;
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
  uint64_t& floor = floors_[e.origin];
  floor = std::max(floor, e.seq);
}

}  // namespace mesh::core
