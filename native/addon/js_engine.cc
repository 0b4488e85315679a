// N-API glue for engines and contexts. Builds and loads run on the addon's background threads;
// each context runs its inferences, in call order, on a thread of its own (core/task_queue.h), never
// on Node's libuv pool. Inputs are copied into the engine's host memory when execute() is called
// (later changes to the caller's arrays cannot reach a queued inference); outputs land in such
// memory and are copied into the caller's arrays on the JS thread when the promise settles.
// Failures come back as Errors carrying a stable `code` (native/core/status.h).
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

/// An engine as JS holds it; dispose() empties it, the finalizer deletes it.
struct EngineHandle {
  std::shared_ptr<Engine> engine;
  std::string backend;
};

/// A context: its engine stays alive while the context does. The context itself is used on its
/// lane only (after creation); the lane is declared last so it is stopped first.
struct ContextState {
  std::shared_ptr<Engine> engine;
  std::unique_ptr<Context> context;
  std::shared_ptr<HostPool> pool;
  SerialQueue lane{"trtn-context"};
};

struct ContextHandle {
  std::shared_ptr<ContextState> state;
};

/// Calibration statistics, filled by executions that name them.
struct HistogramHandle {
  std::shared_ptr<TensorHistograms> histograms;
};

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

template <typename H>
H* handle_of(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  return v.As<Napi::External<H>>().Data();
}

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
  auto* h = new EngineHandle{std::shared_ptr<Engine>(std::move(engine)), backend};
  return Napi::External<EngineHandle>::New(env, h, [](Napi::Env, EngineHandle* p) { delete p; });
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

class BuildJob : public Job {
 public:
  BuildJob(napi_env env, const Backend* backend, std::string graph, std::vector<BorrowedFloats> weights, BuildInput options)
      : Job(env), backend_(backend), graph_json_(std::move(graph)), weights_(std::move(weights)), options_(std::move(options)) {
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
    return backend_->build(in, &engine_);
  }
  napi_value value(napi_env env) override { return wrap_engine(env, std::move(engine_), backend_->name); }

