// The vault on 5 real `meshvault agent` processes when nodes fail (issue 4, acceptance):
// dead holders, a holder killed right after its acknowledgement, corrupted shares, and a put
// with too few live members. Round trips and security checks: vault_cluster_test.cc.
#include "vault_cluster.h"

namespace {

using testing::milliseconds;
using vault_test::Contains;
using vault_test::RandomBytes;
using vault_test::VaultCluster;
using vault_test::WaitFor;

// The indexes of `holders` (node names), leaving out `except`.
std::vector<size_t> HolderIndexes(const VaultCluster& v, const std::vector<std::string>& holders,
                                  const std::vector<size_t>& except) {
  std::vector<size_t> out;
  for (const auto& h : holders) {
    const size_t i = v.IndexOf(h);
    if (std::find(except.begin(), except.end(), i) == except.end()) out.push_back(i);
  }
  return out;
}

}  // namespace

TEST_CASE("vault: get works with n-t holders killed and with more fails fast naming them",
          "[integration]") {
  VaultCluster v;
  const std::string secret = RandomBytes(256);
  const auto holders = VaultCluster::Holders(v.Put(0, "ha/key", secret, {"-t", "3", "-n", "5"}));
  REQUIRE(holders.size() == 5);
  // Node 0 is the entry node for everything below; it must stay up.
  const auto victims = HolderIndexes(v, holders, {0});
  REQUIRE(victims.size() == 4);
  const std::string a = v.c.node(victims[0]).name, b = v.c.node(victims[1]).name,
                    c = v.c.node(victims[2]).name;

  v.Kill(victims[0]);
  v.Kill(victims[1]);
  // At once, before the failures are detected: the entry node's wait for them is bounded.
  auto r = v.Cli(0, {"get", "ha/key"});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));
  // The entry node asks t holders, and another for each that fails: any holder named is a
  // killed one.
  for (const auto& line : vault_test::Lines(r.err)) {
    INFO(line);
    if (line.rfind("warning: ", 0) == 0) {
      CHECK((Contains(line, "warning: " + a + ": ") || Contains(line, "warning: " + b + ": ")));
    }
  }
  CHECK(r.seconds < 10);

  v.Kill(victims[2]);
  r = v.Cli(0, {"get", "ha/key"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(Contains(r.err, a + ": "));
  CHECK(Contains(r.err, b + ": "));
  CHECK(Contains(r.err, c + ": "));
  CHECK(Contains(r.err, "of the 3 needed"));
  CHECK(r.seconds < 10);

  // Once the failures are known, the refusal is immediate and says they are unreachable.
  REQUIRE(WaitFor(
      [&] {
        return v.AllSee({{a, "failed"}, {b, "failed"}, {c, "failed"}},
                        {victims[0], victims[1], victims[2]});
      },
      milliseconds(8000)));
  r = v.Cli(0, {"get", "ha/key"});
  CHECK(r.code == 2);
  CHECK(Contains(r.err, a + ": unreachable"));
  CHECK(Contains(r.err, b + ": unreachable"));
  CHECK(Contains(r.err, c + ": unreachable"));
  CHECK(r.seconds < 3);
  CHECK(v.List(0)["ha/key"].value("live_holders", -1) == 2);
  // Through the other live node as well.
  r = v.Cli(victims[3], {"get", "ha/key"});
  CHECK(r.code == 2);
  CHECK(Contains(r.err, c + ": unreachable"));

  // Delete with holders down: it succeeds, names them, and a holder wipes its share when it
  // comes back.
  r = v.Cli(0, {"delete", "ha/key"});
  CHECK(r.code == 0);
  CHECK(Contains(r.err, "warning: " + c + ": "));
  CHECK(v.List(0).count("ha/key") == 0);
  CHECK_FALSE(vault_test::HoldsShare(v.c.node(0).data_dir, "ha/key", 1));
  REQUIRE(vault_test::HoldsShare(v.c.node(victims[2]).data_dir, "ha/key", 1));
  v.c.Restart(victims[2], {v.c.node(0).address});
  CHECK(WaitFor([&] { return !vault_test::HoldsShare(v.c.node(victims[2]).data_dir, "ha/key", 1); },
                milliseconds(10000)));
}

TEST_CASE(
    "vault: a holder killed -9 right after its ack keeps its share and get works with it "
    "among exactly t holders",
    "[integration]") {
  VaultCluster v;
  const std::string secret = RandomBytes(512);
  const auto holders = VaultCluster::Holders(v.Put(0, "durable", secret));
  REQUIRE(holders.size() == 5);
  // The holder that acknowledged last (share order), unless it is the entry node.
  const auto others = HolderIndexes(v, holders, {0});
  const size_t victim = others.back();
  v.Kill(victim);
  CHECK(vault_test::HoldsShare(v.c.node(victim).data_dir, "durable", 1));

  v.c.Restart(victim, {v.c.node(0).address});
  REQUIRE(WaitFor([&] { return v.AllSee(v.AllAlive(), {}); }, milliseconds(8000)));
  CHECK(vault_test::HoldsShare(v.c.node(victim).data_dir, "durable", 1));

  // Leave exactly t = 3 holders up: the entry node, the restarted one and one more.
  std::vector<size_t> rest = HolderIndexes(v, holders, {0, victim});
  REQUIRE(rest.size() == 3);
  v.Kill(rest[0]);
  v.Kill(rest[1]);
  auto r = v.Cli(0, {"get", "durable"});
  CHECK(r.code == 0);
  CHECK(vault_test::SameBytes(r.out, secret));
  // Only the killed holders may be named (those the entry node asked before the others).
  for (const auto& line : vault_test::Lines(r.err)) {
    INFO(line);
    if (line.rfind("warning: ", 0) == 0) {
      CHECK((Contains(line, v.c.node(rest[0]).name + ": ") ||
             Contains(line, v.c.node(rest[1]).name + ": ")));
    }
  }
  CHECK_FALSE(Contains(r.err, v.c.node(victim).name + ": "));
  CHECK(r.seconds < 10);
}

TEST_CASE("vault: holders returning corrupted shares are named and get succeeds from t good ones",
          "[integration]") {
  VaultCluster v;
  const std::string secret = RandomBytes(300);
  const auto holders = VaultCluster::Holders(v.Put(0, "bitrot", secret));
  REQUIRE(holders.size() == 5);
  const auto others = HolderIndexes(v, holders, {0});
  // One share damaged where it is encrypted at rest (the holder notices), one where only the
  // reader can notice: the dealer's signature, kept in clear beside the encrypted share.
  const size_t rotten = others[0], forged = others[1];
  for (auto [i, column] :
       {std::pair{rotten, "ciphertext"}, std::pair{forged, "dealer_signature"}}) {
    v.c.Signal(i, SIGTERM);
    REQUIRE(v.c.Reap(i, milliseconds(5000)) == 0);
    vault_test::CorruptStoredShare(v.c.node(i).data_dir, "bitrot", 1, column);
    v.c.Restart(i, {v.c.node(0).address});
  }
  REQUIRE(WaitFor([&] { return v.AllSee(v.AllAlive(), {}); }, milliseconds(8000)));

  // Each get asks t holders picked at random (another for each that fails; all of them when a
  // share is bad), so both bad holders are named within a few gets: 30 all missing the forged
  // one has odds 0.4^30.
  bool named_rotten = false, named_forged = false;
  for (int attempt = 0; attempt < 30 && !(named_rotten && named_forged); ++attempt) {
    auto r = v.Cli(0, {"get", "bitrot"});
    REQUIRE(r.code == 0);
    REQUIRE(vault_test::SameBytes(r.out, secret));
    named_rotten = named_rotten || Contains(r.err, "warning: " + v.c.node(rotten).name + ": ");
    named_forged =
        named_forged || Contains(r.err, "warning: " + v.c.node(forged).name + ": bad share");
    for (size_t i : {size_t{0}, others[2], others[3]}) {
      CHECK_FALSE(Contains(r.err, v.c.node(i).name + ": "));
    }
  }
  CHECK(named_rotten);
  CHECK(named_forged);
  // With one more good holder gone, t good shares no longer exist: exit 2, all named.
  v.Kill(others[2]);
  auto r = v.Cli(0, {"get", "bitrot"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(Contains(r.err, v.c.node(rotten).name + ": "));
  CHECK(Contains(r.err, v.c.node(forged).name + ": "));
  CHECK(Contains(r.err, v.c.node(others[2]).name + ": "));
}

TEST_CASE("vault: a put that a holder does not acknowledge fails naming it and nothing is visible",
          "[integration]") {
  VaultCluster v;
  // Stopped, not killed: the others still count it alive while the put runs.
  v.c.Signal(4, SIGSTOP);
  auto r = v.Cli(0, {"put", "half", "-n", "5"}, "a secret");
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(Contains(r.err, "node4: "));
  CHECK(Contains(r.err, "nothing was committed"));
  CHECK(r.seconds < 10);
  CHECK(v.List(0).empty());
  r = v.Cli(1, {"get", "half"});
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "no secret named"));
  v.Kill(4);
  REQUIRE(WaitFor([&] { return v.AllSee({{"node4", "failed"}}, {4}); }, milliseconds(8000)));
  // The name is still free: a put on the live nodes makes version 1.
  const auto put = v.Put(0, "half", "a secret", {"-n", "4"});
  CHECK(put.value("version", 0) == 1);
  r = v.Cli(2, {"get", "half"});
  CHECK(r.code == 0);
  CHECK(r.out == "a secret");
}

TEST_CASE("vault: put with fewer than n live members fails before any share is sent",
          "[integration]") {
  VaultCluster v;
  v.Kill(4);
  REQUIRE(WaitFor([&] { return v.AllSee({{"node4", "failed"}}, {4}); }, milliseconds(8000)));
  std::vector<nlohmann::json> before;
  for (size_t i = 0; i < 4; ++i) before.push_back(v.VaultStatus(i));

  auto r = v.Cli(0, {"put", "toomany", "-n", "5"}, "a secret");
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "live nodes"));
  CHECK(Contains(r.err, "nothing was sent"));
  r = v.Cli(1, {"put", "toomany"}, "a secret");  // n defaults to 5
  CHECK(r.code == 2);
  CHECK(Contains(r.err, "live nodes"));

  for (size_t i = 0; i < 4; ++i) {
    const auto after = v.VaultStatus(i);
    INFO(v.c.node(i).name << " before " << before[i].dump() << " after " << after.dump());
    CHECK(after.value("puts", -1) == before[i].value("puts", -2));
    CHECK(after.value("shares_held", -1) == before[i].value("shares_held", -2));
    CHECK(after.value("puts", -1) == 0);
  }
  for (size_t i = 0; i < v.c.size(); ++i) {
    CHECK(vault_test::StoredShares(v.c.node(i).data_dir).empty());
  }
  CHECK(v.List(0).empty());

  // A put that fits the live members works, on them only.
  const auto holders = VaultCluster::Holders(v.Put(0, "fits", "a secret", {"-n", "4"}));
  CHECK(holders.size() == 4);
  CHECK(std::find(holders.begin(), holders.end(), "node4") == holders.end());
  r = v.Cli(0, {"get", "fits"});
  CHECK(r.code == 0);
  CHECK(r.out == "a secret");
}
