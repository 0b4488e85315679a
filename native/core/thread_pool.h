// A fixed pool of worker threads with a blocking parallel_for. Several callers may run
// parallel_for at once (two contexts inferring together); each waits only for its own chunks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace trtn {

class ThreadPool {
 public:
  /// `threads` workers (0: one per hardware thread, at least 1).
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Calls fn(begin, end) over [0, n) in chunks of at least `grain`, on the workers and the
  /// calling thread; returns when every chunk is done.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// The process-wide pool of the cpu backend: TRTN_CPU_THREADS threads, or one per core.
  static ThreadPool& shared();
  /// TRTN_CPU_THREADS when it is a positive integer, else 0 (one per core).
  static int default_size();

 private:
  void worker();

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace trtn
