// The admin HTTP request reader and router without a socket (cli/admin_request.h).
#include "admin_request.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

// Feeds `bytes` `chunk` bytes at a time, dropping what each Feed consumed, as the server does.
cli::AdminRequest Read(const std::string& bytes, size_t chunk, bool* done) {
  cli::AdminRequestParser parser;
  std::string unread;
  for (size_t pos = 0; pos < bytes.size() && !parser.done(); pos += chunk) {
    unread += bytes.substr(pos, chunk);
    unread.erase(0, parser.Feed(unread));
  }
  *done = parser.done();
  return parser.request();
}

}  // namespace

TEST_CASE("admin request: a GET read byte by byte gives its path without the query") {
  for (size_t chunk : {1, 7, 4096}) {
    bool done = false;
    const auto req =
        Read("GET /v1/vault/holders/a%2Fb?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", chunk, &done);
    REQUIRE(done);
    CHECK_FALSE(req.refused);
    CHECK_FALSE(req.head);
    CHECK(req.path == "/v1/vault/holders/a%2Fb");
  }
}

TEST_CASE("admin request: refusals for methods, sizes and malformed requests") {
  bool done = false;
  CHECK(Read("POST /v1/status HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 5, &done).refusal.status ==
        405);
  CHECK(Read("GET / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 64, &done).refusal.status == 413);
  CHECK(Read("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 512, &done)
            .refusal.status == 431);
  CHECK(Read("GET / HTTP/1.1\r\nHost\r\n\r\n", 3, &done).refusal.status == 400);
  // A chunked body is refused, not parsed (Beast 1.74's chunk parser asserts on a body
  // that arrives a few bytes at a time: boostorg/beast#2861).
  const auto chunked = Read("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", 1, &done);
  CHECK(chunked.refusal.status == 400);
  CHECK(chunked.refusal.body.find("chunked") != std::string::npos);
  CHECK(done);
  CHECK(Read("HEAD /metrics HTTP/1.1\r\n\r\n", 4, &done).head);
}

TEST_CASE("admin request: an unfinished request is not done") {
  bool done = true;
  Read("GET /v1/status HTTP/1.1\r\nHost: h\r\n", 10, &done);
  CHECK_FALSE(done);
}

TEST_CASE("admin route: endpoints, holders names decoded, bad escapes refused") {
  using E = cli::AdminRoute::Endpoint;
  CHECK(cli::RouteAdminPath("/v1/sys/health").endpoint == E::kHealth);
  CHECK(cli::RouteAdminPath("/ui/").endpoint == E::kUi);
  CHECK(cli::RouteAdminPath("/metrics").endpoint == E::kMetrics);
  CHECK(cli::RouteAdminPath("/v1/status/").endpoint == E::kNotFound);
  const auto holders = cli::RouteAdminPath("/v1/vault/holders/db%2Froot%20x");
  CHECK(holders.endpoint == E::kHolders);
  CHECK(holders.name == "db/root x");
  CHECK(cli::RouteAdminPath("/v1/vault/holders/a%2").endpoint == E::kBadEscape);
  CHECK(cli::RouteAdminPath("/v1/vault/holders/a%g0").endpoint == E::kBadEscape);
}
