#include "core/thread_pool.h"

#include "core/task_queue.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>

namespace trtn {

ThreadPool::ThreadPool(int threads) {
  int n = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(1, n);
  for (int i = 0; i < n - 1; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker() {
  name_this_thread("trtn-cpu");
  mark_compute_thread();
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = static_cast<int64_t>(size()) * 4;
  const int64_t chunks = std::max<int64_t>(1, std::min(max_chunks, (n + grain - 1) / grain));
  if (chunks == 1 || workers_.empty()) {
    fn(0, n);
    return;
  }
  // Chunks are claimed from a shared counter by the workers and by this thread, so a caller
  // whose chunks sit behind another caller's in the queue still makes progress itself.
  struct Shared {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
  };
  auto shared = std::make_shared<Shared>();
  const int64_t step = (n + chunks - 1) / chunks;
  auto run = [shared, step, n, chunks, &fn] {
    for (;;) {
      int64_t c = shared->next.fetch_add(1);
      if (c >= chunks) return;
      int64_t begin = c * step;
      int64_t end = std::min(n, begin + step);
      if (begin < end) fn(begin, end);
      if (shared->done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->cv.notify_all();
      }
    }
  };
  const int64_t helpers = std::min<int64_t>(static_cast<int64_t>(workers_.size()), chunks - 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t i = 0; i < helpers; ++i) queue_.push_back(run);
  }
  cv_.notify_all();
  run();
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait(lock, [&] { return shared->done.load() == chunks; });
}

int ThreadPool::default_size() {
  // TRTN_CPU_THREADS=<n> sets the cpu backend's threads (a positive integer); otherwise one per core.
  const char* v = std::getenv("TRTN_CPU_THREADS");
  if (v != nullptr && *v != '\0') {
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (*end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
  }
  return 0;
}

ThreadPool& ThreadPool::shared() {
  // Leaked on purpose: a destructor at process exit would join workers that a context of a dying
  // environment may still be using.
  static ThreadPool* pool = new ThreadPool(default_size());
  return *pool;
}

}  // namespace trtn