 private:
  /// Parses the graph and prepares the weights from the raw blobs (JavaScript memory: read only
  /// while the environment lives).
  Status prepare(EnvLink& link, Graph* graph, WeightStore* store) const {
    Status st = parse_graph(graph_json_, graph);
    if (!st.is_ok()) return st;
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

class LoadJob : public Job {
 public:
  LoadJob(napi_env env, const Backend* backend, std::string graph, Napi::Uint8Array weights, Napi::Uint8Array section,
          int device)
      : Job(env), backend_(backend), graph_json_(std::move(graph)), device_(device), weights_(weights.Data()),
        weights_size_(weights.ByteLength()), section_(section.Data()), section_size_(section.ByteLength()),
        weights_ref_(env, weights), section_ref_(env, section) {}

 protected:
  Status run(EnvLink& link) override {
    auto graph = std::make_shared<Graph>();
    Status st = parse_graph(graph_json_, graph.get());
    if (!st.is_ok()) return Status(Code::kPlanCorrupt, "graph section: " + st.message());
    auto store = std::make_shared<WeightStore>();
    BuildInput in;
    {
      Borrow borrow(link);
      if (!borrow.ok()) return gone();
      st = WeightStore::deserialize(weights_, weights_size_, store.get());
      if (!st.is_ok()) return st;
      in.backend_section.assign(section_, section_ + section_size_);
    }
    in.graph = graph;
    in.weights = store;
    in.device = device_;
    return backend_->load(in, &engine_);
  }
  napi_value value(napi_env env) override { return wrap_engine(env, std::move(engine_), backend_->name); }
  void release(napi_env env) override {
    weights_ref_.reset(env);
    section_ref_.reset(env);
  }

 private:
  const Backend* backend_;
  std::string graph_json_;
  int device_;
  const uint8_t* weights_;
  size_t weights_size_;
  const uint8_t* section_;
  size_t section_size_;
  JsRef weights_ref_, section_ref_;
  std::unique_ptr<Engine> engine_;
};

/// Loads an engine from a plan file, streaming its weights (core/plan_io.h).
class LoadFileJob : public Job {
 public:
  LoadFileJob(napi_env env, const Backend* backend, std::string graph, std::string path, PlanLayout layout, uint32_t crc,
              int device)
      : Job(env), backend_(backend), graph_json_(std::move(graph)), path_(std::move(path)), layout_(layout), crc_(crc),
        device_(device) {}

 protected:
  Status run(EnvLink& /*link*/) override {
    auto graph = std::make_shared<Graph>();
    Status st = parse_graph(graph_json_, graph.get());
    if (!st.is_ok()) return Status(Code::kPlanCorrupt, "graph section: " + st.message());
    auto store = std::make_shared<WeightStore>();
    BuildInput in;
    st = read_plan_file(path_, layout_, crc_, store.get(), &in.backend_section);
    if (!st.is_ok()) return st;
    in.graph = graph;
    in.weights = store;
    in.device = device_;
    return backend_->load(in, &engine_);
  }
  napi_value value(napi_env env) override { return wrap_engine(env, std::move(engine_), backend_->name); }

 private:
  const Backend* backend_;
  std::string graph_json_, path_;
  PlanLayout layout_;
  uint32_t crc_;
  int device_;
  std::unique_ptr<Engine> engine_;
};

/// Writes an engine's plan file (core/plan_io.h) on a background thread.
class SaveJob : public Job {
 public:
  SaveJob(napi_env env, std::shared_ptr<Engine> engine, std::string path, std::vector<uint8_t> head, PlanLayout layout,
          std::string graph)
      : Job(env), engine_(std::move(engine)), path_(std::move(path)), head_(std::move(head)), layout_(layout),
        graph_json_(std::move(graph)) {}

 protected:
  Status run(EnvLink& /*link*/) override {
    std::vector<uint8_t> section;
    Status st = engine_->serialize_backend(&section);
    if (!st.is_ok()) return st;
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

/// What execute() was asked to do besides the plain run.
struct ExecuteRequest {
  int batch = 1;
  RunOptions options;
  int count = 0;  // > 0: a benchmark loop of count inferences (execute_many), depth queued
  int depth = 1;
  std::shared_ptr<TensorHistograms> histograms;
};

/// The host memory of one execute: the inputs as they were at call time, room for the outputs,
/// and the caller's output arrays to copy into when it settles.
struct ExecuteIo {
  std::shared_ptr<HostBlock> inputs, outputs;
  std::vector<const float*> in;
  std::vector<float*> out;
  std::vector<size_t> out_floats;  // per output: floats to hand back (0: the caller passed an empty array)
  std::vector<JsRef> out_refs;
};

/// Runs a batch on a context's lane; with histograms, also records the statistics of every float
/// tensor (calibration); with a count, runs the benchmark loop.
class ExecuteJob : public Job {
 public:
  ExecuteJob(napi_env env, std::shared_ptr<ContextState> state, ExecuteRequest request, ExecuteIo io)
      : Job(env), state_(std::move(state)), request_(std::move(request)), io_(std::move(io)) {}

 protected:
  Status run(EnvLink& link) override {
    if (!Borrow(link).ok()) return gone();  // nobody waits for the answer: skip the work
    Context* ctx = state_->context.get();
    if (ctx == nullptr) return Status(Code::kDisposed, "the execution context was disposed");
    RunOptions options = request_.options;
    options.host_pinned = io_.inputs && io_.inputs->pinned;
    ctx->set_run_options(options);
    Status st = dispatch(ctx);
    ctx->set_run_options(RunOptions{});
    return st;
  }
  napi_value value(napi_env env) override;
  void release(napi_env env) override {
    for (JsRef& r : io_.out_refs) r.reset(env);
  }

 private:
  Status dispatch(Context* ctx) {
    const Graph& g = state_->engine->graph();
    if (request_.histograms) {
      if (request_.histograms->entries().size() != g.tensors.size()) {
        return Status(Code::kInvalidArgument, "the histograms were made for another graph");
      }
      return ctx->execute(request_.batch, io_.in, io_.out, request_.histograms.get());
    }
    if (request_.count > 0) return ctx->execute_many(request_.batch, io_.in, io_.out, request_.count, request_.depth, &runs_);
    Status st = ctx->execute(request_.batch, io_.in, io_.out, nullptr);
    if (!st.is_ok()) return st;
    timing_ = ctx->last_timing();
    layers_ = ctx->last_profile();
    if (layers_.valid) {
      for (const Node& n : g.nodes) layer_names_.push_back({n.name, n.op});
    }
    return Status::ok();
  }
  Napi::Value runs_value(Napi::Env env) const;
  Napi::Value timing_value(Napi::Env env) const;

  std::shared_ptr<ContextState> state_;
  ExecuteRequest request_;
  ExecuteIo io_;
  RunTiming timing_;
  LayerProfile layers_;
  std::vector<QueuedRun> runs_;
  std::vector<std::pair<std::string, std::string>> layer_names_;
};

napi_value ExecuteJob::value(napi_env raw_env) {
  Napi::Env env(raw_env);
  for (size_t i = 0; i < io_.out_refs.size(); ++i) {
    if (io_.out_floats[i] == 0) continue;
    Napi::Float32Array a = Napi::Value(env, io_.out_refs[i].get(env)).As<Napi::Float32Array>();
    std::memcpy(a.Data(), io_.out[i], io_.out_floats[i] * sizeof(float));
  }
  return request_.count > 0 ? runs_value(env) : timing_value(env);
}

Napi::Value ExecuteJob::runs_value(Napi::Env env) const {
  // { runs: { h2dMs, computeMs, d2hMs, enqueueMs, submitMs, doneMs } }: one Float64Array each, an
  // entry per inference (GPU times 0 where the backend has none: `gpu` says which).
  Napi::Object runs = Napi::Object::New(env);
  const size_t n = runs_.size();
  const auto column = [&](const char* name, auto get) {
    Napi::Float64Array a = Napi::Float64Array::New(env, n);
    for (size_t i = 0; i < n; ++i) a[i] = get(runs_[i]);
    runs.Set(name, a);
  };
  column("h2dMs", [](const QueuedRun& r) { return r.timing.h2d_ms; });
  column("computeMs", [](const QueuedRun& r) { return r.timing.compute_ms; });
  column("d2hMs", [](const QueuedRun& r) { return r.timing.d2h_ms; });
  column("enqueueMs", [](const QueuedRun& r) { return r.timing.enqueue_ms; });
  column("submitMs", [](const QueuedRun& r) { return r.submit_ms; });
  column("doneMs", [](const QueuedRun& r) { return r.done_ms; });
  Napi::Object t = Napi::Object::New(env);
  t.Set("runs", runs);
  t.Set("gpu", n > 0 && runs_[0].timing.valid);
  return t;
}

Napi::Value ExecuteJob::timing_value(Napi::Env env) const {
  if (!timing_.valid && !layers_.valid) return env.Undefined();
  Napi::Object t = Napi::Object::New(env);
  if (timing_.valid) {
    t.Set("h2dMs", timing_.h2d_ms);
    t.Set("computeMs", timing_.compute_ms);
    t.Set("d2hMs", timing_.d2h_ms);
    t.Set("enqueueMs", timing_.enqueue_ms);
  }
  if (layers_.valid) {
    Napi::Array list = Napi::Array::New(env, layers_.node_ms.size());
    for (size_t i = 0; i < layers_.node_ms.size() && i < layer_names_.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", layer_names_[i].first);
      o.Set("op", layer_names_[i].second);
      o.Set("ms", layers_.node_ms[i]);
      list.Set(static_cast<uint32_t>(i), o);
    }
    t.Set("layers", list);
    t.Set("reformatMs", layers_.reformat_ms);
  }
  return t;
}

const Backend* backend_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsString()) return nullptr;
  const Backend* b = find_backend(v.As<Napi::String>().Utf8Value());
  if (b == nullptr) {
    throw_status(env, Status(Code::kBackendUnavailable, "backend '" + v.As<Napi::String>().Utf8Value() +
                                                            "' is not compiled into this addon"));
  }
  return b;
}

Napi::Value engine_dispose_error(Napi::Env env) {
  return throw_status(env, Status(Code::kDisposed, "the engine was disposed"));
}

/// Parses execute's options: { profile, transfers, graphs } (booleans; absent ones keep their
/// defaults) and a benchmark loop { count, depth } (integers; count 0 or absent: one plain run).
bool execute_options(const Napi::Value& v, ExecuteRequest* r) {
  if (!v.IsObject()) return true;
  Napi::Object o = v.As<Napi::Object>();
  auto flag = [&](const char* key, bool* out) {
    Napi::Value f = o.Get(key);
    if (f.IsBoolean()) *out = f.As<Napi::Boolean>().Value();
  };
  flag("profile", &r->options.profile);
  flag("transfers", &r->options.transfers);
  flag("graphs", &r->options.graphs);
  const auto integer = [&](const char* key, int* out, int lo, int hi) {
    Napi::Value n = o.Get(key);
    if (n.IsUndefined()) return true;
    if (!n.IsNumber()) return false;
    const double d = n.As<Napi::Number>().DoubleValue();
    if (!(d >= lo && d <= hi) || d != std::floor(d)) return false;  // NaN fails the range test
    *out = static_cast<int>(d);
    return true;
  };
  return integer("count", &r->count, 0, 1 << 20) && integer("depth", &r->depth, 1, kMaxQueueDepth);
}

/// Copies the inputs into host memory from the context's pool and makes room for the outputs
/// (when the run has copies: without them nothing is read or written).
Status capture_io(Napi::Env env, ContextState& state, int batch, const std::vector<Napi::Float32Array>& inputs,
                  const std::vector<Napi::Float32Array>& outputs, bool copies, ExecuteIo* io) {
  const Graph& g = state.engine->graph();
  if (inputs.size() != g.inputs.size() || outputs.size() != g.outputs.size()) {
    return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
  }
  size_t in_floats = 0, out_floats = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const size_t want = static_cast<size_t>(g.tensors[g.inputs[i]].volume) * batch;
    if (copies && inputs[i].ElementLength() < want) {
      return Status(Code::kInvalidArgument, "input '" + g.tensors[g.inputs[i]].name + "' is too short for the batch");
    }
    in_floats += copies ? want : 0;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const size_t want = static_cast<size_t>(g.tensors[g.outputs[i]].volume) * batch;
    if (copies && outputs[i].ElementLength() < want) {
      return Status(Code::kInvalidArgument, "output '" + g.tensors[g.outputs[i]].name + "' is too short for the batch");
    }
    out_floats += copies ? want : 0;
  }
  Status st = state.pool->acquire(in_floats * sizeof(float), &io->inputs);
  if (st.is_ok()) st = state.pool->acquire(out_floats * sizeof(float), &io->outputs);
  if (!st.is_ok()) return st;
  float* pin = static_cast<float*>(io->inputs->data);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const size_t n = copies ? static_cast<size_t>(g.tensors[g.inputs[i]].volume) * batch : 0;
    std::memcpy(pin, inputs[i].Data(), n * sizeof(float));
    io->in.push_back(pin);
    pin += n;
  }
  float* pout = static_cast<float*>(io->outputs->data);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const size_t n = copies ? static_cast<size_t>(g.tensors[g.outputs[i]].volume) * batch : 0;
    io->out.push_back(pout);
    io->out_floats.push_back(n);
    io->out_refs.emplace_back(env, outputs[i]);
    pout += n;
  }
  return Status::ok();
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
    if (o.Get("timingCache").IsString()) options.timing_cache = o.Get("timingCache").As<Napi::String>().Utf8Value();
  }
  std::string why;
  if (!backend->available(&why)) return throw_status(env, Status(Code::kBackendUnavailable, why));
  auto job = std::make_unique<BuildJob>(env, backend, info[1].As<Napi::String>().Utf8Value(), std::move(weights), std::move(options));
  Napi::Value promise(env, job->promise());
  Job::start(std::move(job));
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
  auto job = std::make_unique<LoadJob>(env, backend, info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Uint8Array>(),
                                       info[3].As<Napi::Uint8Array>(), device);
  Napi::Value promise(env, job->promise());
  Job::start(std::move(job));
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
  if (h == nullptr || !info[1].IsString() || !info[2].IsTypedArray() || !layout_arg(info[3], &layout) || !info[4].IsString() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return throw_type(env, "savePlan(engine, path, head: Uint8Array, layout, graphJson)");
  }
  if (!h->engine) return engine_dispose_error(env);
  Napi::Uint8Array head = info[2].As<Napi::Uint8Array>();
  auto job = std::make_unique<SaveJob>(env, h->engine, info[1].As<Napi::String>().Utf8Value(),
                                       std::vector<uint8_t>(head.Data(), head.Data() + head.ByteLength()), layout,
                                       info[4].As<Napi::String>().Utf8Value());
  Napi::Value promise(env, job->promise());
  Job::start(std::move(job));
  return promise;
}

