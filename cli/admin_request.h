// AdminRequestParser: the admin HTTP server's request reader, without I/O (the shape of
// Asio's sans-IO parsers). The server feeds it the bytes it reads; once done(), request()
// says what to do: answer a path (GET or HEAD) or send a refusal (400 malformed or with a
// chunked body, 405 other methods, 413 body over 1 KiB, 431 headers over 8 KiB). Only the
// header is read: the server never needs a body, so none is parsed. RouteAdminPath then names the
// endpoint. The fuzz target admin_request feeds both hostile bytes the same way.
#ifndef CLI_ADMIN_REQUEST_H_
#define CLI_ADMIN_REQUEST_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "admin_http.h"

namespace cli {

// The only methods the server takes: a 405 answer lists them in its Allow header.
inline constexpr const char* kAllowedMethods = "GET, HEAD";

struct AdminRequest {
  bool refused = true;  // true: send `refusal`; false: answer `path`
  bool head = false;    // HEAD: send the GET answer's headers without the body
  std::string path;     // the request target without its query
  HttpResponse refusal;
};

class AdminRequestParser {
 public:
  static constexpr size_t kHeaderLimit = 8 * 1024;
  static constexpr size_t kBodyLimit = 1024;

  AdminRequestParser();
  ~AdminRequestParser();
  AdminRequestParser(const AdminRequestParser&) = delete;
  AdminRequestParser& operator=(const AdminRequestParser&) = delete;

  // Reads a prefix of `bytes` and returns its length. The caller drops that prefix, keeps
  // the rest, and calls again with more bytes appended until done(). Bytes after the
  // header (a body, a second request) are not read.
  size_t Feed(std::string_view bytes);
  bool done() const { return done_; }
  const AdminRequest& request() const { return request_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool done_ = false;
  AdminRequest request_;
};

// Which endpoint a request path names. Pure, so the fuzz target can check it on hostile
// paths. /v1/vault/holders/NAME has its NAME %-decoded (kBadEscape when malformed); whether
// the name is a valid secret name is the agent's check.
struct AdminRoute {
  enum class Endpoint {
    kHealth,
    kUi,
    kStatus,
    kMembers,
    kMetrics,
    kTopology,
    kHolders,
    kBadEscape,
    kNotFound
  };
  Endpoint endpoint = Endpoint::kNotFound;
  std::string name;  // kHolders: the decoded secret name
};
AdminRoute RouteAdminPath(const std::string& path);

// A refusal or error answer: {"errors":["message"]} with `status`.
HttpResponse AdminError(int status, const std::string& message);

}  // namespace cli

#endif  // CLI_ADMIN_REQUEST_H_
