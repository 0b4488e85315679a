// N-API glue for engines: build, load (from memory or streamed from a plan file), save, serialize,
// describe, dispose. Builds, loads and saves run on the addon's background threads
// (core/task_queue.h), never on Node's libuv pool; contexts are in js_context.cc. Failures come
// back as Errors carrying a stable `code` (native/core/status.h).
#include "addon/js_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "addon/handles.h"
#include "addon/jobs.h"
#include "core/backend.h"
#include "core/graph.h"
#include "core/histogram.h"
#include "core/host_memory.h"
#include "core/plan_io.h"
#include "core/task_queue.h"
#include "core/weights.h"

namespace trtn::js {
namespace {

/// The Float32Arrays of an array argument; false when it is not an array of them.
bool float_arrays(const Napi::Value& v, std::vector<Napi::Float32Array>* out) {
  if (!v.IsArray()) return false;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return false;
    out->push_back(item.As<Napi::Float32Array>());
  }
  return true;
}

/// A JS float32 array read on another thread: its data, and a reference that keeps it alive.
struct BorrowedFloats {
  const float* data = nullptr;
  size_t length = 0;
  JsRef ref;
};

napi_value wrap_engine(napi_env env, std::unique_ptr<Engine> engine, const std::string& backend) {
  const int64_t bytes = engine->host_bytes();
  adjust_external(Napi::Env(env), bytes);
  return wrap_handle(Napi::Env(env), new EngineHandle{std::shared_ptr<Engine>(std::move(engine)), backend, bytes});
}

/// The environment was torn down before the job began; nothing will see its result.
Status gone() { return Status(Code::kInternal, "the JavaScript environment ended"); }

/// Deletes references on the JS thread: memory a job no longer reads can be collected early.
class ReleaseRefs : public Completion {
 public:
  explicit ReleaseRefs(std::vector<JsRef> refs) : refs_(std::move(refs)) {}
  void settle(napi_env env) override {
    for (JsRef& r : refs_) r.reset(env);
  }

 private:
  std::vector<JsRef> refs_;
};

class BuildJob : public BackgroundJob {
 public:
  BuildJob(napi_env env, const Backend* backend, std::string graph, std::vector<BorrowedFloats> weights,
           BuildInput options)
      : BackgroundJob(env),
        backend_(backend),
        graph_json_(std::move(graph)),
        weights_(std::move(weights)),
        options_(std::move(options)) {
    EnvLink::of(env)->expect();  // the early release of the raw weights (ReleaseRefs)
  }

 protected:
  Status run(EnvLink& link) override {
    auto graph = std::make_shared<Graph>();
    auto store = std::make_shared<WeightStore>();
    Status st = prepare(link, graph.get(), store.get());
    // The raw weights are not read again: let JavaScript collect them while the backend builds.
    std::vector<JsRef> refs;
    for (BorrowedFloats& w : weights_) refs.push_back(std::move(w.ref));
    link.post(std::make_unique<ReleaseRefs>(std::move(refs)));
    if (!st.is_ok()) return st;
    BuildInput in = options_;
    in.graph = graph;
    in.weights = store;
    in.graph_json = graph_json_;
    TRTN_TRY(check_supported(*backend_, *graph));
    return backend_->build(in, &engine_);
  }
  napi_value value(napi_env env) override { return wrap_engine(env, std::move(engine_), backend_->name); }

 private:
  /// Parses the graph and prepares the weights from the raw blobs (JavaScript memory: read only
  /// while the environment lives).
  Status prepare(EnvLink& link, Graph* graph, WeightStore* store) const {
    TRTN_TRY(parse_graph(graph_json_, graph));
    Borrow borrow(link);
    if (!borrow.ok()) return gone();
    if (weights_.size() != graph->weights.size()) {
      return Status(Code::kInvalidArgument, "the graph has " + std::to_string(graph->weights.size()) +
                                                " weight blobs but " + std::to_string(weights_.size()) + " were given");
    }
    std::vector<const float*> raw;
    for (size_t i = 0; i < weights_.size(); ++i) {
      if (static_cast<int64_t>(weights_[i].length) != graph->weights[i].volume) {
        return Status(Code::kInvalidArgument, "weight '" + graph->weights[i].name + "' has " +
                                                  std::to_string(weights_[i].length) + " values, expected " +
                                                  std::to_string(graph->weights[i].volume));
      }
      raw.push_back(weights_[i].data);
    }
    try {
      return prepare_weights(*graph, raw, store);
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "out of host memory while preparing the weights");
    }
  }

