#include "addon/js_plugins.h"

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon/handles.h"
#include "core/plugins.h"

namespace trtn::js {
namespace {

Napi::Value str_or_null(Napi::Env env, const char* s) { return s == nullptr ? env.Null() : Napi::String::New(env, s); }

Napi::Array dims_array(Napi::Env env, const trtn_dims& d, int batch) {
  Napi::Array a = Napi::Array::New(env, static_cast<size_t>(d.rank) + 1);
  a.Set(0u, batch);
  for (int32_t i = 0; i < d.rank; ++i) a.Set(static_cast<uint32_t>(i + 1), static_cast<double>(d.d[i]));
  return a;
}

/// A layer type whose cpu forward is a JavaScript function: the backend's thread hands each call
/// to the JavaScript thread (a thread-safe function) and waits for it. The arrays the function
/// sees are copies (it may keep them); the outputs are copied back when it returns.
class JsHostedLayer final : public HostedLayer {
 public:
  static Status create(Napi::Env env, const std::string& type, Napi::Function fn, std::shared_ptr<JsHostedLayer>* out) {
    auto layer = std::shared_ptr<JsHostedLayer>(new JsHostedLayer());
    napi_value name = Napi::String::New(env, "tensorrt-node layer " + type);
    Shared& s = *layer->shared_;
    if (napi_create_threadsafe_function(env, fn, nullptr, name, 0, 1, nullptr, nullptr, nullptr, call_js, &s.tsfn) !=
            napi_ok ||
        napi_unref_threadsafe_function(env, s.tsfn) != napi_ok) {
      return Status(Code::kPlugin, "cannot set up JavaScript layer '" + type + "'");
    }
    // Registered after the thread-safe function, so it runs before that function's teardown
    // (cleanup hooks run last-in, first-out): once the environment ends, no call is made; calls
    // already queued are answered with an error when Node drains the queue (call_js, env null).
    auto* hook = new std::shared_ptr<Shared>(layer->shared_);
    if (napi_add_env_cleanup_hook(env, ended, hook) != napi_ok) {
      delete hook;
      return Status(Code::kPlugin, "cannot set up JavaScript layer '" + type + "'");
    }
    *out = std::move(layer);
    return Status::ok();
  }

  bool forward(const std::string& params, int batch, const std::vector<trtn_dims>& in_dims,
               const std::vector<const float*>& in, const std::vector<trtn_dims>& out_dims,
               const std::vector<float*>& out, std::string* error) override {
    Call call(params, batch, in_dims, in, out_dims, out);
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      // The queue is unbounded: a nonblocking call never waits, so the lock is held only briefly.
      if (!shared_->alive || napi_call_threadsafe_function(shared_->tsfn, &call, napi_tsfn_nonblocking) != napi_ok) {
        *error = "the JavaScript thread that registered the layer has ended (register it again: registerLayer)";
        return false;
      }
    }
    std::unique_lock<std::mutex> lock(call.mu);
    call.cv.wait(lock, [&] { return call.done; });
    if (!call.ok) *error = call.error;
    return call.ok;
  }

 private:
  /// One call from the backend's thread: what the function reads and writes, and its answer.
  struct Call {
    Call(const std::string& p, int b, const std::vector<trtn_dims>& id, const std::vector<const float*>& i,
         const std::vector<trtn_dims>& od, const std::vector<float*>& o)
        : params(p), batch(b), in_dims(id), in(i), out_dims(od), out(o) {}
    const std::string& params;
    int batch;
    const std::vector<trtn_dims>& in_dims;
    const std::vector<const float*>& in;
    const std::vector<trtn_dims>& out_dims;
    const std::vector<float*>& out;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false, ok = false;
    std::string error;
    void finish(bool success, std::string why) {
      std::lock_guard<std::mutex> lock(mu);
      ok = success;
      error = std::move(why);
      done = true;
      cv.notify_one();
    }
  };

  /// The thread-safe function and whether its environment still lives (under mu).
  struct Shared {
    std::mutex mu;
    bool alive = true;
    napi_threadsafe_function tsfn = nullptr;
  };

  /// The registering environment's cleanup hook: no more calls.
  static void ended(void* arg) {
    auto* shared = static_cast<std::shared_ptr<Shared>*>(arg);
    {
      std::lock_guard<std::mutex> lock((*shared)->mu);
      (*shared)->alive = false;
    }
    delete shared;
  }

