// Client: an authenticated client link to one node, for tools such as the meshvault CLI.
// It holds a client certificate, completes the same Noise handshake as nodes (it accepts
// only a node certificate from the same CA), and sends requests that the node's handlers
// answer. It never joins the mesh. Not thread-safe: one thread uses a client at a time.
#ifndef MESH_CLIENT_H_
#define MESH_CLIENT_H_

#include <memory>
#include <string>

#include "mesh/config.h"
#include "mesh/node.h"
#include "mesh/status.h"

namespace mesh {

struct ClientOptions {
  std::shared_ptr<const SigningKey> key;
  Certificate certificate;  // role client (a node certificate works too)
  PublicKey ca_key{};
  Millis connect_timeout{5000};
  size_t max_message_bytes = 1 << 20;
};

class Client {
 public:
  // Connects to `address` (host:port) and completes the handshake, within connect_timeout.
  static Status Connect(const std::string& address, const ClientOptions& options,
                        std::unique_ptr<Client>* out);
  virtual ~Client() = default;

  // Sends a request and waits for the reply. Errors: Unavailable for a lost link, a timeout
  // or an error reply (its message included), Corruption for a reply that is not JSON.
  virtual Status Request(const std::string& event, const Json& data, Millis timeout,
                         Json* reply) = 0;
  // The node this client is connected to.
  virtual const Certificate& server() const = 0;
};

}  // namespace mesh

#endif  // MESH_CLIENT_H_
