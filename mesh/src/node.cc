// NodeImpl: a mesh::Node made of the sans-IO core, the Beast transport and the peer store,
// all driven from one I/O thread through one strand. Gossip signatures are checked on a
// VerifierPool; each answer is posted back onto the strand.
#include "mesh/node.h"

#include <sodium.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "core/core.h"
#include "store/peer_store.h"
#include "transport/transport.h"
#include "verifier_pool.h"

namespace mesh {
namespace net = boost::asio;

class NodeImpl final : public Node, public core::Host {
 public:
  explicit NodeImpl(Config config)
      : config_(std::move(config)),
        strand_(net::make_strand(ioc_)),
        tick_(strand_),
        epoch_(std::chrono::steady_clock::now()) {}

  ~NodeImpl() override { Stop(Millis(0)); }

  mesh::Status Init();

  mesh::Status Start() override;
  void Stop(Millis grace) override;
  void On(const std::string& event, Handler handler) override {
    std::lock_guard lock(mu_);
    handlers_[event] = std::move(handler);
  }
  void OnMembership(MembershipCallback callback) override {
    std::lock_guard lock(mu_);
    membership_.push_back(std::move(callback));
  }
  mesh::Status Broadcast(const std::string& event, const Json& data) override {
    const std::string text = data.dump();
    return Sync<mesh::Status>(mesh::Status::Unavailable("node is not running"),
                              [&] { return core_->Broadcast(Now(), event, AsBytes(text)); });
  }
  mesh::Status Send(const PublicKey& peer, const std::string& event, const Json& data) override {
    const std::string text = data.dump();
    return Sync<mesh::Status>(mesh::Status::Unavailable("node is not running"),
                              [&] { return core_->SendDirect(Now(), peer, event, AsBytes(text)); });
  }
  void Request(const PublicKey& peer, const std::string& event, const Json& data, Millis timeout,
               ReplyCallback callback) override;
  std::vector<MemberInfo> Members() const override {
    return Sync<std::vector<MemberInfo>>({}, [&] { return core_->Members(); });
  }
  NodeStatus Status() const override;
  NodeMetrics Metrics() const override;
  PublicKey id() const override { return config_.certificate.subject; }

  // core::Host
  void Send(core::LinkId link, std::vector<uint8_t> message) override {
    transport_->Send(link, std::move(message));
  }
  void Dial(uint64_t dial_id, const std::string& address) override {
    transport_->Dial(dial_id, address);
  }
  void Close(core::LinkId link) override { transport_->Close(link); }
  int64_t UnixMs() override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  uint64_t Random() override {
    uint64_t r;
    randombytes_buf(&r, sizeof r);
    return r;
  }
  void Deliver(const core::Delivery& d) override;
  void Replied(uint64_t token, const mesh::Status& status,
               std::span<const uint8_t> payload) override;
  void MemberChanged(const MemberInfo& member) override;
  void ReserveSequence(uint64_t limit) override {
    if (store_) Check(store_->SetCounter("sequence_reserved", limit), "reserve sequence");
  }
  void PeerSeen(const core::MemberRecord& record) override {
    if (!store_) return;
    PeerRecord p;
    p.id = record.id();
    p.name = record.certificate.name;
    p.address = record.address;
    p.member_record = record.encoded;
    p.last_seen_ms = UnixMs();
    Check(store_->Upsert(p), "store peer");
  }
  void PeerConnect(const PublicKey& id, bool success) override {
    if (store_) (void)store_->RecordConnect(id, success, UnixMs());  // unknown ids: fine
  }
  void PeerAddresses(const PublicKey& id, uint64_t received, uint64_t sent) override {
    if (store_) (void)store_->AddAddressCounts(id, received, sent);
  }
  void VerifyGossip(core::VerifyJob job) override {
    const uint64_t token = job.token;
    if (std::optional<bool> ok = verifier_->Verify(std::move(job))) {
      counters_.Add("gossip_verified_inline");
      core_->OnGossipVerified(Now(), token, *ok);
    }
  }

