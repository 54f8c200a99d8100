// VerifierPool: worker threads that check gossip signatures (Ed25519) off a node's I/O
// thread. Verify queues a job for a worker, which hands the result to `done` on its own
// thread; when the queue is full the caller checks the signature itself instead, so a
// saturated pool slows its caller (and the links it reads) rather than growing.
// Thread-safe, except that Stop must not run concurrently with itself; `done` must be
// thread-safe too.
#ifndef MESH_VERIFIER_POOL_H_
#define MESH_VERIFIER_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/core.h"

namespace mesh {

class VerifierPool {
 public:
  using Done = std::function<void(uint64_t token, bool ok)>;

  // `threads` workers (0: every job is checked by the caller), `max_queued` jobs waiting.
  VerifierPool(size_t threads, size_t max_queued, Done done);
  ~VerifierPool() { Stop(); }
  VerifierPool(const VerifierPool&) = delete;
  VerifierPool& operator=(const VerifierPool&) = delete;

  // Queues the job and returns nothing (a worker answers through `done`), or, with no
  // worker or a full queue, checks it here and returns the result. After Stop, jobs are
  // dropped: nothing is returned and nothing is answered.
  std::optional<bool> Verify(core::VerifyJob job);
  // Drops the queued jobs and joins the workers: `done` is not called once Stop returns.
  void Stop();
  size_t queued() const;

 private:
  void Work();

  const size_t max_queued_;
  const Done done_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<core::VerifyJob> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mesh

#endif  // MESH_VERIFIER_POOL_H_
