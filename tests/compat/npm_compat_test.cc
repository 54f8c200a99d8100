// meshvault's Vault-format shares against an independent implementation, the npm package
// shamir-secret-sharing, in both directions.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "process.h"

namespace {

// Exits with 77 (CTest: skipped) when the reference implementation is not installed.
void RequireNode() {
  struct stat st {};
  const std::string mod = std::string(MESHVAULT_NPM_DIR) + "/node_modules/shamir-secret-sharing";
  if (stat(mod.c_str(), &st) != 0 || system("command -v node >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "SKIP: node or %s missing (see compat.npm_install)\n", mod.c_str());
    std::exit(77);
  }
}

std::string Node(const std::string& script, const std::vector<std::string>& args,
                 const std::string& input) {
  std::vector<std::string> argv = {"/usr/bin/env", "node",
                                   std::string(MESHVAULT_NPM_DIR) + "/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::RunProcess(argv, input);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("the npm package recombines meshvault's vault-hex shares", "[compat]") {
  RequireNode();
  for (size_t size : {1, 32, 1000}) {
    std::string secret(size, '\0');
    for (size_t i = 0; i < size; ++i) secret[i] = static_cast<char>((i * 131 + 7) & 0xFF);
    auto split = testing::RunProcess(
        {testing::MeshvaultPath(), "split", "-t", "3", "-n", "5", "--format", "vault-hex"}, secret);
    REQUIRE(split.exit_code == 0);
    const auto lines = Lines(split.out);
    REQUIRE(lines.size() == 5);
    const std::string hex =
        Node("npm_combine.mjs", {}, lines[4] + "\n" + lines[0] + "\n" + lines[2] + "\n");
    auto expect =
        testing::RunProcess({testing::MeshvaultPath(), "combine", "--hex", "--format", "vault-hex"},
                            lines[1] + "\n" + lines[2] + "\n" + lines[3] + "\n");
    REQUIRE(expect.exit_code == 0);
    CHECK(hex == expect.out);
    CHECK(hex.size() == 2 * size + 1);
  }
}

TEST_CASE("meshvault recombines the npm package's shares", "[compat]") {
  RequireNode();
  const std::string secret_hex = "000102030405060708090a0b0c0d0e0fdeadbeef";
  const auto lines = Lines(Node("npm_split.mjs", {"4", "7"}, secret_hex + "\n"));
  REQUIRE(lines.size() == 7);
  auto r =
      testing::RunProcess({testing::MeshvaultPath(), "combine", "--hex"},
                          lines[6] + "\n" + lines[1] + "\n" + lines[3] + "\n" + lines[5] + "\n");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == secret_hex + "\n");
}