Napi::Value LoadPlanFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend* backend = backend_arg(env, info[0]);
  if (env.IsExceptionPending()) return env.Undefined();
  PlanLayout layout;
  if (backend == nullptr || !info[1].IsString() || !info[2].IsString() || !layout_arg(info[3], &layout) || !info[4].IsNumber()) {
    return throw_type(env, "loadPlanFile(backend, graphJson, path, layout, crc, device?)");
  }
  std::string why;
  if (!backend->available(&why)) return throw_status(env, Status(Code::kBackendUnavailable, why));
  const int device = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
  auto job = std::make_unique<LoadFileJob>(env, backend, info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::String>().Utf8Value(),
                                           layout, info[4].As<Napi::Number>().Uint32Value(), device);
  Napi::Value promise(env, job->promise());
  Job::start(std::move(job));
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
  if (h != nullptr) h->engine.reset();  // contexts keep their own reference until they go
  return info.Env().Undefined();
}

Napi::Value CreateContextJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "createContext(engine)");
  if (!h->engine) return engine_dispose_error(env);
  auto state = std::make_shared<ContextState>();
  state->engine = h->engine;
  state->pool = std::make_shared<HostPool>(h->engine->host_allocator());
  Status st = h->engine->create_context(&state->context);
  if (!st.is_ok()) return throw_status(env, st);
  auto* ch = new ContextHandle{state};
  return Napi::External<ContextHandle>::New(env, ch, [](Napi::Env, ContextHandle* p) { delete p; });
}