 private:
  static std::span<const uint8_t> AsBytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  int64_t Now() const {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - epoch_).count();
  }
  void Log(LogLevel level, const std::string& line) const {
    if (config_.log) config_.log(level, line);
  }
  void Check(const mesh::Status& s, const char* what) {
    if (!s.ok()) Log(LogLevel::kWarn, std::string("peer store: ") + what + ": " + s.ToString());
  }
  // Runs `f` on the node's strand and returns its result; `idle` when the node is not running.
  template <class R, class F>
  R Sync(R idle, F&& f) const {
    if (!running_) return idle;
    if (strand_.running_in_this_thread()) return f();
    auto done = std::make_shared<std::promise<R>>();
    auto result = done->get_future();
    net::post(strand_, [&f, done, idle, this] { done->set_value(core_ ? f() : idle); });
    // The node may stop before running it: wait in steps and give up once it is stopped.
    while (result.wait_for(Millis(50)) != std::future_status::ready) {
      if (!running_) return idle;
    }
    return result.get();
  }
  void ArmTick();
  // Waits (off the I/O thread) until the transport has no session left; false at the timeout.
  bool WaitForSessions(Millis timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (transport_->sessions() > 0) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(Millis(1));
    }
    return true;
  }
  // The core's gauges (when changed) and the transport's link count, for Metrics().
  void PublishGauges() {
    core_->PublishGaugesIfChanged();
    counters_.links.store(transport_->links(), std::memory_order_relaxed);
  }
  Responder MakeResponder(core::LinkId link, uint64_t request_id);

  Config config_;
  mutable net::io_context ioc_{1};
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer tick_;
  std::chrono::steady_clock::time_point epoch_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> join_addresses_{0};
  bool stopped_ = false;

  core::Counters counters_;  // written on the strand (core and transport), read anywhere
  std::unique_ptr<PeerStore> store_;
  std::unique_ptr<transport::Transport> transport_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<VerifierPool> verifier_;  // its workers post to strand_; stopped in Stop
  uint64_t incarnation_ = 0;
  uint64_t sequence_ = 0;
  std::string bound_;

  std::mutex mu_;  // handlers_ and membership_
  std::map<std::string, Handler> handlers_;
  std::vector<MembershipCallback> membership_;
  std::map<uint64_t, ReplyCallback> replies_;  // strand only
  uint64_t next_token_ = 1;
};

