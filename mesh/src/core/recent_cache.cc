#include "core/recent_cache.h"

#include <cstring>

#include "core/linear_probe.h"
#include "core/short_hash.h"

namespace mesh::core {

RecentCache::RecentCache(std::array<uint8_t, 16> key) : key_(key), slots_(kMinSlots) {}

uint64_t RecentCache::Digest(const GossipId& id) const {
  uint8_t in[40];
  std::memcpy(in, id.origin.data(), 32);
  std::memcpy(in + 32, &id.seq, 8);
  const uint64_t h = ShortHash(in, sizeof in, key_);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

size_t RecentCache::SlotOf(uint64_t digest, const GossipId& id) const {
  const size_t mask = slots_.size() - 1;
  size_t i = digest & mask;
  for (; slots_[i].digest != 0; i = (i + 1) & mask) {
    if (slots_[i].digest != digest) continue;
    const GossipEnvelope& env = *entries_[slots_[i].number - first_].envelope;
    if (env.seq == id.seq && env.origin == id.origin) break;
  }
  return i;
}

RecentCache::Entry* RecentCache::Find(const GossipId& id) {
  const Slot& slot = slots_[SlotOf(Digest(id), id)];
  return slot.digest == 0 ? nullptr : &entries_[slot.number - first_];
}

void RecentCache::Put(int64_t now, std::shared_ptr<const GossipEnvelope> envelope, uint8_t hops,
                      uint64_t from) {
  const GossipId id{envelope->origin, envelope->seq};
  const uint64_t digest = Digest(id);
  if (Slot& slot = slots_[SlotOf(digest, id)]; slot.digest != 0) {
    Entry& e = entries_[slot.number - first_];
    bytes_ += envelope->encoded.size();
    bytes_ -= e.envelope->encoded.size();
    e.envelope = std::move(envelope);
    e.hops = hops;
    e.from = from;
    e.grafted.clear();
    return;
  }
  if (2 * (entries_.size() + 1) > slots_.size()) Resize(slots_.size() * 2);
  bytes_ += envelope->encoded.size();
  entries_.push_back(Entry{std::move(envelope), now, digest, from, hops, {}});
  slots_[SlotOf(digest, id)] = Slot{digest, first_ + entries_.size() - 1};
}

void RecentCache::Expire(int64_t now, int64_t ttl_ms, size_t max_bytes) {
  while (!entries_.empty() &&
         (now - entries_.front().time > ttl_ms || (entries_.size() > 1 && bytes_ > max_bytes))) {
    PopOldest();
  }
  // After a burst the index shrinks again, down to a quarter full at most.
  if (slots_.size() > kMinSlots && 8 * entries_.size() < slots_.size()) {
    Resize(slots_.size() / 2);
  }
}

void RecentCache::PopOldest() {
  const Entry& e = entries_.front();
  const size_t mask = slots_.size() - 1;
  size_t i = e.digest & mask;
  while (slots_[i].number != first_ || slots_[i].digest != e.digest) i = (i + 1) & mask;
  EraseSlot(
      slots_, i, [](const Slot& s) { return s.digest; },
      [](const Slot& s) { return s.digest == 0; });
  bytes_ -= e.envelope->encoded.size();
  entries_.pop_front();
  ++first_;
}

void RecentCache::Resize(size_t slots) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(slots, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.digest == 0) continue;
    size_t i = s.digest & mask;
    while (slots_[i].digest != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace mesh::core
