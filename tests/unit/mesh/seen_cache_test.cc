// core::SeenCache: ids seen once, expiry and eviction into per-origin floors, and forgetting
// an origin's floor (a reaped member), with thousands of origins in the floor table.
#include "core/seen_cache.h"

#include <catch2/catch.hpp>

#include "table_keys.h"

using mesh::PublicKey;
using mesh::core::SeenCache;
using mesh::test::NumberedKey;
using mesh::test::TableKey;

TEST_CASE("seen cache: an id is new once", "[seen_cache]") {
  SeenCache seen(/*ttl_ms=*/1000, /*max_entries=*/100, TableKey(0x42));
  CHECK(seen.IsNew(NumberedKey(1), 5));
  seen.Insert(0, NumberedKey(1), 5);
  CHECK_FALSE(seen.IsNew(NumberedKey(1), 5));
  CHECK(seen.IsNew(NumberedKey(1), 4));  // out of order, not yet seen, above any floor
  CHECK(seen.IsNew(NumberedKey(2), 5));  // another origin
  CHECK(seen.size() == 1);
}

TEST_CASE("seen cache: expired and evicted ids leave a floor behind", "[seen_cache]") {
  SeenCache seen(/*ttl_ms=*/1000, /*max_entries=*/2, TableKey(0x42));
  seen.Insert(0, NumberedKey(1), 10);
  seen.Expire(1001);
  CHECK(seen.size() == 0);
  CHECK_FALSE(seen.IsNew(NumberedKey(1), 10));  // gone from the cache, below the floor
  CHECK_FALSE(seen.IsNew(NumberedKey(1), 3));
  CHECK(seen.IsNew(NumberedKey(1), 11));

  // Past max_entries the oldest leaves at once.
  seen.Insert(2000, NumberedKey(2), 7);
  seen.Insert(2001, NumberedKey(3), 8);
  seen.Insert(2002, NumberedKey(3), 9);
  CHECK(seen.size() == 2);
  CHECK_FALSE(seen.IsNew(NumberedKey(2), 7));
  CHECK_FALSE(seen.IsNew(NumberedKey(2), 6));
  CHECK(seen.IsNew(NumberedKey(2), 8));
}

TEST_CASE("seen cache: forgetting origins keeps the others' floors", "[seen_cache]") {
  // 5,000 origins through expiry: the floor table grows, then losing every other origin
  // moves entries around in it.
  SeenCache seen(/*ttl_ms=*/10, /*max_entries=*/1'000'000, TableKey(0x42));
  constexpr uint32_t kOrigins = 5000;
  for (uint32_t n = 0; n < kOrigins; ++n) seen.Insert(0, NumberedKey(n), 100 + n);
  seen.Expire(100);
  CHECK(seen.size() == 0);
  for (uint32_t n = 0; n < kOrigins; n += 2) seen.ForgetOrigin(NumberedKey(n));
  for (uint32_t n = 0; n < kOrigins; ++n) {
    INFO("origin " << n);
    if (n % 2 == 0) {
      REQUIRE(seen.IsNew(NumberedKey(n), 100 + n));  // forgotten: a reaped member starts over
    } else {
      REQUIRE_FALSE(seen.IsNew(NumberedKey(n), 100 + n));
      REQUIRE(seen.IsNew(NumberedKey(n), 101 + n));
    }
  }
  seen.ForgetOrigin(NumberedKey(kOrigins + 7));  // never seen: nothing happens
  CHECK_FALSE(seen.IsNew(NumberedKey(1), 101));
}
