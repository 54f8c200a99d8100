// VaultClient over a mesh::Client link: client.cc (put, delete, list, audit, status) and
// client_get.cc (get).
#ifndef VAULT_CLIENT_CLIENT_IMPL_H_
#define VAULT_CLIENT_CLIENT_IMPL_H_

#include <set>

#include "protocol/manifest.h"
#include "vault/client.h"

namespace vault::client {

class ClientImpl : public VaultClient {
 public:
  ClientImpl(mesh::ClientOptions options, std::unique_ptr<mesh::Client> link)
      : options_(std::move(options)), link_(std::move(link)) {}

  // Each operation turns a malformed reply that slipped past the checks into Corruption.
  mesh::Status Put(const std::string& name, std::span<const uint8_t> secret,
                   const PutOptions& options, PutResult* result) override {
    return Guard([&] { return DoPut(name, secret, options, result); });
  }
  mesh::Status Get(const std::string& name, const GetOptions& options, mesh::SecureBuffer* secret,
                   GetResult* result) override {
    return Guard([&] { return DoGet(name, options, secret, result); });
  }
  mesh::Status Delete(const std::string& name, DeleteResult* result) override {
    return Guard([&] { return DoDelete(name, result); });
  }
  mesh::Status List(mesh::Json* out) override;
  mesh::Status Audit(const std::string& name, mesh::Json* out) override;
  mesh::Status NodeStatus(mesh::Json* out) override;

 private:
  template <typename F>
  static mesh::Status Guard(F f) {
    try {
      return f();
    } catch (const mesh::Json::exception& e) {
      return mesh::Status::Corruption(std::string("malformed reply from the node: ") + e.what());
    }
  }
  mesh::Status DoPut(const std::string& name, std::span<const uint8_t> secret,
                     const PutOptions& options, PutResult* result);
  mesh::Status DoGet(const std::string& name, const GetOptions& options, mesh::SecureBuffer* secret,
                     GetResult* result);
  // One get request. The entry node asks t holders (another for each that fails), or all of
  // them when `all`. *retry says a failure may succeed with `all`: a share was bad and some
  // holders were not asked.
  mesh::Status GetOnce(const std::string& name, const GetOptions& options, bool all,
                       mesh::SecureBuffer* secret, GetResult* result, bool* retry);
  mesh::Status DoDelete(const std::string& name, DeleteResult* result);
  // One request to the entry node; error replies that deny permission become
  // PermissionDenied, other failures Unavailable.
  mesh::Status Call(const std::string& event, const mesh::Json& data, mesh::Json* reply);
  // The current version of `name` (0 when none) and its owner.
  mesh::Status Head(const std::string& name, uint64_t* version, bool* deleted, std::string* owner);
  int64_t NowMs() const;

  const mesh::ClientOptions options_;
  std::unique_ptr<mesh::Client> link_;
  std::set<protocol::Digest> verified_commits_;  // commits whose signatures already verified
};

}  // namespace vault::client

#endif  // VAULT_CLIENT_CLIENT_IMPL_H_
