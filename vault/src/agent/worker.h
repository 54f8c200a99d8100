// Worker: one thread that runs posted tasks in order, and a periodic tick between them. The
// vault agent does its store work here so fsyncs never block the mesh node's I/O thread.
// Thread-safe.
#ifndef VAULT_AGENT_WORKER_H_
#define VAULT_AGENT_WORKER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace vault::agent {

class Worker {
 public:
  // `on_tick` runs every `tick` (none when empty), on the worker thread. At most `max_tasks`
  // wait at once. A task that throws is reported to `on_error` and the worker goes on.
  Worker(std::chrono::milliseconds tick, std::function<void()> on_tick, size_t max_tasks,
         std::function<void(const std::string&)> on_error)
      : tick_(tick),
        on_tick_(std::move(on_tick)),
        max_tasks_(max_tasks),
        on_error_(std::move(on_error)),
        thread_([this] { Run(); }) {}
  ~Worker() { Stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues `task`; false when the queue is full or Stop has begun (the task is dropped).
  // Continuations of work already accepted pass `bounded` = false and are only refused by Stop.
  bool Post(std::function<void()> task, bool bounded = true) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || (bounded && tasks_.size() >= max_tasks_)) return false;
    tasks_.push_back(std::move(task));
    cv_.notify_one();
    return true;
  }

  // Runs the tasks already queued, then joins the thread. Idempotent; not from a task.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  bool InWorker() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Run() {
    using Clock = std::chrono::steady_clock;
    auto next_tick = Clock::now() + tick_;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const auto ready = [this] { return stopping_ || !tasks_.empty(); };
      if (on_tick_) {
        cv_.wait_until(lock, next_tick, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (stopping_ && tasks_.empty()) return;
      if (on_tick_ && Clock::now() >= next_tick) {
        next_tick = Clock::now() + tick_;
        lock.unlock();
        Guarded(on_tick_);
        lock.lock();
        continue;
      }
      if (tasks_.empty()) continue;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      Guarded(task);
      lock.lock();
    }
  }

  // Remote input is checked before use, but a missed case must not end the process.
  void Guarded(const std::function<void()>& task) {
    try {
      task();
    } catch (const std::exception& e) {
      if (on_error_) on_error_(e.what());
    } catch (...) {
      if (on_error_) on_error_("unknown exception");
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  const std::chrono::milliseconds tick_;
  const std::function<void()> on_tick_;
  const size_t max_tasks_;
  const std::function<void(const std::string&)> on_error_;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace vault::agent

#endif  // VAULT_AGENT_WORKER_H_
