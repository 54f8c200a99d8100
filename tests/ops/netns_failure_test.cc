// Multi-host failures of the compose topology in network namespaces (fast timings unless
// MESHVAULT_TEST_TIMINGS=default): a 2|3 partition and its healing, a node killed with
// SIGKILL and restored from an online backup, every node restarted at once with new
// addresses and no join list, and a node's key rotated. The bounds asserted here are the
// ones docs/operations.md documents.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "netns_cluster.h"

namespace {

namespace fs = std::filesystem;
using ops_test::NetnsCluster;
using std::chrono::milliseconds;

// The agents' timings: fast, or the production defaults with MESHVAULT_TEST_TIMINGS=default
// (the compose file's; slower to detect and heal, so the run takes a few minutes).
std::string Timings() {
  const char* t = std::getenv("MESHVAULT_TEST_TIMINGS");
  return t != nullptr && std::string(t) == "default" ? "default" : "fast";
}

// The bounds docs/operations.md documents ("Failures and recovery"), per timings.
const bool kDefaultTimings = Timings() == "default";
const auto kConverge = milliseconds(kDefaultTimings ? 60000 : 20000);
const auto kDetect = milliseconds(kDefaultTimings ? 45000 : 15000);
const auto kHeal = milliseconds(kDefaultTimings ? 60000 : 20000);

// The sqlite3 shell (Debian package sqlite3, installed by scripts/install-deps.sh).
std::string Sqlite3() {
  for (const char* p : {"/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/bin/sqlite3"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  FAIL("no sqlite3 shell: install the Debian package sqlite3 (scripts/install-deps.sh)");
  return {};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::map<std::string, std::string> Statuses(
    const NetnsCluster& c, const std::vector<std::pair<std::vector<int>, std::string>>& groups) {
  std::map<std::string, std::string> m;
  for (const auto& [nodes, status] : groups) {
    for (int i : nodes) m[c.Name(i)] = status;
  }
  return m;
}

// Starts and converges a cluster, then puts `name` through node `entry`; its holders.
std::vector<std::string> PutSecret(NetnsCluster& c, int entry, const std::string& name,
                                   const std::string& secret, const std::string& t) {
  auto r = c.Cli(entry, {"put", name, "-t", t, "-n", "5", "--format", "json"}, secret);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out).at("holders").get<std::vector<std::string>>();
}

void ExpectGet(NetnsCluster& c, int from, int entry, const std::string& name,
               const std::string& secret) {
  auto r = c.Cli(from, entry, {"get", name});
  INFO("get " << name << " via " << c.Name(entry) << ": exit " << r.exit_code << "; " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == secret);
}

// Polls `done` every 200 ms until it holds or `deadline` passes; whether it held. Unlike
// testing::WaitFor (every 10 ms, for cheap checks) it suits predicates that run CLI processes.
bool PollUntil(const std::function<bool()>& done, milliseconds deadline) {
  const auto end = ops_test::Clock::now() + deadline;
  for (;;) {
    if (done()) return true;
    if (ops_test::Clock::now() >= end) return false;
    std::this_thread::sleep_for(milliseconds(200));
  }
}

int LiveHolders(NetnsCluster& c, int entry, const std::string& name) {
  auto r = c.Cli(entry, {"list", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  for (auto& s : nlohmann::json::parse(r.out)) {
    if (s.value("name", "") == name) return s.value("live_holders", -1);
  }
  return -1;
}

void StartConverged(NetnsCluster& c) {
  c.Init();
  c.StartAll();
  REQUIRE(c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), kConverge) >= 0);
}

}  // namespace

TEST_CASE("netns partition 2|3: both sides see the other failed, gets work, the mesh heals",
          "[netns]") {
  NetnsCluster c(5, 2, Timings());  // node1, node2 | node3, node4, node5
  StartConverged(c);
  const std::string secret = "partition-proof secret";
  // t = 2 of 5 holders: the 2-node side still has t holders.
  REQUIRE(PutSecret(c, 3, "ops/partition", secret, "2").size() == 5);

  c.Partition();
  const auto side_a = c.Range(1, 2), side_b = c.Range(3, 5);
  const auto cut = ops_test::Clock::now();
  const double a_detects =
      c.WaitUntilAllSee(side_a, Statuses(c, {{side_a, "alive"}, {side_b, "failed"}}), kDetect);
  REQUIRE(a_detects >= 0);
  REQUIRE(c.WaitUntilAllSee(side_b, Statuses(c, {{side_b, "alive"}, {side_a, "failed"}}),
                            kDetect) >= 0);
  const double b_detects = std::chrono::duration<double>(ops_test::Clock::now() - cut).count();

  // Each side reads with the holders it has.
  ExpectGet(c, 1, 1, "ops/partition", secret);
  ExpectGet(c, 2, 2, "ops/partition", secret);
  ExpectGet(c, 4, 4, "ops/partition", secret);
  CHECK(LiveHolders(c, 1, "ops/partition") == 2);
  CHECK(LiveHolders(c, 5, "ops/partition") == 3);
  // A put needs n live members: refused on either side before anything is sent.
  auto r = c.Cli(4, {"put", "ops/during", "-t", "2", "-n", "5"}, "x");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "nothing was sent"));

