#include "verifier_pool.h"

namespace mesh {

VerifierPool::VerifierPool(size_t threads, size_t max_queued, Done done)
    : max_queued_(max_queued), done_(std::move(done)) {
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

std::optional<bool> VerifierPool::Verify(core::VerifyJob job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return std::nullopt;
    if (!workers_.empty() && queue_.size() < max_queued_) {
      queue_.push_back(std::move(job));
      ready_.notify_one();
      return std::nullopt;
    }
  }
  return job.Verify();  // no room: the caller does the work (backpressure)
}

void VerifierPool::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

size_t VerifierPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void VerifierPool::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    core::VerifyJob job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    done_(job.token, job.Verify());
    job = {};  // the envelope goes before the lock is taken again
    lock.lock();
  }
}

}  // namespace mesh
