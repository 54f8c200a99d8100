// RecentCache: the envelopes a node accepted lately, kept a while to answer GRAFTs (tree.cc),
// each with what a GOSSIP of it from here carries (hops), the link it came on, and the links
// it went on in answer to a GRAFT. Entries leave in arrival order, after a TTL or while the
// envelope bytes held pass a bound.
//
// Compact, as a node takes in thousands of envelopes a second after a mass failure: the
// entries (about 72 bytes each) sit in arrival order, found through an open-addressing index
// of 64-bit SipHash-2-4 digests of the id, under a key random to each cache (16 bytes a slot,
// between an eighth and half full, once past 64 slots). A digest match is confirmed against the
// envelope's own id, so two ids that share a digest cost a probe step, never a wrong answer. Not
// thread-safe.
#ifndef MESH_CORE_RECENT_CACHE_H_
#define MESH_CORE_RECENT_CACHE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "core/messages.h"
#include "core/records.h"

namespace mesh::core {

class RecentCache {
 public:
  struct Entry {
    std::shared_ptr<const GossipEnvelope> envelope;
    int64_t time = 0;               // when it was first kept
    uint64_t digest = 0;            // of its id, for the index
    uint64_t from = 0;              // the link it came on (0: published here)
    uint8_t hops = 0;               // what a GOSSIP of it from here carries
    std::vector<uint64_t> grafted;  // links it was sent on in answer to GRAFT (once each)
  };

  // `key` keys the digests; give each node its own random one.
  explicit RecentCache(std::array<uint8_t, 16> key);

  // The entry for `id`, or null. Valid until the next Put or Expire.
  Entry* Find(const GossipId& id);
  // Keeps `envelope`. An id kept already keeps its place (and time) in the order, but takes
  // the new envelope, hops and link, and forgets its GRAFT answers (a republish).
  void Put(int64_t now, std::shared_ptr<const GossipEnvelope> envelope, uint8_t hops,
           uint64_t from);
  // Forgets entries kept more than `ttl_ms` before `now`, then the oldest while more than
  // `max_bytes` of envelopes are held; the newest entry always stays.
  void Expire(int64_t now, int64_t ttl_ms, size_t max_bytes);

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  size_t index_slots() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t digest = 0;  // 0: empty
    uint64_t number = 0;  // the entry's number: entries_[number - first_]
  };
  uint64_t Digest(const GossipId& id) const;
  // The slot holding `digest` with an entry whose envelope has `id`, or the empty slot that
  // ends its run.
  size_t SlotOf(uint64_t digest, const GossipId& id) const;
  void Resize(size_t slots);  // a power of two, more than twice the entries

  static constexpr size_t kMinSlots = 64;
  void PopOldest();

  std::array<uint8_t, 16> key_;
  std::deque<Entry> entries_;  // arrival order
  uint64_t first_ = 0;         // the number of entries_.front()
  std::vector<Slot> slots_;    // power-of-two size, linear probing, no tombstones
  size_t bytes_ = 0;           // envelope bytes held
};

}  // namespace mesh::core

#endif  // MESH_CORE_RECENT_CACHE_H_
