// ClientImpl: the transport on the caller's thread; requests run the I/O loop until the
// reply, a failure or the deadline.
#include "mesh/client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "core/messages.h"
#include "core/records.h"
#include "transport/transport.h"

namespace mesh {
namespace net = boost::asio;

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(const ClientOptions& options) : options_(options) {
    transport::TransportOptions o;
    o.credentials = LinkCredentials{options_.key.get(), options_.certificate, options_.ca_key};
    o.accepted_inbound = {};
    o.expected_outbound = Role::kNode;
    o.max_message_bytes = options_.max_message_bytes;
    o.handshake_timeout = options_.connect_timeout;
    o.idle_timeout = Millis(60000);
    o.unix_seconds = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    transport::TransportEvents ev;
    ev.link_up = [this](transport::LinkId id, const Certificate& peer, uint64_t) {
      link_ = id;
      server_ = peer;
    };
    ev.dial_failed = [this](uint64_t, const std::string& why) { failure_ = why; };
    ev.link_down = [this](transport::LinkId) {
      link_ = 0;
      failure_ = "the node closed the link";
    };
    ev.message = [this](transport::LinkId, std::vector<uint8_t> m) { OnMessage(std::move(m)); };
    ev.count = [this](const std::string& name) {
      if (name.rfind("handshake_failures.", 0) == 0) handshake_failure_ = name.substr(19);
    };
    transport_ = std::make_unique<transport::Transport>(ioc_, ioc_.get_executor(), std::move(o),
                                                        std::move(ev));
  }
  // Closes the link and runs the I/O loop until its session has ended (see
  // Transport::sessions): gracefully for up to 200 ms, then by cutting the socket.
  ~ClientImpl() override {
    transport_->Shutdown();
    if (!RunUntilNoSessions(Millis(200))) {
      transport_->Abort();
      RunUntilNoSessions(Millis(2000));
    }
  }
  bool RunUntilNoSessions(Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (transport_->sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_until(deadline);
    }
    return transport_->sessions() == 0;
  }

  Status Connect(const std::string& address) {
    transport_->Dial(1, address);
    const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout + Millis(500);
    while (link_ == 0 && failure_.empty() && std::chrono::steady_clock::now() < deadline) {
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_until(deadline);
    }
    if (link_ != 0) return Status::OK();
    std::string why = failure_.empty() ? "timed out" : failure_;
    if (!handshake_failure_.empty()) why += " (handshake: " + handshake_failure_ + ")";
    return Status::Unavailable("cannot connect to " + address + ": " + why);
  }

  Status Request(const std::string& event, const Json& data, Millis timeout, Json* reply) override {
    if (link_ == 0) return Status::Unavailable("not connected: " + failure_);
    if (Status s = core::CheckEventName(event); !s.ok()) return s;
    const std::string text = data.dump();
    core::Direct d{core::DirectKind::kRequest, ++next_request_, event,
                   std::vector<uint8_t>(text.begin(), text.end())};
    transport_->Send(link_, core::EncodeDirect(d));
    done_ = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // One handler at a time, so the reply is returned as soon as it arrives.
    while (!done_ && link_ != 0 && std::chrono::steady_clock::now() < deadline) {
      if (ioc_.stopped()) ioc_.restart();
      ioc_.run_one_until(deadline);
    }
    if (!done_) {
      return Status::Unavailable(link_ == 0 ? failure_
                                            : "no reply to '" + event + "' within " +
                                                  std::to_string(timeout.count()) + " ms");
    }
    if (!result_.ok()) return result_;
    if (Status s = ParseJson(payload_, reply); !s.ok()) {
      return Status::Corruption("reply is not JSON: " + s.message());
    }
    return Status::OK();
  }

  const Certificate& server() const override { return server_; }

 private:
  void OnMessage(std::vector<uint8_t> message) {
    core::Direct d;
    if (!core::DecodeDirect(message, &d).ok() || d.request_id != next_request_) return;
    if (d.kind == core::DirectKind::kReply) {
      result_ = Status::OK();
    } else if (d.kind == core::DirectKind::kError) {
      std::string why(d.payload.begin(), d.payload.end());
      if (why.size() > 300) why.resize(300);
      result_ = Status::Unavailable(server_.name + ": " + why);
    } else {
      return;
    }
    payload_ = std::move(d.payload);
    done_ = true;
  }

  ClientOptions options_;
  net::io_context ioc_{1};
  std::unique_ptr<transport::Transport> transport_;
  transport::LinkId link_ = 0;
  Certificate server_;
  std::string failure_;
  std::string handshake_failure_;
  uint64_t next_request_ = 0;
  bool done_ = false;
  Status result_;
  std::vector<uint8_t> payload_;
};

Status Client::Connect(const std::string& address, const ClientOptions& options,
                       std::unique_ptr<Client>* out) {
  if (Status s = InitSodium(); !s.ok()) return s;
  if (!options.key || !options.key->valid()) return Status::InvalidArgument("client has no key");
  if (options.certificate.subject != options.key->public_key()) {
    return Status::InvalidArgument("certificate is not for this key");
  }
  auto client = std::make_unique<ClientImpl>(options);
  if (Status s = client->Connect(address); !s.ok()) return s;
  *out = std::move(client);
  return Status::OK();
}

}  // namespace mesh
