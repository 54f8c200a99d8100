// Shared by the vault integration tests: a 5-node cluster of real `meshvault agent`
// processes (fast timings; every node told only node 0's address), the vault CLI run against
// it, random secrets, and direct looks into a node's vault.db (SQLite) for what tests must
// see on disk.
#ifndef TESTS_INTEGRATION_VAULT_CLUSTER_H_
#define TESTS_INTEGRATION_VAULT_CLUSTER_H_

#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cluster.h"
#include "process.h"

namespace vault_test {

using testing::AgentCluster;
using testing::Clock;
using testing::milliseconds;
using testing::WaitFor;

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
  double seconds = 0;  // wall time of the command
};

inline double SecondsSince(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

inline std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

inline bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Exact byte equality, described without dumping the bytes (secrets here are binary and up
// to 1 MiB).
inline bool SameBytes(std::string_view got, std::string_view want) {
  if (got == want) return true;
  size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) at++;
  UNSCOPED_INFO("got " << got.size() << " bytes, want " << want.size() << "; first difference at "
                       << at);
  return false;
}

inline std::string ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteBinary(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// A 5-node vault cluster: nodes node0..node4, all joining through node 0; the constructor
// returns once every node sees all five alive.
class VaultCluster {
 public:
  explicit VaultCluster(size_t nodes = 5) {
    c.Start("node0", {});
    for (size_t i = 1; i < nodes; ++i) c.Start("node" + std::to_string(i), {c.node(0).address});
    const bool converged = WaitFor([&] { return AllSee(AllAlive(), {}); }, milliseconds(8000));
    REQUIRE(converged);
  }

  // Runs `meshvault ARGS --address <node entry> <client flags>` with `input` on stdin.
  CliResult Cli(size_t entry, std::vector<std::string> args, std::string_view input = {},
                const std::string& client = "client") {
    args.insert(args.begin(), testing::MeshvaultPath());
    args.push_back("--address");
    args.push_back(c.node(entry).address);
    for (auto& f : c.ClientFlags(client)) args.push_back(f);
    const auto start = Clock::now();
    auto r = testing::RunProcess(args, input, {}, std::chrono::seconds(30));
    CliResult out{r.exit_code, std::move(r.out), std::move(r.err), SecondsSince(start)};
    UNSCOPED_INFO("meshvault " << args[1] << " " << (args.size() > 2 ? args[2] : "") << " via "
                               << c.node(entry).name << " as " << client << ": exit " << out.code
                               << " in " << out.seconds << " s; stderr: " << out.err);
    return out;
  }

  // put NAME with the secret on stdin and --format json; put's JSON output ("version",
  // "holders": node names in share order, ...).
  nlohmann::json Put(size_t entry, const std::string& name, std::string_view secret,
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"put", name, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Cli(entry, args, secret);
    REQUIRE(r.code == 0);
    return nlohmann::json::parse(r.out);
  }

  static std::vector<std::string> Holders(const nlohmann::json& put) {
    return put.at("holders").get<std::vector<std::string>>();
  }

  // `list --format json` as `client`: name -> entry.
  std::map<std::string, nlohmann::json> List(size_t entry, const std::string& client = "client") {
    auto r = Cli(entry, {"list", "--format", "json"}, {}, client);
    REQUIRE(r.code == 0);
    std::map<std::string, nlohmann::json> out;
    for (auto& s : nlohmann::json::parse(r.out)) out[s.value("name", "")] = s;
    return out;
  }

  // `status --format json` of node i through the CLI.
  nlohmann::json VaultStatus(size_t i) {
    auto r = Cli(i, {"status", "--format", "json"});
    REQUIRE(r.code == 0);
    return nlohmann::json::parse(r.out);
  }

  size_t IndexOf(const std::string& name) const {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c.node(i).name == name) return i;
    }
    FAIL("no node named " << name);
    return 0;
  }

  std::map<std::string, std::string> AllAlive() const {
    std::map<std::string, std::string> m;
    for (size_t i = 0; i < c.size(); ++i) m[c.node(i).name] = "alive";
    return m;
  }

  // Every node not in `skip` sees the members in `expected` with the given status.
  bool AllSee(const std::map<std::string, std::string>& expected,
              const std::vector<size_t>& skip) const {
    for (size_t i = 0; i < c.size(); ++i) {
      if (std::find(skip.begin(), skip.end(), i) != skip.end()) continue;
      const auto members = c.Members(i);
      for (auto& [name, status] : expected) {
        auto it = members.find(name);
        if (it == members.end() || it->second != status) return false;
      }
    }
    return true;
  }

  void Kill(size_t i) {
    c.Signal(i, SIGKILL);
    REQUIRE(c.Reap(i, milliseconds(3000)) >= 0);
  }

  AgentCluster c;
};

// The rows of a node's shares table (read straight from its vault.db; the node may run).
struct ShareRow {
  std::string name;
  int64_t version = 0;
  bool committed = false;
};

inline std::vector<ShareRow> StoredShares(const std::string& data_dir) {
  std::vector<ShareRow> rows;
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/vault.db";
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  REQUIRE(rc == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "SELECT name, version, committed FROM shares ORDER BY name, version",
                          -1, &stmt, nullptr);
  INFO(sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    rows.push_back({reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                    sqlite3_column_int64(stmt, 1), sqlite3_column_int(stmt, 2) != 0});
  }
  CHECK(rc == SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

inline bool HoldsShare(const std::string& data_dir, const std::string& name, int64_t version) {
  const auto rows = StoredShares(data_dir);
  return std::any_of(rows.begin(), rows.end(),
                     [&](const ShareRow& r) { return r.name == name && r.version == version; });
}

// Flips one byte in the middle of `column` (ciphertext: the share, encrypted at rest;
// dealer_signature: kept in clear) of the stored share of (name, version). The node must be
// stopped.
inline void CorruptStoredShare(const std::string& data_dir, const std::string& name,
                               int64_t version, const std::string& column) {
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/vault.db";
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(
              db, ("SELECT " + column + " FROM shares WHERE name = ?1 AND version = ?2").c_str(),
              -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, version);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const auto* blob = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
  std::string value(blob, static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
  sqlite3_finalize(stmt);
  REQUIRE(value.size() >= 16);
  value[value.size() / 2] ^= 0x01;
  REQUIRE(sqlite3_prepare_v2(
              db,
              ("UPDATE shares SET " + column + " = ?1 WHERE name = ?2 AND version = ?3").c_str(),
              -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 3, version);
  REQUIRE(sqlite3_step(stmt) == SQLITE_DONE);
  REQUIRE(sqlite3_changes(db) == 1);
  sqlite3_finalize(stmt);
  REQUIRE(sqlite3_close(db) == SQLITE_OK);
}

}  // namespace vault_test

#endif  // TESTS_INTEGRATION_VAULT_CLUSTER_H_
