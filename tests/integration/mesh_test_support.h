// Shared helpers for the in-process mesh tests: a test CA, a small mesh of mesh::Node
// instances on loopback, an authenticated rogue peer that sends crafted link messages, and
// raw-socket helpers.
#ifndef TESTS_INTEGRATION_MESH_TEST_SUPPORT_H_
#define TESTS_INTEGRATION_MESH_TEST_SUPPORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <ctime>
#include <future>
#include <mutex>
#include <thread>

#include "cluster.h"
#include "core/messages.h"
#include "core/records.h"
#include "mesh/node.h"
#include "transport/transport.h"

namespace mesh_test {

using mesh::Json;
using testing::milliseconds;
using testing::WaitFor;

using mesh::Json;
using testing::milliseconds;
using testing::WaitFor;

struct Identity {
  std::shared_ptr<mesh::SigningKey> key;
  mesh::Certificate cert;
};

class TestCa {
 public:
  TestCa() : ca_(mesh::SigningKey::Generate()) {}
  explicit TestCa(mesh::SigningKey ca) : ca_(std::move(ca)) {}
  Identity Issue(const std::string& name, mesh::Role role = mesh::Role::kNode) {
    Identity id{std::make_shared<mesh::SigningKey>(mesh::SigningKey::Generate()), {}};
    const int64_t now = std::time(nullptr);
    id.cert = mesh::IssueCertificate(ca_, role, name, id.key->public_key(), now - 60, now + 3600);
    return id;
  }
  mesh::Config NodeConfig(const std::string& name, std::vector<std::string> join = {}) {
    mesh::Config c = mesh::Config::FastTimings();
    Identity id = Issue(name);
    c.key = id.key;
    c.certificate = id.cert;
    c.ca_key = ca_.public_key();
    c.listen = "127.0.0.1:0";
    c.join = std::move(join);
    return c;
  }
  const mesh::PublicKey& key() const { return ca_.public_key(); }

