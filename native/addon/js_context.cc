// N-API glue for execution contexts. Each context runs its inferences on a thread of its own (its
// lane), in call order, never on Node's libuv pool. Inputs are copied into the engine's host memory
// when execute() is called (later changes to the caller's arrays cannot reach a queued inference),
// outputs land in such memory and are copied into the caller's arrays when the promise settles.
// On GPU backends the lane keeps two inferences in flight when more are queued behind them, so the
// copies of one overlap the compute of the other (gpu/run_loop.h); it waits as soon as nothing is
// queued, so a lone call is answered at once.
#include "addon/js_context.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addon/env_link.h"
#include "addon/handles.h"
#include "addon/js_host_memory.h"
#include "addon/jobs.h"
#include "core/backend.h"
#include "core/host_memory.h"
#include "core/task_queue.h"
#include "core/thread_pool.h"

namespace trtn::js {

class ExecuteJob;

/// The last few durations of lone calls of one batch size: the shortest says how early the next
/// one may end (the JS thread is woken ahead of it), the typical one how long the wake may watch.
/// A minimum, unlike a running mean, is not pushed late by one slow call (a capture, a hiccup).
struct RecentDurations {
  static constexpr int kKept = 8;
  double us[kKept] = {};
  int64_t count = 0;
  void add(double v) { us[count++ % kKept] = v; }
  double shortest() const { return *std::min_element(us, us + std::min<int64_t>(count, kKept)); }
  /// The median of those kept (the upper one of an even count).
  double typical() const {
    double v[kKept];
    const int n = static_cast<int>(std::min<int64_t>(count, kKept));
    std::copy(us, us + n, v);
    std::nth_element(v, v + n / 2, v + n);
    return v[n / 2];
  }
};

/// A context: its engine stays alive while the context does. The context and the inferences in
/// flight are used on the lane only (after creation); the lane is declared last so it is stopped
/// first.
struct ContextState {
  std::shared_ptr<Engine> engine;
  std::unique_ptr<Context> context;
  std::shared_ptr<HostPool> pool;
  std::deque<std::unique_ptr<ExecuteJob>> in_flight;
  int largest_batch = 0;  // of any inference submitted so far
  /// Host bytes held (the pool's blocks and the context's own), set on the lane after each submit.
  std::atomic<int64_t> host_bytes{0};
  int64_t reported = 0;   // JS thread: what V8 was told
  bool released = false;  // JS thread: disposed or finalized (nothing more is reported)
  /// Wake the JS thread ahead of a lone call's expected end (GPU contexts; spinWait 'auto').
  std::shared_ptr<EnvLink> link;
  bool wake_ahead = false;
  /// Lane: how long the last lone calls of each batch took from their submit to their end (us).
  std::unordered_map<int, RecentDurations> expect_us;
  SerialQueue lane;
  /// GPU lanes watch for the next call for a moment before they sleep (batch-1 latency).
  explicit ContextState(bool gpu) : lane("trtn-context", gpu ? kLaneSpinMicros : 0) {}
  static constexpr int kLaneSpinMicros = 200;
};

/// JS thread: tells V8 how the context's host memory changed since it last did.
void report_memory(Napi::Env env, ContextState& state) {
  if (state.released) return;
  const int64_t now = state.host_bytes.load();
  adjust_external(env, now - state.reported);
  state.reported = now;
}

void release_reported(Napi::Env env, ContextHandle* h) {
  if (!h->state) return;
  adjust_external(env, -h->state->reported);
  h->state->reported = 0;
  h->state->released = true;
}

namespace {

/// How many inferences a lane keeps in flight when more are queued (two staging slots: the copies
/// of one overlap the compute of the other).
constexpr size_t kPipelineDepth = 2;
/// drain(): how long the lane watches the device without sleeping, then how long it naps between
/// looks (a batch-128 GoogLeNet takes milliseconds; a batch-1 answer is not delayed by a nap).
constexpr int kDrainSpinMicros = 2000;
constexpr int kDrainNapMicros = 20;
/// wake_ahead: added to the JS thread's usual wake-up when waking it ahead of a lone call's end;
/// the longest the JS thread watches (busy) for the answer.
constexpr double kWakeMarginMicros = 10;
constexpr double kMaxHoldMicros = 250;

/// What execute() was asked to do besides the plain run.
struct ExecuteRequest {
  Inference inference;
  std::shared_ptr<std::atomic<int>> cancel;  // set when the caller can cancel (CancelToken)
  int count = 0;                             // > 0: a benchmark loop of count inferences (execute_many), depth queued
  int depth = 1;
  std::shared_ptr<TensorHistograms> histograms;
};

/// The host memory of one execute: the inputs as they were at call time, room for the outputs,
/// and the caller's output arrays to copy into when it settles.
struct ExecuteIo {
  std::shared_ptr<HostBlock> inputs, outputs;
  std::vector<std::shared_ptr<HostBlock>> held;  // the caller's own host-memory arrays, used in place
  std::vector<size_t> out_bytes;                 // per output: bytes to hand back (0: the caller passed an empty array)
  std::vector<JsRef> out_refs;
};

}  // namespace

/// One execute() call: submitted on the context's lane, waited for there (possibly after the next
/// call was submitted), then settled on the JS thread.
class ExecuteJob : public Job {
 public:
  ExecuteJob(napi_env env, std::shared_ptr<ContextState> state, ExecuteRequest request, ExecuteIo io)
      : Job(env),
        state_(std::move(state)),
        request_(std::move(request)),
        io_(std::move(io)),
        called_(std::chrono::steady_clock::now()) {}