  /// JavaScript thread: runs the function on copies, copies the outputs back.
  static void call_js(napi_env raw_env, napi_value fn, void*, void* data) {
    auto* call = static_cast<Call*>(data);
    if (raw_env == nullptr) {
      call->finish(false, "the JavaScript environment is closing");
      return;
    }
    Napi::Env env(raw_env);
    Napi::HandleScope scope(env);
    auto arrays = [&](const std::vector<trtn_dims>& dims, const float* const* src, size_t n) {
      Napi::Array list = Napi::Array::New(env, n);
      for (size_t i = 0; i < n; ++i) {
        const size_t count = static_cast<size_t>(dims_volume(dims[i]) * call->batch);
        Napi::Float32Array a = Napi::Float32Array::New(env, count);
        if (env.IsExceptionPending() || a.IsEmpty()) return Napi::Array();  // out of memory: reported below
        if (src != nullptr) std::memcpy(a.Data(), src[i], count * sizeof(float));
        list.Set(static_cast<uint32_t>(i), a);
      }
      return list;
    };
    auto dims_list = [&](const std::vector<trtn_dims>& dims) {
      Napi::Array list = Napi::Array::New(env, dims.size());
      for (size_t i = 0; i < dims.size(); ++i)
        list.Set(static_cast<uint32_t>(i), dims_array(env, dims[i], call->batch));
      return list;
    };
    Napi::Array ins = arrays(call->in_dims, call->in.data(), call->in.size());
    Napi::Array outs = ins.IsEmpty() ? Napi::Array() : arrays(call->out_dims, nullptr, call->out.size());
    if (ins.IsEmpty() || outs.IsEmpty()) {
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
      call->finish(false, "cannot allocate the layer's arrays in JavaScript");
      return;
    }
    napi_value args[] = {ins,
                         dims_list(call->in_dims),
                         outs,
                         dims_list(call->out_dims),
                         Napi::String::New(env, call->params),
                         Napi::Number::New(env, call->batch)};
    napi_value result;
    if (napi_call_function(raw_env, env.Undefined(), fn, 6, args, &result) != napi_ok) {
      napi_value exception;
      std::string why = "the function threw";
      if (napi_get_and_clear_last_exception(raw_env, &exception) == napi_ok) {
        Napi::Value e(env, exception);
        if (e.IsObject() && e.As<Napi::Object>().Get("message").IsString()) {
          why = "it threw: " + e.As<Napi::Object>().Get("message").As<Napi::String>().Utf8Value();
        }
      }
      call->finish(false, why);
      return;
    }
    for (size_t i = 0; i < call->out.size(); ++i) {
      Napi::Float32Array a = outs.Get(static_cast<uint32_t>(i)).As<Napi::Float32Array>();
      std::memcpy(call->out[i], a.Data(), a.ElementLength() * sizeof(float));
    }
    call->finish(true, "");
  }

  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace

Napi::Value RegisterHostedLayerJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !(info[4].IsFunction() || info[4].IsUndefined())) {
    Napi::TypeError::New(env, "registerHostedLayer(type, minInputs, maxInputs, outputs, fn)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string type = info[0].As<Napi::String>().Utf8Value();
  std::shared_ptr<JsHostedLayer> layer;  // none: a layer with shapes only (no cpu function)
  Status st =
      info[4].IsFunction() ? JsHostedLayer::create(env, type, info[4].As<Napi::Function>(), &layer) : Status::ok();
  if (st.is_ok()) {
    st = register_hosted_layer(type, info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().Int32Value(),
                               info[3].As<Napi::Number>().Int32Value(), layer);
  }
  if (!st.is_ok()) return throw_status(env, st);
  return env.Undefined();
}

Napi::Value LoadPluginJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "loadPlugin(path)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const bool register_types = !info[1].IsBoolean() || info[1].As<Napi::Boolean>().Value();
  std::vector<PluginLayer> layers;
  Status st = load_plugin(path, register_types, &layers);
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
    d.Set("cuda", l.forward_cuda != nullptr || l.forward_cuda_ex != nullptr);
    // The element types the cuda forward takes (a version 1 library's forward_cuda: float32).
    Napi::Array types = Napi::Array::New(env);
    if ((l.cuda_types & TRTN_PLUGIN_FLOAT32) != 0 || (l.forward_cuda_ex == nullptr && l.forward_cuda != nullptr)) {
      types.Set(types.Length(), "float32");
    }
    if ((l.cuda_types & TRTN_PLUGIN_FLOAT16) != 0) types.Set(types.Length(), "float16");
    d.Set("cudaTypes", types);
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
