// VerifierPool: every job answered once with its real result; a full queue makes the caller
// check; Stop drops what is queued, joins the workers, and nothing is answered after it.
#include "verifier_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <mutex>

#include "cluster.h"

namespace mesh {
namespace {

// A job for a real envelope; `good` false flips a signature bit.
core::VerifyJob Job(const SigningKey& key, uint64_t token, bool good) {
  const std::vector<uint8_t> body = {1, 2, 3};
  auto env = core::GossipEnvelope::Make(key, core::GossipKind::kEvent, token, 0, body);
  if (!good) env.encoded.back() ^= 1;
  return {token, std::make_shared<const core::GossipEnvelope>(std::move(env))};
}

}  // namespace

TEST_CASE("every job gets one answer with its real result, from a worker or the caller") {
  const SigningKey key = SigningKey::Generate();
  std::mutex mu;
  std::map<uint64_t, std::vector<bool>> answers;
  auto record = [&](uint64_t token, bool ok) {
    std::lock_guard lock(mu);
    answers[token].push_back(ok);
  };
  VerifierPool pool(2, 4, record);
  constexpr uint64_t kJobs = 200;
  for (uint64_t t = 1; t <= kJobs; ++t) {
    if (auto ok = pool.Verify(Job(key, t, t % 3 != 0))) record(t, *ok);
  }
  REQUIRE(testing::WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return answers.size() == kJobs;
      },
      testing::milliseconds(10000)));
  pool.Stop();
  for (auto& [token, results] : answers) {
    INFO("token " << token);
    REQUIRE(results.size() == 1);
    CHECK(results[0] == (token % 3 != 0));
  }
}

TEST_CASE("a pool without workers has the caller check every job") {
  const SigningKey key = SigningKey::Generate();
  VerifierPool pool(0, 0, [](uint64_t, bool) { FAIL("no worker should answer"); });
  CHECK(pool.Verify(Job(key, 1, true)) == std::optional<bool>(true));
  CHECK(pool.Verify(Job(key, 2, false)) == std::optional<bool>(false));
}

TEST_CASE("a full queue makes the caller check; Stop drops the queue and joins the worker") {
  const SigningKey key = SigningKey::Generate();
  std::atomic<int> answered{0};
  std::atomic<bool> entered{false};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  VerifierPool pool(1, 2, [&](uint64_t, bool) {
    entered = true;
    released.wait();  // the only worker stays busy with the first job
    ++answered;
  });
  CHECK_FALSE(pool.Verify(Job(key, 1, true)).has_value());
  REQUIRE(testing::WaitFor([&] { return entered.load(); }, testing::milliseconds(5000)));
  CHECK_FALSE(pool.Verify(Job(key, 2, true)).has_value());  // queued
  CHECK_FALSE(pool.Verify(Job(key, 3, true)).has_value());  // queued
  CHECK(pool.queued() == 2);
  CHECK(pool.Verify(Job(key, 4, false)) == std::optional<bool>(false));  // full: checked here

  std::thread stopper([&] { pool.Stop(); });
  // Stop empties the queue first, then waits for the busy worker.
  REQUIRE(testing::WaitFor([&] { return pool.queued() == 0; }, testing::milliseconds(5000)));
  release.set_value();
  stopper.join();
  CHECK(answered == 1);                                     // jobs 2 and 3 were dropped
  CHECK_FALSE(pool.Verify(Job(key, 5, true)).has_value());  // after Stop: dropped
  CHECK(answered == 1);
}

}  // namespace mesh