  /// Lane: takes the call; false when it was cancelled while it waited (it then rejects E_ABORTED).
  bool take() {
    int waiting = CancelToken::kWaiting;
    if (!request_.cancel || request_.cancel->compare_exchange_strong(waiting, CancelToken::kStarted)) return true;
    set_status(Status(Code::kAborted, "the call was aborted before it ran"));
    return false;
  }
  /// Lane: true when this call must run with nothing else in flight (it replaces the context's
  /// memory, observes every tensor, times layers, or is a benchmark loop of its own).
  bool alone(const ContextState& state) const {
    const Inference& inf = request_.inference;
    return request_.count > 0 || request_.histograms || inf.options.profile || inf.batch > state.largest_batch;
  }
  /// Lane: starts the inference (a benchmark loop runs to the end here). False when it finished
  /// already (failed, or done at once): then it is not waited for.
  bool submit(Context* ctx) {
    Inference& inf = request_.inference;
    inf.stats = request_.histograms.get();
    if (request_.histograms && request_.histograms->entries().size() != state_->engine->graph().tensors.size()) {
      set_status(Status(Code::kInvalidArgument, "the histograms were made for another graph"));
      return false;
    }
    if (request_.count > 0) {
      set_status(ctx->execute_many(inf, request_.count, request_.depth, &runs_));
      return false;
    }
    const auto start = std::chrono::steady_clock::now();
    Status st = ctx->submit(&inf);
    submitted_ = std::chrono::steady_clock::now();
    inf.timing.queue_ms = std::chrono::duration<double, std::milli>(start - called_).count();
    set_status(st);
    return st.is_ok();
  }
  /// Lane: waits for the inference submitted; a lone call's time from submit to end goes into
  /// the context's expectation for its batch (wake_ahead).
  void wait(Context* ctx) {
    Status st = ctx->wait(&request_.inference);
    done_ = std::chrono::steady_clock::now();
    set_status(st);
    const Inference& inf = request_.inference;
    if (st.is_ok() && inf.lone && !inf.options.profile) {
      const double us = std::chrono::duration<double, std::micro>(done_ - submitted_).count();
      state_->expect_us[inf.batch].add(us);
    }
  }
  /// Lane: how early the lone call in flight may end and how much later it typically does (us;
  /// nothing expected yet: false).
  bool expected_end(std::chrono::steady_clock::time_point* earliest, double* spread_us) const {
    auto it = state_->expect_us.find(request_.inference.batch);
    if (!request_.inference.lone || it == state_->expect_us.end()) return false;
    const double shortest = it->second.shortest();
    *earliest = submitted_ + std::chrono::microseconds(static_cast<int64_t>(shortest));
    *spread_us = it->second.typical() - shortest;
    return true;
  }
  const std::shared_ptr<ContextState>& state() const { return state_; }
  int batch() const { return request_.inference.batch; }
  void set_lone(bool lone) { request_.inference.lone = lone; }

 protected:
  napi_value value(napi_env env) override;
  void release(napi_env env) override {
    for (JsRef& r : io_.out_refs) r.reset(env);
  }