  c.Heal();
  const double healed = c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), kHeal);
  REQUIRE(healed >= 0);
  WARN(Timings() << " timings: partition detected by the 2-node side in " << a_detects
                 << " s, by both sides in " << b_detects << " s; healed in " << healed << " s");
  ExpectGet(c, 2, 2, "ops/partition", secret);
  CHECK(LiveHolders(c, 1, "ops/partition") == 5);
  REQUIRE(PutSecret(c, 1, "ops/after", "after the partition", "3").size() == 5);
  ExpectGet(c, 5, 5, "ops/after", "after the partition");
}

TEST_CASE("netns kill -9 of a node: seen failed, restored from an online backup, rejoins",
          "[netns]") {
  NetnsCluster c(5, 2, Timings());
  StartConverged(c);
  const std::string secret = "survives a crash";
  REQUIRE(PutSecret(c, 1, "ops/crash", secret, "3").size() == 5);
  // put returns once the entry node (node1) committed; node4 learns the commit by gossip.
  // Back it up after that, or the restored node knows its share but not the secret.
  REQUIRE(PollUntil([&] { return LiveHolders(c, 4, "ops/crash") == 5; }, kConverge));

  // The online backup docs/operations.md describes: sqlite3 .backup of both databases while
  // the agent runs, and the key file beside them.
  const std::string data = c.DataDir(4), backup = c.dir() + "/node4-backup";
  REQUIRE(fs::create_directory(backup));
  for (const char* db : {"vault.db", "peers.db"}) {
    auto r =
        testing::RunProcess({Sqlite3(), data + "/" + db, ".backup '" + backup + "/" + db + "'"});
    INFO(db << ": " << r.err);
    REQUIRE(r.exit_code == 0);
  }
  fs::copy_file(data + "/vault.key", backup + "/vault.key");

  c.Signal(4, SIGKILL);
  REQUIRE(c.Reap(4, milliseconds(5000)) == 128 + SIGKILL);
  const double detected = c.WaitUntilAllSee({1, 2, 3, 5}, {{"node4", "failed"}}, kDetect);
  REQUIRE(detected >= 0);
  ExpectGet(c, 1, 1, "ops/crash", secret);
  CHECK(LiveHolders(c, 2, "ops/crash") == 4);

  // The volume is lost; the backup is restored into a fresh one.
  fs::remove_all(data);
  fs::copy(backup, data);
  fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace);
  c.Start(4);  // the same environment, as `restart: unless-stopped` does
  const double rejoined = c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), kConverge);
  REQUIRE(rejoined >= 0);
  WARN(Timings() << " timings: node4 seen failed by all in " << detected << " s; rejoined "
                 << rejoined << " s after its restart");
  // Its share came back with the backup: with two other holders killed, node4's is needed.
  c.Signal(1, SIGKILL);
  c.Signal(2, SIGKILL);
  REQUIRE(c.Reap(1, milliseconds(5000)) >= 0);
  REQUIRE(c.Reap(2, milliseconds(5000)) >= 0);
  INFO("node4's log:\n" << c.LogTail(4, 30));
  ExpectGet(c, 4, 4, "ops/crash", secret);
}

