#include "agent/agent_metrics.h"

namespace vault::agent {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kDenied:
      return "denied";
    case Outcome::kNotFound:
      return "not_found";
    case Outcome::kConflict:
      return "conflict";
    case Outcome::kUnavailable:
      return "unavailable";
    case Outcome::kError:
      return "error";
    case Outcome::kAbandoned:
      return "abandoned";
  }
  return "error";
}

Outcome ClassifyError(std::string_view message) {
  const auto starts = [&](std::string_view p) { return message.substr(0, p.size()) == p; };
  const auto has = [&](std::string_view p) { return message.find(p) != std::string_view::npos; };
  // Entry nodes pass holders' errors on as "<holder>: <message>".
  if (has("permission denied")) return Outcome::kDenied;
  if (starts("conflict") || starts("stale version")) return Outcome::kConflict;
  if (starts("no secret named") || has("\" was deleted") || has("is not available")) {
    return Outcome::kNotFound;
  }
  if (has("busy") || has("unreachable") || has("timed out")) return Outcome::kUnavailable;
  return Outcome::kError;
}

void OpMetrics::Record(Outcome outcome, double seconds) {
  Count(outcome);
  size_t bucket = 0;
  while (bucket < LatencyHistogram::kBuckets && seconds > LatencyHistogram::kBounds[bucket]) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, kRelaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9), kRelaxed);
}

void OpMetrics::Snapshot(std::map<std::string, uint64_t>* outcomes,
                         LatencyHistogram* latency) const {
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    (*outcomes)[std::string(OutcomeName(static_cast<Outcome>(i)))] = outcomes_[i].load(kRelaxed);
  }
  // Cumulative, as Prometheus wants; the count is the +Inf bucket's.
  uint64_t total = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    total += buckets_[i].load(kRelaxed);
    latency->buckets[i] = total;
  }
  total += buckets_[LatencyHistogram::kBuckets].load(kRelaxed);
  latency->count = total;
  latency->sum_seconds = static_cast<double>(sum_ns_.load(kRelaxed)) / 1e9;
}

TrackedResponder::TrackedResponder(mesh::Responder responder, Done done)
    : state_(std::make_shared<State>()) {
  state_->responder = std::move(responder);
  state_->done = std::move(done);
  state_->start = std::chrono::steady_clock::now();
}

// Recorded before the answer leaves, so a client that got it sees it counted.
void TrackedResponder::Reply(const mesh::Json& data, Outcome outcome) const {
  Finish(outcome, /*replied=*/true);
  state_->responder.Reply(data);
}

void TrackedResponder::Error(const std::string& message) const {
  Finish(ClassifyError(message), /*replied=*/false);
  state_->responder.Error(message);
}

void TrackedResponder::Finish(Outcome outcome, bool replied) const {
  if (state_->answered) return;
  state_->answered = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state_->start).count();
  if (state_->done) state_->done(outcome, replied, state_->key, seconds);
}

}  // namespace vault::agent
