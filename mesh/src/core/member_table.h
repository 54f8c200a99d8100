// MemberTable: the other members a node knows, by id. A node holds every member, so a
// 10,000-node simulation holds 10^8 entries, and a node looks a member up several times for
// each message it handles. A std::map costs 112 bytes an entry and a dozen cache misses a
// lookup at that size; this table costs about 60 bytes and two or three misses:
//   - entries live in a deque (their addresses never change while they are in the table),
//     and an erased entry's position is reused by the next insert;
//   - an open-addressing index (linear probing, at most 70% full) holds, per entry, 32 bits
//     of a keyed SipHash-2-4 digest of the id and the entry's position. The key is the
//     caller's (random to each node), so nobody can aim ids at one run of the index.
// Iteration order is the order of positions, not of ids. Not thread-safe.
#ifndef MESH_CORE_MEMBER_TABLE_H_
#define MESH_CORE_MEMBER_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "core/records.h"
#include "mesh/member.h"

namespace mesh::core {

// One known member. 40 bytes: the record is shared, and what a suspect or failed member
// needs beyond that lives in the core's own tables, found through `slot`.
struct MemberEntry {
  std::shared_ptr<const MemberRecord> record;  // null: a free position
  int64_t state_since = 0;                     // monotonic ms
  uint64_t state_incarnation = 0;              // for suspect / dead: the incarnation it is about
  MemberState state = MemberState::kAlive;
  // For the core: while suspect, its suspicion's slot + 1; while failed, its place in the
  // list of failed members + 1; otherwise 0.
  uint32_t slot = 0;
};

class MemberTable {
 public:
  explicit MemberTable(std::array<uint8_t, 16> key);

  static constexpr size_t kNone = SIZE_MAX;

  // The member's position, or kNone.
  size_t Locate(const PublicKey& id) const;
  MemberEntry* Find(const PublicKey& id) {
    const size_t pos = Locate(id);
    return pos == kNone ? nullptr : &entries_[pos];
  }
  const MemberEntry* Find(const PublicKey& id) const {
    const size_t pos = Locate(id);
    return pos == kNone ? nullptr : &entries_[pos];
  }
  // Adds `entry`, keyed by its record's id, which must not be in the table; its position.
  size_t Insert(MemberEntry entry);
  // Removes the member at `pos`; other entries keep their positions and addresses.
  void Erase(size_t pos);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Positions run from 0 to positions() - 1; At is null for a free one. A walk from a random
  // position is a fair enough sample (ids are random, positions follow arrival).
  size_t positions() const { return entries_.size(); }
  MemberEntry* At(size_t pos) { return entries_[pos].record ? &entries_[pos] : nullptr; }
  const MemberEntry* At(size_t pos) const {
    return entries_[pos].record ? &entries_[pos] : nullptr;
  }
  // The first position at or after `pos % positions()` (wrapping) that holds a member; kNone
  // when the table is empty.
  size_t FirstFrom(size_t pos) const;

  // 32 bits of the keyed digest of an id: for compact sets of ids beside the table.
  uint32_t Tag(const PublicKey& id) const;

  template <typename F>
  void ForEach(F&& f) const {
    for (const MemberEntry& e : entries_) {
      if (e.record) f(e);
    }
  }

 private:
  void Place(uint64_t slot);
  void Grow();

  std::array<uint8_t, 16> key_;
  std::deque<MemberEntry> entries_;
  std::vector<uint32_t> free_;  // positions of erased entries, reused first
  // (32-bit digest tag << 32) | (position + 1); 0 marks an empty slot. The tag's low bits
  // pick the home slot, so the index grows without recomputing digests.
  std::vector<uint64_t> slots_;
  size_t count_ = 0;
};

}  // namespace mesh::core

#endif  // MESH_CORE_MEMBER_TABLE_H_