 private:
  Napi::Value runs_value(Napi::Env env) const;
  Napi::Value timing_value(Napi::Env env) const;

  std::shared_ptr<ContextState> state_;
  ExecuteRequest request_;
  ExecuteIo io_;
  std::vector<QueuedRun> runs_;
  std::chrono::steady_clock::time_point called_;     // when execute() was called (the timing's queueMs)
  std::chrono::steady_clock::time_point submitted_;  // when the lane had submitted it
  std::chrono::steady_clock::time_point done_;       // when the lane saw it finish (the timing's doneMs)
};

napi_value ExecuteJob::value(napi_env raw_env) {
  Napi::Env env(raw_env);
  report_memory(env, *state_);
  const HostIo& io = request_.inference.io;
  for (size_t i = 0; i < io_.out_refs.size(); ++i) {
    if (io_.out_bytes[i] == 0) continue;
    Napi::TypedArray a = Napi::Value(env, io_.out_refs[i].get(env)).As<Napi::TypedArray>();
    std::memcpy(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(), io.outputs[i], io_.out_bytes[i]);
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
  const RunTiming& timing = request_.inference.timing;
  const LayerProfile& layers = request_.inference.profile;
  if (!timing.valid && !layers.valid) return env.Undefined();
  Napi::Object t = Napi::Object::New(env);
  if (timing.valid) {
    t.Set("h2dMs", timing.h2d_ms);
    t.Set("computeMs", timing.compute_ms);
    t.Set("d2hMs", timing.d2h_ms);
    t.Set("enqueueMs", timing.enqueue_ms);
    t.Set("queueMs", timing.queue_ms);
    t.Set("doneMs", std::chrono::duration<double, std::milli>(done_ - called_).count());
  }
  if (layers.valid) {
    const Graph& g = state_->engine->graph();
    Napi::Array list = Napi::Array::New(env, layers.node_ms.size());
    for (size_t i = 0; i < layers.node_ms.size() && i < g.nodes.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", g.nodes[i].name);
      o.Set("op", g.nodes[i].op);
      o.Set("ms", layers.node_ms[i]);
      list.Set(static_cast<uint32_t>(i), o);
    }
    t.Set("layers", list);
    t.Set("reformatMs", layers.reformat_ms);
  }
  return t;
}

namespace {

// ---- the lane: submit, and wait in order --------------------------------------------------------

/// Lane: waits for the oldest inference in flight and hands it to the JS thread.
void finish_oldest(ContextState& state) {
  std::unique_ptr<ExecuteJob> job = std::move(state.in_flight.front());
  state.in_flight.pop_front();
  job->wait(state.context.get());
  Job::finish(std::move(job));
}

void finish_all(ContextState& state) {
  while (!state.in_flight.empty()) finish_oldest(state);
}

/// Lane: when to wake the JS thread ahead of the lone call in flight, and how long it may watch
/// (wake_ahead): its earliest expected end less the JS thread's usual wake-up and a margin; it
/// watches until past the typical end (at most kMaxHoldMicros). Never (max) when nothing is
/// expected yet or more than one call is in flight.
std::chrono::steady_clock::time_point wake_due(const ContextState& state, int* hold_us) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point earliest;
  double spread = 0;
  if (!state.wake_ahead || state.link == nullptr || state.in_flight.size() != 1 ||
      !state.in_flight.front()->expected_end(&earliest, &spread)) {
    return Clock::time_point::max();
  }
  const double lead = std::clamp(state.link->wake_us() + kWakeMarginMicros, 15.0, 100.0);
  *hold_us = static_cast<int>(std::min(2 * lead + spread + kWakeMarginMicros, kMaxHoldMicros));
  return earliest - std::chrono::microseconds(static_cast<int64_t>(lead));
}

/// Lane: answers the inferences in flight as they finish, until none is left or another call is
/// waiting behind this one: that call is submitted first (its copies overlap the compute in
/// flight), and drains in its turn. Watches the device for a while, then naps between looks; a
/// lone call wakes the JS thread shortly before it is expected to end (wake_due).
void drain(ContextState& state) {
  const auto start = std::chrono::steady_clock::now();
  int hold_us = 0;
  auto due = wake_due(state, &hold_us);
  while (!state.in_flight.empty()) {
    if (state.lane.pending() > 0) return;
    if (state.context->ready()) {
      finish_oldest(state);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= due) {
      state.link->wake_ahead(hold_us);
      due = std::chrono::steady_clock::time_point::max();
    }
    if (now - start < std::chrono::microseconds(kDrainSpinMicros)) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(kDrainNapMicros));
    }
  }
}

