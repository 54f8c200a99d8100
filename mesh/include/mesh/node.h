// Node: one member of a signed gossip mesh, the public face of meshvault::mesh.
//
//   mesh::Config config;                 // see mesh/config.h for every knob
//   config.key = ...; config.certificate = ...; config.ca_key = ...;
//   config.listen = "127.0.0.1:7401"; config.join = {"127.0.0.1:7400"};
//   std::unique_ptr<mesh::Node> node;
//   mesh::Status s = mesh::Node::Create(config, &node);
//   node->On("chat", [](const mesh::Message& m, mesh::Responder) { ... });
//   s = node->Start();
//   node->Broadcast("chat", {{"text", "hello"}});
//
// Threads: a node runs one I/O thread of its own. Every handler and callback (On, Request
// callbacks, OnMembership, Config::log) runs on that thread, one at a time, in arrival order;
// they must not block. Two exceptions: a Request that fails at once (bad event name, unknown
// peer, node not running) and the callbacks Stop fails run on the calling thread. All methods are
// thread-safe and may be called from handlers, except Stop and the destructor, which must not be
// called from a handler.
#ifndef MESH_NODE_H_
#define MESH_NODE_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "mesh/config.h"
#include "mesh/member.h"
#include "mesh/status.h"

namespace mesh {

using Json = nlohmann::json;

// JSON from the network nests at most this deep. nlohmann::json copies, compares and dumps
// recursively, so a payload of 100,000 '[' would overflow the stack of whoever copies it.
inline constexpr size_t kMaxJsonDepth = 64;
// Parses JSON text that came from outside: InvalidArgument when it is not JSON or nests
// deeper than kMaxJsonDepth (checked before parsing, so the parser allocates nothing for it).
// Node and Client parse every payload and reply with it.
Status ParseJson(std::span<const uint8_t> text, Json* out);

// A message for the application: a broadcast, a direct message or a request.
struct Message {
  enum class Kind { kBroadcast, kDirect, kRequest };
  Kind kind = Kind::kBroadcast;
  PublicKey from{};       // the origin (broadcast) or the sending peer
  std::string from_name;  // its certificate name
  Role from_role = Role::kNode;
  std::string event;
  Json data;
};

// Answers one request, once; copies share the answer. Harmless to use for other kinds
// (it then does nothing). Safe from any thread.
class Responder {
 public:
  Responder() = default;
  bool expected() const { return static_cast<bool>(reply_); }
  void Reply(const Json& data) const;
  void Error(const std::string& message) const;

 private:
  friend class NodeImpl;
  std::function<void(bool error, std::string body)> reply_;
};

using Handler = std::function<void(const Message&, Responder)>;
using ReplyCallback = std::function<void(const mesh::Status&, const Json& reply)>;
using MembershipCallback = std::function<void(const MemberInfo&)>;

struct NodeStatus {
  MemberInfo self;
  std::string listen;  // the bound address
  size_t members_alive = 0, members_suspect = 0, members_failed = 0, members_left = 0;
  size_t active_links = 0;
  size_t links = 0;                          // all links: active, transient and client
  std::map<std::string, uint64_t> counters;  // messages, drops by reason, handshake failures
};

// Counters and gauges read without the node's I/O thread (relaxed atomics): cheap enough to
// poll, and still answered when the I/O thread is busy or stuck (see ms_since_tick). A
// snapshot; the fields are not read at one instant. Names: docs/mesh.md "Counters".
struct NodeMetrics {
  bool running = false;  // between Start and Stop
  // Members by state as of the last tick (the node itself counted as alive, or left once it
  // is leaving), and the node links in its active view; all links (transport sessions).
  uint64_t members_alive = 0, members_suspect = 0, members_failed = 0, members_left = 0;
  uint64_t active_links = 0, links = 0;
  // Milliseconds since the node's timer last ran (every probe_timeout / 4); -1 before the
  // first. A large value means the I/O thread is blocked (a handler that does not return).
  int64_t ms_since_tick = -1;
  // Addresses the node was given to join through at Start: Config::join and the peers kept
  // in its data dir. 0 for the first node of a new cluster.
  uint64_t join_addresses = 0;
  // Every counter the node knows of, zeros included: "gossip_in_messages",
  // "handshake_failures.<reason>", "dropped.<reason>", ...
  std::map<std::string, uint64_t> counters;
};

class Node {
 public:
  // Checks the config (credentials, addresses, limits) and opens the data dir.
  static mesh::Status Create(const Config& config, std::unique_ptr<Node>* out);
  virtual ~Node() = default;

  // Binds the listener, starts the I/O thread and starts joining.
  virtual mesh::Status Start() = 0;
  // Announces a graceful leave, flushes for up to `grace`, closes links and joins the thread.
  virtual void Stop(Millis grace = Millis(500)) = 0;

  // Handlers: one per event name; a later On replaces the earlier one. Register before Start
  // to see every message. Messages for events without a handler are counted and dropped.
  virtual void On(const std::string& event, Handler handler) = 0;
  virtual void OnMembership(MembershipCallback callback) = 0;

  // Signed broadcast to every member, delivered at most once to each (never to the sender).
  // Every member reachable through the mesh gets it; nothing re-sends a broadcast that a
  // member missed (partitioned away, or not yet knowing the origin) - see docs/mesh.md.
  virtual mesh::Status Broadcast(const std::string& event, const Json& data) = 0;
  // Direct message to one member, dialing it when it is not a neighbour.
  virtual mesh::Status Send(const PublicKey& peer, const std::string& event, const Json& data) = 0;
  // Request with a reply; `callback` runs exactly once (reply, error or timeout). A zero
  // timeout means Config::request_timeout. A peer equal to the node itself is answered
  // by its own handler.
  virtual void Request(const PublicKey& peer, const std::string& event, const Json& data,
                       Millis timeout, ReplyCallback callback) = 0;

  virtual std::vector<MemberInfo> Members() const = 0;
  // Named Status() as the issue and docs call it; spell the error type mesh::Status here.
  virtual NodeStatus Status() const = 0;
  // From any thread, without waiting for the I/O thread; also before Start and after Stop.
  virtual NodeMetrics Metrics() const = 0;
  virtual PublicKey id() const = 0;
};

// Members and status as JSON, in the shapes the agent's HTTP API and `meshvault members` use.
Json MemberToJson(const MemberInfo& member);
Json StatusToJson(const NodeStatus& status);

}  // namespace mesh

#endif  // MESH_NODE_H_
