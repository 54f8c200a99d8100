// Metrics of the client operations an entry node serves (put, get): counts by outcome and a
// latency histogram, in relaxed atomics so /metrics reads them from any thread; and
// TrackedResponder, a Responder that reports its one answer to such a metric.
#ifndef VAULT_AGENT_AGENT_METRICS_H_
#define VAULT_AGENT_AGENT_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "mesh/node.h"
#include "vault/agent.h"

namespace vault::agent {

enum class Outcome { kOk, kDenied, kNotFound, kConflict, kUnavailable, kError, kAbandoned };
inline constexpr size_t kOutcomeCount = 7;
std::string_view OutcomeName(Outcome outcome);  // "ok", "denied", "not_found", ...
// An error reply's outcome, from the start of its message ("permission denied: ...").
Outcome ClassifyError(std::string_view message);

class OpMetrics {
 public:
  void Record(Outcome outcome, double seconds);
  void Count(Outcome outcome) { outcomes_[Index(outcome)].fetch_add(1, kRelaxed); }
  // Every outcome (zeros included) and the histogram.
  void Snapshot(std::map<std::string, uint64_t>* outcomes, LatencyHistogram* latency) const;

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  static size_t Index(Outcome o) { return static_cast<size_t>(o); }
  std::array<std::atomic<uint64_t>, kOutcomeCount> outcomes_{};
  std::array<std::atomic<uint64_t>, LatencyHistogram::kBuckets + 1> buckets_{};  // last: +Inf
  std::atomic<uint64_t> sum_ns_{0};
};

// Answers like mesh::Responder (once; copies share the answer) and then calls `done` with
// the outcome (kOk for a reply unless given), whether it replied, its key (set_key, e.g. a
// put's manifest id) and the seconds since it was made. Use on the agent's worker thread.
class TrackedResponder {
 public:
  using Done = std::function<void(Outcome, bool replied, const std::string& key, double seconds)>;
  TrackedResponder(mesh::Responder responder, Done done);
  void Reply(const mesh::Json& data, Outcome outcome = Outcome::kOk) const;
  void Error(const std::string& message) const;
  void set_key(std::string key) const { state_->key = std::move(key); }

 private:
  struct State {
    mesh::Responder responder;
    Done done;
    std::chrono::steady_clock::time_point start;
    std::string key;
    bool answered = false;
  };
  void Finish(Outcome outcome, bool replied) const;
  std::shared_ptr<State> state_;
};

}  // namespace vault::agent

#endif  // VAULT_AGENT_AGENT_METRICS_H_
