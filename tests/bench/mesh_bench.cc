// Mesh benchmarks. Prints one JSON object per line:
//   {"bench":"mesh.verify_bare", "verifies_per_sec":..., "threads":1|2}
//   {"bench":"mesh.verify_forward", "messages":..., "msgs_per_sec":..., "forwards_per_msg":6,
//    "threads":1|2}
//   {"bench":"mesh.membership", "nodes":16, "seconds_to_full_membership":...}
//   {"bench":"mesh.broadcast", "nodes":64, "p50_ms":..., "p99_ms":..., "tx_per_delivery":...}
//   {"bench":"mesh.idle_rss", "rss_kib":...}
//   {"bench":"mesh.scale100", "nodes":100, "tree":true|false, "seconds_to_full_membership":...,
//    "p50_ms":..., "p99_ms":..., "payload_tx_per_delivery":..., "rss_kib_per_node":...}
// verify_forward drives one node's sans-IO core directly (decode, replay checks, Ed25519
// verification, delivery, forwarding to 6 active links) on one thread; with "threads":1 it
// checks signatures itself (Config::verify_threads = 0), with "threads":2 a VerifierPool of
// two workers does, as in mesh::Node, and the driving thread also checks when their queue
// is full. verify_bare is libsodium's verify alone on 1 or 2 threads: the ceiling. membership and
// broadcast run real nodes in this process on loopback with Config::FastTimings. idle_rss
// starts real `meshvault agent` processes and reads VmRSS of one after it idled. scale100
// runs 100 real nodes (mesh::Node, loopback, FastTimings, signature checks on the I/O
// thread: verify_threads = 0, or 100 nodes would start 200 workers on this machine) that
// join through 3 seeds, then 50 broadcasts from random nodes, with tree dissemination and
// with flooding.
// Usage: mesh_bench [--quick] [--only NAME]
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cluster.h"
#include "core/core.h"
#include "mesh/node.h"
#include "verifier_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
using mesh::Json;

struct Ca {
  mesh::SigningKey key = mesh::SigningKey::Generate();
  mesh::Certificate Issue(const mesh::SigningKey& k, const std::string& name) {
    const int64_t now = std::time(nullptr);
    return mesh::IssueCertificate(key, mesh::Role::kNode, name, k.public_key(), now - 60,
                                  now + 3600);
  }
};

// verify_forward's host: sends are counted; signature checks go to a VerifierPool, as in
// mesh::Node, and the workers' answers wait in an inbox that the thread driving the core
// (the node's strand, here) drains between messages.
class BenchHost : public mesh::core::Host {
 public:
  explicit BenchHost(size_t verify_threads)
      : pool_(verify_threads, 32 * verify_threads, [this](uint64_t token, bool ok) {
          std::lock_guard lock(mu_);
          inbox_.emplace_back(token, ok);
          ready_.notify_one();
        }) {}
  void Send(mesh::core::LinkId, std::vector<uint8_t> m) override {
    sent_bytes += m.size();
    ++sent;
  }
  void Dial(uint64_t, const std::string&) override {}
  void Close(mesh::core::LinkId) override {}
  int64_t UnixMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  uint64_t Random() override { return randombytes_random(); }
  void Deliver(const mesh::core::Delivery&) override { ++delivered; }
  void Replied(uint64_t, const mesh::Status&, std::span<const uint8_t>) override {}
  void MemberChanged(const mesh::MemberInfo&) override {}
  void ReserveSequence(uint64_t) override {}
  void PeerSeen(const mesh::core::MemberRecord&) override {}
  void PeerConnect(const mesh::PublicKey&, bool) override {}
  void PeerAddresses(const mesh::PublicKey&, uint64_t, uint64_t) override {}
  void VerifyGossip(mesh::core::VerifyJob job) override {  // as NodeImpl does
    const uint64_t token = job.token;
    if (auto ok = pool_.Verify(std::move(job))) core->OnGossipVerified(1, token, *ok);
  }
  // Hands the answers that came in to the core; with `wait`, first waits for one.
  void Drain(bool wait) {
    std::vector<std::pair<uint64_t, bool>> answers;
    {
      std::unique_lock lock(mu_);
      if (wait) ready_.wait(lock, [this] { return !inbox_.empty(); });
      answers.swap(inbox_);
    }
    for (auto [token, ok] : answers) core->OnGossipVerified(1, token, ok);
  }

