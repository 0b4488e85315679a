// Promise-settling native work. A Job is a promise and what settles it: finished on one of the
// addon's threads (core/task_queue.h), it is handed to the JS thread of the environment that asked
// for it (addon/env_link.h), which resolves or rejects the promise. A BackgroundJob runs itself
// (run()) on a thread it is started on; a context's lane drives its inference jobs by hand.
#pragma once

#include <node_api.h>

#include <functional>
#include <memory>
#include <string>

#include "addon/env_link.h"
#include "core/status.h"
#include "core/task_queue.h"

namespace trtn::js {

/// A JS Error with the stable `code` of `st` (lib/errors.ts maps it to its class).
napi_value error_value(napi_env env, const Status& st);

class Job : public Completion {
 public:
  /// JS thread: makes the job's promise and keeps the event loop alive until it is settled.
  explicit Job(napi_env env);
  /// The promise (a value of the calling scope).
  napi_value promise() const { return promise_; }
  /// What the promise will say: ok resolves with value(), anything else rejects.
  void set_status(const Status& st) { status_ = st; }
  /// Any thread: hands the finished job to its environment's JS thread (freed there if it is gone).
  static void finish(std::unique_ptr<Job> job);
  /// Any thread: false once the environment that asked is gone (nobody waits for the answer).
  bool wanted() const;

 protected:
  /// On the JS thread, when the status is ok: the value the promise resolves to.
  virtual napi_value value(napi_env env) = 0;
  /// On the JS thread before settling, whatever the status (release references here).
  virtual void release(napi_env /*env*/) {}
  EnvLink& link() const { return *link_; }

 private:
  void settle(napi_env env) final;

  std::shared_ptr<EnvLink> link_;
  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;
  Status status_;
};

/// A job that runs itself: run() on a thread it is started on, then finish().
class BackgroundJob : public Job {
 public:
  using Job::Job;
  /// JS thread: runs `job` on `queue`, or on the process-wide background pool.
  static void start(std::unique_ptr<BackgroundJob> job, SerialQueue& queue);
  static void start(std::unique_ptr<BackgroundJob> job);

 protected:
  /// On the addon's thread. `link` tells whether the environment still lives (Borrow).
  virtual Status run(EnvLink& link) = 0;

 private:
  static std::function<void()> task(std::unique_ptr<BackgroundJob> job);
};

/// A reference that keeps a JS value alive for a job; deleted on the JS thread only (a job freed
/// after its environment died leaves it to the environment, which frees every reference it has).
class JsRef {
 public:
  JsRef() = default;
  JsRef(napi_env env, napi_value v) { napi_create_reference(env, v, 1, &ref_); }
  JsRef(JsRef&& o) noexcept : ref_(o.ref_) { o.ref_ = nullptr; }
  JsRef& operator=(JsRef&& o) noexcept {
    ref_ = o.ref_;
    o.ref_ = nullptr;
    return *this;
  }
  JsRef(const JsRef&) = delete;
  JsRef& operator=(const JsRef&) = delete;
  /// The value (JS thread).
  napi_value get(napi_env env) const;
  /// Deletes the reference (JS thread).
  void reset(napi_env env);

 private:
  napi_ref ref_ = nullptr;
};

}  // namespace trtn::js
