// Counters: a node's named event counters and gauges as relaxed atomics, so any thread can
// read them (the agent's /metrics and health) without waiting for the node's I/O thread.
// Names are registered on first use ("gossip_in_messages", "dropped.<reason>", ...); the
// well-known ones are registered up front so they read as 0 before anything happened.
// Thread-safety: Add, Set and Register from one thread at a time (the node's strand, or the
// simulator's loop); Get and Snapshot from any thread.
#ifndef MESH_CORE_COUNTERS_H_
#define MESH_CORE_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mesh::core {

class Counters {
 public:
  // Room for this many names; any further name is counted under "counters_overflow".
  static constexpr size_t kMaxNames = 256;

  Counters();
  Counters(const Counters&) = delete;
  Counters& operator=(const Counters&) = delete;

  void Add(std::string_view name, uint64_t n = 1) {
    slots_[Index(name)].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Get(std::string_view name) const;
  // Every registered name with its value; with `nonzero_only`, only those above zero.
  std::map<std::string, uint64_t> Snapshot(bool nonzero_only) const;

  // Gauges the node refreshes on its timer (see NodeImpl); read with relaxed loads.
  std::atomic<uint64_t> members_alive{0}, members_suspect{0}, members_failed{0}, members_left{0};
  std::atomic<uint64_t> active_links{0}, links{0};
  std::atomic<int64_t> last_tick_steady_ms{-1};  // steady-clock ms of the last core tick

 private:
  struct Slot {
    std::string name;  // written once, before the slot is published through size_
    std::atomic<uint64_t> value{0};
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  size_t Index(std::string_view name) {
    if (auto it = index_.find(name); it != index_.end()) return it->second;
    return Register(name);
  }
  size_t Register(std::string_view name);

  std::array<Slot, kMaxNames> slots_;
  std::atomic<size_t> size_{0};                                           // published slots
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;  // writer only
};

}  // namespace mesh::core

#endif  // MESH_CORE_COUNTERS_H_