  mesh::core::Core* core = nullptr;
  uint64_t sent = 0, sent_bytes = 0, delivered = 0;

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::vector<std::pair<uint64_t, bool>> inbox_;
  mesh::VerifierPool pool_;  // last: its workers use the inbox
};

// `verify_threads` as in mesh::Config: 0 checks signatures on the core's thread ("threads":1).
void VerifyForward(size_t messages, size_t verify_threads) {
  Ca ca;
  BenchHost host(verify_threads);
  auto key = std::make_shared<mesh::SigningKey>(mesh::SigningKey::Generate());
  mesh::Config config;
  config.key = key;
  config.certificate = ca.Issue(*key, "bench");
  config.ca_key = ca.key.public_key();
  mesh::core::Core core(config, &host, "127.0.0.1:1", 1, 1, 1);
  host.core = &core;
  core.Start(0, {});
  // Seven neighbours, each a member; messages come in on the first and go out on the others.
  std::vector<mesh::SigningKey> peers;
  for (int i = 0; i < 7; ++i) {
    peers.push_back(mesh::SigningKey::Generate());
    auto cert = ca.Issue(peers.back(), "peer" + std::to_string(i));
    core.OnLinkUp(0, static_cast<uint64_t>(i + 1), cert, 0);
    auto record =
        mesh::core::MemberRecord::Make(peers.back(), cert, "127.0.0.1:2", 1, false, host.UnixMs());
    core.OnMessage(0, static_cast<uint64_t>(i + 1),
                   mesh::core::EncodeHello({true, record.encoded}));
  }
  const std::string json = R"({"k":"v","n":12345})";
  const auto body = mesh::core::EncodeEvent(
      "bench", {reinterpret_cast<const uint8_t*>(json.data()), json.size()});
  std::vector<std::vector<uint8_t>> wire;
  for (size_t i = 0; i < messages; ++i) {
    auto env = mesh::core::GossipEnvelope::Make(peers[1 + i % 6], mesh::core::GossipKind::kEvent,
                                                i + 1, host.UnixMs(), body);
    wire.push_back(mesh::core::EncodeGossip(1, env.encoded));
  }
  const uint64_t sent_before = host.sent;
  const auto t0 = Clock::now();
  for (auto& m : wire) {
    core.OnMessage(1, 1, std::move(m));
    host.Drain(false);
  }
  while (core.verifying() > 0) host.Drain(true);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"bench\":\"mesh.verify_forward\",\"messages\":%zu,\"delivered\":%lu,"
      "\"msgs_per_sec\":%.0f,\"forwards_per_msg\":%.2f,\"threads\":%zu}\n",
      messages, static_cast<unsigned long>(host.delivered), static_cast<double>(messages) / s,
      static_cast<double>(host.sent - sent_before) / static_cast<double>(messages),
      std::max<size_t>(1, verify_threads));
  std::fflush(stdout);
}

