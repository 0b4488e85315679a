#include "addon/handles.h"

namespace trtn::js {

// Random 128-bit tags, one per handle type.
template <>
const napi_type_tag& tag_of<EngineHandle>() {
  static const napi_type_tag tag = {0x7a3c1e5b9d204f86ULL, 0xb1e4c2a7f0d95e13ULL};
  return tag;
}

template <>
const napi_type_tag& tag_of<ContextHandle>() {
  static const napi_type_tag tag = {0x4f1d8e2c6b3a9057ULL, 0x93c5a1f7e2b04d68ULL};
  return tag;
}

template <>
const napi_type_tag& tag_of<HistogramHandle>() {
  static const napi_type_tag tag = {0xd26b0f4a8c1e7359ULL, 0x5e8a3b9d04f1c276ULL};
  return tag;
}

template <>
const napi_type_tag& tag_of<CancelToken>() {
  static const napi_type_tag tag = {0x16c9f3e07b5a2d84ULL, 0xa4072e5dc1b98f36ULL};
  return tag;
}

void adjust_external(Napi::Env env, int64_t delta) {
  int64_t total = 0;
  if (delta != 0) napi_adjust_external_memory(env, delta, &total);
}

void release_reported(Napi::Env env, EngineHandle* h) {
  adjust_external(env, -h->reported);
  h->reported = 0;
}

Napi::Value throw_status(Napi::Env env, const Status& st) {
  Napi::Error err = Napi::Error::New(env, st.message());
  err.Set("code", code_name(st.code()));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value throw_type(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace trtn::js
