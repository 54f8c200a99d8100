// WorkerPool: runs one job on N workers at once, again and again (the simulator's windows):
// worker 0 is the calling thread, workers 1..N-1 are threads kept for the pool's life. Run
// returns when every worker has finished; what a worker wrote is then visible to the caller.
#ifndef MESHVAULT_TESTS_SIM_SIM_WORKERS_H_
#define MESHVAULT_TESTS_SIM_SIM_WORKERS_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return threads_.size() + 1; }

  void Run() {
    {
      std::lock_guard lock(mu_);
      ++round_;
      busy_ = threads_.size();
    }
    start_.notify_all();
    job_(0);
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
  }

 private:
  void Loop(size_t w) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        start_.wait(lock, [&] { return stop_ || round_ != seen; });
        if (stop_) return;
        seen = round_;
      }
      job_(w);
      std::lock_guard lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  std::function<void(size_t)> job_;
  std::mutex mu_;
  std::condition_variable start_;
  std::condition_variable done_;
  uint64_t round_ = 0;
  size_t busy_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;  // last: started once the rest is ready
};

}  // namespace mesh::sim

#endif  // MESHVAULT_TESTS_SIM_SIM_WORKERS_H_