  const Backend* backend_;
  std::string graph_json_;
  std::vector<BorrowedFloats> weights_;
  BuildInput options_;
  std::unique_ptr<Engine> engine_;
};

/// Loads an engine from a plan's sections: the graph, then the weights and backend section from
/// wherever the subclass reads them (read_sections), then the backend.
class LoadJobBase : public BackgroundJob {
 public:
  LoadJobBase(napi_env env, const Backend* backend, std::string graph, int device, int threads)
      : BackgroundJob(env), backend_(backend), graph_json_(std::move(graph)), device_(device), threads_(threads) {}

 protected:
  virtual Status read_sections(EnvLink& link, WeightStore* weights, std::vector<uint8_t>* section) = 0;

  Status run(EnvLink& link) final {
    auto graph = std::make_shared<Graph>();
    Status st = parse_graph(graph_json_, graph.get());
    if (!st.is_ok()) return Status(Code::kPlanCorrupt, "graph section: " + st.message());
    auto store = std::make_shared<WeightStore>();
    BuildInput in;
    TRTN_TRY(read_sections(link, store.get(), &in.backend_section));
    in.graph = graph;
    in.weights = store;
    in.device = device_;
    in.threads = threads_;
    return backend_->load(in, &engine_);
  }
  napi_value value(napi_env env) final { return wrap_engine(env, std::move(engine_), backend_->name); }

 private:
  const Backend* backend_;
  std::string graph_json_;
  int device_, threads_;
  std::unique_ptr<Engine> engine_;
};

/// Loads from a plan in JavaScript memory (read while the environment lives).
class LoadJob : public LoadJobBase {
 public:
  LoadJob(napi_env env, const Backend* backend, std::string graph, Napi::Uint8Array weights, Napi::Uint8Array section,
          int device, int threads)
      : LoadJobBase(env, backend, std::move(graph), device, threads),
        weights_(weights.Data()),
        weights_size_(weights.ByteLength()),
        section_(section.Data()),
        section_size_(section.ByteLength()),
        weights_ref_(env, weights),
        section_ref_(env, section) {}

 protected:
  Status read_sections(EnvLink& link, WeightStore* weights, std::vector<uint8_t>* section) override {
    Borrow borrow(link);
    if (!borrow.ok()) return gone();
    Status st = WeightStore::deserialize(weights_, weights_size_, weights);
    if (st.is_ok()) section->assign(section_, section_ + section_size_);
    return st;
  }
  void release(napi_env env) override {
    weights_ref_.reset(env);
    section_ref_.reset(env);
  }

 private:
  const uint8_t* weights_;
  size_t weights_size_;
  const uint8_t* section_;
  size_t section_size_;
  JsRef weights_ref_, section_ref_;
};

/// Loads from a plan file, streaming its weights (core/plan_io.h).
class LoadFileJob : public LoadJobBase {
 public:
  LoadFileJob(napi_env env, const Backend* backend, std::string graph, std::string path, PlanLayout layout,
              uint32_t crc, int device, int threads)
      : LoadJobBase(env, backend, std::move(graph), device, threads),
        path_(std::move(path)),
        layout_(layout),
        crc_(crc) {}

 protected:
  Status read_sections(EnvLink& /*link*/, WeightStore* weights, std::vector<uint8_t>* section) override {
    return read_plan_file(path_, layout_, crc_, weights, section);
  }

 private:
  std::string path_;
  PlanLayout layout_;
  uint32_t crc_;
};

/// Writes an engine's plan file (core/plan_io.h) on a background thread.
class SaveJob : public BackgroundJob {
 public:
  SaveJob(napi_env env, std::shared_ptr<Engine> engine, std::string path, std::vector<uint8_t> head, PlanLayout layout,
          std::string graph)
      : BackgroundJob(env),
        engine_(std::move(engine)),
        path_(std::move(path)),
        head_(std::move(head)),
        layout_(layout),
        graph_json_(std::move(graph)) {}

