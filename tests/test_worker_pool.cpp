// The runtime's thread pool (src/runtime/worker_pool.h): every task runs once, on a
// thread the pool names, whatever the thread count; a task's exception reaches the
// caller and leaves the pool usable.
#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "runtime/worker_pool.h"

using sonify::WorkerPool;

TEST_CASE("worker pool: each task runs exactly once on one of the pool's threads") {
  for (int threads : {1, 2, 3, 5}) {
    WorkerPool pool(threads);
    CHECK(pool.threads() == threads);
    for (std::size_t count : {0, 1, 2, 7, 64, 1000}) {
      std::vector<std::atomic<int>> runs(count);
      std::atomic<int> bad_worker{0};
      pool.run(count, [&](std::size_t i, int worker) {
        ++runs[i];
        if (worker < 0 || worker >= threads) ++bad_worker;
      });
      int wrong = 0;
      for (auto& r : runs) wrong += r.load() != 1;
      CHECK(wrong == 0);
      CHECK(bad_worker == 0);
    }
  }
}

TEST_CASE("worker pool: many short runs in a row finish (no lost wake-up)") {
  WorkerPool pool(3);
  std::atomic<long> sum{0};
  for (int run = 0; run < 2000; ++run)
    pool.run(3, [&](std::size_t i, int) { sum += static_cast<long>(i) + 1; });
  CHECK(sum == 2000 * 6);
}

TEST_CASE("worker pool: a task's exception is rethrown once the run stops, and the pool runs again") {
  for (int threads : {1, 2, 4}) {
    WorkerPool pool(threads);
    std::atomic<int> started{0};
    CHECK_THROWS_WITH(pool.run(100,
                               [&](std::size_t i, int) {
                                 ++started;
                                 if (i == 3) throw std::runtime_error("task 3 failed");
                               }),
                      "task 3 failed");
    if (threads == 1) CHECK(started == 4);  // the tasks after it are skipped
    std::atomic<int> after{0};
    pool.run(10, [&](std::size_t, int) { ++after; });
    CHECK(after == 10);
  }
}