mesh::Status NodeImpl::Init() {
  if (!config_.key || !config_.key->valid())
    return mesh::Status::InvalidArgument("config has no key");
  if (config_.certificate.subject != config_.key->public_key()) {
    return mesh::Status::InvalidArgument("certificate is not for this key");
  }
  if (config_.certificate.role != Role::kNode) {
    return mesh::Status::InvalidArgument("a node needs a certificate with role node, not " +
                                         std::string(RoleName(config_.certificate.role)));
  }
  const int64_t now_s = UnixMs() / 1000;
  if (mesh::Status s = VerifyCertificate(config_.certificate, config_.ca_key, now_s, Role::kNode);
      !s.ok()) {
    return mesh::Status::InvalidArgument("node certificate: " + s.message());
  }
  if (config_.active_target == 0 || config_.active_max < config_.active_target ||
      config_.active_max > 1024) {
    return mesh::Status::InvalidArgument(
        "active_target must be at least 1 and at most active_max, and active_max at most 1024");
  }
  // Lifeguard's multiplier is kept in an int and scales timers: a "no cap" such as SIZE_MAX
  // would wrap to a negative bound.
  if (config_.lhm_max > 64) return mesh::Status::InvalidArgument("lhm_max must be at most 64");
  // The GRAFT chain for one missing id (core/tree.cc SendDueGrafts: one announcer, then two
  // at a time, each graft_timeout, over at most active_max announcers and about as many
  // fallback links) must end while the announcers still keep the envelope. The timers are
  // bounded first, so the sum below cannot overflow, and the envelope cache stays bounded.
  constexpr int64_t kMinuteMs = 60'000;
  if (config_.tree_broadcast &&
      (config_.ihave_timeout.count() <= 0 || config_.ihave_timeout.count() > kMinuteMs ||
       config_.graft_timeout.count() <= 0 || config_.graft_timeout.count() > kMinuteMs ||
       config_.tree_cache_ttl.count() > kMinuteMs || config_.max_missing_ids == 0 ||
       config_.tree_cache_bytes < config_.max_message_bytes ||
       config_.tree_cache_ttl.count() <
           config_.ihave_timeout.count() +
               config_.graft_timeout.count() * static_cast<int64_t>(config_.active_max + 1))) {
    return mesh::Status::InvalidArgument(
        "tree broadcast needs ihave_timeout and graft_timeout from 1 ms to 60 s, "
        "max_missing_ids at least 1, tree_cache_bytes at least max_message_bytes, and "
        "tree_cache_ttl at most 60 s and at least ihave_timeout + graft_timeout * "
        "(active_max + 1)");
  }
  if (config_.seen_ttl <= config_.replay_window) {
    return mesh::Status::InvalidArgument("seen_ttl must exceed replay_window");
  }
  if (config_.max_message_bytes < 4096 || config_.max_message_bytes > (64u << 20)) {
    return mesh::Status::InvalidArgument("max_message_bytes must be between 4 KiB and 64 MiB");
  }
  if (config_.verify_threads > 64) {
    return mesh::Status::InvalidArgument("verify_threads must be at most 64");
  }
  if (config_.max_verify_inflight == 0 ||
      config_.max_verify_inflight_bytes < config_.max_message_bytes) {
    return mesh::Status::InvalidArgument(
        "max_verify_inflight must be at least 1 and max_verify_inflight_bytes at least "
        "max_message_bytes");
  }
  uint64_t stored_incarnation = 0, stored_sequence = 0;
  if (!config_.data_dir.empty()) {
    if (::mkdir(config_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return mesh::Status::IOError("cannot create data dir " + config_.data_dir);
    }
    if (mesh::Status s = PeerStore::Open(config_.data_dir + "/peers.db", &store_); !s.ok()) {
      return s;
    }
    if (mesh::Status s = store_->GetCounter("incarnation", &stored_incarnation); !s.ok()) return s;
    if (mesh::Status s = store_->GetCounter("sequence_reserved", &stored_sequence); !s.ok()) {
      return s;
    }
  }
  // Both must exceed anything an earlier run used: the store says what that was; the clock
  // covers a node without a data dir.
  const uint64_t now_ms = static_cast<uint64_t>(UnixMs());
  incarnation_ = std::max(stored_incarnation + 1, now_ms);
  sequence_ = std::max(stored_sequence, now_ms * 1000);
  if (store_) {
    if (mesh::Status s = store_->SetCounter("incarnation", incarnation_); !s.ok()) return s;
  }
  return mesh::Status::OK();
}

mesh::Status NodeImpl::Start() {
  if (running_ || stopped_) return mesh::Status::InvalidArgument("a node starts once");
  transport::TransportOptions o;
  o.credentials = LinkCredentials{config_.key.get(), config_.certificate, config_.ca_key};
  o.accepted_inbound = {Role::kNode, Role::kClient};
  o.max_message_bytes = config_.max_message_bytes;
  o.send_queue_messages = config_.send_queue_messages;
  o.send_queue_bytes = config_.send_queue_bytes;
  o.handshake_timeout = config_.handshake_timeout;
  o.idle_timeout = config_.idle_timeout;
  o.max_pending_handshakes = config_.max_pending_handshakes;
  o.max_links = config_.max_links;
  o.unix_seconds = [this] { return UnixMs() / 1000; };
  transport::TransportEvents ev;
  // After each event the gauges are refreshed if a member or link changed (cheap otherwise).
  ev.link_up = [this](transport::LinkId id, const Certificate& peer, uint64_t dial) {
    core_->OnLinkUp(Now(), id, peer, dial);
    PublishGauges();
  };
  ev.dial_failed = [this](uint64_t dial, const std::string& why) {
    Log(LogLevel::kDebug, "dial failed: " + why);
    core_->OnDialFailed(Now(), dial);
  };
  ev.link_down = [this](transport::LinkId id) {
    core_->OnLinkDown(Now(), id);
    PublishGauges();
  };
  ev.message = [this](transport::LinkId id, std::vector<uint8_t> m) {
    core_->OnMessage(Now(), id, std::move(m));
    core_->PublishGaugesIfChanged();
  };
  ev.count = [this](const std::string& name) { counters_.Add(name); };
  transport_ = std::make_unique<transport::Transport>(ioc_, strand_, std::move(o), std::move(ev));
  if (mesh::Status s = transport_->Listen(config_.listen, &bound_); !s.ok()) return s;
  std::string advertise = config_.advertise.empty() ? bound_ : config_.advertise;
  if (advertise.rfind("0.0.0.0:", 0) == 0 || advertise.rfind("[::]:", 0) == 0) {
    return mesh::Status::InvalidArgument(
        "listening on a wildcard address needs an advertise address");
  }
  if (advertise.size() > core::kMaxAddressBytes) {
    return mesh::Status::InvalidArgument("advertise address is too long");
  }
  std::vector<std::string> bootstrap = config_.join;
  if (store_) {
    std::vector<PeerRecord> peers;
    Check(store_->Load(64, &peers), "load peers");
    for (auto& p : peers) bootstrap.push_back(p.address);
  }
  join_addresses_ = bootstrap.size();
  // A worker's answer goes back onto the strand, where the core lives.
  constexpr size_t kQueuedPerWorker = 32;  // a few ms of work: enough to keep workers busy
  verifier_ = std::make_unique<VerifierPool>(config_.verify_threads,
                                             kQueuedPerWorker * config_.verify_threads,
                                             [this](uint64_t token, bool ok) {
                                               net::post(strand_, [this, token, ok] {
                                                 core_->OnGossipVerified(Now(), token, ok);
                                                 core_->PublishGaugesIfChanged();
                                               });
                                             });
  core_ = std::make_unique<core::Core>(config_, this, advertise, incarnation_, sequence_, sequence_,
                                       &counters_);
  running_ = true;
  net::post(strand_, [this, bootstrap = std::move(bootstrap)]() mutable {
    core_->Start(Now(), std::move(bootstrap));
    PublishGauges();
    counters_.last_tick_steady_ms.store(Now(), std::memory_order_relaxed);
    ArmTick();
  });
  thread_ = std::thread([this] { ioc_.run(); });
  Log(LogLevel::kInfo, "node " + config_.certificate.name + " listening on " + bound_);
  return mesh::Status::OK();
}

void NodeImpl::ArmTick() {
  const int64_t wait = std::max<int64_t>(1, core_->NextWakeup() - Now());
  tick_.expires_after(Millis(wait));
  tick_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const int64_t now = Now();
    core_->Tick(now);
    PublishGauges();
    counters_.last_tick_steady_ms.store(now, std::memory_order_relaxed);
    ArmTick();
  });
}

