// Transport: authenticated links over WebSocket (Boost.Beast), for the node and the client.
// Each link runs on its own strand: TCP connect or accept, the WebSocket upgrade, the Noise
// link handshake (LinkHandshake, under one deadline), then LinkCodec frames, one Noise
// message per binary WebSocket frame. One write in flight plus a bounded send queue per
// link; a peer that lets the queue fill is disconnected. WebSocket pings keep quiet links
// alive; a link with no traffic for the idle timeout is closed. Events reach the owner on
// its executor; a link reads its next message only after the owner has handled the last
// one, so a fast sender is slowed by TCP instead of filling memory.
// This header hides Beast; transport.cc is the only file that includes it.
// Thread-safety: Listen/Dial/Send/Close must be called on the events executor.
#ifndef MESH_TRANSPORT_TRANSPORT_H_
#define MESH_TRANSPORT_TRANSPORT_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "link_handshake.h"
#include "mesh/status.h"

namespace mesh::transport {

using LinkId = uint64_t;

struct TransportOptions {
  LinkCredentials credentials;
  std::vector<Role> accepted_inbound{Role::kNode};  // roles that may dial in
  Role expected_outbound = Role::kNode;             // role of the peers this side dials
  size_t max_message_bytes = 1 << 20;
  size_t send_queue_messages = 1024;
  size_t send_queue_bytes = 16 << 20;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};
  size_t max_pending_handshakes = 64;
  size_t max_links = 256;
  std::function<int64_t()> unix_seconds;  // for certificate validity
};

struct TransportEvents {  // all invoked on the events executor
  std::function<void(LinkId, const Certificate& peer, uint64_t dial_id)> link_up;
  std::function<void(uint64_t dial_id, const std::string& why)> dial_failed;
  std::function<void(LinkId)> link_down;  // once per link that came up
  std::function<void(LinkId, std::vector<uint8_t> message)> message;
  std::function<void(const std::string& counter)> count;  // e.g. "handshake_failures.expired"
};

class Transport {
 public:
  Transport(boost::asio::io_context& ioc, boost::asio::any_io_executor events,
            TransportOptions options, TransportEvents handlers);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and starts accepting. `listen` is host:port; *bound gets the bound host:port.
  Status Listen(const std::string& listen, std::string* bound);
  // Resolves `address` (host:port; every resolved address is tried, in random order),
  // connects and handshakes; answered with link_up or dial_failed.
  void Dial(uint64_t dial_id, const std::string& address);
  // Queues a message on a link that is up; unknown links are ignored.
  void Send(LinkId link, std::vector<uint8_t> message);
  // Sends what is queued, then closes with a WebSocket close; link_down follows.
  void Close(LinkId link);
  // Stops accepting and closes every link: links that are up close gracefully (queue, then
  // WebSocket close, bounded by the handshake timeout); dials and handshakes end at once.
  void Shutdown();
  // Cuts every link at once (closes the sockets), e.g. when a graceful Shutdown takes too long.
  // Safe from any thread.
  void Abort();
  size_t links() const;
  // Sessions still alive in any state; safe from any thread. The owner keeps the io_context
  // running after Shutdown until this is 0: a session still alive when the io_context stops is
  // held by its own pending handlers and is never freed.
  size_t sessions() const;

  struct Shared;  // state shared with the links (transport.cc)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace mesh::transport

#endif  // MESH_TRANSPORT_TRANSPORT_H_
