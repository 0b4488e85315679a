#include "addon/js_plugins.h"

#include <string>
#include <vector>

#include "addon/handles.h"
#include "core/plugins.h"

namespace trtn::js {
namespace {

Napi::Value str_or_null(Napi::Env env, const char* s) { return s == nullptr ? env.Null() : Napi::String::New(env, s); }

}  // namespace

Napi::Value LoadPluginJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "loadPlugin(path)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::vector<PluginLayer> layers;
  Status st = load_plugin(path, &layers);
  if (!st.is_ok()) return throw_status(env, st);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", layers.front().library);
  o.Set("version", layers.front().version);
  o.Set("path", layers.front().path);
  Napi::Array list = Napi::Array::New(env, layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const trtn_plugin_layer& l = *layers[i].layer;
    Napi::Object d = Napi::Object::New(env);
    d.Set("type", l.type);
    d.Set("paramField", str_or_null(env, l.param_field));
    d.Set("paramNumber", l.param_number);
    d.Set("paramFields", str_or_null(env, l.param_fields));
    d.Set("minInputs", l.min_inputs);
    d.Set("maxInputs", l.max_inputs);
    d.Set("outputs", l.outputs);
    d.Set("cpu", l.forward_cpu != nullptr);
    d.Set("cuda", l.forward_cuda != nullptr);
    list.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("layers", list);
  return o;
}

Napi::Value PluginOutputDimsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "pluginOutputDims(type, paramsJson, inputShapes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PluginLayer p;
  const std::string type = info[0].As<Napi::String>().Utf8Value();
  if (!find_plugin_layer(type, &p)) {
    return throw_status(env, Status(Code::kPlugin, "plugin layer type '" + type + "' is not loaded"));
  }
  Napi::Array shapes = info[2].As<Napi::Array>();
  std::vector<std::vector<int64_t>> inputs(shapes.Length());
  for (uint32_t i = 0; i < shapes.Length(); ++i) {
    Napi::Array dims = shapes.Get(i).As<Napi::Array>();
    for (uint32_t k = 0; k < dims.Length(); ++k) inputs[i].push_back(dims.Get(k).As<Napi::Number>().Int64Value());
  }
  std::vector<std::vector<int64_t>> out;
  Status st = plugin_output_dims(p, info[1].As<Napi::String>().Utf8Value(), inputs, &out);
  if (!st.is_ok()) return throw_status(env, st);
  Napi::Array result = Napi::Array::New(env, out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    Napi::Array dims = Napi::Array::New(env, out[i].size());
    for (size_t k = 0; k < out[i].size(); ++k) dims.Set(static_cast<uint32_t>(k), static_cast<double>(out[i][k]));
    result.Set(static_cast<uint32_t>(i), dims);
  }
  return result;
}

}  // namespace trtn::js