 protected:
  Status run(EnvLink& /*link*/) override {
    std::vector<uint8_t> section;
    TRTN_TRY(engine_->serialize_backend(&section));
    if (section.size() != layout_.backend_length) return Status(Code::kInternal, "the backend section changed size");
    return write_plan_file(path_, head_, layout_, graph_json_, engine_->weights(), section);
  }
  napi_value value(napi_env env) override {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::string path_;
  std::vector<uint8_t> head_;
  PlanLayout layout_;
  std::string graph_json_;
};

/// A plan layout argument: { graphOffset, weightsOffset, weightsLength, backendOffset, backendLength, total }.
bool layout_arg(const Napi::Value& v, PlanLayout* out) {
  if (!v.IsObject()) return false;
  Napi::Object o = v.As<Napi::Object>();
  const auto field = [&o](const char* key, uint64_t* dst) {
    Napi::Value n = o.Get(key);
    if (!n.IsNumber()) return false;
    const double d = n.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != std::floor(d)) return false;
    *dst = static_cast<uint64_t>(d);
    return true;
  };
  return field("graphOffset", &out->graph_offset) && field("weightsOffset", &out->weights_offset) &&
         field("weightsLength", &out->weights_length) && field("backendOffset", &out->backend_offset) &&
         field("backendLength", &out->backend_length) && field("total", &out->total);
}

const Backend* backend_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsString()) return nullptr;
  const Backend* b = find_backend(v.As<Napi::String>().Utf8Value());
  if (b == nullptr) {
    throw_status(env, Status(Code::kBackendUnavailable,
                             "backend '" + v.As<Napi::String>().Utf8Value() + "' is not compiled into this addon"));
  }
  return b;
}

Napi::Value engine_dispose_error(Napi::Env env) {
  return throw_status(env, Status(Code::kDisposed, "the engine was disposed"));
}

}  // namespace

Napi::Value BackendsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& name : backend_names()) {
    const Backend* b = find_backend(name);
    std::string why;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", name);
    o.Set("available", b->available(&why));
    o.Set("reason", why);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value SupportsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend* backend = backend_arg(env, info[0]);
  if (env.IsExceptionPending()) return env.Undefined();
  if (backend == nullptr || !info[1].IsString()) return throw_type(env, "supports(backend, graphJson)");
  Graph graph;
  if (Status st = parse_graph(info[1].As<Napi::String>().Utf8Value(), &graph); !st.is_ok())
    return throw_status(env, st);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const Node& node : graph.nodes) {
    std::string why;
    if (backend->supports(graph, node, &why)) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("layer", node.name);
    o.Set("op", node.op);
    o.Set("reason", why.empty() ? "it has no such op" : why);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BuildEngineJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend* backend = backend_arg(env, info[0]);
  if (env.IsExceptionPending()) return env.Undefined();
  if (backend == nullptr || !info[1].IsString()) {
    return throw_type(env, "buildEngine(backend, graphJson, weights, threads, options?)");
  }
  std::vector<Napi::Float32Array> arrays;
  if (!float_arrays(info[2], &arrays)) return throw_type(env, "weights must be an array of Float32Array");
  std::vector<BorrowedFloats> weights;
  for (Napi::Float32Array& a : arrays) weights.push_back(BorrowedFloats{a.Data(), a.ElementLength(), JsRef(env, a)});
  BuildInput options;
  options.threads = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  if (info.Length() > 4 && info[4].IsObject()) {
    Napi::Object o = info[4].As<Napi::Object>();
    if (o.Get("device").IsNumber()) options.device = o.Get("device").As<Napi::Number>().Int32Value();
    if (o.Get("tuneBatch").IsNumber()) options.tune_batch = o.Get("tuneBatch").As<Napi::Number>().Int32Value();
    if (o.Get("maxAuxStreams").IsNumber())
      options.max_aux_streams = o.Get("maxAuxStreams").As<Napi::Number>().Int32Value();
    if (o.Get("timingCache").IsString()) options.timing_cache = o.Get("timingCache").As<Napi::String>().Utf8Value();
  }
  std::string why;
  if (!backend->available(&why)) return throw_status(env, Status(Code::kBackendUnavailable, why));
  auto job = std::make_unique<BuildJob>(env, backend, info[1].As<Napi::String>().Utf8Value(), std::move(weights),
                                        std::move(options));
  Napi::Value promise(env, job->promise());
  BackgroundJob::start(std::move(job));
  return promise;
}

Napi::Value LoadEngineJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend* backend = backend_arg(env, info[0]);
  if (env.IsExceptionPending()) return env.Undefined();
  if (backend == nullptr || !info[1].IsString() || !info[2].IsTypedArray() || !info[3].IsTypedArray()) {
    return throw_type(env, "loadEngine(backend, graphJson, weights: Uint8Array, section: Uint8Array, device?)");
  }
  if (info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return throw_type(env, "loadEngine: sections must be Uint8Array");
  }
  std::string why;
  if (!backend->available(&why)) return throw_status(env, Status(Code::kBackendUnavailable, why));
  const int device = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
  const int threads = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
  auto job = std::make_unique<LoadJob>(env, backend, info[1].As<Napi::String>().Utf8Value(),
                                       info[2].As<Napi::Uint8Array>(), info[3].As<Napi::Uint8Array>(), device, threads);
  Napi::Value promise(env, job->promise());
  BackgroundJob::start(std::move(job));
  return promise;
}

