#include "transport/transport.h"

#include <sodium.h>

#include <atomic>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>
#include <mutex>

#include "link_codec.h"
#include "mesh/address.h"

namespace mesh::transport {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

constexpr std::string_view kWebSocketPath = "/meshvault/v1";

}  // namespace

class Session;

// State shared by the transport and its sessions, so a session outliving a call is safe.
struct Transport::Shared {
  net::io_context& ioc;
  net::any_io_executor events;
  TransportOptions options;
  TransportEvents handlers;
  std::optional<tcp::acceptor> acceptor;
  std::atomic<uint64_t> next_link{1};
  std::atomic<size_t> pending_handshakes{0};
  std::map<LinkId, std::shared_ptr<Session>> up;  // events executor only
  bool shut_down = false;                         // events executor only
  // Every session not yet destroyed (handshaking, up or closing), so Shutdown and Abort reach
  // them all and sessions() counts them; Session::Create adds one, its destructor removes it.
  std::mutex live_mu;
  std::map<Session*, std::weak_ptr<Session>> live;  // guarded by live_mu
  size_t LiveCount() {
    std::lock_guard lock(live_mu);
    return live.size();
  }

  Shared(net::io_context& io, net::any_io_executor ev, TransportOptions o, TransportEvents h)
      : ioc(io), events(std::move(ev)), options(std::move(o)), handlers(std::move(h)) {}
  // The posted handler owns a reference: it may run after the transport and the link are gone.
  static void Count(const std::shared_ptr<Shared>& shared, const std::string& name) {
    net::post(shared->events, [shared, name] {
      if (shared->handlers.count) shared->handlers.count(name);
    });
  }
};

