#include "admin_http.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "admin_request.h"
#include "mesh/address.h"

namespace cli {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto kReadDeadline = std::chrono::seconds(10);
constexpr auto kDrainDeadline = std::chrono::seconds(2);
constexpr size_t kDrainLimit = 256 * 1024;

// One connection: read one request, answer, close.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, const HttpHandler& handler)
      : stream_(std::move(socket)), handler_(handler) {}

  void Run() {
    stream_.expires_after(kReadDeadline);
    Read();
  }

 private:
  void Read() {
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(beast::error_code ec, size_t n) {
    // A timeout, reset or close before a whole request was read: nobody to answer.
    if (ec) return;
    buffer_.commit(n);
    const auto data = buffer_.data();
    buffer_.consume(parser_.Feed({static_cast<const char*>(data.data()), data.size()}));
    if (!parser_.done()) return Read();
    const AdminRequest& req = parser_.request();
    head_ = req.head;
    Write(req.refused ? req.refusal : handler_(req.path));
  }

  void Write(HttpResponse r) {
    response_.result(static_cast<unsigned>(r.status));
    response_.version(11);
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    if (r.status == 405) response_.set(http::field::allow, kAllowedMethods);
    response_.keep_alive(false);
    if (head_) {
      response_.content_length(r.body.size());  // what GET would send, without the body
    } else {
      response_.body() = std::move(r.body);
      response_.prepare_payload();
    }
    stream_.expires_after(kReadDeadline);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->stream_.expires_after(kDrainDeadline);
                        self->Drain();
                      });
  }

  // Lingering close: reads what the client still sends (a refused oversized request) until
  // it closes, so closing with unread data does not reset the connection before the client
  // has read the answer. Bounded in time and bytes.
  void Drain() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (!ec && self->drained_ < kDrainLimit) self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  const HttpHandler& handler_;
  beast::flat_buffer buffer_;
  AdminRequestParser parser_;
  http::response<http::string_body> response_;
  bool head_ = false;
  std::array<char, 4096> drain_;
  size_t drained_ = 0;
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

mesh::Status HttpFetch(const std::string& address, const std::string& path,
                       std::chrono::milliseconds timeout, int* status, std::string* body) {
  std::string host, port;
  if (auto s = mesh::SplitHostPort(address, &host, &port); !s.ok()) return s;
  net::io_context ioc{1};
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, address);
  req.set(http::field::user_agent, "meshvault");
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  beast::error_code result = net::error::timed_out;
  std::string step = "connect to";
  const auto fail = [&](beast::error_code ec) { result = ec; };
  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) return fail(ec);
    stream.async_connect(r, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) return fail(ec2);
      step = "read from";
      http::async_write(stream, req, [&](beast::error_code ec3, size_t) {
        if (ec3) return fail(ec3);
        http::async_read(stream, buffer, parser,
                         [&](beast::error_code ec4, size_t) { result = ec4; });
      });
    });
  });
  ioc.run_for(timeout);
  if (!ioc.stopped()) {
    return mesh::Status::Unavailable("no answer from http://" + address + path + " within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  if (result) {
    return mesh::Status::Unavailable("cannot " + step + " http://" + address + ": " +
                                     result.message());
  }
  *status = static_cast<int>(parser.get().result_int());
  *body = parser.get().body();
  return mesh::Status::OK();
}

}  // namespace cli