/// Lane: one execute() call. Answers leave in call order: a call that fails or finishes at once
/// goes after the ones still in flight.
void run_on_lane(std::unique_ptr<ExecuteJob> job) {
  ContextState& state = *job->state();
  if (!job->wanted()) {
    finish_all(state);  // its environment is gone: skip the work (the job is freed unsettled)
    return;
  }
  if (state.context == nullptr || !job->take()) {
    if (state.context == nullptr) job->set_status(Status(Code::kDisposed, "the execution context was disposed"));
    finish_all(state);
    Job::finish(std::move(job));
    return;
  }
  const bool alone = job->alone(state);
  if (alone) finish_all(state);
  job->set_lone(state.in_flight.empty() && state.lane.pending() == 0);
  while (state.in_flight.size() >= std::min<size_t>(kPipelineDepth, state.context->depth())) finish_oldest(state);
  const bool submitted = job->submit(state.context.get());
  state.largest_batch = std::max(state.largest_batch, job->batch());
  state.host_bytes = static_cast<int64_t>(state.pool->held_bytes()) + state.context->host_bytes();
  if (!submitted) {
    finish_all(state);
    Job::finish(std::move(job));
    return;
  }
  state.in_flight.push_back(std::move(job));
  if (alone) {
    finish_all(state);
  } else {
    drain(state);
  }
}

void start_on_lane(std::unique_ptr<ExecuteJob> job, SerialQueue& lane) {
  ExecuteJob* raw = job.release();
  lane.post([raw] { run_on_lane(std::unique_ptr<ExecuteJob>(raw)); });
}

// ---- arguments --------------------------------------------------------------------------------

/// Parses execute's options: { profile, transfers, graphs } (booleans; absent ones keep their
/// defaults) and a benchmark loop { count, depth } (integers; count 0 or absent: one plain run).
bool execute_options(const Napi::Value& v, ExecuteRequest* r) {
  if (!v.IsObject()) return true;
  Napi::Object o = v.As<Napi::Object>();
  RunOptions& options = r->inference.options;
  auto flag = [&](const char* key, bool* out) {
    Napi::Value f = o.Get(key);
    if (f.IsBoolean()) *out = f.As<Napi::Boolean>().Value();
  };
  flag("profile", &options.profile);
  flag("transfers", &options.transfers);
  flag("graphs", &options.graphs);
  if (CancelToken* token = handle_of<CancelToken>(o.Get("cancel"))) r->cancel = token->state;
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

/// The typed-array type that carries a tensor's host form (float16 as its bits in a Uint16Array).
napi_typedarray_type array_type(DType host) {
  switch (host) {
    case DType::kFloat16: return napi_uint16_array;
    case DType::kUInt8: return napi_uint8_array;
    default: return napi_float32_array;
  }
}

bool typed_arrays(const Napi::Value& v, std::vector<Napi::TypedArray>* out) {
  if (!v.IsArray()) return false;
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value item = arr.Get(i);
    if (!item.IsTypedArray()) return false;
    out->push_back(item.As<Napi::TypedArray>());
  }
  return true;
}

/// Checks one array against its tensor: type, and length for the batch (when the run has copies).
Status check_array(const TensorDesc& d, const Napi::TypedArray& a, int batch, bool copies, const char* kind) {
  const napi_typedarray_type want = array_type(d.host);
  const napi_typedarray_type got = a.TypedArrayType();
  if (got != want && !(want == napi_uint8_array && got == napi_uint8_clamped_array)) {
    return Status(Code::kInvalidArgument, std::string(kind) + " '" + d.name + "' is " + dtype_name(d.host) +
                                              ": it takes a " +
                                              (want == napi_uint16_array  ? "Uint16Array (float16 bits)"
                                               : want == napi_uint8_array ? "Uint8Array"
                                                                          : "Float32Array"));
  }
  if (copies && a.ElementLength() < static_cast<size_t>(d.image_volume()) * batch) {
    return Status(Code::kInvalidArgument, std::string(kind) + " '" + d.name + "' is too short for the batch");
  }
  return Status::ok();
}

