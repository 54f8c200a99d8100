// SeenCache: the gossip ids (origin, sequence) a node has accepted, so each broadcast is
// delivered and forwarded once. Entries expire after a TTL, and the cache holds at most a
// fixed number; whenever an entry leaves, its origin's floor rises to its sequence, so an
// id that left the cache can never be accepted again (an origin's sequence numbers grow
// with time, and the TTL exceeds the replay window). Memory is bounded by max_entries plus
// one floor per origin. Not thread-safe.
#ifndef MESH_CORE_SEEN_CACHE_H_
#define MESH_CORE_SEEN_CACHE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <unordered_set>

#include "mesh/identity.h"

namespace mesh::core {

class SeenCache {
 public:
  SeenCache(int64_t ttl_ms, size_t max_entries) : ttl_(ttl_ms), max_(max_entries) {}

  // True when (origin, seq) was never accepted and is above the origin's floor.
  bool IsNew(const PublicKey& origin, uint64_t seq) const;
  void Insert(int64_t now, const PublicKey& origin, uint64_t seq);
  // Drops entries older than the TTL.
  void Expire(int64_t now);
  void ForgetOrigin(const PublicKey& origin) { floors_.erase(origin); }
  size_t size() const { return ids_.size(); }

 private:
  struct Id {
    PublicKey origin;
    uint64_t seq;
    bool operator==(const Id&) const = default;
  };
  struct IdHash {
    size_t operator()(const Id& id) const;
  };
  void EvictOldest();

  int64_t ttl_;
  size_t max_;
  std::unordered_set<Id, IdHash> ids_;
  std::deque<std::pair<int64_t, Id>> order_;  // insertion time order
  std::map<PublicKey, uint64_t> floors_;      // accept only seq > floor
};

}  // namespace mesh::core

#endif  // MESH_CORE_SEEN_CACHE_H_
