// Core: point-to-point messages and requests. A message goes on an existing link to the
// peer, or waits in a bounded queue while the core dials one (transient unless the active
// view wants it). Requests carry an id; the reply comes back on the link the request came
// in on. Every request ends exactly once: a reply, an error reply, a failure or a timeout.
#include "core/core.h"

namespace mesh::core {
namespace {

constexpr size_t kDirectOverhead = 1 + 1 + 8 + 1 + kMaxEventNameBytes;

}  // namespace

Status Core::SendDirect(int64_t now, const PublicKey& to, std::string_view event,
                        std::span<const uint8_t> payload) {
  if (Status s = CheckEventName(event); !s.ok()) return s;
  if (payload.size() + kDirectOverhead > config_.max_message_bytes) {
    return Status::ResourceExhausted("message over the size limit");
  }
  Direct d{DirectKind::kMessage, 0, std::string(event), {payload.begin(), payload.end()}};
  return SendOrQueue(now, to, EncodeDirect(d), 0);
}

Status Core::Request(int64_t now, const PublicKey& to, std::string_view event,
                     std::span<const uint8_t> payload, int64_t timeout_ms, uint64_t token) {
  if (Status s = CheckEventName(event); !s.ok()) return s;
  if (payload.size() + kDirectOverhead > config_.max_message_bytes) {
    return Status::ResourceExhausted("request over the size limit");
  }
  if (requests_.size() >= config_.max_pending_requests) {
    return Status::ResourceExhausted("too many requests in flight");
  }
  const uint64_t rid = next_request_id_++;
  requests_[rid] = PendingRequest{
      token, now + (timeout_ms > 0 ? timeout_ms : config_.request_timeout.count()), to};
  if (to == self_.id()) {  // the node itself: deliver locally, reply comes via Reply(0, ...)
    Delivery d;
    d.kind = Delivery::Kind::kRequest;
    d.from = to;
    d.from_name = self_.certificate.name;
    d.event = std::string(event);
    d.payload = payload;
    d.link = 0;
    d.request_id = rid;
    host_->Deliver(d);
    return Status::OK();
  }
  Direct d{DirectKind::kRequest, rid, std::string(event), {payload.begin(), payload.end()}};
  Status s = SendOrQueue(now, to, EncodeDirect(d), rid);
  if (!s.ok()) requests_.erase(rid);
  return s;
}

void Core::Reply(LinkId link, uint64_t request_id, bool error, std::span<const uint8_t> payload) {
  if (link == 0) {  // a request this node made to itself
    auto it = requests_.find(request_id);
    if (it == requests_.end()) return;
    const uint64_t token = it->second.token;
    requests_.erase(it);
    host_->Replied(
        token,
        error ? Status::Unavailable("remote error: " + std::string(payload.begin(), payload.end()))
              : Status::OK(),
        payload);
    return;
  }
  auto it = links_.find(link);
  if (it == links_.end() || it->second.closing) {
    Count("dropped.reply_link_gone");
    return;
  }
  Direct d{error ? DirectKind::kError : DirectKind::kReply, request_id, "", {}};
  if (payload.size() + kDirectOverhead > config_.max_message_bytes) {
    static constexpr std::string_view kTooBig = "reply over the size limit";
    d.kind = DirectKind::kError;
    d.payload.assign(kTooBig.begin(), kTooBig.end());
  } else {
    d.payload.assign(payload.begin(), payload.end());
  }
  SendTo(it->second, EncodeDirect(d));
}

Status Core::SendOrQueue(int64_t now, const PublicKey& to, std::vector<uint8_t> message,
                         uint64_t request_id) {
  if (!started_ || leaving_) return Status::Unavailable("node is not running");
  if (Link* link = LinkTo(to)) {
    link->last_used = now;
    SendTo(*link, std::move(message));
    return Status::OK();
  }
  Member* m = members_.Find(to);
  if (m == nullptr) return Status::NotFound("no member " + ShortId(to));
  if (m->state == MemberState::kDead || m->state == MemberState::kLeft) {
    return Status::Unavailable("member " + m->record->certificate.name + " is " +
                               std::string(MemberStateName(m->state)));
  }
  auto& queue = queued_[to];
  if (queue.size() >= config_.direct_queue_max) {
    return Status::ResourceExhausted("too many messages waiting for a link to " +
                                     m->record->certificate.name);
  }
  queue.push_back(Outgoing{std::move(message), request_id, now});
  const bool pending =
      std::any_of(dials_.begin(), dials_.end(), [&](auto& d) { return d.second.expect == to; });
  if (!pending) DialMember(now, *m, /*want_active=*/false);
  return Status::OK();
}

void Core::FlushQueued(int64_t now, Link& link) {
  auto it = queued_.find(link.peer.subject);
  if (it == queued_.end()) return;
  std::deque<Outgoing> queue = std::move(it->second);
  queued_.erase(it);
  link.last_used = now;
  for (auto& out : queue) SendTo(link, std::move(out.message));
}

// A dial to `to` that started at `dial_started` failed. Messages queued after it started
// never had a dial of their own: one started during a partition (or a pause) fails after the
// heal, while the member already shows alive again. Those get one more dial; the rest fail.
void Core::RetryOrFailQueued(int64_t now, const PublicKey& to, int64_t dial_started) {
  auto it = queued_.find(to);
  Member* m = members_.Find(to);
  if (it == queued_.end() || m == nullptr || m->state == MemberState::kDead ||
      m->state == MemberState::kLeft) {
    return FailQueued(to, "could not connect to " + ShortId(to));
  }
  std::deque<Outgoing> later;
  auto& queue = it->second;
  while (!queue.empty() && queue.back().queued_at > dial_started) {
    later.push_front(std::move(queue.back()));
    queue.pop_back();
  }
  FailQueued(to, "could not connect to " + ShortId(to));
  if (later.empty()) return;
  Count("direct_redials");
  queued_[to] = std::move(later);
  DialMember(now, *m, /*want_active=*/false);
}

void Core::FailQueued(const PublicKey& to, const std::string& why) {
  auto it = queued_.find(to);
  if (it == queued_.end()) return;
  std::deque<Outgoing> queue = std::move(it->second);
  queued_.erase(it);
  for (auto& out : queue) {
    if (out.request_id == 0) {
      Count("dropped.direct_unreachable");
      continue;
    }
    auto r = requests_.find(out.request_id);
    if (r == requests_.end()) continue;
    const uint64_t token = r->second.token;
    requests_.erase(r);
    host_->Replied(token, Status::Unavailable(why), {});
  }
}

void Core::RequestTick(int64_t now) {
  std::vector<uint64_t> expired;
  for (auto& [rid, r] : requests_) {
    if (now >= r.deadline) expired.push_back(rid);
  }
  for (uint64_t rid : expired) {
    auto r = requests_.find(rid);
    if (r == requests_.end()) continue;  // a reply or failure came in meanwhile
    const uint64_t token = r->second.token;
    const std::string name = ShortId(r->second.to);
    requests_.erase(r);
    Count("requests_timed_out");
    host_->Replied(token, Status::Unavailable("request to " + name + " timed out"), {});
  }
}

void Core::HandleDirect(int64_t now, Link& link, std::span<const uint8_t> message) {
  (void)now;
  Direct d;
  if (!DecodeDirect(message, &d).ok()) return ProtocolError(link, "malformed_direct");
  if (d.kind == DirectKind::kMessage || d.kind == DirectKind::kRequest) {
    if (!CheckEventName(d.event).ok()) return ProtocolError(link, "malformed_direct");
    Delivery out;
    out.kind = d.kind == DirectKind::kRequest ? Delivery::Kind::kRequest : Delivery::Kind::kMessage;
    out.from = link.peer.subject;
    out.from_name = link.peer.name;
    out.from_role = link.peer.role;
    out.event = d.event;
    out.payload = d.payload;
    out.link = link.id;
    out.request_id = d.request_id;
    Count("direct_delivered");
    host_->Deliver(out);
    return;
  }
  auto r = requests_.find(d.request_id);
  if (r == requests_.end() || r->second.to != link.peer.subject) {
    Count("dropped.unexpected_reply");
    return;
  }
  const uint64_t token = r->second.token;
  requests_.erase(r);
  if (d.kind == DirectKind::kError) {
    std::string why(d.payload.begin(), d.payload.end());
    if (why.size() > 200) why.resize(200);
    host_->Replied(token, Status::Unavailable("remote error from " + link.peer.name + ": " + why),
                   {});
  } else {
    host_->Replied(token, Status::OK(), d.payload);
  }
}

}  // namespace mesh::core
