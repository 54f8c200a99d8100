#include "core/counters.h"

namespace mesh::core {
namespace {

// Registered up front, so /metrics shows them (as 0) before the first event. Other names
// (rarer drop reasons) appear when first counted. docs/mesh.md "Counters" explains each.
constexpr std::string_view kWellKnown[] = {
    "gossip_published",
    "gossip_in_messages",
    "gossip_in_bytes",
    "gossip_out_messages",
    "gossip_out_bytes",
    "gossip_duplicates",
    "gossip_verified_inline",
    "gossip_hop_limit_reached",
    "tree_prunes_sent",
    "tree_prunes_in",
    "tree_ihave_ids_out",
    "tree_ihave_ids_in",
    "tree_grafts_sent",
    "tree_grafts_in",
    "tree_graft_unknown",
    "tree_graft_fallback",
    "tree_missing_given_up",
    "tree_optimized",
    "sync_pulled",
    "broadcasts_delivered",
    "direct_delivered",
    "unknown_events",
    "handler_exceptions",
    "requests_timed_out",
    "refutations",
    "probes_failed",
    "suspicions_confirmed",
    "members_failed",
    "members_left",
    "members_reaped",
    "links_lost",
    "links_trimmed",
    "links_closed_protocol_error",
    "links_closed.send_queue_full",
    "refused.too_many_handshakes",
    "refused.too_many_links",
    "handshake_failures.timeout",
    "handshake_failures.websocket",
    "handshake_failures.decrypt",
    "handshake_failures.other_ca",
    "handshake_failures.expired",
    "dropped.bad_signature",
    "dropped.bad_record",
    "dropped.outside_replay_window",
    "dropped.unknown_origin",
    "dropped.verify_backlog",
    "dropped.direct_unreachable",
    "dropped.oversized_frame",
};

}  // namespace

Counters::Counters() {
  for (std::string_view name : kWellKnown) Register(name);
}

size_t Counters::Register(std::string_view name) {
  const size_t n = size_.load(std::memory_order_relaxed);
  if (n == kMaxNames) return n - 1;
  if (n == kMaxNames - 1) {  // the last slot counts every name past the others
    slots_[n].name = "counters_overflow";
    size_.store(n + 1, std::memory_order_release);
    return n;
  }
  slots_[n].name = std::string(name);
  index_.emplace(std::string(name), n);
  size_.store(n + 1, std::memory_order_release);  // publishes the name to readers
  return n;
}

uint64_t Counters::Get(std::string_view name) const {
  const size_t n = size_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    if (slots_[i].name == name) return slots_[i].value.load(std::memory_order_relaxed);
  }
  return 0;
}

std::map<std::string, uint64_t> Counters::Snapshot(bool nonzero_only) const {
  std::map<std::string, uint64_t> out;
  const size_t n = size_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t v = slots_[i].value.load(std::memory_order_relaxed);
    if (v > 0 || !nonzero_only) out[slots_[i].name] += v;
  }
  return out;
}

}  // namespace mesh::core