void NodeImpl::Stop(Millis grace) {
  if (!running_) return;
  Sync<bool>(false, [&] {
    core_->Leave(Now());
    return true;
  });
  // Let the goodbyes drain: wait until the links are gone or the grace period ends.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline &&
         Sync<size_t>(0, [&] { return transport_->links(); }) > 0) {
    std::this_thread::sleep_for(Millis(5));
  }
  Sync<bool>(false, [&] {
    tick_.cancel();
    transport_->Shutdown();
    return true;
  });
  // Keep the I/O thread running until every session has ended. A session still alive when
  // the io_context stops is owned by its own pending handlers (some held inside Beast's
  // stream, which the io_context never destroys) and would leak with its socket still open,
  // so the peer would not see the link go either. Live peers answer the close within
  // milliseconds; one that does not is cut off after kCloseWait, and cutting (closing the
  // sockets) completes every pending operation at once.
  constexpr Millis kCloseWait{500};
  if (!WaitForSessions(kCloseWait)) {
    transport_->Abort();
    if (!WaitForSessions(Millis(5000))) {
      Log(LogLevel::kWarn,
          std::to_string(transport_->sessions()) + " transport sessions still open at stop");
    }
  }
  stopped_ = true;
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  // After the I/O thread: answers posted from now on are never run (the io_context is
  // stopped), and they are destroyed with it, after the workers are joined here.
  if (verifier_) verifier_->Stop();
  running_ = false;  // after the join: a Sync still waiting gives up only now
  // Fail what is still waiting, so every Request callback runs exactly once.
  for (auto& [token, cb] : replies_) cb(mesh::Status::Unavailable("node stopped"), Json());
  replies_.clear();
}

