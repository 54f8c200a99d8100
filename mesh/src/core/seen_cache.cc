#include "core/seen_cache.h"

#include <algorithm>
#include <cstring>

namespace mesh::core {

size_t SeenCache::IdHash::operator()(const Id& id) const {
  // Origins are public keys (uniform bytes); mixing 8 of them with the sequence suffices.
  uint64_t h;
  std::memcpy(&h, id.origin.data(), sizeof h);
  return static_cast<size_t>(h ^ (id.seq * 0x9E3779B97F4A7C15ull));
}

bool SeenCache::IsNew(const PublicKey& origin, uint64_t seq) const {
  auto floor = floors_.find(origin);
  if (floor != floors_.end() && seq <= floor->second) return false;
  return ids_.find(Id{origin, seq}) == ids_.end();
}

void SeenCache::Insert(int64_t now, const PublicKey& origin, uint64_t seq) {
  if (!ids_.insert(Id{origin, seq}).second) return;
  order_.emplace_back(now, Id{origin, seq});
  while (ids_.size() > max_) EvictOldest();
}

void SeenCache::Expire(int64_t now) {
  while (!order_.empty() && now - order_.front().first > ttl_) EvictOldest();
}

void SeenCache::EvictOldest() {
  const Id id = order_.front().second;
  order_.pop_front();
  ids_.erase(id);
  uint64_t& floor = floors_[id.origin];
  floor = std::max(floor, id.seq);
}

}  // namespace mesh::core
