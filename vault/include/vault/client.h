// Client: the vault as a client program sees it. It talks to one node (the entry node) over
// an authenticated client link, splits secrets locally and recombines them locally; the
// cluster only ever sees sealed shares. Protocol: docs/vault.md. Not thread-safe: one thread
// uses a client at a time (open one client per thread).
#ifndef VAULT_CLIENT_H_
#define VAULT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mesh/client.h"
#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace vault {

struct PutOptions {
  int threshold = 3;
  int shares = 5;
  std::vector<std::string> readers;  // certificate names allowed to get, besides the owner
};

struct PutResult {
  uint64_t version = 0;
  std::vector<std::string> holders;  // node names, in share order
};

struct GetOptions {
  uint64_t version = 0;  // 0: the current version
};

struct GetResult {
  uint64_t version = 0;
  int threshold = 0;
  std::vector<std::string> used;      // holders whose shares recombined the secret
  std::vector<std::string> problems;  // "node3: unreachable (failed)", "node2: bad share (...)"
};

struct DeleteResult {
  uint64_t version = 0;               // the tombstone's version
  std::vector<std::string> problems;  // holders that did not confirm the wipe (they will)
};

class VaultClient {
 public:
  // Connects to the node at `address`. `options.key` and `options.certificate` are the
  // client's; its certificate name is its identity for ownership and readers.
  static mesh::Status Connect(const std::string& address, mesh::ClientOptions options,
                              std::unique_ptr<VaultClient>* out);
  virtual ~VaultClient() = default;

  // Splits `secret`, hands one sealed, dealer-signed share to each of `shares` live holders
  // chosen by rendezvous hashing on `name`, and commits once every holder acknowledged.
  // Unavailable, naming the holders, when one did not; nothing becomes visible then.
  virtual mesh::Status Put(const std::string& name, std::span<const uint8_t> secret,
                           const PutOptions& options, PutResult* result) = 0;
  // Gathers shares sealed to a one-time key and recombines them. PermissionDenied when the
  // holders refuse; Unavailable, naming holders, when fewer than t valid shares came back.
  virtual mesh::Status Get(const std::string& name, const GetOptions& options,
                           mesh::SecureBuffer* secret, GetResult* result) = 0;
  virtual mesh::Status Delete(const std::string& name, DeleteResult* result) = 0;
  // The JSON replies of vault.list, vault.audit and vault.status (docs/vault.md).
  virtual mesh::Status List(mesh::Json* out) = 0;
  virtual mesh::Status Audit(const std::string& name, mesh::Json* out) = 0;
  virtual mesh::Status NodeStatus(mesh::Json* out) = 0;
};

}  // namespace vault

#endif  // VAULT_CLIENT_H_