// One link: the Beast session shape (do_x / on_x pairs on the session's strand).
// A session lives as long as a handler of one of its operations holds it. To end, it closes
// its socket (Fail, Finish) so every pending operation completes and lets go of it; the owner
// must keep the io_context running until then (Transport::sessions() reaches 0), or the
// handlers still owned by Beast's suspended operations would keep it alive forever.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // Creates a session and registers it in shared->live.
  template <class... Args>
  static std::shared_ptr<Session> Create(const std::shared_ptr<Transport::Shared>& shared,
                                         Args&&... args) {
    auto session = std::make_shared<Session>(shared, std::forward<Args>(args)...);
    std::lock_guard lock(shared->live_mu);
    shared->live[session.get()] = session;
    return session;
  }

  Session(std::shared_ptr<Transport::Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)),
        ws_(std::move(socket)),
        inbound_(true),
        timer_(ws_.get_executor()) {}
  Session(std::shared_ptr<Transport::Shared> shared, uint64_t dial_id)
      : shared_(std::move(shared)),
        ws_(net::make_strand(shared_->ioc)),
        inbound_(false),
        dial_id_(dial_id),
        resolver_(ws_.get_executor()),
        timer_(ws_.get_executor()) {}
  ~Session() {
    std::lock_guard lock(shared_->live_mu);
    shared_->live.erase(this);
  }

  LinkId id() const { return id_; }

  void StartAccept() {
    net::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_) return;  // closed (Shutdown) before it started
      self->ArmDeadline();
      self->Configure();
      self->ws_.async_accept([self](error_code ec) { self->OnUpgraded(ec); });
    });
  }

  void StartDial(std::string host, std::string port) {
    net::dispatch(ws_.get_executor(), [self = shared_from_this(), host, port] {
      if (self->finished_) return;  // closed (Shutdown) before it started
      self->ArmDeadline();
      self->host_ = host;
      self->resolver_->async_resolve(host, port,
                                     [self](error_code ec, tcp::resolver::results_type r) {
                                       self->OnResolved(ec, std::move(r));
                                     });
    });
  }

  void Send(std::vector<uint8_t> message) {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), m = std::move(message)] { self->DoSend(m); });
  }

  // A link that is up sends what is queued, then closes with a WebSocket close; anything else
  // (resolving, connecting, handshaking) is cut at once.
  void Close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (self->finished_ || self->closing_) return;
      self->closing_ = true;
      if (!self->up_) return self->Fail("closed");
      self->ArmCloseDeadline();
      if (!self->writing_) self->DoClose();
    });
  }

  // Cuts the link at once: closes the socket, so every pending operation completes.
  void Abort() {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->Fail("aborted"); });
  }

  // Called on the events executor after the owner handled a message: read the next one.
  void Resume() {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  // A close (the queue to drain, then the WebSocket closing handshake) has the handshake
  // timeout to finish; a peer that does not answer is cut off. This timer replaces Beast's
  // own close timeout, which DoClose turns off (see there).
  void ArmCloseDeadline() {
    timer_.expires_after(shared_->options.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished_) return;
      self->Fail("close did not finish within the deadline");
    });
  }

  void ArmDeadline() {
    if (inbound_) ++shared_->pending_handshakes;
    counted_pending_ = inbound_;
    timer_.expires_after(shared_->options.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->up_ || self->finished_) return;
      Transport::Shared::Count(self->shared_, "handshake_failures.timeout");
      self->Fail("handshake did not finish within the deadline");
    });
  }

  void Configure() {
    // Small messages (probes, requests, replies) must not wait for Nagle's algorithm.
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    websocket::stream_base::timeout t;
    t.handshake_timeout = shared_->options.handshake_timeout;
    t.idle_timeout = shared_->options.idle_timeout;
    t.keep_alive_pings = true;  // a ping after half the idle timeout keeps quiet links up
    ws_.set_option(t);
    ws_.read_message_max(LinkCodec::kMaxFrameBytes);
    ws_.auto_fragment(false);
    ws_.binary(true);
  }

  // Each completion handler first drops out if the session already finished (Fail, Close or
  // a deadline ran while the completion was queued): the owner has been told already.
  void OnResolved(error_code ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec) return Fail("cannot resolve " + host_ + ": " + ec.message());
    endpoints_.assign(results.begin(), results.end());
    // Random order, so a name that resolves to many members spreads the joins.
    for (size_t i = endpoints_.size(); i > 1; --i) {
      std::swap(endpoints_[i - 1], endpoints_[randombytes_uniform(static_cast<uint32_t>(i))]);
    }
    beast::get_lowest_layer(ws_).expires_after(shared_->options.handshake_timeout);
    beast::get_lowest_layer(ws_).async_connect(
        endpoints_,
        [self = shared_from_this()](error_code e, const tcp::endpoint&) { self->OnConnected(e); });
  }

  void OnConnected(error_code ec) {
    if (finished_) return;
    if (ec) return Fail("cannot connect to " + host_ + ": " + ec.message());
    beast::get_lowest_layer(ws_).expires_never();
    Configure();
    ws_.async_handshake(host_, std::string(kWebSocketPath),
                        [self = shared_from_this()](error_code e) { self->OnUpgraded(e); });
  }

  void OnUpgraded(error_code ec) {
    if (finished_) return;
    if (ec) {
      Transport::Shared::Count(shared_, "handshake_failures.websocket");
      return Fail("websocket upgrade failed: " + ec.message());
    }
    const auto& o = shared_->options;
    std::vector<Role> accepted =
        inbound_ ? o.accepted_inbound : std::vector<Role>{o.expected_outbound};
    if (Status s = handshake_.Start(!inbound_, o.credentials, accepted, o.unix_seconds());
        !s.ok()) {
      return Fail(s.message());
    }
    if (!inbound_) {
      std::vector<uint8_t> first;
      if (Status s = handshake_.FirstMessage(&first); !s.ok()) return Fail(s.message());
      return WriteHandshake(std::move(first));
    }
    ReadHandshake();
  }

  void WriteHandshake(std::vector<uint8_t> message) {
    out_ = std::move(message);
    ws_.async_write(net::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->Fail("handshake write failed: " + ec.message());
      if (self->handshake_.complete()) return self->OnLinkUp();
      self->ReadHandshake();
    });
  }

  void ReadHandshake() {
    ws_.async_read(
        buffer_, [self = shared_from_this()](error_code ec, size_t) { self->OnHandshakeRead(ec); });
  }

  void OnHandshakeRead(error_code ec) {
    if (finished_) return;
    if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
      Transport::Shared::Count(shared_, "dropped.oversized_frame");
    }
    if (ec) return Fail("handshake read failed: " + ec.message());
    if (!ws_.got_binary()) return Protocol("handshake_failures.text_frame", "text frame");
    std::vector<uint8_t> in = TakeBuffer();
    std::vector<uint8_t> reply;
    if (Status s = handshake_.Receive(in, &reply); !s.ok()) {
      Transport::Shared::Count(
          shared_, "handshake_failures." + std::string(HandshakeFailureName(handshake_.failure())));
      return Fail("handshake refused: " + s.message());
    }
    if (!reply.empty()) return WriteHandshake(std::move(reply));
    if (handshake_.complete()) return OnLinkUp();
    ReadHandshake();
  }

  void OnLinkUp() {
    LinkSession session;
    if (!handshake_.TakeSession(&session).ok()) return Fail("handshake ended without a session");
    codec_.emplace(std::move(session.send), std::move(session.receive),
                   shared_->options.max_message_bytes);
    peer_ = session.peer;
    up_ = true;
    timer_.cancel();
    LeavePending();
    id_ = shared_->next_link++;
    net::post(shared_->events, [self = shared_from_this()] {
      auto& sh = *self->shared_;
      if (sh.shut_down) return self->Close();
      sh.up[self->id_] = self;
      if (sh.handlers.link_up) sh.handlers.link_up(self->id_, self->peer_, self->dial_id_);
      self->Resume();
    });
  }

  void DoRead() {
    // No new read once our close started: Beast would suspend it behind the close, and the
    // close reads until the peer's close frame anyway.
    if (finished_ || reading_ || close_sent_) return;
    reading_ = true;
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, size_t) {
      self->reading_ = false;
      self->OnRead(ec);
    });
  }

  void OnRead(error_code ec) {
    if (finished_) return;
    if (ec == websocket::error::closed) return Finish("peer closed the link");
    if (ec) {
      if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
        Transport::Shared::Count(shared_, "dropped.oversized_frame");
      }
      return Fail("read failed: " + ec.message());
    }
    if (!ws_.got_binary()) return Protocol("dropped.text_frame", "text frame");
    std::vector<uint8_t> frame = TakeBuffer();
    std::vector<uint8_t> message;
    bool complete = false;
    if (Status s = codec_->Open(frame, &message, &complete); !s.ok()) {
      return Protocol(s.code() == Status::Code::kResourceExhausted ? "dropped.oversized_message"
                                                                   : "dropped.bad_frame",
                      s.message());
    }
    if (!complete) return DoRead();
    net::post(shared_->events, [self = shared_from_this(), m = std::move(message)]() mutable {
      auto& sh = *self->shared_;
      if (sh.up.count(self->id_) == 0) return;
      if (sh.handlers.message) sh.handlers.message(self->id_, std::move(m));
      self->Resume();
    });
  }

  void DoSend(const std::vector<uint8_t>& message) {
    if (!up_ || closing_ || finished_) return;
    std::vector<std::vector<uint8_t>> frames;
    if (Status s = codec_->Seal(message, &frames); !s.ok()) {
      Transport::Shared::Count(shared_, "dropped.oversized_send");
      return;
    }
    size_t bytes = 0;
    for (auto& f : frames) bytes += f.size();
    const auto& o = shared_->options;
    if (queue_.size() + frames.size() > o.send_queue_messages ||
        queued_bytes_ + bytes > o.send_queue_bytes) {
      Transport::Shared::Count(shared_, "links_closed.send_queue_full");
      return Fail("peer does not read: send queue full");
    }
    for (auto& f : frames) queue_.push_back(std::move(f));
    queued_bytes_ += bytes;
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    if (queue_.empty()) {
      writing_ = false;
      if (closing_) DoClose();
      return;
    }
    writing_ = true;
    // The buffer stays in queue_ until the write completes; only then may the queue change.
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec || self->finished_) {
                        self->queue_.clear();
                        self->queued_bytes_ = 0;
                        return self->Fail("write failed: " + ec.message());
                      }
                      self->queued_bytes_ -= self->queue_.front().size();
                      self->queue_.pop_front();
                      self->DoWrite();
                    });
  }

  void DoClose() {
    if (close_sent_ || finished_) return;
    close_sent_ = true;
    // Beast's own timeouts off for the close; ArmCloseDeadline's timer (armed in Close) bounds
    // it instead. Why: if Beast's close timeout fires while the close is in its teardown (the
    // close frames were exchanged, it waits for the peer's EOF), nothing consumes the timeout
    // before a read suspended behind the close resumes, and that read's check trips a debug
    // assertion in Beast 1.74 (websocket/impl/read.hpp:114, boostorg/beast#1760 and #2264).
    // Cutting the socket from our timer instead makes every operation end with
    // operation_aborted. Setting both timeouts to none also cancels Beast's timer.
    websocket::stream_base::timeout off;
    off.handshake_timeout = websocket::stream_base::none();
    off.idle_timeout = websocket::stream_base::none();
    off.keep_alive_pings = false;
    ws_.set_option(off);
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {
      // Beast keeps reading until the peer's close frame; make sure the socket goes.
      self->Finish("closed");
    });
  }

  void Protocol(const std::string& counter, const std::string& why) {
    Transport::Shared::Count(shared_, counter);
    Fail(why);
  }

  void Fail(const std::string& why) {
    if (finished_) return;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    Finish(why);
  }

  void Finish(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    if (resolver_) resolver_->cancel();
    LeavePending();
    if (beast::get_lowest_layer(ws_).socket().is_open()) beast::get_lowest_layer(ws_).close();
    if (!writing_) {  // otherwise the write's completion releases the queue
      queue_.clear();
      queued_bytes_ = 0;
    }
    const bool was_up = up_;
    net::post(shared_->events, [self = shared_from_this(), was_up, why] {
      auto& sh = *self->shared_;
      if (was_up) {
        if (sh.up.erase(self->id_) && sh.handlers.link_down) sh.handlers.link_down(self->id_);
      } else if (!self->inbound_ && sh.handlers.dial_failed) {
        sh.handlers.dial_failed(self->dial_id_, why);
      }
    });
  }

  void LeavePending() {
    if (counted_pending_) --shared_->pending_handshakes;
    counted_pending_ = false;
  }

  std::vector<uint8_t> TakeBuffer() {
    auto data = buffer_.data();
    std::vector<uint8_t> out(net::buffers_begin(data), net::buffers_end(data));
    buffer_.consume(buffer_.size());
    return out;
  }

  std::shared_ptr<Transport::Shared> shared_;
  websocket::stream<beast::tcp_stream> ws_;
  bool inbound_;
  uint64_t dial_id_ = 0;
  std::optional<tcp::resolver> resolver_;
  net::steady_timer timer_;
  std::string host_;
  std::vector<tcp::endpoint> endpoints_;
  LinkHandshake handshake_;
  std::optional<LinkCodec> codec_;
  Certificate peer_;
  LinkId id_ = 0;
  beast::flat_buffer buffer_;
  std::vector<uint8_t> out_;
  std::deque<std::vector<uint8_t>> queue_;
  size_t queued_bytes_ = 0;
  bool counted_pending_ = false;
  bool up_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
};