// The ceiling: libsodium's crypto_sign_verify_detached in a loop on `threads` threads.
void VerifyBare(size_t verifies, size_t threads) {
  const mesh::SigningKey key = mesh::SigningKey::Generate();
  const std::string json = R"({"k":"v","n":12345})";
  const auto body = mesh::core::EncodeEvent(
      "bench", {reinterpret_cast<const uint8_t*>(json.data()), json.size()});
  const auto env =
      mesh::core::GossipEnvelope::Make(key, mesh::core::GossipKind::kEvent, 1, 0, body);
  const size_t n = env.encoded.size() - crypto_sign_BYTES;
  std::atomic<size_t> failures{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (size_t i = 0; i < verifies / threads; ++i) {
        failures += crypto_sign_verify_detached(env.encoded.data() + n, env.encoded.data(), n,
                                                key.public_key().data()) == 0
                        ? 0
                        : 1;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"bench\":\"mesh.verify_bare\",\"verifies\":%zu,\"verifies_per_sec\":%.0f,"
      "\"threads\":%zu}\n",
      verifies / threads * threads, static_cast<double>(verifies / threads * threads) / s, threads);
  std::fflush(stdout);
}

long RssKib() {
  std::ifstream status("/proc/self/status");
  for (std::string l; std::getline(status, l);) {
    if (l.rfind("VmRSS:", 0) == 0) return std::stol(l.substr(6));
  }
  return -1;
}

struct Cluster {
  Ca ca;
  std::function<void(mesh::Config&)> tweak;
  std::vector<std::unique_ptr<mesh::Node>> nodes;
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::map<std::string, Clock::time_point> sent_at;

  void Add(const std::string& join) {
    auto key = std::make_shared<mesh::SigningKey>(mesh::SigningKey::Generate());
    mesh::Config c = mesh::Config::FastTimings();
    c.key = key;
    c.certificate = ca.Issue(*key, "n" + std::to_string(nodes.size()));
    c.ca_key = ca.key.public_key();
    c.listen = "127.0.0.1:0";
    if (!join.empty()) c.join = {join};
    if (tweak) tweak(c);
    std::unique_ptr<mesh::Node> node;
    if (!mesh::Node::Create(c, &node).ok()) std::abort();
    node->On("bench", [this](const mesh::Message& m, mesh::Responder) {
      const auto now = Clock::now();
      std::lock_guard lock(mu);
      auto it = sent_at.find(m.data.value("id", std::string()));
      if (it != sent_at.end()) {
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      }
    });
    if (!node->Start().ok()) std::abort();
    nodes.push_back(std::move(node));
  }
  bool Full() {
    for (auto& n : nodes) {
      size_t alive = 0;
      for (auto& m : n->Members()) alive += m.state == mesh::MemberState::kAlive;
      if (alive != nodes.size()) return false;
    }
    return true;
  }
  uint64_t Sent() {
    uint64_t total = 0;
    for (auto& n : nodes) total += n->Status().counters["gossip_out_messages"];
    return total;
  }
  ~Cluster() {
    for (auto& n : nodes) n->Stop(std::chrono::milliseconds(0));
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void Membership(size_t n, size_t broadcasts) {
  Cluster c;
  c.Add("");
  // Each node joins through a random earlier one: the join spreads like a real rollout.
  for (size_t i = 1; i < n; ++i) {
    c.Add(c.nodes[randombytes_uniform(static_cast<uint32_t>(i))]->Status().listen);
  }
  const auto t0 = Clock::now();
  bool full = testing::WaitFor([&] { return c.Full(); }, std::chrono::milliseconds(60000));
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"bench\":\"mesh.membership\",\"nodes\":%zu,\"full\":%s,"
      "\"seconds_to_full_membership\":%.3f,\"timings\":\"fast\"}\n",
      n, full ? "true" : "false", s);
  if (!full) {  // say what is missing, on stderr
    for (size_t i = 0; i < c.nodes.size(); ++i) {
      auto st = c.nodes[i]->Status();
      std::fprintf(stderr,
                   "node %zu: alive %zu suspect %zu failed %zu left %zu active %zu refutes %lu "
                   "failedmsgs %lu links_lost %lu probes_failed %lu\n",
                   i, st.members_alive, st.members_suspect, st.members_failed, st.members_left,
                   st.active_links, (unsigned long)st.counters["refutations"],
                   (unsigned long)st.counters["members_failed"],
                   (unsigned long)st.counters["links_lost"],
                   (unsigned long)st.counters["probes_failed"]);
    }
  }
  if (broadcasts == 0 || !full) return;
  // Let anti-entropy settle so the links are the steady-state ones.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  const uint64_t sent_before = c.Sent();
  for (size_t b = 0; b < broadcasts; ++b) {
    const std::string id = "b" + std::to_string(b);
    {
      std::lock_guard lock(c.mu);
      c.sent_at[id] = Clock::now();
    }
    if (!c.nodes[randombytes_uniform(static_cast<uint32_t>(n))]
             ->Broadcast("bench", {{"id", id}})
             .ok()) {
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const size_t expected = broadcasts * (n - 1);
  testing::WaitFor(
      [&] {
        std::lock_guard lock(c.mu);
        return c.latencies_ms.size() >= expected;
      },
      std::chrono::milliseconds(10000));
  std::lock_guard lock(c.mu);
  // Membership gossip (probes, refutes) also counts: this is an upper bound per delivery.
  const double tx = static_cast<double>(c.Sent() - sent_before) /
                    static_cast<double>(std::max<size_t>(1, c.latencies_ms.size()));
  std::printf(
      "{\"bench\":\"mesh.broadcast\",\"nodes\":%zu,\"broadcasts\":%zu,"
      "\"deliveries\":%zu,\"expected\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,"
      "\"tx_per_delivery\":%.2f}\n",
      n, broadcasts, c.latencies_ms.size(), expected, Percentile(c.latencies_ms, 0.5),
      Percentile(c.latencies_ms, 0.99), tx);
}

// 100 nodes in this process through 3 seeds; then broadcasts. "payload" transmissions count
// GOSSIP messages sent (eager pushes and GRAFT answers; IHAVE ids are reported apart).
void Scale100(bool tree, size_t broadcasts) {
  const size_t kNodes =
      std::getenv("MESH_BENCH_NODES") ? std::stoul(std::getenv("MESH_BENCH_NODES")) : 100;
  const long rss_before = RssKib();
  Cluster c;
  c.tweak = [tree](mesh::Config& cfg) {
    // The default (LAN) timers: 100 nodes in one process on 2 cores are too slow for the
    // fast ones (200 ms probe rounds).
    const mesh::Config d;
    cfg.probe_interval = d.probe_interval;
    cfg.probe_timeout = d.probe_timeout;
    cfg.handshake_timeout = d.handshake_timeout;
    cfg.idle_timeout = d.idle_timeout;
    cfg.transient_idle = d.transient_idle;
    cfg.verify_threads = 0;
    cfg.tree_broadcast = tree;
    cfg.max_links = 512;
  };
  const auto t0 = Clock::now();
  c.Add("");
  c.Add(c.nodes[0]->Status().listen);
  c.Add(c.nodes[0]->Status().listen);
  const std::string seeds[] = {c.nodes[0]->Status().listen, c.nodes[1]->Status().listen,
                               c.nodes[2]->Status().listen};
  for (size_t i = 3; i < kNodes; ++i) c.Add(seeds[i % 3]);
  const bool full = testing::WaitFor([&] { return c.Full(); }, std::chrono::milliseconds(120000));
  auto counter = [&](const char* name) {
    uint64_t total = 0;
    for (auto& n : c.nodes) total += n->Status().counters[name];
    return total;
  };
  const double join_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::fprintf(stderr, "scale100: %zu nodes, full=%d after %.1f s\n", kNodes, full, join_s);
  if (!full) {  // what is missing, on stderr
    std::map<size_t, int> by_alive;
    size_t suspect = 0, failed = 0;
    for (auto& n : c.nodes) {
      auto st = n->Status();
      ++by_alive[st.members_alive];
      suspect += st.members_suspect;
      failed += st.members_failed;
    }
    for (auto& [a, k] : by_alive) std::fprintf(stderr, "  %d nodes see %zu alive\n", k, a);
    std::fprintf(stderr, "  suspect %zu failed %zu refutations %lu links_lost %lu\n", suspect,
                 failed, (unsigned long)counter("refutations"),
                 (unsigned long)counter("links_lost"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  // Warm-up broadcasts shape the tree; then the measured ones, 50 ms apart.
  const size_t warmup =
      std::getenv("MESH_BENCH_WARMUP") ? std::stoul(std::getenv("MESH_BENCH_WARMUP")) : 5;
  for (size_t b = 0; b < warmup; ++b) {
    c.nodes[randombytes_uniform(static_cast<uint32_t>(kNodes))]->Broadcast(
        "bench", {{"id", "w" + std::to_string(b)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  {
    std::lock_guard lock(c.mu);
    c.latencies_ms.clear();
  }
  const uint64_t sent_before = c.Sent();
  const uint64_t ihave_before = counter("tree_ihave_ids_out");
  const uint64_t grafts_before = counter("tree_grafts_sent");
  const uint64_t prunes_before = counter("tree_prunes_sent");
  const char* const kChurn[] = {"links_trimmed", "tree_repairs", "tree_optimized", "links_lost"};
  std::map<std::string, uint64_t> churn_before;
  for (const char* name : kChurn) churn_before[name] = counter(name);
  for (size_t b = 0; b < broadcasts; ++b) {
    const std::string id = "b" + std::to_string(b);
    {
      std::lock_guard lock(c.mu);
      c.sent_at[id] = Clock::now();
    }
    c.nodes[randombytes_uniform(static_cast<uint32_t>(kNodes))]->Broadcast("bench", {{"id", id}});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const size_t expected = broadcasts * (kNodes - 1);
  testing::WaitFor(
      [&] {
        std::lock_guard lock(c.mu);
        return c.latencies_ms.size() >= expected;
      },
      std::chrono::milliseconds(10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss = RssKib();
  for (const char* name : kChurn) {
    std::fprintf(stderr, "scale100: %s %lu during the broadcasts\n", name,
                 static_cast<unsigned long>(counter(name) - churn_before[name]));
  }
  std::lock_guard lock(c.mu);
  const double deliveries = static_cast<double>(std::max<size_t>(1, c.latencies_ms.size()));
  std::printf(
      "{\"bench\":\"mesh.scale100\",\"nodes\":%zu,\"tree\":%s,\"full\":%s,"
      "\"seconds_to_full_membership\":%.3f,\"broadcasts\":%zu,\"deliveries\":%zu,"
      "\"expected\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"payload_tx_per_delivery\":%.2f,"
      "\"ihave_ids_per_delivery\":%.2f,\"grafts\":%lu,\"prunes\":%lu,"
      "\"rss_kib_per_node\":%ld,\"verify_threads\":0,\"timings\":\"default probes\"}\n",
      kNodes, tree ? "true" : "false", full ? "true" : "false", join_s, broadcasts,
      c.latencies_ms.size(), expected, Percentile(c.latencies_ms, 0.5),
      Percentile(c.latencies_ms, 0.99), static_cast<double>(c.Sent() - sent_before) / deliveries,
      static_cast<double>(counter("tree_ihave_ids_out") - ihave_before) / deliveries,
      static_cast<unsigned long>(counter("tree_grafts_sent") - grafts_before),
      static_cast<unsigned long>(counter("tree_prunes_sent") - prunes_before),
      (rss - rss_before) / static_cast<long>(kNodes));
  std::fflush(stdout);
  std::fflush(stdout);
}

void IdleRss() {
  testing::AgentCluster c;
  c.Start("a", {});
  c.Start("b", {c.node(0).address});
  c.Start("c", {c.node(0).address});
  testing::WaitFor([&] { return c.Members(0).size() == 3 && c.Members(2).size() == 3; },
                   std::chrono::milliseconds(5000));
  std::this_thread::sleep_for(std::chrono::seconds(5));  // idle: probes and anti-entropy only
  // The agent's pid is not exposed; read it from the process list by data dir.
  long rss = -1;
  for (auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream cmd(entry.path() / "cmdline");
    std::string line;
    std::getline(cmd, line, '\0');
    std::string all((std::istreambuf_iterator<char>(cmd)), {});
    if (all.find(c.node(1).data_dir) == std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    for (std::string l; std::getline(status, l);) {
      if (l.rfind("VmRSS:", 0) == 0) rss = std::stol(l.substr(6));
    }
  }
  std::printf(
      "{\"bench\":\"mesh.idle_rss\",\"process\":\"meshvault agent\",\"members\":3,"
      "\"rss_kib\":%ld}\n",
      rss);
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") quick = true;
    if (a == "--only" && i + 1 < argc) only = argv[++i];
  }
  auto want = [&](const std::string& name) { return only.empty() || only == name; };
  if (want("verify_forward")) {
    // One thread, then the node's default pool of two workers; each after its bare ceiling.
    const size_t n = quick ? 2000 : 50000;
    VerifyBare(n, 1);
    VerifyForward(n, 0);
    VerifyBare(n, 2);
    VerifyForward(n, 2);
  }
  if (want("membership")) {
    if (std::getenv("MESH_BENCH_NODES") != nullptr) {
      Membership(std::stoul(std::getenv("MESH_BENCH_NODES")), 0);
      return 0;
    }
    Membership(16, 0);
    if (!quick) Membership(64, 100);
  }
  if (want("idle_rss") && !quick) IdleRss();
  if (only == "scale100") {  // not in the default run: 100 nodes take a minute each
    Scale100(true, 50);
    Scale100(false, 50);
  }
  std::fflush(stdout);
  return 0;
}
