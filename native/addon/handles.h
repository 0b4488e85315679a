// The native handles JavaScript holds (engines, contexts, calibration histograms), each an external
// tagged with its type (napi_type_tag_object), so a handle of one kind passed where another is
// expected is refused instead of misread; and the error helpers every N-API function uses.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/backend.h"
#include "core/histogram.h"
#include "core/status.h"

namespace trtn::js {

struct ContextState;  // js_context.cc

/// An engine as JS holds it; dispose() empties it, the finalizer deletes it. `reported`: the host
/// bytes it told V8 about (napi_adjust_external_memory), taken back when it goes.
struct EngineHandle {
  std::shared_ptr<Engine> engine;
  std::string backend;
  int64_t reported = 0;
};

/// A context as JS holds it; dispose() hands the state to its lane to free.
struct ContextHandle {
  std::shared_ptr<ContextState> state;
};

/// Calibration statistics, filled by executions that name them.
struct HistogramHandle {
  std::shared_ptr<TensorHistograms> histograms;
};

/// Lets JavaScript cancel an execute() call that has not started: the lane moves it from kWaiting
/// to kStarted when it takes it; cancel() moves it to kCancelled if it still waits.
struct CancelToken {
  enum State : int { kWaiting = 0, kStarted = 1, kCancelled = 2 };
  std::shared_ptr<std::atomic<int>> state = std::make_shared<std::atomic<int>>(kWaiting);
};

/// Tells V8 that `delta` bytes of native memory came (> 0) or went (< 0) with a handle, so it
/// collects handles the program dropped instead of letting them pile up (JS thread).
void adjust_external(Napi::Env env, int64_t delta);
/// Takes back what an engine or context handle reported (dispose, or its finalizer).
void release_reported(Napi::Env env, EngineHandle* h);
void release_reported(Napi::Env env, ContextHandle* h);
inline void release_reported(Napi::Env, HistogramHandle*) {}
inline void release_reported(Napi::Env, CancelToken*) {}

/// The type tag of each handle type.
template <typename H>
const napi_type_tag& tag_of();
template <>
const napi_type_tag& tag_of<EngineHandle>();
template <>
const napi_type_tag& tag_of<ContextHandle>();
template <>
const napi_type_tag& tag_of<HistogramHandle>();
template <>
const napi_type_tag& tag_of<CancelToken>();

/// Wraps `h` (owned: deleted by the finalizer) as a tagged external.
template <typename H>
Napi::Value wrap_handle(Napi::Env env, H* h) {
  Napi::External<H> ext = Napi::External<H>::New(env, h, [](Napi::Env e, H* p) {
    release_reported(e, p);
    delete p;
  });
  napi_type_tag_object(env, ext, &tag_of<H>());
  return ext;
}

/// The handle of type H in `v`, or nullptr when `v` is not one (another handle type included).
template <typename H>
H* handle_of(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  bool ok = false;
  if (napi_check_object_type_tag(v.Env(), v, &tag_of<H>(), &ok) != napi_ok || !ok) return nullptr;
  return v.As<Napi::External<H>>().Data();
}

/// Throws a JS Error with the stable code of `st`; returns undefined.
Napi::Value throw_status(Napi::Env env, const Status& st);
/// Throws a TypeError (the TS layer checks arguments first: this names the native signature).
Napi::Value throw_type(Napi::Env env, const std::string& what);

}  // namespace trtn::js
