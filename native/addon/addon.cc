// The addon's entry point: registers every native function explicitly (no static initialisers).
#include <napi.h>

#include "addon/js_build_info.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, trtn::js::BuildInfoJs, "buildInfo"));
  exports.Set("devices", Napi::Function::New(env, trtn::js::DevicesJs, "devices"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorrt_node, Init)