 private:
  mesh::SigningKey ca_;
};

inline std::unique_ptr<mesh::Node> MakeNode(const mesh::Config& config) {
  std::unique_ptr<mesh::Node> node;
  REQUIRE(mesh::Node::Create(config, &node).ok());
  return node;
}

inline size_t AliveCount(mesh::Node& n) {
  size_t alive = 0;
  for (auto& m : n.Members()) alive += m.state == mesh::MemberState::kAlive;
  return alive;
}

inline uint64_t Counter(mesh::Node& n, const std::string& name) {
  auto c = n.Status().counters;
  return c.count(name) ? c[name] : 0;
}

// A small cluster of in-process nodes, each joining the first.
struct Mesh {
  TestCa ca;
  std::vector<std::unique_ptr<mesh::Node>> nodes;
  explicit Mesh(size_t n, const std::function<void(mesh::Node&, size_t)>& setup = {}) {
    for (size_t i = 0; i < n; ++i) {
      std::vector<std::string> join;
      if (i > 0) join.push_back(nodes[0]->Status().listen);
      nodes.push_back(MakeNode(ca.NodeConfig("n" + std::to_string(i), join)));
      if (setup) setup(*nodes.back(), i);
      REQUIRE(nodes.back()->Start().ok());
    }
    REQUIRE(WaitFor(
        [&] {
          for (auto& node : nodes) {
            if (AliveCount(*node) != n) return false;
          }
          return true;
        },
        milliseconds(5000)));
  }
  ~Mesh() {
    for (auto& n : nodes) n->Stop(milliseconds(0));
  }
};

// An authenticated peer that speaks raw link messages: it completes a real handshake with
// its own valid node certificate, then sends whatever a test crafts.
class RoguePeer {
 public:
  // answer_probes: ack the node's pings, so its failure detector keeps the peer alive however
  // long a test takes (otherwise the node marks it failed after a few seconds and drops it).
  RoguePeer(TestCa& ca, const std::string& name, size_t max_message = 1 << 20,
            bool answer_probes = false)
      : id_(ca.Issue(name)), ca_key_(ca.key()) {
    mesh::transport::TransportOptions o;
    o.credentials = mesh::LinkCredentials{id_.key.get(), id_.cert, ca_key_};
    o.max_message_bytes = max_message;
    o.send_queue_bytes = 128 << 20;   // the flood test queues 60,000 envelopes of 1.2 KiB
    o.send_queue_messages = 1 << 16;  // room for a burst
    o.unix_seconds = [] { return static_cast<int64_t>(std::time(nullptr)); };
    mesh::transport::TransportEvents ev;
    ev.link_up = [this](uint64_t id, const mesh::Certificate&, uint64_t) { link_ = id; };
    ev.link_down = [this](uint64_t) { down_ = true; };
    ev.message = [this, answer_probes](uint64_t link, std::vector<uint8_t> m) {
      mesh::core::ProbeMessage ping;
      if (!answer_probes || m.empty() ||
          m[0] != static_cast<uint8_t>(mesh::core::MessageType::kPing) ||
          !mesh::core::DecodeProbe(m, &ping).ok()) {
        return;
      }
      transport_->Send(link, mesh::core::EncodeProbe(mesh::core::MessageType::kAck, ping));
    };
    transport_ = std::make_unique<mesh::transport::Transport>(ioc_, ioc_.get_executor(), o, ev);
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(ioc_);
      ioc_.run();
    });
  }
  // Like a node's Stop: close the link and keep the I/O thread running until the session has
  // ended (cut after 500 ms), so nothing is left to leak when the io_context stops.
  ~RoguePeer() {
    Thaw();
    boost::asio::post(ioc_, [this] { transport_->Shutdown(); });
    if (!WaitFor([&] { return transport_->sessions() == 0; }, milliseconds(500))) {
      transport_->Abort();
      WaitFor([&] { return transport_->sessions() == 0; }, milliseconds(5000));
    }
    ioc_.stop();
    thread_.join();
  }
  // Blocks the peer's I/O thread: it stops reading (and writing) until Thaw.
  void Freeze() {
    {
      std::lock_guard<std::mutex> lock(freeze_mu_);
      frozen_ = true;
    }
    std::promise<void> frozen;
    auto done = frozen.get_future();
    boost::asio::post(ioc_, [this, &frozen] {
      frozen.set_value();
      std::unique_lock<std::mutex> lock(freeze_mu_);
      freeze_cv_.wait(lock, [this] { return !frozen_; });
    });
    done.wait();
  }
  void Thaw() {
    {
      std::lock_guard<std::mutex> lock(freeze_mu_);
      frozen_ = false;
    }
    freeze_cv_.notify_all();
  }
  void Connect(const std::string& address) {
    boost::asio::post(ioc_, [&] { transport_->Dial(1, address); });
    REQUIRE(WaitFor([&] { return link_.load() != 0; }, milliseconds(3000)));
  }
  void Send(std::vector<uint8_t> message) {
    boost::asio::post(
        ioc_, [this, m = std::move(message)]() mutable { transport_->Send(link_, std::move(m)); });
  }
  // HELLO with a valid signed member record: the node now treats this peer as a member.
  void Hello() {
    const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
    auto record =
        mesh::core::MemberRecord::Make(*id_.key, id_.cert, "127.0.0.1:1", now_ms, false, now_ms);
    Send(mesh::core::EncodeHello({true, record.encoded}));
  }
  bool down() const { return down_; }
  const Identity& identity() const { return id_; }

 private:
  boost::asio::io_context ioc_;
  Identity id_;
  mesh::PublicKey ca_key_;
  std::unique_ptr<mesh::transport::Transport> transport_;
  std::atomic<uint64_t> link_{0};
  std::atomic<bool> down_{false};
  std::mutex freeze_mu_;
  std::condition_variable freeze_cv_;
  bool frozen_ = false;
  std::thread thread_;
};

inline std::vector<uint8_t> EventGossip(const mesh::SigningKey& key, uint64_t seq, int64_t sent_ms,
                                        const std::string& text) {
  const std::string json = Json{{"text", text}}.dump();
  auto body = mesh::core::EncodeEvent("hello",
                                      {reinterpret_cast<const uint8_t*>(json.data()), json.size()});
  auto env =
      mesh::core::GossipEnvelope::Make(key, mesh::core::GossipKind::kEvent, seq, sent_ms, body);
  return mesh::core::EncodeGossip(0, env.encoded);
}

inline int64_t NowMs() { return static_cast<int64_t>(std::time(nullptr)) * 1000; }

inline int Connect(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline void Write(int fd, const std::string& s) {
  REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

// Reads until the peer closes; true when it closed (rather than the 5 s receive timeout).
inline bool ClosedByPeer(int fd) {
  char buf[512];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;
  }
}

inline const std::string kUpgrade =
    "GET /meshvault/v1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

}  // namespace mesh_test

#endif  // TESTS_INTEGRATION_MESH_TEST_SUPPORT_H_
