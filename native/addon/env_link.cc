#include "addon/env_link.h"

#include <chrono>
#include <vector>

namespace trtn::js {
namespace {

void delete_link(napi_env /*env*/, void* data, void* /*hint*/) { delete static_cast<std::shared_ptr<EnvLink>*>(data); }

}  // namespace

EnvLink::~EnvLink() {
  for (Completion* c : queue_) delete c;
}

napi_status EnvLink::install(napi_env env) {
  auto* holder = new std::shared_ptr<EnvLink>(new EnvLink());
  EnvLink* link = holder->get();
  link->env_ = env;
  napi_value name, fn;
  napi_status st = napi_create_string_utf8(env, "tensorrt-node", NAPI_AUTO_LENGTH, &name);
  if (st == napi_ok) {
    st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, link, call_js,
                                         &link->tsfn_);
  }
  if (st == napi_ok) st = napi_unref_threadsafe_function(env, link->tsfn_);
  if (st == napi_ok) st = napi_create_function(env, "tensorrtNodeSettle", NAPI_AUTO_LENGTH, continue_js, link, &fn);
  if (st == napi_ok) st = napi_create_reference(env, fn, 1, &link->continue_);
  // Registered after the thread-safe function, so it runs before that function's own teardown
  // (cleanup hooks run last-in, first-out): no completion is posted once this has run.
  if (st == napi_ok) st = napi_add_env_cleanup_hook(env, teardown, link);
  if (st == napi_ok) st = napi_set_instance_data(env, holder, delete_link, nullptr);
  if (st != napi_ok) delete holder;
  return st;
}

std::shared_ptr<EnvLink> EnvLink::of(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) return nullptr;
  return *static_cast<std::shared_ptr<EnvLink>*>(data);
}

void EnvLink::expect() {
  if (expected_++ == 0) napi_ref_threadsafe_function(env_, tsfn_);
}

void EnvLink::settled() {
  if (--expected_ == 0) napi_unref_threadsafe_function(env_, tsfn_);
}

void EnvLink::post(std::unique_ptr<Completion> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!alive_) return;  // the environment is gone: c is freed here
  queue_.push_back(c.release());
  queued_.store(queue_.size(), std::memory_order_release);
  // A drain or a hold on its way, or a JS thread watching, takes it from the queue.
  if (scheduled_ || hold_asked_ || holding_) return;
  // The thread-safe function carries no data: it only wakes the JS thread to drain the queue.
  scheduled_ = napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) == napi_ok;
  woken_at_ = std::chrono::steady_clock::now();
}

void EnvLink::wake_ahead(int hold_us) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!alive_ || scheduled_ || hold_asked_ || holding_ || hold_us <= 0) return;
  hold_us_ = hold_us;
  // Non-null data: the JS thread holds instead of draining (call_js).
  hold_asked_ = napi_call_threadsafe_function(tsfn_, this, napi_tsfn_nonblocking) == napi_ok;
}

void EnvLink::hold(napi_env env) {
  std::chrono::steady_clock::time_point until;
  bool watch = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_asked_ = false;
    if (scheduled_) return;  // a drain is on its way
    if (queue_.empty()) {
      holding_ = watch = true;
      until = std::chrono::steady_clock::now() + std::chrono::microseconds(hold_us_);
    } else {
      scheduled_ = true;  // what arrived before the hold is drained now (post left it to the hold)
    }
  }
  if (watch) {
    while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = false;
    if (queue_.empty() || scheduled_) return;  // nothing came (the lane posts it later as usual)
    scheduled_ = true;
  }
  drain(env);
}

bool EnvLink::begin_borrow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!alive_) return false;
  ++borrows_;
  return true;
}

void EnvLink::end_borrow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--borrows_ == 0) cv_.notify_all();
}

void EnvLink::drain(napi_env env) {
  std::vector<Completion*> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (woken_at_.time_since_epoch().count() != 0) {
      // The wake-up just taken: a running average of the last few (1/8 each).
      const int64_t ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - woken_at_).count();
      const int64_t avg = wake_ns_.load(std::memory_order_relaxed);
      wake_ns_.store(avg == 0 ? ns : avg + (ns - avg) / 8, std::memory_order_relaxed);
      woken_at_ = {};
    }
    while (!queue_.empty() && batch.size() < static_cast<size_t>(kBatch)) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    queued_.store(queue_.size(), std::memory_order_release);
  }
  for (Completion* raw : batch) {
    std::unique_ptr<Completion> c(raw);
    settled();
    c->settle(env);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) {
    scheduled_ = false;
    return;
  }
  // More are waiting: let the event loop run (I/O, timers) before the next batch.
  napi_value global, set_immediate, fn, ignored;
  if (napi_get_global(env, &global) == napi_ok &&
      napi_get_named_property(env, global, "setImmediate", &set_immediate) == napi_ok &&
      napi_get_reference_value(env, continue_, &fn) == napi_ok && fn != nullptr &&
      napi_call_function(env, global, set_immediate, 1, &fn, &ignored) == napi_ok) {
    return;
  }
  // No setImmediate (or the environment is stopping): wake again through the thread-safe function.
  scheduled_ = napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) == napi_ok;
}

void EnvLink::call_js(napi_env env, napi_value /*js_callback*/, void* context, void* data) {
  // env is null when the function is torn down: the completions are freed with the link.
  if (env == nullptr) return;
  auto* link = static_cast<EnvLink*>(context);
  if (data != nullptr) {
    link->hold(env);  // wake_ahead's call
  } else {
    link->drain(env);
  }
}

napi_value EnvLink::continue_js(napi_env env, napi_callback_info info) {
  void* link = nullptr;
  if (napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &link) == napi_ok && link != nullptr) {
    static_cast<EnvLink*>(link)->drain(env);
  }
  return nullptr;
}

void EnvLink::teardown(void* arg) {
  auto* link = static_cast<EnvLink*>(arg);
  std::deque<Completion*> dropped;
  {
    std::unique_lock<std::mutex> lock(link->mu_);
    link->alive_ = false;
    link->cv_.wait(lock, [link] { return link->borrows_ == 0; });
    dropped.swap(link->queue_);
  }
  for (Completion* c : dropped) delete c;
}

}  // namespace trtn::js