TEST_CASE("netns all nodes restarted at once, on new addresses, reform from their peer stores",
          "[netns]") {
  NetnsCluster c(5, 2, Timings());
  StartConverged(c);
  const std::string secret = "survives a full restart";
  REQUIRE(PutSecret(c, 2, "ops/restart", secret, "3").size() == 5);

  for (int i = 1; i <= 5; ++i) c.Signal(i, SIGKILL);  // a power cut
  for (int i = 1; i <= 5; ++i) REQUIRE(c.Reap(i, milliseconds(5000)) == 128 + SIGKILL);
  // Containers come back with new addresses; the service names follow them.
  c.Renumber(100);
  // No join list: only the peers each node stored in its data dir (by service name).
  c.StartAll({"MESHVAULT_JOIN="});
  const double reformed = c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), kConverge);
  for (int i = 1; i <= 5; ++i) {
    INFO(c.LogTail(i, 5));
    CHECK(Contains(c.Log(i), "join (none; stored peers only)"));
  }
  REQUIRE(reformed >= 0);
  // The put's commit was durable on its entry node (node2) before put returned; the other
  // nodes learn it by gossip, which the crash may have cut short. Those that missed it answer
  // "no secret named" until anti-entropy (a vault.sync per sync_interval) brings it.
  const auto start = ops_test::Clock::now();
  const auto known_everywhere = [&] {
    for (int i = 1; i <= 5; ++i) {
      if (LiveHolders(c, i, "ops/restart") != 5) return false;
    }
    return true;
  };
  const bool known = PollUntil(known_everywhere, kConverge);
  const double caught_up = std::chrono::duration<double>(ops_test::Clock::now() - start).count();
  REQUIRE(known);
  WARN(Timings() << " timings: the cluster reformed " << reformed
                 << " s after all nodes restarted; every node listed the last put " << caught_up
                 << " s after that");
  for (int i = 1; i <= 5; ++i) ExpectGet(c, i, i, "ops/restart", secret);
}

TEST_CASE("netns node certificate rotation: a new key is a new member, a new version uses it",
          "[netns]") {
  NetnsCluster c(5, 2, Timings());
  StartConverged(c);
  const std::string secret = "outlives a node's key";
  REQUIRE(PutSecret(c, 1, "ops/rotate", secret, "3").size() == 5);

  // docs/operations.md, "Certificate rotation": stop the node, move its files aside, let
  // init issue a new certificate (a new key) under the same name, start it on its volume.
  c.Signal(4, SIGTERM);
  REQUIRE(c.Reap(4, milliseconds(10000)) == 0);
  const std::string certs = c.dir() + "/certs";
  fs::rename(certs + "/node4.crt", certs + "/node4.crt.old");
  fs::rename(certs + "/node4.key", certs + "/node4.key.old");
  auto init = c.Init();
  CHECK(Contains(init.out, "issued node certificate 'node4'"));
  c.Start(4);

  // The new identity joins; the old one stays in the tables as gone (left) until reaped.
  REQUIRE(c.WaitUntilAllSee(c.Range(1, 5), c.All("alive"), kConverge) >= 0);
  auto r = c.Cli(1, {"members", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  std::multiset<std::string> node4;
  for (auto& m : nlohmann::json::parse(r.out)) {
    if (m.value("name", "") == "node4") node4.insert(m.value("status", ""));
  }
  CHECK(node4 == std::multiset<std::string>{"alive", "left"});

  // The share the old identity holds is out of reach; the other four holders serve.
  ExpectGet(c, 4, 4, "ops/rotate", secret);
  CHECK(LiveHolders(c, 1, "ops/rotate") == 4);
  // A new version places a share on the new identity.
  r = c.Cli(1, {"put", "ops/rotate", "-t", "3", "-n", "5"}, secret);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(LiveHolders(c, 1, "ops/rotate") == 5);
  ExpectGet(c, 2, 2, "ops/rotate", secret);
}
