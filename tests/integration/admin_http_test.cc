// The agent's admin HTTP API with real `meshvault agent` processes: /v1/sys/health and
// `meshvault health` (joined, cluster of one, unreachable join target, all peers killed),
// the HTTP rules (HEAD, 404, 405, size limits), /metrics as strict Prometheus text whose
// counters move with traffic, and JSON logs.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "cluster.h"
#include "process.h"
#include "prometheus_text.h"
#include "vault_cluster.h"

namespace {

using testing::AgentCluster;
using testing::HttpCall;
using testing::HttpRequestText;
using testing::milliseconds;
using testing::PromText;
using testing::WaitFor;
using vault_test::Contains;

testing::HttpReply Health(const AgentCluster& c, size_t i) {
  return HttpCall(c.node(i).http, HttpRequestText("GET", "/v1/sys/health", c.node(i).http));
}

nlohmann::json HealthJson(const AgentCluster& c, size_t i) {
  auto r = Health(c, i);
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  return json.is_discarded() ? nlohmann::json() : json;
}

testing::ProcessResult HealthCli(const std::string& http) {
  return testing::RunProcess({testing::MeshvaultPath(), "health", "--http", http}, {}, {},
                             std::chrono::seconds(20));
}

// Scrapes /metrics and parses it strictly; fails the test on a format error.
PromText Scrape(const AgentCluster& c, size_t i) {
  auto r = HttpCall(c.node(i).http, HttpRequestText("GET", "/metrics", c.node(i).http),
                    milliseconds(3000));
  REQUIRE(r.status == 200);
  CHECK(Contains(r.headers, "Content-Type: text/plain; version=0.0.4"));
  PromText text;
  const std::string problem = text.Parse(r.body);
  INFO(r.body);
  REQUIRE(problem == "");
  return text;
}

}  // namespace

TEST_CASE("health: 200 with Vault's fields on a joined node, HEAD alike, meshvault health 0",
          "[integration][admin]") {
  AgentCluster c;
  c.Start("n0", {});
  // A cluster of one started without --join is healthy on its own.
  REQUIRE(WaitFor([&] { return Health(c, 0).status == 200; }, milliseconds(5000)));
  CHECK(Contains(HealthJson(c, 0).value("reason", ""), "cluster of one"));
  c.Start("n1", {c.node(0).address});
  REQUIRE(WaitFor([&] { return Health(c, 1).status == 200; }, milliseconds(5000)));
  const auto body = HealthJson(c, 1);
  CHECK(body.value("status", "") == "ok");
  CHECK(body.value("reason", "") == "joined: 1 of 1 known member alive");
  CHECK(body.value("initialized", false) == true);
  CHECK(body.value("sealed", true) == false);
  CHECK(body.value("standby", true) == false);
  CHECK(body.value("version", "") != "");
  CHECK(body.value("node", "") == "n1");
  CHECK(std::abs(body.value("server_time_utc", int64_t{0}) - std::time(nullptr)) < 60);

  auto head = HttpCall(c.node(1).http, HttpRequestText("HEAD", "/v1/sys/health", c.node(1).http));
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(Contains(head.headers, "Content-Length: "));

  auto cli = HealthCli(c.node(1).http);
  INFO("stdout: " << cli.out << " stderr: " << cli.err);
  CHECK(cli.exit_code == 0);
  CHECK(Contains(cli.out, "joined: 1 of 1 known member alive"));
}

TEST_CASE("health: 503 for a node whose only join target is unreachable", "[integration][admin]") {
  AgentCluster c;
  const std::string dead = "127.0.0.1:" + std::to_string(testing::FreePort());
  c.Start("lonely", {dead});
  // "starting" until the node's first timer tick, then "unhealthy" for good.
  REQUIRE(WaitFor([&] { return HealthJson(c, 0).value("status", "") == "unhealthy"; },
                  milliseconds(5000)));
  auto r = Health(c, 0);
  CHECK(r.status == 503);
  const auto body = nlohmann::json::parse(r.body);
  CHECK(body.value("reason", "") == "no reachable peer: 0 of 0 known members alive");
  CHECK(body.value("sealed", true) == false);
  auto cli = HealthCli(c.node(0).http);
  CHECK(cli.exit_code == 1);
  CHECK(Contains(cli.err, "no reachable peer: 0 of 0 known members alive"));
}

