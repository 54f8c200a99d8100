// core::MemberTable: lookups by id through the hashed index, stable positions, reuse of
// erased positions, and the index staying consistent through growth and erasure (checked
// against a std::map model with random operations).
#include "core/member_table.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "table_keys.h"

using mesh::PublicKey;
using mesh::core::MemberEntry;
using mesh::core::MemberRecord;
using mesh::core::MemberTable;
using mesh::test::NumberedKey;
using mesh::test::TableKey;

namespace {

MemberEntry EntryFor(const PublicKey& id, uint64_t incarnation) {
  MemberRecord record;
  record.certificate.subject = id;
  record.incarnation = incarnation;
  MemberEntry e;
  e.record = std::make_shared<const MemberRecord>(std::move(record));
  e.state_incarnation = incarnation;
  return e;
}

}  // namespace

TEST_CASE("member table: insert, find, erase, and positions that stay put", "[member_table]") {
  MemberTable t(TableKey(1));
  CHECK(t.empty());
  CHECK(t.Find(NumberedKey(1)) == nullptr);
  CHECK(t.FirstFrom(7) == MemberTable::kNone);

  const size_t a = t.Insert(EntryFor(NumberedKey(1), 10));
  const size_t b = t.Insert(EntryFor(NumberedKey(2), 20));
  const size_t c = t.Insert(EntryFor(NumberedKey(3), 30));
  CHECK(t.size() == 3);
  CHECK(t.Locate(NumberedKey(2)) == b);
  MemberEntry* second = t.Find(NumberedKey(2));
  REQUIRE(second != nullptr);
  CHECK(second->record->incarnation == 20);

  // Erasing one member leaves the others' addresses and positions alone.
  t.Erase(a);
  CHECK(t.size() == 2);
  CHECK(t.Find(NumberedKey(1)) == nullptr);
  CHECK(t.At(a) == nullptr);
  CHECK(t.Find(NumberedKey(2)) == second);
  CHECK(t.Locate(NumberedKey(3)) == c);

  // The erased position is reused, and FirstFrom walks past free positions, wrapping.
  CHECK(t.FirstFrom(a) == b);
  const size_t d = t.Insert(EntryFor(NumberedKey(4), 40));
  CHECK(d == a);
  CHECK(t.positions() == 3);
  CHECK(t.FirstFrom(c + 1) == d);  // wraps to position 0
  size_t seen = 0;
  t.ForEach([&](const MemberEntry&) { ++seen; });
  CHECK(seen == 3);
}

TEST_CASE("member table: random inserts and erases agree with a map", "[member_table]") {
  // Few distinct ids over many operations: long probe runs, wrap-around at the end of the
  // index, growth while full of erased-and-reused positions.
  std::mt19937_64 rng(7);
  MemberTable t(TableKey(9));
  std::map<PublicKey, uint64_t> model;  // id -> incarnation
  for (int op = 0; op < 200000; ++op) {
    const PublicKey id = NumberedKey(rng() % 3000);
    const size_t pos = t.Locate(id);
    REQUIRE((pos != MemberTable::kNone) == (model.count(id) > 0));
    if (pos == MemberTable::kNone) {
      const uint64_t inc = rng();
      t.Insert(EntryFor(id, inc));
      model[id] = inc;
    } else {
      REQUIRE(t.At(pos)->record->incarnation == model[id]);
      if (rng() % 2 == 0) {
        t.Erase(pos);
        model.erase(id);
      }
    }
    REQUIRE(t.size() == model.size());
  }
  size_t count = 0;
  t.ForEach([&](const MemberEntry& e) {
    ++count;
    REQUIRE(model.at(e.record->id()) == e.record->incarnation);
  });
  CHECK(count == model.size());
  for (const auto& [id, inc] : model) {
    const MemberEntry* e = t.Find(id);
    REQUIRE(e != nullptr);
    CHECK(e->record->incarnation == inc);
  }
}

TEST_CASE("member table: two ids with the same tag are told apart", "[member_table]") {
  // Lookups compare whole ids, not the 32-bit tags, which meet by chance at a few thousand
  // members. Find two ids that share a tag (a birthday search), and check both directions.
  MemberTable t(TableKey(3));
  std::map<uint32_t, uint64_t> by_tag;
  uint64_t first = 0, second = 0;
  for (uint64_t n = 0;; ++n) {
    auto [it, added] = by_tag.emplace(t.Tag(NumberedKey(n)), n);
    if (!added) {
      first = it->second;
      second = n;
      break;
    }
  }
  REQUIRE(t.Tag(NumberedKey(first)) == t.Tag(NumberedKey(second)));
  const size_t a = t.Insert(EntryFor(NumberedKey(first), 1));
  CHECK(t.Find(NumberedKey(second)) == nullptr);
  const size_t b = t.Insert(EntryFor(NumberedKey(second), 2));
  CHECK(t.Locate(NumberedKey(first)) == a);
  CHECK(t.Locate(NumberedKey(second)) == b);
  t.Erase(a);
  CHECK(t.Find(NumberedKey(first)) == nullptr);
  REQUIRE(t.Find(NumberedKey(second)) != nullptr);
  CHECK(t.Find(NumberedKey(second))->record->incarnation == 2);
}
