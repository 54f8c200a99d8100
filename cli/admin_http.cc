#include "admin_http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "mesh/address.h"

namespace cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto kReadDeadline = std::chrono::seconds(10);

// One connection: read one request, answer, close.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpHandler& handler)
      : stream_(std::move(socket)), handler_(handler) {}

  void Run() {
    parser_.header_limit(8 * 1024);
    parser_.body_limit(1024);
    stream_.expires_after(kReadDeadline);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return;  // timeouts, resets and malformed requests just close
    const auto& req = parser_.get();
    HttpResponse r;
    if (req.method() != http::verb::get) {
      r = {405, "text/plain", "only GET is served\n"};
    } else {
      std::string path(req.target());
      if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
      r = handler_(path);
    }
    response_.result(static_cast<unsigned>(r.status));
    response_.version(req.version());
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.keep_alive(false);
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  const HttpHandler& handler_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

struct AdminHttp::Impl {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  HttpHandler handler;
  std::thread thread;

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (!acceptor.is_open()) return;
      if (!ec) std::make_shared<HttpSession>(std::move(s), handler)->Run();
      Accept();
    });
  }
};

AdminHttp::AdminHttp() : impl_(std::make_unique<Impl>()) {}
AdminHttp::~AdminHttp() { Stop(); }

mesh::Status AdminHttp::Start(const std::string& listen, HttpHandler handler, std::string* bound) {
  std::string host, port;
  if (auto s = mesh::SplitHostPort(listen, &host, &port); !s.ok()) return s;
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    return mesh::Status::InvalidArgument("--http address '" + host + "' is not an IP address");
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(std::stoul(port)));
  impl_->handler = std::move(handler);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return mesh::Status::IOError("cannot serve HTTP on " + listen + ": " + ec.message());
  const auto local = a.local_endpoint();
  *bound = local.address().to_string() + ":" + std::to_string(local.port());
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return mesh::Status::OK();
}

void AdminHttp::Stop() {
  if (!impl_->thread.joinable()) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->ioc.stop();
  impl_->thread.join();
}

}  // namespace cli
