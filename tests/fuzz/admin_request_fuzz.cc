// The admin HTTP server's request reader and router (cli/admin_request.h), fed the way the
// server feeds them: reads of up to `chunk` bytes appended to what is still unread, the
// consumed prefix dropped after every Feed. The first input byte picks the chunk size, the
// rest is the bytes from the socket. Checks: Feed never claims more than it was given; the
// unread bytes stay bounded (the header and body limits hold); reading in chunks takes or
// refuses a request as reading everything at once does, with the same path; every answer
// the server would build is valid JSON. Beast judges a header it was given in pieces only
// once its end arrives, so two differences are expected: a malformed header that never
// ends is refused (400) only when read at once, and an oversized malformed one may be 431
// in pieces but 400 at once.
#include <string>

#include "admin_request.h"
#include "fuzz_common.h"
#include "mesh/node.h"
#include "protocol/manifest.h"

namespace {

constexpr size_t kMaxUnread =
    cli::AdminRequestParser::kHeaderLimit + cli::AdminRequestParser::kBodyLimit + 256;

// Feeds `bytes` in reads of `chunk` bytes; returns whether a request was read whole.
bool FeedInChunks(std::string_view bytes, size_t chunk, cli::AdminRequestParser* parser) {
  std::string unread;
  size_t pos = 0;
  while (!parser->done() && pos < bytes.size()) {
    const size_t n = std::min(chunk, bytes.size() - pos);
    unread.append(bytes.substr(pos, n));
    pos += n;
    const size_t used = parser->Feed(unread);
    FUZZ_CHECK(used <= unread.size());
    unread.erase(0, used);
    FUZZ_CHECK(unread.size() <= kMaxUnread);
  }
  return parser->done();
}

void CheckJsonBody(const cli::HttpResponse& r) {
  mesh::Json parsed;
  FUZZ_CHECK(mesh::ParseJson(fuzz::AsBytes(r.body), &parsed).ok());
  FUZZ_CHECK(parsed.contains("errors"));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::Init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0];  // 1..256 bytes per read
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  cli::AdminRequestParser chunked, whole;
  const bool read = FeedInChunks(bytes, chunk, &chunked);
  FeedInChunks(bytes, bytes.size() + 1, &whole);
  if (whole.done() != read) {
    FUZZ_CHECK(whole.done() && whole.request().refusal.status == 400);
    return 0;
  }
  if (!read) return 0;
  const cli::AdminRequest& req = chunked.request();
  FUZZ_CHECK(req.refused == whole.request().refused);
  FUZZ_CHECK(req.path == whole.request().path);
  FUZZ_CHECK(req.head == whole.request().head);
  if (req.refused) {
    FUZZ_CHECK(req.refusal.status == 400 || req.refusal.status == 405 ||
               req.refusal.status == 413 || req.refusal.status == 431);
    CheckJsonBody(req.refusal);
    return 0;
  }
  FUZZ_CHECK(req.path.find('?') == std::string::npos);
  const cli::AdminRoute route = cli::RouteAdminPath(req.path);
  using E = cli::AdminRoute::Endpoint;
  if (route.endpoint == E::kNotFound) {
    CheckJsonBody(cli::AdminError(404, "not found: " + req.path.substr(0, 200)));
  } else if (route.endpoint == E::kHolders) {
    // What the agent checks before it looks the name up.
    (void)vault::protocol::CheckSecretName(route.name);
  }
  return 0;
}
