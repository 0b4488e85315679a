// The addon's own threads: builds, loads and saves run on a process-wide pool, and each execution
// context runs its inferences on a thread of its own (its lane), so nothing ever waits behind, or
// holds up, Node's libuv pool (fs, dns, crypto and zlib share that one). Plain C++: the N-API side
// (addon/env_link.h) brings the results back to JavaScript.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace trtn {

/// Tasks run one at a time, in submission order, on one thread started with the first task.
/// Destroying the queue lets the task in hand finish and drops the ones not started; it joins the
/// thread, or detaches it when the queue is destroyed by its own task (the thread then exits by
/// itself: it keeps what it touches alive).
class SerialQueue {
 public:
  /// `name` names the thread (Linux: 15 characters at most are kept) for debuggers and top.
  /// `spin_us` > 0: after a task, the thread watches for the next one that long before it sleeps
  /// (a call that follows at once starts without a wake-up: GPU lanes, where it is latency).
  explicit SerialQueue(std::string name, int spin_us = 0);
  ~SerialQueue();
  SerialQueue(const SerialQueue&) = delete;
  SerialQueue& operator=(const SerialQueue&) = delete;

  /// Queues `task`; false once the queue is stopping (the task is then dropped).
  bool post(std::function<void()> task);
  /// Tasks queued behind the one running (a lane uses it to see whether more work is coming).
  size_t pending() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

/// A fixed number of threads taking tasks in submission order: the process-wide pool for builds,
/// loads and plan writes (background()). Never destroyed: work in flight at process exit is
/// abandoned, not joined against destructed globals.
class TaskPool {
 public:
  TaskPool(int threads, std::string name);
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  void post(std::function<void()> task);
  int size() const { return static_cast<int>(threads_.size()); }

  /// Builds, loads and saves: 4 threads (each build is itself parallel on the cpu backend's pool).
  static TaskPool& background();

 private:
  void run();

  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
};

/// Names the calling thread (best effort; Linux keeps 15 characters).
void name_this_thread(const std::string& name);

/// Marks the calling thread as number crunching (Linux: SCHED_BATCH and a little nicer), so the
/// threads that wait on I/O (Node's event loop, its libuv pool) win the CPU when they wake up
/// while the cpu backend keeps every core busy. Idempotent, best effort.
void mark_compute_thread();

}  // namespace trtn