/// Copies `n` bytes while the caller waits: large copies (a batch of float32 images is tens of MB)
/// are split over the cpu backend's threads, which read memory several times faster than one.
void copy_now(uint8_t* dst, const uint8_t* src, size_t n) {
  constexpr size_t kSplitAbove = size_t{4} << 20, kChunk = size_t{1} << 20;
  if (n < kSplitAbove) {
    if (n > 0) std::memcpy(dst, src, n);
    return;
  }
  const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
  ThreadPool::shared().parallel_for(chunks, 1, [=](int64_t begin, int64_t end) {
    const size_t lo = static_cast<size_t>(begin) * kChunk;
    const size_t hi = std::min(n, static_cast<size_t>(end) * kChunk);
    std::memcpy(dst + lo, src + lo, hi - lo);
  });
}

/// The caller's array as host memory made by allocateHost (used in place, kept alive by `held`),
/// or null when it is ordinary memory.
uint8_t* in_place(const Napi::TypedArray& a, size_t bytes, ExecuteIo* io) {
  auto* data = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  std::shared_ptr<HostBlock> block = find_host_block(data, bytes);
  if (!block) return nullptr;
  io->held.push_back(std::move(block));
  return data;
}

/// Copies the inputs into host memory from the context's pool and makes room for the outputs
/// (when the run has copies: without them nothing is read or written). Arrays made by
/// engine.createInputs() / createOutputs() are used in place: nothing is copied for them.
Status capture_io(Napi::Env env, ContextState& state, const std::vector<Napi::TypedArray>& inputs,
                  const std::vector<Napi::TypedArray>& outputs, bool copies, ExecuteRequest* request, ExecuteIo* io) {
  const Graph& g = state.engine->graph();
  const int batch = request->inference.batch;
  if (inputs.size() != g.inputs.size() || outputs.size() != g.outputs.size()) {
    return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
  }
  const auto bytes = [&](int t) {
    return copies ? static_cast<size_t>(g.tensors[t].image_volume()) * batch * dtype_bytes(g.tensors[t].host) : 0;
  };
  const auto padded = [](size_t n) { return (n + 63) / 64 * 64; };
  HostIo& host = request->inference.io;
  std::vector<uint8_t*> in(inputs.size()), out(outputs.size());
  size_t in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TRTN_TRY(check_array(g.tensors[g.inputs[i]], inputs[i], batch, copies, "input"));
    in[i] = in_place(inputs[i], bytes(g.inputs[i]), io);
    if (in[i] == nullptr) in_bytes += padded(bytes(g.inputs[i]));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    TRTN_TRY(check_array(g.tensors[g.outputs[i]], outputs[i], batch, copies, "output"));
    out[i] = in_place(outputs[i], bytes(g.outputs[i]), io);
    if (out[i] == nullptr) out_bytes += padded(bytes(g.outputs[i]));
  }
  TRTN_TRY(state.pool->acquire(in_bytes, &io->inputs));
  TRTN_TRY(state.pool->acquire(out_bytes, &io->outputs));
  auto* pin = static_cast<uint8_t*>(io->inputs->data);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (in[i] == nullptr) {
      const size_t n = bytes(g.inputs[i]);
      copy_now(pin, static_cast<const uint8_t*>(inputs[i].ArrayBuffer().Data()) + inputs[i].ByteOffset(), n);
      in[i] = pin;
      pin += padded(n);
    }
    host.inputs.push_back(in[i]);
  }
  auto* pout = static_cast<uint8_t*>(io->outputs->data);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const bool copy_back = out[i] == nullptr;
    if (copy_back) {
      out[i] = pout;
      pout += padded(bytes(g.outputs[i]));
    }
    host.outputs.push_back(out[i]);
    io->out_bytes.push_back(copy_back ? bytes(g.outputs[i]) : 0);
    io->out_refs.emplace_back(env, outputs[i]);
  }
  host.pinned =
      state.engine->host_allocator()->pinned() &&
      std::all_of(io->held.begin(), io->held.end(), [](const std::shared_ptr<HostBlock>& b) { return b->pinned; });
  return Status::ok();
}

}  // namespace

// ---- exports ----------------------------------------------------------------------------------

