#include "core/task_queue.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <atomic>
#include <chrono>
#include <utility>

namespace trtn {
namespace {

/// How much nicer than the event loop compute threads are (nice values: 1.25x less CPU per step).
constexpr int kComputeNice = 5;

}  // namespace

void name_this_thread(const std::string& name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

void mark_compute_thread() {
#if defined(__linux__)
  thread_local bool marked = false;
  if (marked) return;
  marked = true;
  sched_param param{};
  param.sched_priority = 0;
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
  // Linux applies nice values per thread: this one only.
  const int tid = static_cast<int>(syscall(SYS_gettid));
  setpriority(PRIO_PROCESS, static_cast<id_t>(tid), getpriority(PRIO_PROCESS, static_cast<id_t>(tid)) + kComputeNice);
#endif
}

// The thread's state lives apart from the queue object, so a queue destroyed by its own task
// (a context freed by the last inference that held it) leaves its thread something valid to exit on.
struct SerialQueue::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  std::atomic<size_t> queued{0};  // tasks.size(), readable without the lock (spinning)
  bool stop = false;
};

SerialQueue::SerialQueue(std::string name, int spin_us) : shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([s = shared_, name = std::move(name), spin_us] {
    name_this_thread(name);
    for (;;) {
      if (spin_us > 0 && s->queued.load(std::memory_order_acquire) == 0) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        while (s->queued.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
          std::this_thread::yield();
        }
      }
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(s->mu);
        s->cv.wait(lock, [&] { return s->stop || !s->tasks.empty(); });
        if (s->stop) return;
        task = std::move(s->tasks.front());
        s->tasks.pop_front();
        s->queued.store(s->tasks.size(), std::memory_order_release);
      }
      task();
    }
  });
}

SerialQueue::~SerialQueue() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
    dropped.swap(shared_->tasks);
  }
  shared_->cv.notify_all();
  if (std::this_thread::get_id() == thread_.get_id())
    thread_.detach();
  else
    thread_.join();
  // The dropped tasks' captures are released here, outside the lock.
}

bool SerialQueue::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->stop) return false;
    shared_->tasks.push_back(std::move(task));
    shared_->queued.store(shared_->tasks.size(), std::memory_order_release);
  }
  shared_->cv.notify_one();
  return true;
}

size_t SerialQueue::pending() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->tasks.size();
}

TaskPool::TaskPool(int threads, std::string name) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name] {
      name_this_thread(name);
      run();
    });
  }
}

void TaskPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty(); });
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void TaskPool::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

TaskPool& TaskPool::background() {
  // Leaked on purpose: see the class comment.
  static TaskPool* pool = new TaskPool(4, "trtn-jobs");
  return *pool;
}

}  // namespace trtn
