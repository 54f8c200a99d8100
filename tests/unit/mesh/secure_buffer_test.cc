#include "mesh/secure_buffer.h"

#include <catch2/catch.hpp>
#include <string>

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
