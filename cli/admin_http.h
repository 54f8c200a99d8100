// AdminHttp: the agent's small read-only HTTP server (Beast), loopback by default. One
// request per connection; GET and HEAD only (405 otherwise); bounded request size (431 for
// headers over 8 KiB, 413 for a body over 1 KiB) and a read deadline. Runs its own I/O
// thread; the handler is called there and must not block for long.
// HttpFetch: the matching one-shot client (`meshvault health`).
#ifndef CLI_ADMIN_HTTP_H_
#define CLI_ADMIN_HTTP_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mesh/status.h"

namespace cli {

// The admin API's address when --http is not given, for `meshvault agent` and
// `meshvault health` alike (HashiCorp Vault's port, on loopback).
inline constexpr const char* kDefaultHttp = "127.0.0.1:8200";

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Called with the request path (without the query); HEAD gets the GET answer's headers.
using HttpHandler = std::function<HttpResponse(const std::string& path)>;

class AdminHttp {
 public:
  AdminHttp();
  ~AdminHttp();
  // Binds `listen` (IP:port) and serves until Stop. *bound gets the bound address.
  mesh::Status Start(const std::string& listen, HttpHandler handler, std::string* bound);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET http://address/path (address: host:port, host an IP or a name), all within `timeout`.
// *status and *body get the answer (bodies up to 1 MiB); Unavailable when there is none.
mesh::Status HttpFetch(const std::string& address, const std::string& path,
                       std::chrono::milliseconds timeout, int* status, std::string* body);

}  // namespace cli

#endif  // CLI_ADMIN_HTTP_H_
