// AdminHttp: the agent's small read-only HTTP server (Beast), loopback by default. One
// request per connection, GET only, bounded request size and a read deadline. Runs its own
// I/O thread; the handler is called there.
#ifndef CLI_ADMIN_HTTP_H_
#define CLI_ADMIN_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "mesh/status.h"

namespace cli {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

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

}  // namespace cli

#endif  // CLI_ADMIN_HTTP_H_
