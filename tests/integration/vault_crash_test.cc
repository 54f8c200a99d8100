// Crash consistency: holders are killed with SIGKILL at random moments while one client makes
// 1,000 puts, and restarted. Afterwards every acknowledged put reads back whole, no version
// that was not acknowledged is visible unless its put may have committed, and every node's
// SQLite files pass integrity_check.
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "mesh/key_files.h"
#include "vault/client.h"
#include "vault_cluster.h"

namespace {

using testing::WaitFor;
using vault_test::VaultCluster;

constexpr int kPuts = 1000;
constexpr int kNames = 200;  // five versions each

std::unique_ptr<vault::VaultClient> Connect(const VaultCluster& v) {
  const auto flags = v.c.ClientFlags();  // --ca X --cert Y --key Z
  mesh::ClientOptions o;
  mesh::Certificate ca;
  auto key = std::make_shared<mesh::SigningKey>();
  REQUIRE(mesh::ReadCertificateFile(flags[1], &ca).ok());
  REQUIRE(mesh::ReadCertificateFile(flags[3], &o.certificate).ok());
  REQUIRE(mesh::ReadPrivateKeyFile(flags[5], key.get()).ok());
  o.ca_key = ca.subject;
  o.key = key;
  std::unique_ptr<vault::VaultClient> client;
  const auto s = vault::VaultClient::Connect(v.c.node(0).address, o, &client);
  INFO(s.message());
  REQUIRE(s.ok());
  return client;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// Kills one of nodes 1..4 at a random moment (100-500 ms apart) whenever none is down; the test
// thread reaps and restarts it. Only kill(2) and atomics here: Catch2 is not thread-safe.
class Killer {
 public:
  explicit Killer(const VaultCluster& v) : v_(v) {
    for (size_t i = 0; i < pids_.size(); ++i) pids_[i] = v.c.node(i + 1).pid;
    thread_ = std::thread([this] { Run(); });
  }
  ~Killer() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // The node (index into the cluster) that was killed and not yet restarted, or 0.
  size_t down() const { return down_; }
  void Restarted(size_t node, pid_t pid) {
    pids_[node - 1] = pid;
    down_ = 0;
  }
  int kills() const { return kills_; }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      // A random moment, not a wait for a condition: the schedule of the faults.
      cv_.wait_for(lock, std::chrono::milliseconds(100 + randombytes_uniform(400)));
      if (stop_ || down_ != 0) continue;
      const size_t node = 1 + randombytes_uniform(4);
      if (::kill(pids_[node - 1], SIGKILL) == 0) {
        down_ = node;
        kills_++;
      }
    }
  }

  const VaultCluster& v_;
  std::array<std::atomic<pid_t>, 4> pids_{};
  std::atomic<size_t> down_{0};
  std::atomic<int> kills_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

struct Attempt {
  uint64_t version = 0;  // acknowledged version, 0 when the put failed
  std::string secret;
};

}  // namespace

TEST_CASE("vault: SIGKILLed holders during 1000 puts lose no acknowledged put", "[crash]") {
  VaultCluster v;
  auto client = Connect(v);
  std::map<std::string, std::vector<Attempt>> attempts;  // per name, in order
  int acked = 0, failed = 0, restarts = 0;
  double failed_ms = 0;
  std::vector<std::string> failures_seen;
  {
    Killer killer(v);
    int restart_after = -1;
    for (int i = 0; i < kPuts; ++i) {
      // Reap a killed node at once; restart it a few puts later (a holder that is down while
      // puts go on, then catches up).
      if (const size_t down = killer.down(); down != 0) {
        if (restart_after < 0) {
          REQUIRE(v.c.Reap(down, std::chrono::milliseconds(5000)) >= 0);
          restart_after = i + 1 + static_cast<int>(randombytes_uniform(5));
        } else if (i >= restart_after) {
          v.c.Restart(down, {v.c.node(0).address});
          killer.Restarted(down, v.c.node(down).pid);
          restart_after = -1;
          restarts++;
        }
      }
      const std::string name = "crash/" + std::to_string(i % kNames);
      Attempt a;
      a.secret = vault_test::RandomBytes(1 + randombytes_uniform(200));
      vault::PutOptions options;
      options.threshold = 2;
      options.shares = 3;  // puts can succeed while one of the five is down
      vault::PutResult result;
      const auto t0 = std::chrono::steady_clock::now();
      const auto s =
          client->Put(name,
                      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(a.secret.data()),
                                               a.secret.size()),
                      options, &result);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (s.ok()) {
        a.version = result.version;
        acked++;
      } else {
        failed++;
        failed_ms += ms;
        if (failures_seen.size() < 5) failures_seen.push_back(s.message());
      }
      attempts[name].push_back(std::move(a));
    }
    killer.Stop();
    if (const size_t down = killer.down(); down != 0) {
      if (restart_after < 0) REQUIRE(v.c.Reap(down, std::chrono::milliseconds(5000)) >= 0);
      v.c.Restart(down, {v.c.node(0).address});
      restarts++;
    }
    std::printf("crash test: %d puts acknowledged, %d failed (%.0f ms in failed puts), %d kills\n",
                acked, failed, failed_ms, killer.kills());
    for (const auto& f : failures_seen) std::printf("  e.g. %s\n", f.c_str());
    INFO("acked " << acked << ", failed " << failed << ", kills " << killer.kills());
    CHECK(killer.kills() >= 10);
    CHECK(acked >= kPuts / 2);
  }
  REQUIRE(WaitFor([&] { return v.AllSee(v.AllAlive(), {}); }, std::chrono::milliseconds(10000)));

  // Every name reads back as its last acknowledged put, or as a later failed put that may
  // have committed before failing; a get that fails means a visible version is not whole.
  int later_failed_visible = 0;
  for (const auto& [name, list] : attempts) {
    INFO(name);
    size_t last_ack = list.size();
    for (size_t k = 0; k < list.size(); ++k) {
      if (list[k].version != 0) last_ack = k;
    }
    mesh::SecureBuffer out;
    vault::GetResult result;
    const auto s = client->Get(name, {}, &out, &result);
    if (last_ack == list.size() && !s.ok()) continue;  // never acknowledged, never visible
    INFO(s.message());
    REQUIRE(s.ok());
    const std::string got(out.view());
    bool matched = last_ack < list.size() && list[last_ack].version == result.version &&
                   got == list[last_ack].secret;
    for (size_t k = (last_ack == list.size() ? 0 : last_ack + 1); !matched && k < list.size();
         ++k) {
      if (got == list[k].secret) {
        matched = true;
        later_failed_visible++;
      }
    }
    CHECK(matched);
  }
  UNSCOPED_INFO("failed puts that became visible: " << later_failed_visible);

  // A clean stop, then each node's databases pass SQLite's integrity check.
  for (size_t i = 0; i < v.c.size(); ++i) v.c.Signal(i, SIGTERM);
  for (size_t i = 0; i < v.c.size(); ++i) {
    REQUIRE(v.c.Reap(i, std::chrono::milliseconds(10000)) == 0);
    for (const char* file : {"/vault.db", "/peers.db"}) {
      const std::string path = v.c.node(i).data_dir + file;
      INFO(path);
      CHECK(IntegrityCheck(path) == "ok");
    }
  }
}
