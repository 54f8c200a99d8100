// SimNetwork: the event queues and the windows that run them, node by node, on the workers
// (sim_network.h says how a window works and why a run does not depend on the thread count).
#include <algorithm>
#include <stdexcept>

#include "sim_network.h"
#include "sim_node.h"
#include "sim_workers.h"

namespace mesh::sim {
namespace {

// The event queues are min-heaps on (time, seq): std::*_heap keep the greatest first, so the
// comparator says which of two events runs later.
struct Later {
  bool operator()(const auto& a, const auto& b) const {
    return a.time > b.time || (a.time == b.time && a.seq > b.seq);
  }
};

template <typename Event>
void HeapPush(std::vector<Event>& q, Event e) {
  q.push_back(std::move(e));
  std::push_heap(q.begin(), q.end(), Later());
}

template <typename Event>
Event HeapPop(std::vector<Event>& q) {
  std::pop_heap(q.begin(), q.end(), Later());
  Event e = std::move(q.back());
  q.pop_back();
  return e;
}

// Events a node makes for itself inside a window come after its queued ones at that time.
constexpr uint64_t kLocalSeq = uint64_t{1} << 63;

}  // namespace

thread_local SimNetwork::Worker* SimNetwork::current_ = nullptr;

void SimNetwork::Tally::AddTo(Tally& sum) const {
  sum.messages_sent += messages_sent;
  sum.bytes_sent += bytes_sent;
  sum.event_gossip_sent += event_gossip_sent;
  sum.messages_dropped += messages_dropped;
  for (size_t k = 0; k < published.size(); ++k) sum.published[k] += published[k];
  for (size_t k = 0; k < claims_published.size(); ++k) {
    sum.claims_published[k] += claims_published[k];
  }
  for (size_t k = 0; k < sent_by_type.size(); ++k) sum.sent_by_type[k] += sent_by_type[k];
  sum.events_run += events_run;
}

int64_t SimNetwork::Now() const { return current_ != nullptr ? current_->now : now_; }

SimNetwork::Tally& SimNetwork::Counts() { return current_ != nullptr ? current_->tally : tally_; }

size_t SimNetwork::events_queued() const {
  size_t n = net_queue_.size();
  for (const auto& w : workers_) n += w->queue.size();
  return n;
}

// --- Event queue -------------------------------------------------------------------------

void SimNetwork::Push(Event e) {
  if (Worker* w = current_) {
    // Inside a window: a node's own events before its end join its queue; the rest wait for
    // the end of the window (a message takes at least the lookahead).
    e.time = std::max(e.time, w->now);
    Node& n = N(w->node);
    if (e.time >= window_end_) return n.outbox.push_back(std::move(e));
    if (e.node != static_cast<int64_t>(w->node)) {
      throw std::logic_error("sim: an event for another node inside the lookahead");
    }
    e.seq = kLocalSeq + w->local_seq++;
    return HeapPush(n.window, std::move(e));
  }
  if (in_hooks_) throw std::logic_error("sim: an OnDeliver hook may only observe");
  e.time = std::max(e.time, now_);
  e.seq = next_seq_++;
  std::vector<Event>& q = QueueOf(e.node);  // before e moves into the heap
  HeapPush(q, std::move(e));
}

size_t SimNetwork::WorkerOf(int64_t node) const {
  return node < 0 ? 0 : static_cast<size_t>(node) % workers_.size();
}

std::vector<SimNetwork::Event>& SimNetwork::QueueOf(int64_t node) {
  return node < 0 ? net_queue_ : workers_[WorkerOf(node)]->queue;
}

void SimNetwork::AtNet(int64_t t, std::function<void()> fn) {
  Event e;
  e.time = t;
  e.fn = std::move(fn);
  Push(std::move(e));
}

void SimNetwork::AtNode(int64_t t, size_t i, std::function<void(core::Core&)> call) {
  Event e;
  e.time = t;
  e.node = static_cast<int64_t>(i);
  e.gen = N(i).gen;
  e.call = std::move(call);
  Push(std::move(e));
}

void SimNetwork::Dispatch(Event e) {
  if (e.node < 0) {
    ++Counts().events_run;
    e.fn();
    return;
  }
  Node& n = N(static_cast<size_t>(e.node));
  if (n.crashed || e.gen != n.gen) return;
  if (n.paused) {
    n.held.push_back(std::move(e));
    return;
  }
  ++Counts().events_run;
  if (e.call) return RunOn(static_cast<size_t>(e.node), e.call);
  RunOn(static_cast<size_t>(e.node),
        [&](core::Core& c) { Receive(c, e.link, std::move(e.message)); });
}

void SimNetwork::Receive(core::Core& c, core::LinkId link, std::vector<uint8_t> message) {
  LinkEnd* p = links_.Find(link);
  if (p == nullptr || p->closed || p->down || p->cut) {
    ++Counts().messages_dropped;
    return;
  }
  c.OnMessage(Now(), link, std::move(message));
}

// One call into node i's Core, then its Tick timer follows Core::NextWakeup.
void SimNetwork::RunOn(size_t i, const std::function<void(core::Core&)>& call) {
  Node& n = N(i);
  call(*n.core);
  if (!n.started || n.crashed) return;
  const int64_t wake = n.core->NextWakeup();
  if (wake == n.tick_at) return;
  n.tick_at = wake;
  const uint64_t token = ++n.tick_token;
  AtNode(wake, i, [this, i, token](core::Core& c) {
    if (N(i).tick_token == token) c.Tick(Now());
  });
}

void SimNetwork::RunTo(int64_t t) {
  while (NextTime() <= t) RunWindow(t);
  now_ = std::max(now_, t);
}

int64_t SimNetwork::NextTime() const {
  int64_t next = net_queue_.empty() ? INT64_MAX : net_queue_.front().time;
  for (const auto& w : workers_) {
    if (!w->queue.empty()) next = std::min(next, w->queue.front().time);
  }
  return next;
}

// One window from the earliest event. The network events at its start run first, alone.
// Then each worker takes its nodes' events before the window's end (the lookahead, the next
// network event, t + 1); the workers run them node by node; then each queues what the
// window's nodes sent to its own nodes, numbered in node order.
void SimNetwork::RunWindow(int64_t t) {
  const int64_t start = NextTime();
  now_ = start;
  while (!net_queue_.empty() && net_queue_.front().time <= start) Dispatch(HeapPop(net_queue_));
  window_end_ = std::min(start + options_.latency_ms, t + 1);
  if (!net_queue_.empty()) window_end_ = std::min(window_end_, net_queue_.front().time);
  window_end_ = std::max(window_end_, start + 1);
  RunJob(Job::kCollect, last_touched_);  // likely about as many as the last window
  for (const auto& w : workers_) {
    const size_t mid = touched_.size();
    touched_.insert(touched_.end(), w->touched.begin(), w->touched.end());
    std::inplace_merge(touched_.begin(), touched_.begin() + static_cast<ptrdiff_t>(mid),
                       touched_.end());
  }
  next_to_run_.store(0, std::memory_order_relaxed);
  RunJob(Job::kRun, touched_.size());
  RunJob(Job::kQueue, touched_.size());
  EndWindow();
}

// For a window of few nodes the calling thread does every worker's part in turn: the same
// run, without the handoffs.
void SimNetwork::RunJob(Job job, size_t nodes) {
  job_ = job;
  if (pool_ && nodes >= kParallelNodes) return pool_->Run();
  for (size_t w = 0; w < workers_.size(); ++w) WorkerJob(w);
}

void SimNetwork::WorkerJob(size_t w) {
  Worker& worker = *workers_[w];
  struct Current {  // set while the job runs, even if it throws
    explicit Current(Worker* w) { current_ = w; }
    ~Current() { current_ = nullptr; }
    Current(const Current&) = delete;
    Current& operator=(const Current&) = delete;
  } running(&worker);
  switch (job_) {
    case Job::kCollect:
      Collect(worker);
      break;
    case Job::kRun:
      RunNodes(worker);
      break;
    case Job::kQueue:
      QueueSent(worker, w);
      break;
  }
}

// The worker's events before the window's end, into their nodes' queues.
void SimNetwork::Collect(Worker& worker) {
  worker.touched.clear();
  while (!worker.queue.empty() && worker.queue.front().time < window_end_) {
    Event e = HeapPop(worker.queue);
    Node& n = N(static_cast<size_t>(e.node));
    if (n.window.empty()) worker.touched.push_back(static_cast<size_t>(e.node));
    n.window.push_back(std::move(e));  // popped in order: already a heap
  }
  std::sort(worker.touched.begin(), worker.touched.end());
}

// The window's nodes, each taken by whichever worker is free (a node's events do not depend
// on which worker runs them), each node's events in order.
void SimNetwork::RunNodes(Worker& worker) {
  for (;;) {
    const size_t k = next_to_run_.fetch_add(1, std::memory_order_relaxed);
    if (k >= touched_.size()) break;
    const size_t i = touched_[k];
    worker.node = i;
    worker.local_seq = 0;
    std::vector<Event>& q = N(i).window;
    while (!q.empty()) {
      Event e = HeapPop(q);
      worker.now = e.time;
      Dispatch(std::move(e));
    }
  }
}

// Every worker walks all the window's sent events in node order and numbers them alike;
// each takes those for its own nodes (worker 0 the network's). Only `node` of the others'
// is read.
void SimNetwork::QueueSent(Worker& worker, size_t w) {
  uint64_t seq = next_seq_;
  for (size_t i : touched_) {
    for (Event& e : N(i).outbox) {
      if (WorkerOf(e.node) == w) {
        e.seq = seq;
        std::vector<Event>& q = e.node < 0 ? net_queue_ : worker.queue;
        HeapPush(q, std::move(e));
      }
      ++seq;
    }
  }
  if (w == 0) sent_in_window_ = seq - next_seq_;
}

// After a window, in node order: ends down at both sides are dropped, and the false failures
// and hook deliveries are recorded.
void SimNetwork::EndWindow() {
  next_seq_ += sent_in_window_;
  for (const auto& w : workers_) {
    w->tally.AddTo(tally_);
    w->tally = Tally{};
  }
  for (size_t i : touched_) {
    Node& n = N(i);
    n.outbox.clear();
    for (core::LinkId id : n.went_down) {
      LinkEnd* end = links_.Find(id);
      if (end == nullptr) continue;
      LinkEnd* peer = links_.Find(end->peer);
      if (peer != nullptr && peer->down) {
        links_.Erase(end->peer);
        links_.Erase(id);
      }
    }
    n.went_down.clear();
    for (size_t j : n.false_marks) {
      if (dead_marks_.size() <= j) dead_marks_.resize(nodes_.size(), 0);
      ++dead_marks_[j];
    }
    n.false_marks.clear();
    in_hooks_ = true;
    for (Node::Heard& h : n.heard) {
      now_ = h.time;  // what the hook sees as the delivery time
      h.delivery.payload = std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(h.payload.data()), h.payload.size());
      if (deliver_hook_) deliver_hook_(i, h.delivery);
    }
    in_hooks_ = false;
    n.heard.clear();
  }
  last_touched_ = touched_.size();
  touched_.clear();
  now_ = window_end_ - 1;
}

bool SimNetwork::RunUntil(const std::function<bool()>& done, int64_t deadline) {
  if (done()) return true;
  while (now_ < deadline) {
    RunTo(std::min(deadline, now_ + options_.check_interval_ms));
    if (done()) return true;
  }
  return false;
}

void SimNetwork::Resume(size_t i) {
  Node& n = N(i);
  if (!n.paused || now_ < n.pause_until) return;
  n.paused = false;
  // A network event, so it starts a window: the held events run in it, at this time, in
  // the order they arrived and ahead of everything else at this time (their sequences come
  // from a range below all others).
  for (Event& e : n.held) {
    e.time = now_;
    e.seq = next_held_seq_++;
    HeapPush(QueueOf(static_cast<int64_t>(i)), std::move(e));
  }
  n.held.clear();
}

}  // namespace mesh::sim