void NodeImpl::Request(const PublicKey& peer, const std::string& event, const Json& data,
                       Millis timeout, ReplyCallback callback) {
  const std::string text = data.dump();
  auto failed = std::make_shared<mesh::Status>();
  // Set by the lambda itself: Sync may report "not running" for a lambda that did run
  // just before the node stopped, and the callback must still run exactly once.
  auto ran = std::make_shared<std::atomic<bool>>(false);
  Sync<bool>(false, [&] {
    *ran = true;
    const uint64_t token = next_token_++;
    replies_[token] = callback;
    mesh::Status s = core_->Request(Now(), peer, event, AsBytes(text), timeout.count(), token);
    if (!s.ok()) {
      replies_.erase(token);
      *failed = s;
    }
    return true;
  });
  if (!*ran) return callback(mesh::Status::Unavailable("node is not running"), Json());
  if (!failed->ok()) callback(*failed, Json());
}

void NodeImpl::Deliver(const core::Delivery& d) {
  // Built-in requests under the reserved "mesh." prefix, for `meshvault members` and tools.
  if (d.kind == core::Delivery::Kind::kRequest && d.event.rfind("mesh.", 0) == 0) {
    Responder r = MakeResponder(d.link, d.request_id);
    if (d.event == "mesh.members") {
      Json members = Json::array();
      for (const MemberInfo& m : core_->Members()) members.push_back(MemberToJson(m));
      return r.Reply(Json{{"members", members}});
    }
    if (d.event == "mesh.status") return r.Reply(StatusToJson(Status()));
    return r.Error("unknown built-in request '" + d.event + "'");
  }
  Handler handler;
  {
    std::lock_guard lock(mu_);
    auto it = handlers_.find(d.event);
    if (it != handlers_.end()) handler = it->second;
  }
  Responder responder;
  if (d.kind == core::Delivery::Kind::kRequest) responder = MakeResponder(d.link, d.request_id);
  if (!handler) {
    core_->Count("unknown_events");
    Log(LogLevel::kDebug, "no handler for event '" + d.event + "' from " + d.from_name);
    if (responder.expected()) responder.Error("no handler for event '" + d.event + "'");
    return;
  }
  Message m;
  m.kind = d.kind == core::Delivery::Kind::kBroadcast ? Message::Kind::kBroadcast
           : d.kind == core::Delivery::Kind::kRequest ? Message::Kind::kRequest
                                                      : Message::Kind::kDirect;
  m.from = d.from;
  m.from_name = d.from_name;
  m.from_role = d.from_role;
  m.event = d.event;
  if (mesh::Status s = ParseJson(d.payload, &m.data); !s.ok()) {
    core_->Count("dropped.bad_json");
    if (responder.expected()) responder.Error("payload is not JSON: " + s.message());
    return;
  }
  try {
    handler(m, responder);
  } catch (const std::exception& e) {
    core_->Count("handler_exceptions");
    Log(LogLevel::kError, "handler for '" + d.event + "' threw: " + e.what());
    if (responder.expected()) responder.Error("handler failed");
  }
}

Responder NodeImpl::MakeResponder(core::LinkId link, uint64_t request_id) {
  Responder r;
  auto once = std::make_shared<std::atomic<bool>>(false);
  r.reply_ = [this, link, request_id, once](bool error, std::string body) {
    if (once->exchange(true)) return;
    net::dispatch(strand_, [this, link, request_id, error, body = std::move(body)] {
      if (core_) core_->Reply(link, request_id, error, AsBytes(body));
    });
  };
  return r;
}

