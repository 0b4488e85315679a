// How native work gets back to JavaScript. Every Node environment that loads the addon (the main
// thread and each worker thread) has one EnvLink: work finished on the addon's threads posts a
// Completion to it, and the environment's JS thread settles it. Completions wait in the link's own
// queue; a thread-safe function only wakes the loop, and the JS thread settles a few at a time,
// yielding to the event loop (setImmediate) between batches: a stream of finished inferences can
// never hold up timers, sockets or fs callbacks (a thread-safe function alone runs up to 1000
// queued calls in one go). When a worker thread is terminated, its environment's link dies first:
// completions that arrive later are freed where they arrive, never run; work still reading
// JavaScript memory (a "borrow") is waited for before that memory goes. So ending a worker ends
// only that worker.
#pragma once

#include <node_api.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace trtn::js {

/// A finished piece of native work, to be settled on its environment's JS thread.
class Completion {
 public:
  virtual ~Completion() = default;
  /// Resolves or rejects the caller's promise. Runs on the JS thread, only while the environment
  /// lives; the destructor may run on any thread and must not call N-API.
  virtual void settle(napi_env env) = 0;
};

/// One environment's link to the addon's threads.
class EnvLink {
 public:
  /// The most completions settled before the event loop gets a turn.
  static constexpr int kBatch = 8;

  ~EnvLink();
  /// Sets up the link of `env` (once, when the addon is loaded there).
  static napi_status install(napi_env env);
  /// The link of `env` (JS thread).
  static std::shared_ptr<EnvLink> of(napi_env env);

  /// JS thread: one more completion will be posted; keeps the event loop alive until it is settled.
  void expect();
  /// Any thread: hands `c` to the JS thread; frees it here when the environment is gone.
  void post(std::unique_ptr<Completion> c);
  /// Any thread: wakes the JS thread ahead of a completion expected within `hold_us`: it then
  /// watches for completions (busy, at most `hold_us`) instead of sleeping, so the answer is
  /// settled without the wake-up of a sleeping thread (batch-1 latency). No effect while a wake-up
  /// is on its way or the JS thread already watches.
  void wake_ahead(int hold_us);
  /// How long the JS thread takes to start settling after a completion wakes it (a running
  /// average, microseconds; 0 before the first): how far ahead wake_ahead must be called.
  double wake_us() const { return wake_ns_.load(std::memory_order_relaxed) / 1000.0; }
  /// Any thread: true while the environment lives; then its JavaScript memory may be read until
  /// end_borrow(). The environment's teardown waits for every borrow to end.
  bool begin_borrow();
  void end_borrow();

 private:
  static void call_js(napi_env env, napi_value, void* context, void* data);
  static napi_value continue_js(napi_env env, napi_callback_info info);
  static void teardown(void* arg);
  /// JS thread: settles up to kBatch completions, then yields to the event loop if more wait.
  void drain(napi_env env);
  /// JS thread (wake_ahead's call): watches for a completion up to the time asked, then drains.
  void hold(napi_env env);
  void settled();

  std::mutex mu_;
  std::condition_variable cv_;
  bool alive_ = true;
  int borrows_ = 0;
  std::deque<Completion*> queue_;                     // owned; under mu_
  bool scheduled_ = false;                            // a drain is on its way (under mu_)
  bool hold_asked_ = false;                           // a hold is on its way (under mu_)
  bool holding_ = false;                              // the JS thread watches the queue (under mu_)
  int hold_us_ = 0;                                   // how long the hold on its way may watch (under mu_)
  std::chrono::steady_clock::time_point woken_at_{};  // when the drain on its way was asked for (under mu_)
  std::atomic<size_t> queued_{0};                     // queue_.size(), for the watching JS thread
  std::atomic<int64_t> wake_ns_{0};                   // the running average wake_us() reports
  int expected_ = 0;                                  // JS thread only
  napi_env env_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  napi_ref continue_ = nullptr;  // the native function setImmediate calls to drain on
};

/// Holds a borrow for a scope (see EnvLink::begin_borrow); ok() is false when the environment died.
class Borrow {
 public:
  explicit Borrow(EnvLink& link) : link_(link), ok_(link.begin_borrow()) {}
  ~Borrow() {
    if (ok_) link_.end_borrow();
  }
  Borrow(const Borrow&) = delete;
  Borrow& operator=(const Borrow&) = delete;
  bool ok() const { return ok_; }

 private:
  EnvLink& link_;
  bool ok_;
};

}  // namespace trtn::js
