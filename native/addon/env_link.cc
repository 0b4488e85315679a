#include "addon/env_link.h"

namespace trtn::js {
namespace {

void delete_link(napi_env /*env*/, void* data, void* /*hint*/) { delete static_cast<std::shared_ptr<EnvLink>*>(data); }

}  // namespace

napi_status EnvLink::install(napi_env env) {
  auto* holder = new std::shared_ptr<EnvLink>(new EnvLink());
  EnvLink* link = holder->get();
  link->env_ = env;
  napi_value name;
  napi_status st = napi_create_string_utf8(env, "tensorrt-node", NAPI_AUTO_LENGTH, &name);
  if (st == napi_ok) {
    st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, link, call_js, &link->tsfn_);
  }
  if (st == napi_ok) st = napi_unref_threadsafe_function(env, link->tsfn_);
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
  if (napi_call_threadsafe_function(tsfn_, c.get(), napi_tsfn_nonblocking) == napi_ok) c.release();
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

void EnvLink::call_js(napi_env env, napi_value /*js_callback*/, void* context, void* data) {
  std::unique_ptr<Completion> c(static_cast<Completion*>(data));
  // env is null when the function is torn down with completions still queued: just free them.
  if (env == nullptr) return;
  static_cast<EnvLink*>(context)->settled();
  c->settle(env);
}

void EnvLink::teardown(void* arg) {
  auto* link = static_cast<EnvLink*>(arg);
  std::unique_lock<std::mutex> lock(link->mu_);
  link->alive_ = false;
  link->cv_.wait(lock, [link] { return link->borrows_ == 0; });
}

}  // namespace trtn::js
