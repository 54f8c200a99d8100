// The entry node's put/get metrics: outcome classification of error replies, cumulative
// histogram buckets, and TrackedResponder recording once.
#include "agent/agent_metrics.h"

#include <catch2/catch.hpp>

using vault::LatencyHistogram;
using vault::agent::ClassifyError;
using vault::agent::OpMetrics;
using vault::agent::Outcome;
using vault::agent::TrackedResponder;

TEST_CASE("agent metrics: error replies are classified by their message", "[agent_metrics]") {
  CHECK(ClassifyError("permission denied: bob is not the owner") == Outcome::kDenied);
  CHECK(ClassifyError("node3: permission denied: replayed request") == Outcome::kDenied);
  CHECK(ClassifyError("no secret named \"x\"") == Outcome::kNotFound);
  CHECK(ClassifyError("\"x\" was deleted") == Outcome::kNotFound);
  CHECK(ClassifyError("version 3 of \"x\" is not available; the current version is 4") ==
        Outcome::kNotFound);
  CHECK(ClassifyError("conflict: version 2 of \"x\" was committed by another put") ==
        Outcome::kConflict);
  CHECK(ClassifyError("stale version 1 of \"x\": the current one is 2") == Outcome::kConflict);
  CHECK(ClassifyError("node2: request to 1a2b timed out") == Outcome::kUnavailable);
  CHECK(ClassifyError("vault agent busy or stopping; try again") == Outcome::kUnavailable);
  CHECK(ClassifyError("bad holder id") == Outcome::kError);
}

TEST_CASE("agent metrics: histogram buckets are cumulative and end with the count",
          "[agent_metrics]") {
  OpMetrics m;
  m.Record(Outcome::kOk, 0.0005);   // first bucket
  m.Record(Outcome::kOk, 0.02);     // le 0.025
  m.Record(Outcome::kDenied, 0.3);  // le 0.5
  m.Record(Outcome::kError, 60);    // only +Inf
  std::map<std::string, uint64_t> outcomes;
  LatencyHistogram h;
  m.Snapshot(&outcomes, &h);
  CHECK(outcomes.at("ok") == 2);
  CHECK(outcomes.at("denied") == 1);
  CHECK(outcomes.at("error") == 1);
  CHECK(outcomes.at("abandoned") == 0);
  CHECK(h.count == 4);
  CHECK(h.buckets[0] == 1);                               // 0.001
  CHECK(h.buckets[4] == 2);                               // 0.025
  CHECK(h.buckets[8] == 3);                               // 0.5
  CHECK(h.buckets[LatencyHistogram::kBuckets - 1] == 3);  // 5 s
  for (size_t i = 1; i < LatencyHistogram::kBuckets; ++i) CHECK(h.buckets[i] >= h.buckets[i - 1]);
  CHECK(h.sum_seconds == Approx(60.3205).epsilon(1e-6));
}

TEST_CASE("agent metrics: a TrackedResponder reports its first answer only", "[agent_metrics]") {
  int calls = 0;
  Outcome seen = Outcome::kOk;
  std::string key;
  TrackedResponder r(mesh::Responder(),
                     [&](Outcome o, bool replied, const std::string& k, double s) {
                       ++calls;
                       seen = o;
                       key = k;
                       CHECK(!replied);
                       CHECK(s >= 0);
                     });
  r.set_key("manifest-id");
  const TrackedResponder copy = r;
  copy.Error("permission denied: no");
  r.Reply({{"ok", true}});
  CHECK(calls == 1);
  CHECK(seen == Outcome::kDenied);
  CHECK(key == "manifest-id");
}
