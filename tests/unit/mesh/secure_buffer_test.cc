#include "mesh/secure_buffer.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#if defined(__SANITIZE_ADDRESS__)
#define MESHVAULT_TEST_ASAN 1
#include <sanitizer/asan_interface.h>
#else
#define MESHVAULT_TEST_ASAN 0
#endif

TEST_CASE("SecureBuffer grows, shrinks and moves", "[secure_buffer]") {
  REQUIRE(mesh::InitSodium().ok());
  mesh::SecureBuffer b;
  CHECK(b.empty());
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    b.Append(piece);
    expected += piece;
  }
  CHECK(b.view() == expected);
  b.Resize(3);
  CHECK(b.view() == expected.substr(0, 3));
  mesh::SecureBuffer moved = std::move(b);
  CHECK(moved.view() == expected.substr(0, 3));
  CHECK(b.size() == 0);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  mesh::SecureBuffer zeroed(16);
  for (size_t i = 0; i < zeroed.size(); ++i) CHECK(zeroed.data()[i] == 0);
}

TEST_CASE("SecureBuffer memory handed out again is wiped first", "[secure_buffer]") {
  REQUIRE(mesh::InitSodium().ok());
  // Fill and release buffers of several sizes; whatever is reused must come back zeroed,
  // whole capacity included.
  for (size_t size : {1, 32, 64, 65, 1000, 4096, 70000}) {
    INFO(size);
    for (int round = 0; round < 3; ++round) {
      {
        mesh::SecureBuffer used(size);
        used.Resize(used.capacity());
        std::fill(used.data(), used.data() + used.capacity(), uint8_t{0xA5});
      }
      mesh::SecureBuffer fresh(size);
      CHECK(fresh.size() == size);
      CHECK(fresh.capacity() >= size);
      fresh.Resize(fresh.capacity());
      CHECK(std::all_of(fresh.data(), fresh.data() + fresh.capacity(),
                        [](uint8_t b) { return b == 0; }));
    }
  }
  // Growth keeps the bytes already written.
  mesh::SecureBuffer b(10);
  std::fill(b.data(), b.data() + 10, uint8_t{7});
  b.Reserve(5000);
  CHECK(b.size() == 10);
  CHECK(std::all_of(b.data(), b.data() + 10, [](uint8_t x) { return x == 7; }));
  b.Resize(b.capacity());
  CHECK(std::all_of(b.data() + 10, b.data() + b.capacity(), [](uint8_t x) { return x == 0; }));
}

#if MESHVAULT_TEST_ASAN  // only AddressSanitizer builds (the asan preset) have this check
TEST_CASE("SecureBuffer: bytes past size() are poisoned under AddressSanitizer",
          "[secure_buffer]") {
  REQUIRE(mesh::InitSodium().ok());
  mesh::SecureBuffer b(10);  // capacity 64
  REQUIRE(b.capacity() > 10);
  CHECK_FALSE(__asan_address_is_poisoned(b.data() + 9));
  CHECK(__asan_address_is_poisoned(b.data() + 10));
  CHECK(__asan_address_is_poisoned(b.data() + b.capacity() - 1));
  b.Append(std::string_view("abc"));
  CHECK_FALSE(__asan_address_is_poisoned(b.data() + 12));
  CHECK(__asan_address_is_poisoned(b.data() + 13));
  b.Resize(4);
  CHECK(__asan_address_is_poisoned(b.data() + 4));
  const uint8_t* reused = nullptr;
  {
    mesh::SecureBuffer gone(40);  // released whole to the cache, then handed out again
    reused = gone.data();
  }
  mesh::SecureBuffer again(40);
  if (again.data() == reused) CHECK(__asan_address_is_poisoned(again.data() + 40));
  CHECK_FALSE(__asan_address_is_poisoned(again.data() + 39));
}
#endif
