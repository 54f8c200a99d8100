// Vault benchmarks on a 5-node local cluster of real `meshvault agent` processes (fast
// timings), driven by this process as the client. Prints one JSON object per line:
//   {"bench":"vault.put", "nodes":5, "t":3, "n":5, "secret_bytes":32, "ops":..., "p50_ms":...,
//    "p99_ms":..., "ops_per_sec":...}
//   {"bench":"vault.get", ..., "clients":1 | 4, ...}
// put and the first get line run one client sequentially (latency); the second get line runs
// four client links in threads, all to node 0, for throughput.
// Usage: vault_bench [--quick]
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cluster.h"
#include "mesh/key_files.h"
#include "vault/client.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kNodes = 5;
constexpr size_t kSecretBytes = 32;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool LoadClient(const testing::AgentCluster& cluster, mesh::ClientOptions* o) {
  const auto flags = cluster.ClientFlags();  // --ca X --cert Y --key Z
  mesh::Certificate ca;
  auto key = std::make_shared<mesh::SigningKey>();
  if (!mesh::ReadCertificateFile(flags[1], &ca).ok() ||
      !mesh::ReadCertificateFile(flags[3], &o->certificate).ok() ||
      !mesh::ReadPrivateKeyFile(flags[5], key.get()).ok()) {
    return false;
  }
  o->ca_key = ca.subject;
  o->key = key;
  return true;
}

void Print(const char* bench, int clients, size_t ops, const std::vector<double>& ms,
           double seconds) {
  std::printf(
      "{\"bench\":\"%s\",\"nodes\":%d,\"t\":3,\"n\":5,\"secret_bytes\":%zu,\"clients\":%d,"
      "\"ops\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"ops_per_sec\":%.0f}\n",
      bench, kNodes, kSecretBytes, clients, ops, Percentile(ms, 0.5), Percentile(ms, 0.99),
      static_cast<double>(ops) / seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const size_t ops = quick ? 20 : 500;
  const auto load_time = std::chrono::seconds(quick ? 1 : 10);

  testing::AgentCluster cluster;
  cluster.Start("node0", {});
  for (int i = 1; i < kNodes; ++i)
    cluster.Start("node" + std::to_string(i), {cluster.node(0).address});
  const bool joined = testing::WaitFor(
      [&] {
        for (size_t i = 0; i < cluster.size(); ++i) {
          const auto m = cluster.Members(i);
          if (std::count_if(m.begin(), m.end(), [](auto& kv) { return kv.second == "alive"; }) !=
              kNodes) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(20));
  mesh::ClientOptions options;
  if (!joined || !LoadClient(cluster, &options)) {
    std::fprintf(stderr, "vault_bench: the cluster did not form\n");
    return 1;
  }
  std::unique_ptr<vault::VaultClient> client;
  if (auto s = vault::VaultClient::Connect(cluster.node(0).address, options, &client); !s.ok()) {
    std::fprintf(stderr, "vault_bench: %s\n", s.message().c_str());
    return 1;
  }

  // put: distinct names, one client, sequential.
  std::vector<double> ms;
  std::vector<uint8_t> secret(kSecretBytes);
  auto start = Clock::now();
  for (size_t i = 0; i < ops; ++i) {
    randombytes_buf(secret.data(), secret.size());
    vault::PutResult result;
    const auto t0 = Clock::now();
    if (auto s = client->Put("bench/k" + std::to_string(i), secret, {}, &result); !s.ok()) {
      std::fprintf(stderr, "vault_bench: put: %s\n", s.message().c_str());
      return 1;
    }
    ms.push_back(MsSince(t0));
  }
  Print("vault.put", 1, ops, ms, MsSince(start) / 1000);

  // get: one client, sequential.
  ms.clear();
  start = Clock::now();
  for (size_t i = 0; i < ops; ++i) {
    mesh::SecureBuffer out;
    vault::GetResult result;
    const auto t0 = Clock::now();
    if (auto s = client->Get("bench/k" + std::to_string(i % ops), {}, &out, &result); !s.ok()) {
      std::fprintf(stderr, "vault_bench: get: %s\n", s.message().c_str());
      return 1;
    }
    ms.push_back(MsSince(t0));
  }
  Print("vault.get", 1, ops, ms, MsSince(start) / 1000);

  // get throughput: four client links in threads for a fixed time.
  constexpr int kClients = 4;
  std::vector<std::vector<double>> per_thread(kClients);
  std::atomic<size_t> done{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  start = Clock::now();
  const auto until = start + load_time;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<vault::VaultClient> link;
      if (!vault::VaultClient::Connect(cluster.node(0).address, options, &link).ok()) {
        failed = true;
        return;
      }
      for (size_t i = c; Clock::now() < until; i += kClients) {
        mesh::SecureBuffer out;
        vault::GetResult result;
        const auto t0 = Clock::now();
        if (!link->Get("bench/k" + std::to_string(i % ops), {}, &out, &result).ok()) {
          failed = true;
          return;
        }
        per_thread[c].push_back(MsSince(t0));
        done++;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) {
    std::fprintf(stderr, "vault_bench: a get failed under load\n");
    return 1;
  }
  ms.clear();
  for (auto& v : per_thread) ms.insert(ms.end(), v.begin(), v.end());
  Print("vault.get", kClients, done, ms, MsSince(start) / 1000);
  return 0;
}
