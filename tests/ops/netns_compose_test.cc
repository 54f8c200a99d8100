// The compose topology (docker/docker-compose.yml) run natively in network namespaces, with
// the compose file's node environment and default timings: `entrypoint.sh init` once, five
// `entrypoint.sh node` that find each other through service names, then a put and a get
// through the CLI as the compose `cli` service runs it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "netns_cluster.h"

namespace {

using ops_test::NetnsCluster;
using std::chrono::milliseconds;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("netns compose topology: init, 5 nodes join by service name, put and get", "[netns]") {
  NetnsCluster c(5, 2, "default");
  c.Init();
  c.StartAll();
  const double converged = c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), milliseconds(30000));
  INFO("converged in " << converged << " s");
  REQUIRE(converged >= 0);
  WARN("5 nodes with default timings converged in " << converged << " s");

  // Members advertise their service names (NODE_NAME:7400), as compose's DNS gives them.
  auto r = c.Cli(3, {"members", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  auto members = nlohmann::json::parse(r.out);
  REQUIRE(members.size() == 5);
  for (auto& m : members) {
    CHECK(m.value("address", "") == m.value("name", "?") + ":7400");
    CHECK((m.value("linked", false) || m.value("self", false)));
  }

  const std::string secret = "correct horse battery staple";
  r = c.Cli(1, {"put", "compose/db-password", "-t", "3", "-n", "5", "--format", "json"}, secret);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out).at("holders").size() == 5);
  // Read back through another node, from another namespace (the cli service's view).
  r = c.Cli(2, 4, {"get", "compose/db-password"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == secret);
  r = c.Cli(5, {"list", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  auto list = nlohmann::json::parse(r.out);
  REQUIRE(list.size() == 1);
  CHECK(list[0].value("live_holders", 0) == 5);
  CHECK(list[0].value("owner", "") == "admin");

  // `init` again while the cluster runs (every `docker-compose up` does it): nothing changes.
  auto again = c.Init();
  CHECK(Contains(again.out, "CA exists"));
  CHECK_FALSE(Contains(again.out, "issued"));
  for (int i = 1; i <= 5; ++i) {
    INFO(c.LogTail(i));
    CHECK(c.Running(i));
    CHECK(Contains(c.Log(i), "node node" + std::to_string(i) +
                                 ": listen 0.0.0.0:7400, advertise node" + std::to_string(i) +
                                 ":7400, join node1:7400,node2:7400"));
  }
}
