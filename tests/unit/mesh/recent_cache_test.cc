// core::RecentCache: the envelopes kept for GRAFTs. Lookups, a republish in place, expiry by
// age and by bytes, and a long run of puts and expiries checked against a plain map.
#include "core/recent_cache.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "table_keys.h"

using mesh::PublicKey;
using mesh::core::GossipEnvelope;
using mesh::core::GossipId;
using mesh::core::RecentCache;
using mesh::test::NumberedKey;
using mesh::test::TableKey;

namespace {

std::shared_ptr<const GossipEnvelope> Envelope(uint32_t origin, uint64_t seq, size_t bytes = 100) {
  auto env = std::make_shared<GossipEnvelope>();
  env->origin = NumberedKey(origin);
  env->seq = seq;
  env->encoded.assign(bytes, static_cast<uint8_t>(seq));
  return env;
}

}  // namespace

TEST_CASE("recent cache: finds what it keeps, by origin and sequence", "[recent_cache]") {
  RecentCache recent(TableKey(0x17));
  recent.Put(0, Envelope(1, 5), /*hops=*/3, /*from=*/7);
  recent.Put(0, Envelope(2, 5), 1, 0);
  const RecentCache::Entry* e = recent.Find(GossipId{NumberedKey(1), 5});
  REQUIRE(e != nullptr);
  CHECK(e->hops == 3);
  CHECK(e->from == 7);
  CHECK(e->envelope->origin == NumberedKey(1));
  CHECK(recent.Find(GossipId{NumberedKey(2), 5})->from == 0);
  CHECK(recent.Find(GossipId{NumberedKey(1), 6}) == nullptr);
  CHECK(recent.Find(GossipId{NumberedKey(3), 5}) == nullptr);
  CHECK(recent.size() == 2);
  CHECK(recent.bytes() == 200);
}

TEST_CASE("recent cache: a republish takes the new envelope in the old place", "[recent_cache]") {
  RecentCache recent(TableKey(0x17));
  recent.Put(0, Envelope(1, 1), 2, 4);
  recent.Find(GossipId{NumberedKey(1), 1})->grafted.push_back(9);
  recent.Put(10, Envelope(2, 1), 2, 4);
  recent.Put(20, Envelope(1, 1, 300), 0, 0);  // the same id again, bigger
  CHECK(recent.size() == 2);
  CHECK(recent.bytes() == 400);
  const RecentCache::Entry* e = recent.Find(GossipId{NumberedKey(1), 1});
  REQUIRE(e != nullptr);
  CHECK(e->hops == 0);
  CHECK(e->from == 0);
  CHECK(e->grafted.empty());
  CHECK(e->envelope->encoded.size() == 300);
  // It is still the oldest: it leaves first, at its first time plus the TTL.
  recent.Expire(/*now=*/1001, /*ttl_ms=*/1000, /*max_bytes=*/1 << 20);
  CHECK(recent.Find(GossipId{NumberedKey(1), 1}) == nullptr);
  CHECK(recent.Find(GossipId{NumberedKey(2), 1}) != nullptr);
  CHECK(recent.bytes() == 100);
}

TEST_CASE("recent cache: expiry by age, and by bytes down to the newest", "[recent_cache]") {
  RecentCache recent(TableKey(0x17));
  for (uint64_t s = 1; s <= 5; ++s) recent.Put(static_cast<int64_t>(s) * 100, Envelope(1, s), 0, 1);
  recent.Expire(/*now=*/1250, /*ttl_ms=*/1000, /*max_bytes=*/1 << 20);  // kept at 100, 200
  CHECK(recent.size() == 3);
  CHECK(recent.Find(GossipId{NumberedKey(1), 2}) == nullptr);
  CHECK(recent.Find(GossipId{NumberedKey(1), 3}) != nullptr);
  recent.Expire(1250, 1000, /*max_bytes=*/150);
  CHECK(recent.size() == 1);
  CHECK(recent.Find(GossipId{NumberedKey(1), 5}) != nullptr);
  recent.Expire(1250, 1000, /*max_bytes=*/10);  // over the bound, but the newest stays
  CHECK(recent.size() == 1);
  recent.Expire(1501, 1000, 1 << 20);  // and leaves by age
  CHECK(recent.size() == 0);
  CHECK(recent.bytes() == 0);
  CHECK(recent.Find(GossipId{NumberedKey(1), 5}) == nullptr);
}

TEST_CASE("recent cache: agrees with a map through growth and expiry", "[recent_cache]") {
  // 20,000 puts from 300 origins, some ids again, with expiry as time goes: the index grows
  // and entries leave from the middle of probe runs.
  RecentCache recent(TableKey(0x17));
  std::map<std::pair<uint32_t, uint64_t>, std::pair<int64_t, uint8_t>> model;  // -> (time, hops)
  std::mt19937_64 rng(7);
  constexpr int64_t kTtl = 500;
  for (int64_t now = 0; now < 20000; ++now) {
    const auto origin = static_cast<uint32_t>(rng() % 300);
    const uint64_t seq = rng() % 2000;
    const auto hops = static_cast<uint8_t>(rng() % 30);
    recent.Put(now, Envelope(origin, seq, 10), hops, 1);
    auto [it, added] = model.try_emplace({origin, seq}, now, hops);
    if (!added) it->second.second = hops;
    recent.Expire(now, kTtl, 1 << 30);
    std::erase_if(model, [&](const auto& kv) { return now - kv.second.first > kTtl; });
    if (now % 97 == 0) {
      REQUIRE(recent.size() == model.size());
      for (const auto& [id, value] : model) {
        const RecentCache::Entry* e = recent.Find(GossipId{NumberedKey(id.first), id.second});
        REQUIRE(e != nullptr);
        REQUIRE(e->hops == value.second);
      }
      REQUIRE(recent.Find(GossipId{NumberedKey(301), 1}) == nullptr);
    }
  }
  CHECK(recent.bytes() == 10 * model.size());
}

TEST_CASE("recent cache: the index shrinks again after a burst", "[recent_cache]") {
  RecentCache recent(TableKey(0x17));
  for (uint64_t s = 0; s < 10000; ++s) recent.Put(0, Envelope(1, s, 1), 0, 1);
  const size_t burst = recent.index_slots();
  CHECK(burst >= 2 * 10000);
  recent.Put(5000, Envelope(2, 1, 1), 0, 1);
  recent.Put(5000, Envelope(2, 2, 1), 0, 1);
  recent.Expire(5000, 3000, 1 << 20);
  CHECK(recent.size() == 2);
  CHECK(recent.index_slots() < burst);
  for (int i = 0; i < 20; ++i) recent.Expire(5000, 3000, 1 << 20);  // one halving a call
  CHECK(recent.index_slots() == 64);
  CHECK(recent.Find(GossipId{NumberedKey(2), 1}) != nullptr);
  CHECK(recent.Find(GossipId{NumberedKey(2), 2}) != nullptr);
  CHECK(recent.Find(GossipId{NumberedKey(1), 9999}) == nullptr);
}
