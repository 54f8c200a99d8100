// SeenCache: the gossip ids (origin, sequence) a node has accepted, so each broadcast is
// delivered and forwarded once. Entries expire after a TTL, and the cache holds at most a
// fixed number; whenever an entry leaves, its origin's floor rises to its sequence, so an
// id that left the cache can never be accepted again (an origin's sequence numbers grow
// with time, and the TTL exceeds the replay window). Memory is bounded by max_entries plus
// one floor per origin.
//
// Compact (a node may hold hundreds of thousands of ids): origins are kept as 64-bit
// SipHash-2-4 digests under a key random to each cache, ids as a digest of that and the
// sequence, in an open-addressing table; about 40 bytes per id, and 16 to 32 per origin for
// its floor (a second such table, of digest and floor). Two different ids that meet
// in one digest would make the later one a duplicate: the odds are about n / 2^64 per id
// for n cached ids, and without the key nobody can aim for it. Not thread-safe.
#ifndef MESH_CORE_SEEN_CACHE_H_
#define MESH_CORE_SEEN_CACHE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "mesh/identity.h"

namespace mesh::core {

class SeenCache {
 public:
  // `key` keys the digests; give each node its own random one.
  SeenCache(int64_t ttl_ms, size_t max_entries, std::array<uint8_t, 16> key);

  // True when (origin, seq) was never accepted and is above the origin's floor.
  bool IsNew(const PublicKey& origin, uint64_t seq) const;
  void Insert(int64_t now, const PublicKey& origin, uint64_t seq);
  // Drops entries older than the TTL.
  void Expire(int64_t now);
  void ForgetOrigin(const PublicKey& origin);
  size_t size() const { return count_; }

 private:
  struct Entry {
    int64_t time;
    uint64_t origin;  // digest
    uint64_t seq;
  };
  uint64_t OriginDigest(const PublicKey& origin) const;
  uint64_t IdDigest(uint64_t origin, uint64_t seq) const;
  bool Contains(uint64_t id) const;
  void Add(uint64_t id);
  void Remove(uint64_t id);
  void Grow();
  void EvictOldest();
  size_t FloorSlot(uint64_t origin) const;  // the origin's slot in floors_, or the empty one
  void RaiseFloor(uint64_t origin, uint64_t seq);
  void GrowFloors();

  int64_t ttl_;
  size_t max_;
  std::array<uint8_t, 16> key_;
  std::vector<uint64_t> slots_;  // open addressing, linear probing; 0 = empty
  size_t count_ = 0;
  std::deque<Entry> order_;  // insertion time order
  // Origin digest -> accept only seq > floor; open addressing as slots_, origin 0 = empty.
  std::vector<std::pair<uint64_t, uint64_t>> floors_;
  size_t floor_count_ = 0;
};

}  // namespace mesh::core

#endif  // MESH_CORE_SEEN_CACHE_H_