Napi::Value CreateContextJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handle_of<EngineHandle>(info[0]);
  if (h == nullptr) return throw_type(env, "createContext(engine)");
  if (!h->engine) return throw_status(env, Status(Code::kDisposed, "the engine was disposed"));
  std::unique_ptr<Context> context;
  Status st = h->engine->create_context(&context);
  if (!st.is_ok()) return throw_status(env, st);
  auto state = std::make_shared<ContextState>(context->depth() > 1);
  // { wakeAhead }: spinWait 'auto' (lib/runtime/engine.ts); only GPU lanes wait on a device.
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Value w = info[1].As<Napi::Object>().Get("wakeAhead");
    state->wake_ahead = context->depth() > 1 && w.IsBoolean() && w.As<Napi::Boolean>().Value();
  }
  state->link = EnvLink::of(env);
  state->engine = h->engine;
  state->pool = std::make_shared<HostPool>(h->engine->host_allocator());
  state->context = std::move(context);
  return wrap_handle(env, new ContextHandle{state});
}

Napi::Value DisposeContextJs(const Napi::CallbackInfo& info) {
  ContextHandle* h = handle_of<ContextHandle>(info[0]);
  if (h != nullptr && h->state) {
    // The calls already queued on the lane run first; then the context and its memory go.
    release_reported(info.Env(), h);
    std::shared_ptr<ContextState> state = std::move(h->state);
    ContextState* raw = state.get();
    raw->lane.post([state]() mutable {
      finish_all(*state);
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
  if (h == nullptr || !info[1].IsNumber())
    return throw_type(env, "execute(context, batch, inputs, outputs, histograms?, options?)");
  if (!h->state || !h->state->engine)
    return throw_status(env, Status(Code::kDisposed, "the execution context was disposed"));
  std::vector<Napi::TypedArray> inputs, outputs;
  if (!typed_arrays(info[2], &inputs) || !typed_arrays(info[3], &outputs)) {
    return throw_type(env, "inputs and outputs must be arrays of typed arrays");
  }
  ExecuteRequest request;
  request.inference.batch = info[1].As<Napi::Number>().Int32Value();
  if (HistogramHandle* hh = handle_of<HistogramHandle>(info[4])) request.histograms = hh->histograms;
  if (!execute_options(info.Length() > 5 ? info[5] : env.Undefined(), &request)) {
    return throw_type(env, "execute options: count is an integer in [0, 1048576], depth in [1, " +
                               std::to_string(kMaxQueueDepth) + "]");
  }
  const int max_batch = h->state->engine->graph().max_batch;
  if (request.inference.batch < 1 || request.inference.batch > max_batch) {
    return throw_status(env, Status(Code::kInvalidArgument, "batch " + std::to_string(request.inference.batch) +
                                                                " is outside [1, " + std::to_string(max_batch) + "]"));
  }
  // Without transfers the backends neither read the inputs nor write the outputs (benchmarks of
  // huge batches pass empty arrays); otherwise every array must hold the batch.
  const bool copies = request.inference.options.transfers || request.histograms;
  ExecuteIo io;
  Status st = capture_io(env, *h->state, inputs, outputs, copies, &request, &io);
  if (!st.is_ok()) return throw_status(env, st);
  auto job = std::make_unique<ExecuteJob>(env, h->state, std::move(request), std::move(io));
  Napi::Value promise(env, job->promise());
  start_on_lane(std::move(job), h->state->lane);
  return promise;
}

Napi::Value CreateCancelTokenJs(const Napi::CallbackInfo& info) { return wrap_handle(info.Env(), new CancelToken()); }

Napi::Value CancelJs(const Napi::CallbackInfo& info) {
  CancelToken* token = handle_of<CancelToken>(info[0]);
  if (token == nullptr) return throw_type(info.Env(), "cancel(token)");
  int waiting = CancelToken::kWaiting;
  return Napi::Boolean::New(info.Env(), token->state->compare_exchange_strong(waiting, CancelToken::kCancelled));
}

Napi::Value CreateHistogramsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int64Value() < 0 ||
      info[0].As<Napi::Number>().Int64Value() > 1000000) {
    return throw_type(env, "createHistograms(tensorCount)");
  }
  return wrap_handle(env, new HistogramHandle{std::make_shared<TensorHistograms>(
                              static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()))});
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