Napi::Value DisposeContextJs(const Napi::CallbackInfo& info) {
  ContextHandle* h = handle_of<ContextHandle>(info[0]);
  if (h != nullptr && h->state) {
    // The calls already queued on the lane run first; then the context and its memory go.
    std::shared_ptr<ContextState> state = std::move(h->state);
    ContextState* raw = state.get();
    raw->lane.post([state]() mutable {
      state->context.reset();
      state->pool.reset();
      state->engine.reset();
    });
  }
  return info.Env().Undefined();
}

Napi::Value ExecuteJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextHandle* h = handle_of<ContextHandle>(info[0]);
  if (h == nullptr || !info[1].IsNumber()) return throw_type(env, "execute(context, batch, inputs, outputs, histograms?, options?)");
  if (!h->state || !h->state->engine) return throw_status(env, Status(Code::kDisposed, "the execution context was disposed"));
  std::vector<Napi::Float32Array> inputs, outputs;
  if (!float_arrays(info[2], &inputs) || !float_arrays(info[3], &outputs)) {
    return throw_type(env, "inputs and outputs must be arrays of Float32Array");
  }
  ExecuteRequest request;
  request.batch = info[1].As<Napi::Number>().Int32Value();
  if (HistogramHandle* hh = handle_of<HistogramHandle>(info[4])) request.histograms = hh->histograms;
  if (!execute_options(info.Length() > 5 ? info[5] : env.Undefined(), &request)) {
    return throw_type(env, "execute options: count is an integer in [0, 1048576], depth in [1, " + std::to_string(kMaxQueueDepth) + "]");
  }
  const int max_batch = h->state->engine->graph().max_batch;
  if (request.batch < 1 || request.batch > max_batch) {
    return throw_status(env, Status(Code::kInvalidArgument, "batch " + std::to_string(request.batch) + " is outside [1, " +
                                                               std::to_string(max_batch) + "]"));
  }
  // Without transfers the backends neither read the inputs nor write the outputs (benchmarks of
  // huge batches pass empty arrays); otherwise every array must hold the batch.
  const bool copies = request.options.transfers || request.histograms;
  ExecuteIo io;
  Status st = capture_io(env, *h->state, request.batch, inputs, outputs, copies, &io);
  if (!st.is_ok()) return throw_status(env, st);
  auto job = std::make_unique<ExecuteJob>(env, h->state, std::move(request), std::move(io));
  Napi::Value promise(env, job->promise());
  Job::start(std::move(job), h->state->lane);
  return promise;
}

