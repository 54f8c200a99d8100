#include "mesh/status.h"

#include <catch2/catch.hpp>

TEST_CASE("Status carries code and message", "[status]") {
  CHECK(mesh::Status::OK().ok());
  CHECK(mesh::Status::OK().ToString() == "OK");
  const auto s = mesh::Status::InvalidArgument("threshold 1 is too small");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == mesh::Status::Code::kInvalidArgument);
  CHECK(s.ToString() == "invalid argument: threshold 1 is too small");
  CHECK(mesh::Status::Corruption("x").ToString() == "corruption: x");
}
