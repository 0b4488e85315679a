// N-API glue for engines and contexts. Build, load and execute run on libuv's thread pool
// (Napi::AsyncWorker); JS keeps the typed arrays alive through references until a worker ends.
// Failures come back as Errors carrying a stable `code` (native/core/status.h).
#include "addon/js_engine.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/graph.h"
#include "core/histogram.h"
#include "core/weights.h"

namespace trtn::js {
namespace {

/// An engine as JS holds it; dispose() empties it, the finalizer deletes it.
struct EngineHandle {
  std::shared_ptr<Engine> engine;
  std::string backend;
};

/// A context: its engine stays alive while the context does; `mu` serialises executions.
struct ContextState {
  std::shared_ptr<Engine> engine;
  std::unique_ptr<Context> context;
  std::mutex mu;
};

struct ContextHandle {
  std::shared_ptr<ContextState> state;
};

/// Calibration statistics, filled by executions that name them.
struct HistogramHandle {
  std::shared_ptr<TensorHistograms> histograms;
};

Napi::Error make_error(Napi::Env env, const Status& st) {
  Napi::Error err = Napi::Error::New(env, st.message());
  err.Set("code", code_name(st.code()));
  return err;
}

Napi::Value throw_status(Napi::Env env, const Status& st) {
  make_error(env, st).ThrowAsJavaScriptException();
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

/// A float32 array argument: pointer, length and a reference that keeps it alive.
struct FloatArg {
  float* data = nullptr;
  size_t length = 0;
  Napi::Reference<Napi::Value> ref;
};

bool float_args(const Napi::Value& v, std::vector<FloatArg>* out) {
  if (!v.IsArray()) return false;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return false;
    Napi::Float32Array f = item.As<Napi::Float32Array>();
    FloatArg a;
    a.data = f.Data();
    a.length = f.ElementLength();
    a.ref = Napi::Persistent(item);
    out->push_back(std::move(a));
  }
  return true;
}

/// A worker that reports a Status and resolves a promise with what Finish() builds.
class StatusWorker : public Napi::AsyncWorker {
 public:
  explicit StatusWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual Status Run() = 0;
  virtual Napi::Value Finish(Napi::Env env) = 0;

