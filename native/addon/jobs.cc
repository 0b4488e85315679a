#include "addon/jobs.h"

#include <new>
#include <utility>

namespace trtn::js {

napi_value error_value(napi_env env, const Status& st) {
  napi_value message = nullptr, error = nullptr, code = nullptr;
  napi_create_string_utf8(env, st.message().c_str(), st.message().size(), &message);
  napi_create_error(env, nullptr, message, &error);
  if (error != nullptr && napi_create_string_utf8(env, code_name(st.code()), NAPI_AUTO_LENGTH, &code) == napi_ok) {
    napi_set_named_property(env, error, "code", code);
  }
  return error;
}

Job::Job(napi_env env) : link_(EnvLink::of(env)) {
  napi_create_promise(env, &deferred_, &promise_);
  link_->expect();
}

void Job::finish(std::unique_ptr<Job> job) {
  std::shared_ptr<EnvLink> link = job->link_;
  link->post(std::move(job));
}

bool Job::wanted() const { return Borrow(*link_).ok(); }

void Job::settle(napi_env env) {
  // Every call may fail while a terminated worker winds down; nothing here may abort the process.
  napi_value result = nullptr;
  Status st = status_;
  if (st.is_ok()) {
    result = value(env);
    if (result == nullptr) st = Status(Code::kInternal, "the result could not be handed to JavaScript");
  }
  release(env);
  if (st.is_ok()) {
    napi_resolve_deferred(env, deferred_, result);
  } else {
    napi_value error = error_value(env, st);
    if (error != nullptr) napi_reject_deferred(env, deferred_, error);
  }
}

std::function<void()> BackgroundJob::task(std::unique_ptr<BackgroundJob> job) {
  // std::function needs a copyable callable: the task takes ownership back from the raw pointer.
  BackgroundJob* raw = job.release();
  return [raw] {
    std::unique_ptr<BackgroundJob> j(raw);
    Status st;
    try {
      st = j->run(j->link());
    } catch (const std::bad_alloc&) {
      st = Status(Code::kOutOfMemory, "out of host memory");
    }
    j->set_status(st);
    finish(std::move(j));
  };
}

void BackgroundJob::start(std::unique_ptr<BackgroundJob> job, SerialQueue& queue) { queue.post(task(std::move(job))); }

void BackgroundJob::start(std::unique_ptr<BackgroundJob> job) { TaskPool::background().post(task(std::move(job))); }

napi_value JsRef::get(napi_env env) const {
  napi_value v = nullptr;
  if (ref_ != nullptr) napi_get_reference_value(env, ref_, &v);
  return v;
}

void JsRef::reset(napi_env env) {
  if (ref_ != nullptr) napi_delete_reference(env, ref_);
  ref_ = nullptr;
}

}  // namespace trtn::js