Napi::Value SerializeEngineJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "serializeEngine(engine)");
  if (!h->engine) return engine_dispose_error(env);
  std::vector<uint8_t> weights, section;
  try {
    h->engine->weights().serialize(&weights);
  } catch (const std::bad_alloc&) {
    return throw_status(env, Status(Code::kOutOfMemory, "out of host memory while serializing the weights"));
  }
  Status st = h->engine->serialize_backend(&section);
  if (!st.is_ok()) return throw_status(env, st);
  Napi::Object out = Napi::Object::New(env);
  Napi::Uint8Array w = Napi::Uint8Array::New(env, weights.size());
  Napi::Uint8Array s = Napi::Uint8Array::New(env, section.size());
  // A worker being terminated cannot allocate: the arrays come back empty.
  if (env.IsExceptionPending() || w.IsEmpty() || s.IsEmpty() || out.IsEmpty()) return env.Undefined();
  std::copy(weights.begin(), weights.end(), w.Data());
  std::copy(section.begin(), section.end(), s.Data());
  out.Set("weights", w);
  out.Set("backend", s);
  return out;
}

Napi::Value PlanSectionSizesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "planSectionSizes(engine)");
  if (!h->engine) return engine_dispose_error(env);
  std::vector<uint8_t> section;
  Status st = h->engine->serialize_backend(&section);
  if (!st.is_ok()) return throw_status(env, st);
  Napi::Object out = Napi::Object::New(env);
  out.Set("weights", static_cast<double>(h->engine->weights().serialized_bytes()));
  out.Set("backend", static_cast<double>(section.size()));
  return out;
}

Napi::Value SavePlanJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  PlanLayout layout;
  if (h == nullptr || !info[1].IsString() || !info[2].IsTypedArray() || !layout_arg(info[3], &layout) ||
      !info[4].IsString() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return throw_type(env, "savePlan(engine, path, head: Uint8Array, layout, graphJson)");
  }
  if (!h->engine) return engine_dispose_error(env);
  Napi::Uint8Array head = info[2].As<Napi::Uint8Array>();
  auto job = std::make_unique<SaveJob>(env, h->engine, info[1].As<Napi::String>().Utf8Value(),
                                       std::vector<uint8_t>(head.Data(), head.Data() + head.ByteLength()), layout,
                                       info[4].As<Napi::String>().Utf8Value());
  Napi::Value promise(env, job->promise());
  BackgroundJob::start(std::move(job));
  return promise;
}

Napi::Value LoadPlanFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend* backend = backend_arg(env, info[0]);
  if (env.IsExceptionPending()) return env.Undefined();
  PlanLayout layout;
  if (backend == nullptr || !info[1].IsString() || !info[2].IsString() || !layout_arg(info[3], &layout) ||
      !info[4].IsNumber()) {
    return throw_type(env, "loadPlanFile(backend, graphJson, path, layout, crc, device?)");
  }
  std::string why;
  if (!backend->available(&why)) return throw_status(env, Status(Code::kBackendUnavailable, why));
  const int device = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
  const int threads = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().Int32Value() : 0;
  auto job = std::make_unique<LoadFileJob>(env, backend, info[1].As<Napi::String>().Utf8Value(),
                                           info[2].As<Napi::String>().Utf8Value(), layout,
                                           info[4].As<Napi::Number>().Uint32Value(), device, threads);
  Napi::Value promise(env, job->promise());
  BackgroundJob::start(std::move(job));
  return promise;
}

Napi::Value EngineInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "engineInfo(engine)");
  if (!h->engine) return engine_dispose_error(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("backend", h->backend);
  out.Set("activationBytesPerImage", static_cast<double>(h->engine->activation_bytes_per_image()));
  out.Set("weightBytes", static_cast<double>(h->engine->weights().bytes()));
  out.Set("maxRunnableBatch", static_cast<double>(h->engine->max_runnable_batch()));
  out.Set("details", h->engine->info_json());
  return out;
}

Napi::Value DisposeEngineJs(const Napi::CallbackInfo& info) {
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h != nullptr) {
    h->engine.reset();  // contexts keep their own reference until they go
    release_reported(info.Env(), h);
  }
  return info.Env().Undefined();
}

}  // namespace trtn::js
