#include "admin_request.h"

#include <boost/beast/http.hpp>

#include "mesh/node.h"

namespace cli {

namespace http = boost::beast::http;

namespace {

// %XX escapes decoded; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int value = 0;
    for (size_t k = 1; k <= 2; ++k) {
      const char c = in[i + k];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return false;
      value = value * 16 + digit;
    }
    out->push_back(static_cast<char>(value));
    i += 2;
  }
  return true;
}

constexpr std::string_view kHoldersPrefix = "/v1/vault/holders/";

}  // namespace

struct AdminRequestParser::Impl {
  http::request_parser<http::string_body> parser;
};

AdminRequestParser::AdminRequestParser() : impl_(std::make_unique<Impl>()) {
  impl_->parser.header_limit(kHeaderLimit);
  impl_->parser.body_limit(kBodyLimit);
  impl_->parser.eager(false);  // stop after the header: a GET's body is never read
}

AdminRequestParser::~AdminRequestParser() = default;

HttpResponse AdminError(int status, const std::string& message) {
  return {status, "application/json",
          mesh::Json({{"errors", {message}}})
                  .dump(2, ' ', false, mesh::Json::error_handler_t::replace) +
              "\n"};
}

size_t AdminRequestParser::Feed(std::string_view bytes) {
  if (done_) return 0;
  auto& parser = impl_->parser;
  boost::beast::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_header_done() && used < bytes.size()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (n == 0 && !ec) break;
  }
  if (ec == http::error::need_more || (!ec && !parser.is_header_done())) return used;
  done_ = true;
  if (ec == http::error::header_limit) {
    request_.refusal = AdminError(431, "request header too large");
  } else if (ec == http::error::body_limit) {
    request_.refusal = AdminError(413, "request body too large");
  } else if (ec) {
    request_.refusal = AdminError(400, "malformed request");
  } else if (parser.content_length().value_or(0) > kBodyLimit) {
    request_.refusal = AdminError(413, "request body too large");
  } else if (parser.chunked()) {
    // Only GET and HEAD are served and their bodies are never read, so a chunked body is
    // refused rather than parsed.
    request_.refusal = AdminError(400, "chunked request bodies are not accepted");
  } else {
    const auto& req = parser.get();
    request_.head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !request_.head) {
      request_.refusal = AdminError(405, "method not allowed; use GET or HEAD");
    } else {
      request_.refused = false;
      request_.path = std::string(req.target());
      if (auto q = request_.path.find('?'); q != std::string::npos) request_.path.resize(q);
    }
  }
  return used;
}

AdminRoute RouteAdminPath(const std::string& path) {
  using E = AdminRoute::Endpoint;
  if (path == "/v1/sys/health") return {E::kHealth, {}};
  if (path == "/ui" || path == "/ui/") return {E::kUi, {}};
  if (path == "/v1/status") return {E::kStatus, {}};
  if (path == "/v1/members") return {E::kMembers, {}};
  if (path == "/metrics") return {E::kMetrics, {}};
  if (path == "/v1/topology") return {E::kTopology, {}};
  if (path.rfind(kHoldersPrefix, 0) != 0) return {E::kNotFound, {}};
  AdminRoute route{E::kHolders, {}};
  if (!PercentDecode(std::string_view(path).substr(kHoldersPrefix.size()), &route.name)) {
    return {E::kBadEscape, {}};
  }
  return route;
}

}  // namespace cli