void Responder::Reply(const Json& data) const {
  if (reply_) reply_(false, data.dump());
}
void Responder::Error(const std::string& message) const {
  if (reply_) reply_(true, message);
}

void NodeImpl::Replied(uint64_t token, const mesh::Status& status,
                       std::span<const uint8_t> payload) {
  auto it = replies_.find(token);
  if (it == replies_.end()) return;
  ReplyCallback cb = std::move(it->second);
  replies_.erase(it);
  if (!status.ok()) return cb(status, Json());
  Json reply;
  if (mesh::Status s = ParseJson(payload, &reply); !s.ok()) {
    return cb(mesh::Status::Corruption("reply is not JSON: " + s.message()), Json());
  }
  cb(status, reply);
}

void NodeImpl::MemberChanged(const MemberInfo& member) {
  Log(LogLevel::kInfo, "member " + member.name + " (" + ShortId(member.id) + ") is " +
                           std::string(MemberStateName(member.state)));
  std::vector<MembershipCallback> callbacks;
  {
    std::lock_guard lock(mu_);
    callbacks = membership_;
  }
  for (auto& cb : callbacks) cb(member);
}

NodeStatus NodeImpl::Status() const {
  return Sync<NodeStatus>({}, [&] {
    NodeStatus s;
    s.self = core_->Self();
    s.listen = bound_;
    for (const MemberInfo& m : core_->Members()) {
      if (m.self) continue;
      switch (m.state) {
        case MemberState::kAlive:
          ++s.members_alive;
          break;
        case MemberState::kSuspect:
          ++s.members_suspect;
          break;
        case MemberState::kDead:
          ++s.members_failed;
          break;
        case MemberState::kLeft:
          ++s.members_left;
          break;
      }
    }
    ++s.members_alive;  // self
    s.active_links = core_->active_links();
    s.links = transport_->links();
    s.counters = core_->counters();
    return s;
  });
}

NodeMetrics NodeImpl::Metrics() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  NodeMetrics m;
  m.running = running_;
  m.members_alive = counters_.members_alive.load(relaxed);
  m.members_suspect = counters_.members_suspect.load(relaxed);
  m.members_failed = counters_.members_failed.load(relaxed);
  m.members_left = counters_.members_left.load(relaxed);
  m.active_links = counters_.active_links.load(relaxed);
  m.links = counters_.links.load(relaxed);
  const int64_t tick = counters_.last_tick_steady_ms.load(relaxed);
  m.ms_since_tick = tick < 0 ? -1 : std::max<int64_t>(0, Now() - tick);
  m.join_addresses = join_addresses_;
  m.counters = counters_.Snapshot(/*nonzero_only=*/false);
  return m;
}

mesh::Status Node::Create(const Config& config, std::unique_ptr<Node>* out) {
  if (mesh::Status s = InitSodium(); !s.ok()) return s;
  auto node = std::make_unique<NodeImpl>(config);
  if (mesh::Status s = node->Init(); !s.ok()) return s;
  *out = std::move(node);
  return mesh::Status::OK();
}

Json MemberToJson(const MemberInfo& m) {
  return Json{{"id", ShortId(m.id)},
              {"name", m.name},
              {"address", m.address},
              {"status", std::string(MemberStateName(m.state))},
              {"incarnation", m.incarnation},
              {"linked", m.linked},
              {"self", m.self}};
}

Json StatusToJson(const NodeStatus& s) {
  Json counters = Json::object();
  for (auto& [k, v] : s.counters) counters[k] = v;
  return Json{{"node", MemberToJson(s.self)},
              {"listen", s.listen},
              {"members",
               {{"alive", s.members_alive},
                {"suspect", s.members_suspect},
                {"failed", s.members_failed},
                {"left", s.members_left}}},
              {"active_links", s.active_links},
              {"links", s.links},
              {"counters", counters}};
}

}  // namespace mesh