Napi::Value CreateHistogramsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int64Value() < 0 || info[0].As<Napi::Number>().Int64Value() > 1000000) {
    return throw_type(env, "createHistograms(tensorCount)");
  }
  auto* h = new HistogramHandle{std::make_shared<TensorHistograms>(static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()))};
  return Napi::External<HistogramHandle>::New(env, h, [](Napi::Env, HistogramHandle* p) { delete p; });
}

Napi::Value ReadHistogramsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HistogramHandle* h = handle_of<HistogramHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "readHistograms(histograms)");
  const auto& entries = h->histograms->entries();
  Napi::Float64Array amax = Napi::Float64Array::New(env, entries.size());
  Napi::Float64Array range = Napi::Float64Array::New(env, entries.size());
  Napi::Uint8Array seen = Napi::Uint8Array::New(env, entries.size());
  Napi::Float64Array counts = Napi::Float64Array::New(env, entries.size() * TensorHistograms::kBins);
  for (size_t i = 0; i < entries.size(); ++i) {
    amax[i] = entries[i].amax;
    range[i] = entries[i].range;
    seen[i] = entries[i].seen ? 1 : 0;
    std::copy(entries[i].counts.begin(), entries[i].counts.end(), counts.Data() + i * TensorHistograms::kBins);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("amax", amax);
  out.Set("range", range);
  out.Set("seen", seen);
  out.Set("counts", counts);
  return out;
}

}  // namespace trtn::js
