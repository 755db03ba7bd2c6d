#include "runtime/worker_pool.h"

namespace sonify {

WorkerPool::WorkerPool(int threads) {
  for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { work(w); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t, int)>& task) {
  if (count == 0) return;
  if (workers_.empty() || count == 1) {
    for (std::size_t i = 0; i < count; ++i) task(i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &task;
    count_ = count;
    next_ = 0;
    finished_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  drain(0);
  // Waits for the tasks, not for the workers: on a loaded machine a worker may not have
  // woken yet, and the caller has then run its share.
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return finished_ == count_; });
  task_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void WorkerPool::work(int worker) {
  unsigned long long seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    drain(worker);
    lock.lock();
  }
}

void WorkerPool::drain(int worker) {
  for (;;) {
    std::size_t i;
    const std::function<void(std::size_t, int)>* task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_ >= count_) return;
      i = next_++;
      task = task_;
    }
    std::size_t finished = 1;
    try {
      (*task)(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
      finished += count_ - next_;  // the tasks not started are skipped
      next_ = count_;
    }
    std::lock_guard<std::mutex> lock(mu_);
    finished_ += finished;
    if (finished_ == count_) done_.notify_one();
  }
}

}  // namespace sonify
