// A test probe of the link back to JavaScript (addon/env_link.h), for the unit suite: it exercises
// wake_ahead's hold against completions that arrive before, during and after the JS thread watches,
// without a GPU (GPU contexts are the only callers in the library). Not part of the API.
#include "addon/js_link_probe.h"

#include <chrono>
#include <memory>
#include <thread>
#include <utility>

#include "addon/jobs.h"

namespace trtn::js {
namespace {

/// Resolves with the microseconds from its finish (on the probe's thread) to its settling.
class ProbeJob : public Job {
 public:
  using Job::Job;
  std::chrono::steady_clock::time_point finished;

 protected:
  napi_value value(napi_env env) override {
    napi_value v = nullptr;
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - finished).count();
    napi_create_double(env, us, &v);
    return v;
  }
};

}  // namespace

Napi::Value LinkProbeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "linkProbe(delayUs, holdUs, wakeAhead)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t delay = info[0].As<Napi::Number>().Int64Value();
  const int hold = info[1].As<Napi::Number>().Int32Value();
  const bool wake = info[2].As<Napi::Boolean>().Value();
  auto job = std::make_unique<ProbeJob>(env);
  Napi::Value promise(env, job->promise());
  std::shared_ptr<EnvLink> link = EnvLink::of(env);
  std::thread([raw = job.release(), link, delay, hold, wake] {
    std::unique_ptr<ProbeJob> j(raw);
    if (wake) link->wake_ahead(hold);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    j->finished = std::chrono::steady_clock::now();
    Job::finish(std::move(j));
  }).detach();
  return promise;
}

}  // namespace trtn::js