TEST_CASE("health: 503 once every peer is killed, 200 again when one comes back",
          "[integration][admin]") {
  AgentCluster c;
  c.Start("a", {});
  c.Start("b", {c.node(0).address});
  c.Start("c", {c.node(0).address});
  REQUIRE(WaitFor(
      [&] {
        return Health(c, 0).status == 200 &&
               HealthJson(c, 0).value("reason", "") == "joined: 2 of 2 known members alive";
      },
      milliseconds(5000)));
  c.Signal(1, SIGKILL);
  c.Signal(2, SIGKILL);
  c.Reap(1, milliseconds(3000));
  c.Reap(2, milliseconds(3000));
  // Suspicion (fast timings) ends within a few seconds; then nobody else is alive.
  REQUIRE(WaitFor([&] { return Health(c, 0).status == 503; }, milliseconds(10000)));
  const auto body = HealthJson(c, 0);
  CHECK(body.value("status", "") == "unhealthy");
  CHECK(Contains(body.value("reason", ""), "no reachable peer: 0 of "));
  CHECK(HealthCli(c.node(0).http).exit_code == 1);
  c.Restart(1, {c.node(0).address});
  CHECK(WaitFor([&] { return Health(c, 0).status == 200; }, milliseconds(10000)));
}

TEST_CASE(
    "admin HTTP: unknown paths 404, other methods 405, oversized requests refused, "
    "unreachable agent exits 1",
    "[integration][admin]") {
  AgentCluster c;
  c.Start("n0", {});
  const std::string& http = c.node(0).http;
  auto missing = HttpCall(http, HttpRequestText("GET", "/v1/nope", http));
  CHECK(missing.status == 404);
  CHECK(Contains(missing.headers, "Content-Type: application/json"));
  CHECK(nlohmann::json::parse(missing.body).contains("errors"));
  auto post = HttpCall(http,
                       "POST /v1/sys/health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                       "Connection: close\r\n\r\n{}");
  CHECK(post.status == 405);
  CHECK(Contains(post.headers, "Allow: GET, HEAD"));
  auto big_header =
      HttpCall(http, "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') +
                         "\r\n\r\n");
  CHECK(big_header.status == 431);
  auto big_body =
      HttpCall(http, "GET /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" +
                         std::string(4096, 'a'));
  CHECK(big_body.status == 413);
  // The server is still serving after all that.
  CHECK(WaitFor([&] { return Health(c, 0).status == 200; }, milliseconds(5000)));

  const std::string nobody = "127.0.0.1:" + std::to_string(testing::FreePort());
  const auto start = testing::Clock::now();
  auto cli = HealthCli(nobody);
  CHECK(cli.exit_code == 1);
  CHECK(Contains(cli.err, "meshvault health: cannot connect to http://" + nobody));
  CHECK(testing::Clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("/metrics is strict Prometheus text and its counters move with traffic",
          "[integration][admin]") {
  vault_test::VaultCluster v(3);
  AgentCluster& c = v.c;
  PromText before = Scrape(c, 0), before1 = Scrape(c, 1);
  for (const auto& [name, family] : before.families()) {
    INFO(name);
    CHECK(name.rfind("meshvault_", 0) == 0);
  }
  CHECK(before.Value("meshvault_build_info", {{"version", "0.1.0"}}) == 1);
  CHECK(before.Value("meshvault_members", {{"state", "alive"}}) == 3);
  CHECK(before.families().at("meshvault_members").type == "gauge");
  CHECK(before.families().at("meshvault_vault_get_duration_seconds").type == "histogram");
  CHECK(before.families().at("meshvault_handshake_failures_total").type == "counter");
  CHECK(before.Value("meshvault_dropped_messages_total", {{"reason", "bad_signature"}}) == 0);
  CHECK(before.Value("meshvault_signature_failures_total") == 0);
  CHECK(before.Value("meshvault_active_links") == 2);

  const std::string secret = "metrics-test-secret";
  v.Put(0, "ops/metrics", secret, {"-t", "2", "-n", "3"});
  auto got = v.Cli(0, {"get", "ops/metrics"});
  REQUIRE(got.code == 0);
  REQUIRE(got.out == secret);

  // The entry node broadcasts the put's manifest: gossip out at node 0, in at node 1 (which
  // the broadcast reaches directly or forwarded).
  PromText after = Scrape(c, 0);
  CHECK(after.Value("meshvault_gossip_messages_total", {{"direction", "out"}}) >
        before.Value("meshvault_gossip_messages_total", {{"direction", "out"}}));
  CHECK(WaitFor(
      [&] {
        return Scrape(c, 1).Value("meshvault_gossip_messages_total", {{"direction", "in"}}) >
               before1.Value("meshvault_gossip_messages_total", {{"direction", "in"}});
      },
      milliseconds(5000)));
  CHECK(after.Value("meshvault_gossip_bytes_total", {{"direction", "out"}}) >
        before.Value("meshvault_gossip_bytes_total", {{"direction", "out"}}));
  CHECK(after.Value("meshvault_vault_puts_total", {{"outcome", "ok"}}) ==
        before.Value("meshvault_vault_puts_total", {{"outcome", "ok"}}) + 1);
  CHECK(after.Value("meshvault_vault_gets_total", {{"outcome", "ok"}}) ==
        before.Value("meshvault_vault_gets_total", {{"outcome", "ok"}}) + 1);
  CHECK(after.Value("meshvault_vault_get_duration_seconds_count") ==
        before.Value("meshvault_vault_get_duration_seconds_count") + 1);
  CHECK(after.Value("meshvault_vault_put_duration_seconds_count") ==
        before.Value("meshvault_vault_put_duration_seconds_count") + 1);
  CHECK(after.Value("meshvault_vault_get_duration_seconds_sum") > 0);
  // Every node holds one share of the 2-of-3 secret.
  CHECK(after.Value("meshvault_vault_shares_stored") == 1);
  CHECK(after.Value("meshvault_vault_secrets", {{"state", "live"}}) == 1);

  // A denied get is counted as such at the entry node.
  auto denied = v.Cli(0, {"get", "ops/metrics"}, {}, "mallory");
  CHECK(denied.code == 2);
  CHECK(Scrape(c, 0).Value("meshvault_vault_gets_total", {{"outcome", "denied"}}) == 1);
  // Nothing secret in the exposition.
  auto raw = HttpCall(c.node(0).http, HttpRequestText("GET", "/metrics", c.node(0).http));
  CHECK(!Contains(raw.body, secret));
}

TEST_CASE(
    "logs: --log-format json, every line the agent writes is one JSON object with the four keys",
    "[integration][admin]") {
  AgentCluster c;
  c.Start("j0", {}, "fast", {"--log-format", "json"});
  c.Start("j1", {c.node(0).address}, "fast", {"--log-format", "json"});
  REQUIRE(WaitFor([&] { return Health(c, 1).status == 200; }, milliseconds(5000)));
  c.Signal(1, SIGTERM);
  REQUIRE(c.Reap(1, milliseconds(5000)) == 0);
  c.Signal(0, SIGTERM);
  REQUIRE(c.Reap(0, milliseconds(5000)) == 0);

  const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (size_t i = 0; i < 2; ++i) {
    const auto lines = vault_test::Lines(c.Log(i));
    REQUIRE(lines.size() >= 3);
    std::set<std::string> modules;
    for (const auto& line : lines) {
      INFO("line: " << line);
      const auto json = nlohmann::json::parse(line, nullptr, false);
      REQUIRE(json.is_object());
      CHECK(json.size() == 4);
      for (const char* key : {"@level", "@message", "@module", "@timestamp"}) {
        REQUIRE(json.contains(key));
        CHECK(json[key].is_string());
      }
      CHECK(std::regex_match(json["@timestamp"].get<std::string>(), timestamp));
      const std::string level = json["@level"];
      CHECK((level == "debug" || level == "info" || level == "warn" || level == "error"));
      modules.insert(json["@module"].get<std::string>());
    }
    CHECK(modules.count("agent") == 1);
    CHECK(modules.count("mesh") == 1);
    CHECK(Contains(c.Log(i), R"("@message":"signal 15: leaving the mesh")"));
  }
}

TEST_CASE("logs: --log-format is checked", "[integration][admin]") {
  auto r = testing::RunProcess(
      {testing::MeshvaultPath(), "agent", "--data-dir", "/nonexistent", "--log-format", "xml"});
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "--log-format must be text or json"));
  r = testing::RunProcess({testing::MeshvaultPath(), "dev", "--log-format", "yaml"});
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "--log-format must be text or json"));
}