namespace {

void Accept(std::shared_ptr<Transport::Shared> shared) {
  shared->acceptor->async_accept(
      net::make_strand(shared->ioc), [shared](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !shared->acceptor->is_open()) return;
        if (!ec) {
          const auto& o = shared->options;
          if (shared->pending_handshakes >= o.max_pending_handshakes) {
            Transport::Shared::Count(shared, "refused.too_many_handshakes");
            socket.close();
          } else if (shared->LiveCount() >= o.max_links) {
            Transport::Shared::Count(shared, "refused.too_many_links");
            socket.close();
          } else {
            Session::Create(shared, std::move(socket))->StartAccept();
          }
        }
        Accept(shared);
      });
}

}  // namespace

Transport::Transport(net::io_context& ioc, net::any_io_executor events, TransportOptions options,
                     TransportEvents handlers)
    : shared_(std::make_shared<Shared>(ioc, std::move(events), std::move(options),
                                       std::move(handlers))) {}

// The owner has stopped using the transport and its io_context (Shutdown, then run until
// sessions() is 0). Dropping the map of links that are up breaks the Shared -> Session ->
// Shared cycle even if a link_down was never delivered.
Transport::~Transport() {
  shared_->up.clear();
  error_code ignored;
  if (shared_->acceptor) shared_->acceptor->close(ignored);
}

