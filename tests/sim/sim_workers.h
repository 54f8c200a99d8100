// WorkerPool: runs one job on N workers at once, again and again (the simulator runs three
// short jobs per window, thousands of windows a second): worker 0 is the calling thread,
// workers 1..N-1 are threads kept for the pool's life. Run returns when every worker has
// finished, and what the workers wrote is then visible to the caller; the first exception a
// worker threw is thrown there again. Waiting spins a while before it sleeps: a handoff
// through the kernel alone costs more than a small window.
#ifndef MESHVAULT_TESTS_SIM_SIM_WORKERS_H_
#define MESHVAULT_TESTS_SIM_SIM_WORKERS_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mesh::sim {

class WorkerPool {
 public:
  // `job(w)` runs on worker w in [0, workers) for each Run.
  WorkerPool(size_t workers, std::function<void(size_t)> job) : job_(std::move(job)) {
    for (size_t w = 1; w < workers; ++w) threads_.emplace_back([this, w] { Loop(w); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stop_.store(true);
      round_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return threads_.size() + 1; }

  void Run() {
    busy_.store(threads_.size(), std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      round_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    std::exception_ptr error;
    try {
      job_(0);
    } catch (...) {
      error = std::current_exception();
    }
    Await([&] { return busy_.load(std::memory_order_acquire) == 0; });
    if (!error) error = error_;  // every worker is done: no lock needed
    error_ = nullptr;
    if (error) std::rethrow_exception(error);
  }

 private:
  static constexpr int kSpins = 2000;  // some tens of µs of polling before sleeping

  // Polls `ready` for a while, then sleeps on `wake_` until it holds.
  template <typename Ready>
  void Await(Ready ready) {
    for (int i = 0; i < kSpins; ++i) {
      if (ready()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();  // a spinning core yields its pipeline (and a sibling thread)
#endif
    }
    std::unique_lock lock(mu_);
    wake_.wait(lock, ready);
  }

  void Loop(size_t w) {
    uint64_t seen = 0;
    for (;;) {
      Await([&] { return round_.load(std::memory_order_acquire) != seen; });
      seen = round_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      try {
        job_(w);
      } catch (...) {
        std::lock_guard lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
      if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mu_);  // the caller may be about to sleep
        wake_.notify_all();
      }
    }
  }

  std::function<void(size_t)> job_;
  std::mutex mu_;
  std::condition_variable wake_;  // a new round, or the last worker done
  std::atomic<uint64_t> round_{0};
  std::atomic<size_t> busy_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;          // guarded by mu_ while workers run
  std::vector<std::thread> threads_;  // last: started once the rest is ready
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_WORKERS_H_
