// WorkerPool (sim_workers.h): every worker runs each round's job once, the caller sees what
// they wrote, and an exception on any worker reaches the caller without ending the pool.
#include "sim_workers.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

namespace mesh::sim {

TEST_CASE("worker pool: each round runs the job once on every worker") {
  std::vector<int> runs(3, 0);
  WorkerPool pool(3, [&](size_t w) { ++runs[w]; });
  REQUIRE(pool.size() == 3);
  for (int round = 1; round <= 1000; ++round) {
    pool.Run();
    REQUIRE(runs == std::vector<int>{round, round, round});
  }
}

TEST_CASE("worker pool: a worker's exception is thrown by Run, and the pool runs on") {
  int round = 0;
  std::vector<int> runs(2, 0);
  WorkerPool pool(2, [&](size_t w) {
    ++runs[w];
    if (round == 1 && w == 1) throw std::runtime_error("worker 1 failed");
  });
  pool.Run();
  round = 1;
  CHECK_THROWS_WITH(pool.Run(), "worker 1 failed");
  round = 2;
  pool.Run();
  CHECK(runs == std::vector<int>{3, 3});
}

}  // namespace mesh::sim