Status Transport::Listen(const std::string& listen, std::string* bound) {
  std::string host, port;
  if (Status s = SplitHostPort(listen, &host, &port); !s.ok()) return s;
  error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("listen address '" + host + "' is not an IP address");
  tcp::endpoint endpoint(address, static_cast<uint16_t>(std::stoul(port)));
  auto& acceptor = shared_->acceptor.emplace(shared_->ioc);
  if (acceptor.open(endpoint.protocol(), ec); ec) return Status::IOError("socket: " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    return Status::IOError("cannot listen on " + listen + ": " + ec.message());
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Status::IOError("listen on " + listen + ": " + ec.message());
  }
  const auto local = acceptor.local_endpoint();
  const std::string h = local.address().to_string();
  *bound = (local.address().is_v6() ? "[" + h + "]" : h) + ":" + std::to_string(local.port());
  Accept(shared_);
  return Status::OK();
}

void Transport::Dial(uint64_t dial_id, const std::string& address) {
  std::string host, port;
  if (Status s = SplitHostPort(address, &host, &port); !s.ok() || shared_->shut_down) {
    net::post(shared_->events, [sh = shared_, dial_id, why = s.message()] {
      if (sh->handlers.dial_failed) sh->handlers.dial_failed(dial_id, why);
    });
    return;
  }
  Session::Create(shared_, dial_id)->StartDial(host, port);
}

void Transport::Send(LinkId link, std::vector<uint8_t> message) {
  auto it = shared_->up.find(link);
  if (it != shared_->up.end()) it->second->Send(std::move(message));
}

void Transport::Close(LinkId link) {
  auto it = shared_->up.find(link);
  if (it != shared_->up.end()) it->second->Close();
}

namespace {
// The sessions alive now, held strongly so they can be called outside the lock.
std::vector<std::shared_ptr<Session>> LiveSessions(Transport::Shared& shared) {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(shared.live_mu);
  for (auto& [ptr, weak] : shared.live) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}
}  // namespace

void Transport::Shutdown() {
  shared_->shut_down = true;
  if (shared_->acceptor) {
    error_code ignored;
    shared_->acceptor->close(ignored);
  }
  // Every session, not only the links that are up: a dial or handshake in progress would
  // otherwise hold its session (and this transport) until its own deadline.
  for (auto& session : LiveSessions(*shared_)) session->Close();
}

void Transport::Abort() {
  for (auto& session : LiveSessions(*shared_)) session->Abort();
}

size_t Transport::links() const { return shared_->up.size(); }

size_t Transport::sessions() const { return shared_->LiveCount(); }

}  // namespace mesh::transport
