// The addon's entry point: registers every native function explicitly (no static initialisers).
#include <napi.h>

#include "addon/env_link.h"
#include "addon/js_build_info.h"
#include "addon/js_context.h"
#include "addon/js_host_memory.h"
#include "addon/js_link_probe.h"
#include "addon/js_plugins.h"
#include "addon/js_engine.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Every environment (the main thread, each worker thread) gets its link to the addon's threads.
  if (trtn::js::EnvLink::install(env) != napi_ok) {
    Napi::Error::New(env, "tensorrt-node: cannot set up the addon's completion queue").ThrowAsJavaScriptException();
    return exports;
  }
  exports.Set("buildInfo", Napi::Function::New(env, trtn::js::BuildInfoJs, "buildInfo"));
  exports.Set("devices", Napi::Function::New(env, trtn::js::DevicesJs, "devices"));
  exports.Set("gpuStats", Napi::Function::New(env, trtn::js::GpuStatsJs, "gpuStats"));
  exports.Set("backends", Napi::Function::New(env, trtn::js::BackendsJs, "backends"));
  exports.Set("supports", Napi::Function::New(env, trtn::js::SupportsJs, "supports"));
  exports.Set("buildEngine", Napi::Function::New(env, trtn::js::BuildEngineJs, "buildEngine"));
  exports.Set("loadEngine", Napi::Function::New(env, trtn::js::LoadEngineJs, "loadEngine"));
  exports.Set("serializeEngine", Napi::Function::New(env, trtn::js::SerializeEngineJs, "serializeEngine"));
  exports.Set("planSectionSizes", Napi::Function::New(env, trtn::js::PlanSectionSizesJs, "planSectionSizes"));
  exports.Set("savePlan", Napi::Function::New(env, trtn::js::SavePlanJs, "savePlan"));
  exports.Set("loadPlanFile", Napi::Function::New(env, trtn::js::LoadPlanFileJs, "loadPlanFile"));
  exports.Set("engineInfo", Napi::Function::New(env, trtn::js::EngineInfoJs, "engineInfo"));
  exports.Set("disposeEngine", Napi::Function::New(env, trtn::js::DisposeEngineJs, "disposeEngine"));
  exports.Set("createContext", Napi::Function::New(env, trtn::js::CreateContextJs, "createContext"));
  exports.Set("disposeContext", Napi::Function::New(env, trtn::js::DisposeContextJs, "disposeContext"));
  exports.Set("allocateHost", Napi::Function::New(env, trtn::js::AllocateHostJs, "allocateHost"));
  exports.Set("execute", Napi::Function::New(env, trtn::js::ExecuteJs, "execute"));
  exports.Set("createCancelToken", Napi::Function::New(env, trtn::js::CreateCancelTokenJs, "createCancelToken"));
  exports.Set("cancel", Napi::Function::New(env, trtn::js::CancelJs, "cancel"));
  exports.Set("createHistograms", Napi::Function::New(env, trtn::js::CreateHistogramsJs, "createHistograms"));
  exports.Set("readHistograms", Napi::Function::New(env, trtn::js::ReadHistogramsJs, "readHistograms"));
  exports.Set("linkProbe", Napi::Function::New(env, trtn::js::LinkProbeJs, "linkProbe"));
  exports.Set("loadPlugin", Napi::Function::New(env, trtn::js::LoadPluginJs, "loadPlugin"));
  exports.Set("registerHostedLayer", Napi::Function::New(env, trtn::js::RegisterHostedLayerJs, "registerHostedLayer"));
  exports.Set("pluginOutputDims", Napi::Function::New(env, trtn::js::PluginOutputDimsJs, "pluginOutputDims"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorrt_node, Init)
