// mesh::ParseJson: how nodes and clients read JSON from the network (mesh/src/json.cc).
#include <catch2/catch.hpp>
#include <string>

#include "mesh/node.h"

namespace {
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

TEST_CASE("JSON nested deeper than the limit is refused before parsing", "[json][fuzz]") {
  // Found while writing the vault_json fuzz target: a certified client's payload of 100,000
  // '[' parsed fine, and then overflowed the stack of the node's I/O thread when the vault
  // agent copied the message into its work queue (nlohmann::json copies recursively).
  const size_t deep = 200000;
  const std::string payload = std::string(deep, '[') + std::string(deep, ']');
  mesh::Json out;
  const mesh::Status s = mesh::ParseJson(Bytes(payload), &out);
  CHECK(s.code() == mesh::Status::Code::kInvalidArgument);
  CHECK(s.message().find("nests deeper than 64") != std::string::npos);
  CHECK(out.is_null());
}

TEST_CASE("ParseJson accepts JSON up to the limit and copies it", "[json]") {
  const size_t limit = mesh::kMaxJsonDepth;
  const std::string ok = std::string(limit, '[') + std::string(limit, ']');
  mesh::Json out;
  REQUIRE(mesh::ParseJson(Bytes(ok), &out).ok());
  const mesh::Json copy = out;  // what the vault agent's queue does
  CHECK(copy.dump() == ok);
  const std::string over = "{\"a\":" + ok.substr(0, limit) + "[]" + ok.substr(limit) + "}";
  CHECK_FALSE(mesh::ParseJson(Bytes(over), &out).ok());
  // Brackets inside strings are text, not nesting; escaped quotes do not end a string.
  const std::string text = R"({"s":"[[[[\"[[[[)" + std::string(100, '[') + R"("})";
  REQUIRE(mesh::ParseJson(Bytes(text), &out).ok());
  CHECK(out["s"].get<std::string>().size() == 109);
  CHECK_FALSE(mesh::ParseJson(Bytes("{\"a\":"), &out).ok());
  CHECK_FALSE(mesh::ParseJson(Bytes(""), &out).ok());
}