  void Execute() override {
    try {
      status_ = Run();
    } catch (const std::bad_alloc&) {
      status_ = Status(Code::kOutOfMemory, "out of host memory");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (status_.is_ok()) deferred_.Resolve(Finish(env));
    else deferred_.Reject(make_error(env, status_).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Status status_;

 private:
  Napi::Promise::Deferred deferred_;
};

Napi::Value wrap_engine(Napi::Env env, std::unique_ptr<Engine> engine, const std::string& backend) {
  auto* h = new EngineHandle{std::shared_ptr<Engine>(std::move(engine)), backend};
  return Napi::External<EngineHandle>::New(env, h, [](Napi::Env, EngineHandle* p) { delete p; });
}

class BuildWorker : public StatusWorker {
 public:
  BuildWorker(Napi::Env env, const Backend* backend, std::string graph, std::vector<FloatArg> weights, BuildInput options)
      : StatusWorker(env), backend_(backend), graph_json_(std::move(graph)), weights_(std::move(weights)),
        options_(std::move(options)) {}

 protected:
  Status Run() override {
    auto graph = std::make_shared<Graph>();
    Status st = parse_graph(graph_json_, graph.get());
    if (!st.is_ok()) return st;
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
    auto store = std::make_shared<WeightStore>();
    st = prepare_weights(*graph, raw, store.get());
    if (!st.is_ok()) return st;
    BuildInput in = options_;
    in.graph = graph;
    in.weights = store;
    in.graph_json = graph_json_;
    return backend_->build(in, &engine_);
  }
  Napi::Value Finish(Napi::Env env) override {
    weights_.clear();
    return wrap_engine(env, std::move(engine_), backend_->name);
  }

 private:
  const Backend* backend_;
  std::string graph_json_;
  std::vector<FloatArg> weights_;
  BuildInput options_;
  std::unique_ptr<Engine> engine_;
};

class LoadWorker : public StatusWorker {
 public:
  LoadWorker(Napi::Env env, const Backend* backend, std::string graph, Napi::Uint8Array weights, Napi::Uint8Array section,
             int device)
      : StatusWorker(env), backend_(backend), graph_json_(std::move(graph)), device_(device),
        weights_(weights.Data()), weights_size_(weights.ByteLength()),
        section_(section.Data(), section.Data() + section.ByteLength()),
        weights_ref_(Napi::Persistent(static_cast<Napi::Value>(weights))) {}

 protected:
  Status Run() override {
    auto graph = std::make_shared<Graph>();
    Status st = parse_graph(graph_json_, graph.get());
    if (!st.is_ok()) return Status(Code::kPlanCorrupt, "graph section: " + st.message());
    auto store = std::make_shared<WeightStore>();
    st = WeightStore::deserialize(weights_, weights_size_, store.get());
    if (!st.is_ok()) return st;
    BuildInput in;
    in.graph = graph;
    in.weights = store;
    in.backend_section = std::move(section_);
    in.device = device_;
    return backend_->load(in, &engine_);
  }
  Napi::Value Finish(Napi::Env env) override { return wrap_engine(env, std::move(engine_), backend_->name); }

 private:
  const Backend* backend_;
  std::string graph_json_;
  int device_;
  const uint8_t* weights_;
  size_t weights_size_;
  std::vector<uint8_t> section_;
  Napi::Reference<Napi::Value> weights_ref_;
  std::unique_ptr<Engine> engine_;
};

/// Runs a batch; with histograms, also records the statistics of every float tensor (calibration).
class ExecuteWorker : public StatusWorker {
 public:
  ExecuteWorker(Napi::Env env, std::shared_ptr<ContextState> state, int batch, std::vector<FloatArg> inputs,
                std::vector<FloatArg> outputs, std::shared_ptr<TensorHistograms> histograms, RunOptions options)
      : StatusWorker(env), state_(std::move(state)), batch_(batch), inputs_(std::move(inputs)),
        outputs_(std::move(outputs)), histograms_(std::move(histograms)), options_(options) {}
  /// Makes this a benchmark loop (Context::execute_many).
  void repeat(int count, int depth) {
    count_ = count;
    depth_ = depth;
  }

 protected:
  Status Run() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->context) return Status(Code::kDisposed, "the execution context was disposed");
    const Graph& g = state_->engine->graph();
    // Without transfers the backends neither read the inputs nor write the outputs (benchmarks
    // of huge batches pass empty arrays); otherwise every array must hold the batch.
    const bool copies = options_.transfers || histograms_;
    for (size_t i = 0; copies && i < inputs_.size() && i < g.inputs.size(); ++i) {
      if (static_cast<int64_t>(inputs_[i].length) < g.tensors[g.inputs[i]].volume * batch_) {
        return Status(Code::kInvalidArgument, "input '" + g.tensors[g.inputs[i]].name + "' is too short for the batch");
      }
    }
    for (size_t i = 0; copies && i < outputs_.size() && i < g.outputs.size(); ++i) {
      if (static_cast<int64_t>(outputs_[i].length) < g.tensors[g.outputs[i]].volume * batch_) {
        return Status(Code::kInvalidArgument, "output '" + g.tensors[g.outputs[i]].name + "' is too short for the batch");
      }
    }
    std::vector<const float*> in;
    std::vector<float*> out;
    for (auto& a : inputs_) in.push_back(a.data);
    for (auto& a : outputs_) out.push_back(a.data);
    if (!histograms_ && count_ > 0) {
      // A benchmark loop (options.count / options.depth): execute_many.
      state_->context->set_run_options(options_);
      Status st = state_->context->execute_many(batch_, in, out, count_, depth_, &runs_);
      state_->context->set_run_options(RunOptions{});
      return st;
    }
    if (!histograms_) {
      state_->context->set_run_options(options_);
      Status st = state_->context->execute(batch_, in, out, nullptr);
      state_->context->set_run_options(RunOptions{});
      if (st.is_ok()) {
        timing_ = state_->context->last_timing();
        layers_ = state_->context->last_profile();
        if (layers_.valid) {
          for (const Node& n : g.nodes) layer_names_.push_back({n.name, n.op});
        }
      }
      return st;
    }
    if (histograms_->entries().size() != g.tensors.size()) {
      return Status(Code::kInvalidArgument, "the histograms were made for another graph");
    }
    return state_->context->execute(batch_, in, out, histograms_.get());
  }
  Napi::Value Finish(Napi::Env env) override {
    if (count_ > 0) {
      // { runs: { h2dMs, computeMs, d2hMs, enqueueMs, submitMs, doneMs } }: one Float64Array each,
      // an entry per inference (GPU times 0 where the backend has none: `gpu` says which).
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

 private:
  RunTiming timing_;
  LayerProfile layers_;
  std::vector<QueuedRun> runs_;
  int count_ = 0;  // > 0: a benchmark loop of count_ inferences, depth_ queued
  int depth_ = 1;
  std::vector<std::pair<std::string, std::string>> layer_names_;
  std::shared_ptr<ContextState> state_;
  int batch_;
  std::vector<FloatArg> inputs_;
  std::vector<FloatArg> outputs_;
  std::shared_ptr<TensorHistograms> histograms_;
  RunOptions options_;
};

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
  std::vector<FloatArg> weights;
  if (!float_args(info[2], &weights)) return throw_type(env, "weights must be an array of Float32Array");
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
  auto* w = new BuildWorker(env, backend, info[1].As<Napi::String>().Utf8Value(), std::move(weights), std::move(options));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
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
  auto* w = new LoadWorker(env, backend, info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Uint8Array>(),
                           info[3].As<Napi::Uint8Array>(), device);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
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
  std::copy(weights.begin(), weights.end(), w.Data());
  Napi::Uint8Array s = Napi::Uint8Array::New(env, section.size());
  std::copy(section.begin(), section.end(), s.Data());
  out.Set("weights", w);
  out.Set("backend", s);
  return out;
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
  Status st = h->engine->create_context(&state->context);
  if (!st.is_ok()) return throw_status(env, st);
  auto* ch = new ContextHandle{state};
  return Napi::External<ContextHandle>::New(env, ch, [](Napi::Env, ContextHandle* p) { delete p; });
}

Napi::Value DisposeContextJs(const Napi::CallbackInfo& info) {
  ContextHandle* h = handle_of<ContextHandle>(info[0]);
  if (h != nullptr && h->state) {
    // An execution in flight holds the state; it finishes, then the context goes.
    std::shared_ptr<ContextState> state = std::move(h->state);
    std::unique_lock<std::mutex> lock(state->mu, std::try_to_lock);
    if (lock.owns_lock()) {
      state->context.reset();
      state->engine.reset();
    }
  }
  return info.Env().Undefined();
}

Napi::Value ExecuteJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ContextHandle* h = handle_of<ContextHandle>(info[0]);
  if (h == nullptr || !info[1].IsNumber()) return throw_type(env, "execute(context, batch, inputs, outputs, histograms?, options?)");
  if (!h->state) return throw_status(env, Status(Code::kDisposed, "the execution context was disposed"));
  std::vector<FloatArg> inputs, outputs;
  if (!float_args(info[2], &inputs) || !float_args(info[3], &outputs)) {
    return throw_type(env, "inputs and outputs must be arrays of Float32Array");
  }
  std::shared_ptr<TensorHistograms> histograms;
  if (HistogramHandle* hh = handle_of<HistogramHandle>(info[4])) histograms = hh->histograms;
  // Run options: { profile, transfers, graphs } (booleans; absent ones keep their defaults) and a
  // benchmark loop { count, depth } (integers; count 0 or absent: one plain execute).
  RunOptions options;
  int count = 0, depth = 1;
  if (info.Length() > 5 && info[5].IsObject()) {
    Napi::Object o = info[5].As<Napi::Object>();
    auto flag = [&](const char* key, bool* out) {
      Napi::Value v = o.Get(key);
      if (v.IsBoolean()) *out = v.As<Napi::Boolean>().Value();
    };
    flag("profile", &options.profile);
    flag("transfers", &options.transfers);
    flag("graphs", &options.graphs);
    const auto integer = [&](const char* key, int* out, int lo, int hi) {
      Napi::Value v = o.Get(key);
      if (v.IsUndefined()) return true;
      if (!v.IsNumber()) return false;
      const double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= lo && d <= hi) || d != std::floor(d)) return false;  // NaN fails the range test
      *out = static_cast<int>(d);
      return true;
    };
    if (!integer("count", &count, 0, 1 << 20) || !integer("depth", &depth, 1, kMaxQueueDepth)) {
      return throw_type(env, "execute options: count is an integer in [0, 1048576], depth in [1, " + std::to_string(kMaxQueueDepth) + "]");
    }
  }
  auto* w = new ExecuteWorker(env, h->state, info[1].As<Napi::Number>().Int32Value(), std::move(inputs),
                              std::move(outputs), std::move(histograms), options);
  if (count > 0) w->repeat(count, depth);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
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
