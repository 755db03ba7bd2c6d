// A small fixed pool of threads for the forward pass. ATen's OpenMP pool stays at one
// thread (see configure_threads), so the runtime splits its own work: matrix products by
// blocks of output columns, attention by heads. Torch-free.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace sonify {

class WorkerPool {
 public:
  // A pool of `threads` in all: the caller of run() is one of them, so threads - 1
  // workers are started (none for 1). Workers sleep on a condition variable between
  // runs instead of spinning, since the machine is usually shared.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(i, worker) for every i in [0, count) and returns when all are done.
  // `worker` in [0, threads()) names the thread running it (0: the caller), for
  // per-thread scratch memory. Which thread runs which i is not fixed, so tasks must
  // write disjoint data and compute the same result wherever they run. The first
  // exception a task throws is rethrown here once every thread has stopped; tasks
  // not yet started are then skipped. One run at a time (not reentrant).
  void run(std::size_t count, const std::function<void(std::size_t, int)>& task);

 private:
  void work(int worker);
  void drain(int worker);

  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t, int)>* task_ = nullptr;
  std::size_t count_ = 0, next_ = 0, finished_ = 0;
  unsigned long long generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace sonify
