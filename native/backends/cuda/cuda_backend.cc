// The cuda backend's engine and context, built the way TensorRT's builder works: plan where every
// tensor lives (planner.cc), create one op per node on the engine's GPU, time every tactic of
// every op on that GPU and keep the fastest (with a timing cache so rebuilds are quick), and plan
// the activation arena by liveness. A context owns a stream, its arena, pinned staging buffers and
// one CUDA graph per batch size it has run; copies and compute are bracketed by events.
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "backends/cuda/index_range.h"
#include "backends/cuda/kernels/statistics.h"
#include "backends/cuda/op.h"
#include "backends/cuda/planner.h"
#include "core/device_query.h"
#include "core/json.h"

namespace trtn::cuda {
namespace {

constexpr int kPlanFormat = 1;

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

/// The process-wide timing cache: op signature (with GPU and batch) -> tactic name.
struct TimingCache {
  std::mutex mu;
  std::map<std::string, std::string> entries;
};

TimingCache& timing_cache() {
  static TimingCache cache;
  return cache;
}

/// The tactic a node ended up with, and what timing said.
struct TacticChoice {
  std::string name;
  double ms = -1;         // time of the chosen tactic at the tuning batch (-1: not timed)
  int candidates = 1;
  bool from_cache = false;
};

class CudaEngine : public Engine {
 public:
  CudaEngine(std::shared_ptr<const Graph> graph, std::shared_ptr<const WeightStore> weights)
      : graph_(std::move(graph)), weights_(std::move(weights)) {}
  ~CudaEngine() override { cudaSetDevice(props_.index); }  // the ops free their device memory next

  Status init(const BuildInput& in, bool loading);

  Status create_context(std::unique_ptr<Context>* out) override;
  Status serialize_backend(std::vector<uint8_t>* out) const override;
  int64_t activation_bytes_per_image() const override { return plan_.arena_per_image; }
  int64_t max_runnable_batch() const override { return index_range_.max_batch; }
  const Graph& graph() const override { return *graph_; }
  const WeightStore& weights() const override { return *weights_; }
  std::string info_json() const override;
  std::shared_ptr<const HostAllocator> host_allocator() const override {
    return std::make_shared<const PinnedAllocator>(props_.index);
  }

  int device() const { return props_.index; }
  const EnginePlan& plan() const { return plan_; }
  /// The largest batch every launch indexes correctly, and the layer that sets it (index_range.h).
  const IndexRange& index_range() const { return index_range_; }
  const CudaOp* op(size_t i) const { return ops_[i].get(); }
  /// Scratch memory after the activations: what the chosen tactics need, or (tuning) any tactic.
  size_t workspace_bytes(int batch, bool any_tactic = false) const {
    size_t ws = 0;
    for (const auto& op : ops_) {
      if (op) ws = std::max(ws, any_tactic ? op->max_workspace_bytes(batch) : op->workspace_bytes(batch));
    }
    return (ws + 255) / 256 * 256;
  }
  /// Views of node i's tensors for an arena at `base` holding `batch` images.
  void views(size_t i, char* base, int batch, std::vector<View4>* in, std::vector<View4>* out) const {
    const Node& node = graph_->nodes[i];
    in->clear();
    out->clear();
    for (int t : node.inputs) in->push_back(view(t, base, batch));
    for (int t : node.outputs) out->push_back(view(t, base, batch));
  }
  View4 view(int t, char* base, int batch) const {
    const Place& p = plan_.places[t];
    return p.view(base + plan_.root_offset[p.root] * batch, batch);
  }

 private:
  Status choose_device(int index);
  Status tune(int batch, const std::map<std::string, std::string>& given);
  Status apply_tactics(const json::Value& tactics);

  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const WeightStore> weights_;
  DeviceProps props_;
  std::string device_name_;
  EnginePlan plan_;
  IndexRange index_range_;
  std::vector<std::unique_ptr<CudaOp>> ops_;  // per node; null for elided nodes
  std::vector<TacticChoice> choices_;         // per node
  int tune_batch_ = 0;
  double tune_seconds_ = 0;
};

class CudaContext : public Context {
 public:
  explicit CudaContext(const CudaEngine* engine) : e_(engine), use_graphs_(!env_flag("TRTN_CUDA_NO_GRAPHS")) {}
  ~CudaContext() override;
  Status init();
  Status execute(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                 TensorHistograms* stats) override;
  Status execute_many(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                      int count, int depth, std::vector<QueuedRun>* runs) override;
  RunTiming last_timing() const override { return timing_; }

 private:
  Status check_call(int batch, size_t inputs, size_t outputs);
  /// Where the H2D copies read each input: the caller's arrays when they are pinned, else the
  /// context's pinned staging after a host copy.
  std::vector<const float*> stage_inputs(int batch, const std::vector<const float*>& inputs);
  /// Where the D2H copies write each output: the caller's arrays when pinned, else the staging.
  std::vector<float*> output_targets(int batch, const std::vector<float*>& outputs);
  float* output_staging(int batch) const;
  Status enqueue_copies_in(int batch, const std::vector<const float*>& from);
  Status enqueue_run(int batch, TensorHistograms* stats);
  Status enqueue_copies_out(int batch, const std::vector<float*>& to);
  void unstage_outputs(int batch, const std::vector<float*>& outputs);
  /// Pinned staging is used: the run has transfers and the caller's arrays are not pinned.
  bool staged() const { return options_.transfers && !options_.host_pinned; }
  /// Marks the context unusable (a failed wait: the stream's state is unknown) and returns st.
  Status fail(const Status& st);
  Status reserve(int batch);
  Status enqueue_compute(int batch, TensorHistograms* stats, const std::vector<cudaEvent_t>* marks = nullptr);
  Status read_profile(int nodes);
  Status observe(int t, int batch, TensorHistograms* stats);
  void drop_graphs();
  /// Inputs / outputs that need a float32 staging tensor on the device (not stored as dense f32).
  bool direct(int t) const {
    const Place& p = e_->plan().places[t];
    return p.elem == Elem::kF32 && p.layout == Layout::kLinear && p.c_offset == 0 &&
           p.root_image_elems() == e_->graph().tensors[t].volume;
  }
  View4 staging_view(int t, float* data, int batch) const {
    const Place& p = e_->plan().places[t];
    View4 v;
    v.data = data;
    v.elem = Elem::kF32;
    v.layout = Layout::kLinear;
    v.n = batch;
    v.c = v.c_write = static_cast<int32_t>(p.c);
    v.h = static_cast<int32_t>(p.h);
    v.w = static_cast<int32_t>(p.w);
    v.sw = 1;
    v.sh = p.w;
    v.sc = p.h * p.w;
    v.sn = p.c * p.h * p.w;
    return v;
  }

  const CudaEngine* e_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ev_[4] = {nullptr, nullptr, nullptr, nullptr};
  std::vector<cudaEvent_t> queue_events_;  // execute_many: 4 per inference in flight
  std::vector<cudaEvent_t> marks_;  // profiling: before the inputs' reformats, after each node, after the outputs'
  DeviceBuffer arena_;     // activations, then workspace
  DeviceBuffer staging_;   // float32 inputs and outputs that are stored otherwise
  PinnedBuffer host_in_, host_out_;
  DeviceBuffer stats_dev_;   // AmaxResult, then the 2048 counters
  PinnedBuffer stats_host_;
  int capacity_ = 0;       // batch the device buffers hold
  int host_capacity_ = 0;  // batch the pinned host buffers hold (only runs with transfers need them)
  bool use_graphs_;
  std::map<int, cudaGraphExec_t> graphs_;
  RunTiming timing_;
  bool broken_ = false;
  std::string broken_reason_;
};

// ---- engine -------------------------------------------------------------------------------------

Status CudaEngine::choose_device(int index) {
  cudaDeviceProp prop{};
  Status st = select_device(index, "cuda", &prop);
  if (!st.is_ok()) return st;
  if (prop.major * 10 + prop.minor < 75) {
    return Status(Code::kNoDevice, std::string("cuda backend: GPU ") + std::to_string(index) + " (" + prop.name +
                                       ") has compute capability " + std::to_string(prop.major) + "." +
                                       std::to_string(prop.minor) + "; 7.5 or newer is needed");
  }
  props_.index = index;
  props_.sm = prop.major * 10 + prop.minor;
  props_.multiprocessors = prop.multiProcessorCount;
  props_.shared_per_block_optin = prop.sharedMemPerBlockOptin;
  device_name_ = prop.name;
  return Status::ok();
}

Status CudaEngine::init(const BuildInput& in, bool loading) {
  Status st = choose_device(in.device);
  if (!st.is_ok()) return st;
  json::Value section;
  if (loading) {
    const std::string text(in.backend_section.begin(), in.backend_section.end());
    if (!json::parse(text, &section).is_ok() || !section.is_object()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section is not a JSON object");
    }
    int64_t format = 0, sm = 0;
    if (!json::get_int(section, "format", "cuda plan section", &format).is_ok() ||
        !json::get_int(section, "sm", "cuda plan section", &sm).is_ok()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section lacks its format or sm");
    }
    if (format != kPlanFormat) {
      return Status(Code::kPlanVersion, "the cuda plan section has format " + std::to_string(format) +
                                            "; this build reads format " + std::to_string(kPlanFormat));
    }
    if (sm != props_.sm) {
      return Status(Code::kPlanArch, "the plan was built for sm_" + std::to_string(sm) + " but GPU " +
                                         std::to_string(props_.index) + " (" + device_name_ + ") is sm_" +
                                         std::to_string(props_.sm) + ": rebuild the engine on this GPU");
    }
  }
  // maxBatchSize is a promise: refuse an engine that some batch up to it would run out of range.
  index_range_ = cuda::index_range(*graph_);
  st = check_index_range(index_range_, graph_->max_batch, "maxBatchSize");
  if (!st.is_ok()) return st;
  plan_ = plan_engine(*graph_, !env_flag("TRTN_CUDA_LINEAR"));
  ops_.resize(graph_->nodes.size());
  choices_.assign(graph_->nodes.size(), TacticChoice{});
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    if (plan_.elided[i]) {
      choices_[i].name = "elided";
      continue;
    }
    CudaOpInit init{OpInit{*graph_, graph_->nodes[i], *weights_, "cuda"}, plan_.places, props_};
    st = make_op(init, &ops_[i]);
    if (!st.is_ok()) return st;
    choices_[i].name = ops_[i]->tactic_name(ops_[i]->tactic());
    choices_[i].candidates = ops_[i]->tactic_count();
  }
  if (loading) {
    const json::Value* tactics = section.get("tactics");
    if (tactics == nullptr || !tactics->is_object()) return Status(Code::kPlanCorrupt, "the cuda plan section has no tactics");
    return apply_tactics(*tactics);
  }
  std::map<std::string, std::string> given;
  if (!in.timing_cache.empty()) {
    json::Value cache;
    if (!json::parse(in.timing_cache, &cache).is_ok() || !cache.is_object()) {
      return Status(Code::kInvalidArgument, "the timing cache is not a JSON object");
    }
    for (const auto& [k, v] : cache.fields()) {
      if (v.is_string()) given[k] = v.as_string();
    }
  }
  tune_batch_ = in.tune_batch > 0 ? std::min(in.tune_batch, graph_->max_batch) : std::min(graph_->max_batch, 32);
  return tune(tune_batch_, given);
}

Status CudaEngine::apply_tactics(const json::Value& tactics) {
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    if (!ops_[i]) continue;
    const json::Value* v = tactics.get(graph_->nodes[i].name);
    if (v == nullptr || !v->is_string()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section has no tactic for node '" + graph_->nodes[i].name + "'");
    }
    int found = -1;
    for (int k = 0; k < ops_[i]->tactic_count(); ++k) {
      if (ops_[i]->tactic_name(k) == v->as_string()) found = k;
    }
    if (found < 0) {
      return Status(Code::kPlanVersion, "node '" + graph_->nodes[i].name + "': tactic '" + v->as_string() +
                                            "' does not exist in this build; rebuild the engine");
    }
    Status st = ops_[i]->set_tactic(found);
    if (!st.is_ok()) return st;
    choices_[i].name = v->as_string();
  }
  return Status::ok();
}

Status CudaEngine::tune(int batch, const std::map<std::string, std::string>& given) {
  bool any = false;
  for (const auto& op : ops_) any = any || (op && op->tactic_count() > 1);
  if (!any || env_flag("TRTN_CUDA_NO_TUNING")) return Status::ok();
  const auto start = std::chrono::steady_clock::now();
  DeviceBuffer arena;
  const size_t bytes = static_cast<size_t>(plan_.arena_per_image) * batch + workspace_bytes(batch, true);
  Status st = arena.allocate(bytes, "timing tactics at batch " + std::to_string(batch));
  if (!st.is_ok()) return st;
  cudaStream_t stream = nullptr;
  cudaEvent_t t0 = nullptr, t1 = nullptr;
  struct Cleanup {
    cudaStream_t* s;
    cudaEvent_t* a;
    cudaEvent_t* b;
    ~Cleanup() {
      if (*a) cudaEventDestroy(*a);
      if (*b) cudaEventDestroy(*b);
      if (*s) cudaStreamDestroy(*s);
    }
  } cleanup{&stream, &t0, &t1};
  TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  TRTN_CUDA_TRY(cudaEventCreate(&t0));
  TRTN_CUDA_TRY(cudaEventCreate(&t1));
  TRTN_CUDA_TRY(cudaMemsetAsync(arena.get(), 0, bytes, stream));
  char* base = arena.as<char>();
  void* workspace = base + plan_.arena_per_image * batch;
  const std::string gpu = device_name_ + "|sm" + std::to_string(props_.sm) + "|b" + std::to_string(batch) + "|";
  std::vector<View4> in, out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    CudaOp* op = ops_[i].get();
    if (op == nullptr || op->tactic_count() <= 1) continue;
    const std::string key = gpu + op->signature();
    choices_[i].candidates = op->tactic_count();
    std::string cached;
    {
      auto it = given.find(key);
      if (it != given.end()) cached = it->second;
      std::lock_guard<std::mutex> lock(timing_cache().mu);
      auto jt = timing_cache().entries.find(key);
      if (cached.empty() && jt != timing_cache().entries.end()) cached = jt->second;
    }
    if (!cached.empty()) {
      for (int k = 0; k < op->tactic_count(); ++k) {
        if (op->tactic_name(k) == cached && op->set_tactic(k).is_ok()) {
          choices_[i].name = cached;
          choices_[i].from_cache = true;
          break;
        }
      }
      if (choices_[i].from_cache) continue;
    }
    views(i, base, batch, &in, &out);
    const RunArgs args{batch, in, out, stream, workspace};
    int best = -1;
    double best_ms = 0;
    for (int k = 0; k < op->tactic_count(); ++k) {
      if (!op->set_tactic(k).is_ok()) continue;
      // Warm up (first launch loads the module), then size the repetitions to ~2 ms.
      if (!op->run(args).is_ok()) continue;
      TRTN_CUDA_TRY(cudaEventRecord(t0, stream));
      st = op->run(args);
      if (!st.is_ok()) continue;
      TRTN_CUDA_TRY(cudaEventRecord(t1, stream));
      TRTN_CUDA_TRY(cudaEventSynchronize(t1));
      float once = 0;
      TRTN_CUDA_TRY(cudaEventElapsedTime(&once, t0, t1));
      if (best >= 0 && once > 4 * best_ms) continue;  // far slower than the best so far: not worth timing
      const int reps = std::max(3, std::min(50, static_cast<int>(std::ceil(2.0 / std::max(once, 1e-3f)))));
      TRTN_CUDA_TRY(cudaEventRecord(t0, stream));
      for (int r = 0; r < reps; ++r) {
        st = op->run(args);
        if (!st.is_ok()) return st;
      }
      TRTN_CUDA_TRY(cudaEventRecord(t1, stream));
      TRTN_CUDA_TRY(cudaEventSynchronize(t1));
      float total = 0;
      TRTN_CUDA_TRY(cudaEventElapsedTime(&total, t0, t1));
      const double ms = total / reps;
      if (best < 0 || ms < best_ms) {
        best = k;
        best_ms = ms;
      }
    }
    if (best < 0) {
      return Status(Code::kCuda, "node '" + graph_->nodes[i].name + "': no tactic of the cuda backend runs on this GPU");
    }
    st = op->set_tactic(best);
    if (!st.is_ok()) return st;
    choices_[i].name = op->tactic_name(best);
    choices_[i].ms = best_ms;
    std::lock_guard<std::mutex> lock(timing_cache().mu);
    timing_cache().entries[key] = choices_[i].name;
  }
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream));
  tune_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::ok();
}

Status CudaEngine::create_context(std::unique_ptr<Context>* out) {
  TRTN_CUDA_TRY(cudaSetDevice(props_.index));
  auto ctx = std::make_unique<CudaContext>(this);
  Status st = ctx->init();
  if (!st.is_ok()) return st;
  *out = std::move(ctx);
  return Status::ok();
}

Status CudaEngine::serialize_backend(std::vector<uint8_t>* out) const {
  std::string s = "{\"format\":" + std::to_string(kPlanFormat) + ",\"sm\":" + std::to_string(props_.sm) +
                  ",\"device\":" + json::quote(device_name_) + ",\"tactics\":{";
  bool first = true;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!ops_[i]) continue;
    s += (first ? "" : ",") + json::quote(graph_->nodes[i].name) + ":" + json::quote(ops_[i]->tactic_name(ops_[i]->tactic()));
    first = false;
  }
  s += "}}";
  out->assign(s.begin(), s.end());
  return Status::ok();
}

std::string CudaEngine::info_json() const {
  std::string s = "{\"device\":" + std::to_string(props_.index) + ",\"deviceName\":" + json::quote(device_name_) +
                  ",\"sm\":" + std::to_string(props_.sm) + ",\"tuneBatch\":" + std::to_string(tune_batch_) +
                  ",\"tuneSeconds\":" + std::to_string(tune_seconds_) +
                  ",\"elidedConcats\":" + std::to_string(plan_.elided_concats) +
                  ",\"aliasedReshapes\":" + std::to_string(plan_.aliased_reshapes) +
                  ",\"nhwcTensors\":" + std::to_string(plan_.nhwc_tensors) + ",\"layers\":[";
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    const Node& n = graph_->nodes[i];
    const TacticChoice& c = choices_[i];
    s += (i ? "," : "") + std::string("{\"name\":") + json::quote(n.name) + ",\"op\":" + json::quote(n.op) +
         ",\"precision\":" + json::quote(precision_name(n.precision)) + ",\"tactic\":" + json::quote(c.name) +
         ",\"candidates\":" + std::to_string(c.candidates) + ",\"fromCache\":" + (c.from_cache ? "true" : "false");
    if (c.ms >= 0) s += ",\"ms\":" + std::to_string(c.ms);
    s += "}";
  }
  s += "],\"timingCache\":{";
  {
    std::lock_guard<std::mutex> lock(timing_cache().mu);
    bool first = true;
    for (const auto& [k, v] : timing_cache().entries) {
      s += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
  }
  s += "},\"tensors\":" + json::quote(describe_plan(*graph_, plan_)) + "}";
  return s;
}

// ---- context ------------------------------------------------------------------------------------

CudaContext::~CudaContext() {
  cudaSetDevice(e_->device());
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  drop_graphs();
  for (cudaEvent_t& ev : ev_) {
    if (ev != nullptr) cudaEventDestroy(ev);
  }
  for (cudaEvent_t ev : marks_) cudaEventDestroy(ev);
  for (cudaEvent_t ev : queue_events_) cudaEventDestroy(ev);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  cudaGetLastError();
}

void CudaContext::drop_graphs() {
  for (auto& [b, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

Status CudaContext::init() {
  TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  for (cudaEvent_t& ev : ev_) TRTN_CUDA_TRY(cudaEventCreate(&ev));
  return Status::ok();
}

Status CudaContext::reserve(int batch) {
  if (Status st = check_index_range(e_->index_range(), batch); !st.is_ok()) return st;
  const Graph& g = e_->graph();
  if (batch > capacity_) {
    drop_graphs();
    arena_.reset();
    staging_.reset();
    capacity_ = 0;
    const size_t arena = static_cast<size_t>(e_->plan().arena_per_image) * batch + e_->workspace_bytes(batch);
    Status st = arena_.allocate(arena, "the activations of batch " + std::to_string(batch));
    if (!st.is_ok()) return st;
    int64_t staged = 0;
    for (int t : g.inputs) {
      if (!direct(t)) staged += g.tensors[t].volume;
    }
    for (int t : g.outputs) {
      if (!direct(t)) staged += g.tensors[t].volume;
    }
    if (staged > 0) {
      st = staging_.allocate(static_cast<size_t>(staged) * batch * sizeof(float),
                             "float32 input / output staging of batch " + std::to_string(batch));
      if (!st.is_ok()) return st;
    }
    capacity_ = batch;
  }
  if (staged() && batch > host_capacity_) {
    // Pinned host staging is only needed for copies: a run without them (a benchmark of a huge
    // batch) takes no host memory.
    host_in_.reset();
    host_out_.reset();
    host_capacity_ = 0;
    int64_t in_floats = 0, out_floats = 0;
    for (int t : g.inputs) in_floats += g.tensors[t].volume;
    for (int t : g.outputs) out_floats += g.tensors[t].volume;
    Status st = host_in_.allocate(static_cast<size_t>(in_floats) * batch * sizeof(float), "inputs");
    if (st.is_ok()) st = host_out_.allocate(static_cast<size_t>(out_floats) * batch * sizeof(float), "outputs");
    if (!st.is_ok()) {
      host_in_.reset();
      host_out_.reset();
      return st;
    }
    host_capacity_ = batch;
  }
  return Status::ok();
}

Status CudaContext::observe(int t, int batch, TensorHistograms* stats) {
  const TensorDesc& d = e_->graph().tensors[t];
  if (d.dtype != DType::kFloat32) return Status::ok();
  constexpr size_t kCounters = TensorHistograms::kBins * sizeof(unsigned long long);
  if (stats_dev_.get() == nullptr) {
    Status st = stats_dev_.allocate(sizeof(AmaxResult) + kCounters, "calibration statistics");
    if (!st.is_ok()) return st;
    if (!(st = stats_host_.allocate(sizeof(AmaxResult) + kCounters, "calibration statistics")).is_ok()) return st;
  }
  auto* result = stats_dev_.as<AmaxResult>();
  auto* counters = reinterpret_cast<unsigned long long*>(stats_dev_.as<char>() + sizeof(AmaxResult));
  const View4 v = e_->view(t, arena_.as<char>(), batch);
  Status st = launch_amax(v, result, stream_);
  if (!st.is_ok()) return st;
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), result, sizeof(AmaxResult), cudaMemcpyDeviceToHost, stream_));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream_));
  AmaxResult r;
  std::memcpy(&r, stats_host_.floats(), sizeof r);
  if (r.first_bad != ~0ULL) return TensorHistograms::non_finite(d.name, static_cast<int64_t>(r.first_bad / 2), r.first_bad % 2 == 1);
  float amax;
  std::memcpy(&amax, &r.amax_bits, sizeof amax);
  const double range = stats->widen(t, amax);
  if (range == 0) {
    stats->add_zeros(t, d.volume * batch);
    return Status::ok();
  }
  TRTN_CUDA_TRY(cudaMemsetAsync(counters, 0, kCounters, stream_));
  if (!(st = launch_histogram(v, TensorHistograms::kBins / range, counters, stream_)).is_ok()) return st;
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), counters, kCounters, cudaMemcpyDeviceToHost, stream_));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream_));
  std::vector<int64_t> counts(TensorHistograms::kBins);
  const auto* host = reinterpret_cast<const unsigned long long*>(stats_host_.floats());
  for (int b = 0; b < TensorHistograms::kBins; ++b) counts[b] = static_cast<int64_t>(host[b]);
  stats->add_counts(t, counts.data());
  return Status::ok();
}

Status CudaContext::enqueue_compute(int batch, TensorHistograms* stats, const std::vector<cudaEvent_t>* marks) {
  const Graph& g = e_->graph();
  auto mark = [&](size_t k) { return marks == nullptr ? Status::ok() : TRTN_CUDA_STATUS(cudaEventRecord((*marks)[k], stream_)); };
  if (Status st = mark(0); !st.is_ok()) return st;
  char* base = arena_.as<char>();
  void* workspace = base + e_->plan().arena_per_image * batch;
  float* staged = staging_.as<float>();
  for (int t : g.inputs) {
    if (direct(t)) continue;
    Status st = launch_reformat(staging_view(t, staged, batch), e_->view(t, base, batch), stream_);
    if (!st.is_ok()) return st;
    staged += g.tensors[t].volume * batch;
  }
  if (Status st = mark(1); !st.is_ok()) return st;
  if (stats != nullptr) {
    for (int t : g.inputs) {
      Status st = observe(t, batch, stats);
      if (!st.is_ok()) return st;
    }
  }
  std::vector<View4> in, out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const CudaOp* op = e_->op(i);
    if (op != nullptr) {
      e_->views(i, base, batch, &in, &out);
      Status st = op->run(RunArgs{batch, in, out, stream_, workspace});
      if (!st.is_ok()) return Status(st.code(), "node '" + g.nodes[i].name + "': " + st.message());
    }
    if (Status st = mark(2 + i); !st.is_ok()) return st;
    if (stats != nullptr) {
      for (int t : g.nodes[i].outputs) {
        Status st = observe(t, batch, stats);
        if (!st.is_ok()) return st;
      }
    }
  }
  for (int t : g.outputs) {
    if (direct(t)) continue;
    Status st = launch_reformat(e_->view(t, base, batch), staging_view(t, staged, batch), stream_);
    if (!st.is_ok()) return st;
    staged += g.tensors[t].volume * batch;
  }
  return mark(2 + g.nodes.size());
}

Status CudaContext::read_profile(int nodes) {
  auto between = [&](size_t a, size_t b, double* ms) {
    float v = 0;
    Status st = TRTN_CUDA_STATUS(cudaEventElapsedTime(&v, marks_[a], marks_[b]));
    *ms = v;
    return st;
  };
  profile_.node_ms.assign(nodes, 0.0);
  double in_ms = 0, out_ms = 0;
  if (Status st = between(0, 1, &in_ms); !st.is_ok()) return st;
  if (Status st = between(1 + nodes, 2 + nodes, &out_ms); !st.is_ok()) return st;
  for (int i = 0; i < nodes; ++i) {
    if (Status st = between(1 + i, 2 + i, &profile_.node_ms[i]); !st.is_ok()) return st;
  }
  profile_.reformat_ms = in_ms + out_ms;
  profile_.valid = true;
  return Status::ok();
}

Status CudaContext::check_call(int batch, size_t inputs, size_t outputs) {
  const Graph& g = e_->graph();
  if (batch < 1 || batch > g.max_batch) {
    return Status(Code::kInvalidArgument, "batch " + std::to_string(batch) + " is outside [1, " +
                                              std::to_string(g.max_batch) + "]");
  }
  if (inputs != g.inputs.size() || outputs != g.outputs.size()) {
    return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
  }
  if (broken_) return Status(Code::kCuda, "this execution context is unusable after an earlier CUDA failure: " + broken_reason_);
  TRTN_CUDA_TRY(cudaSetDevice(e_->device()));
  return reserve(batch);
}

std::vector<const float*> CudaContext::stage_inputs(int batch, const std::vector<const float*>& inputs) {
  if (!staged()) return inputs;
  const Graph& g = e_->graph();
  std::vector<const float*> from;
  float* pin = host_in_.floats();
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const size_t n = static_cast<size_t>(g.tensors[g.inputs[i]].volume) * batch;
    std::memcpy(pin, inputs[i], n * sizeof(float));
    from.push_back(pin);
    pin += n;
  }
  return from;
}

std::vector<float*> CudaContext::output_targets(int batch, const std::vector<float*>& outputs) {
  if (!staged()) return outputs;
  const Graph& g = e_->graph();
  std::vector<float*> to;
  float* pout = host_out_.floats();
  for (int t : g.outputs) {
    to.push_back(pout);
    pout += static_cast<size_t>(g.tensors[t].volume) * batch;
  }
  return to;
}

float* CudaContext::output_staging(int batch) const {
  // The inputs' staging tensors come first in the staging buffer, then the outputs'.
  float* staged = staging_.as<float>();
  for (int t : e_->graph().inputs) {
    if (!direct(t)) staged += static_cast<size_t>(e_->graph().tensors[t].volume) * batch;
  }
  return staged;
}

Status CudaContext::enqueue_copies_in(int batch, const std::vector<const float*>& from) {
  const Graph& g = e_->graph();
  char* base = arena_.as<char>();
  float* staged = staging_.as<float>();
  for (size_t i = 0; i < g.inputs.size() && options_.transfers; ++i) {
    const int t = g.inputs[i];
    const size_t n = static_cast<size_t>(g.tensors[t].volume) * batch;
    void* dst = direct(t) ? e_->view(t, base, batch).data : staged;
    TRTN_CUDA_TRY(cudaMemcpyAsync(dst, from[i], n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    if (!direct(t)) staged += n;
  }
  return Status::ok();
}

Status CudaContext::enqueue_copies_out(int batch, const std::vector<float*>& to) {
  const Graph& g = e_->graph();
  char* base = arena_.as<char>();
  const float* staged = output_staging(batch);
  for (size_t i = 0; i < g.outputs.size() && options_.transfers; ++i) {
    const int t = g.outputs[i];
    const size_t n = static_cast<size_t>(g.tensors[t].volume) * batch;
    const void* src = direct(t) ? e_->view(t, base, batch).data : staged;
    TRTN_CUDA_TRY(cudaMemcpyAsync(to[i], src, n * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    if (!direct(t)) staged += n;
  }
  return Status::ok();
}

void CudaContext::unstage_outputs(int batch, const std::vector<float*>& outputs) {
  if (!staged()) return;
  const Graph& g = e_->graph();
  const float* pout = host_out_.floats();
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const size_t n = static_cast<size_t>(g.tensors[g.outputs[i]].volume) * batch;
    std::memcpy(outputs[i], pout, n * sizeof(float));
    pout += n;
  }
}

Status CudaContext::enqueue_run(int batch, TensorHistograms* stats) {
  if (stats != nullptr || !use_graphs_ || !options_.graphs || options_.profile) {
    return enqueue_compute(batch, stats, options_.profile ? &marks_ : nullptr);
  }
  auto it = graphs_.find(batch);
  if (it == graphs_.end()) {
    cudaGraph_t graph = nullptr;
    TRTN_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    Status st = enqueue_compute(batch, nullptr);
    cudaError_t end = cudaStreamEndCapture(stream_, &graph);
    cudaGraphExec_t exec = nullptr;
    if (st.is_ok() && end == cudaSuccess) {
      end = cudaGraphInstantiate(&exec, graph, 0);
    }
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (!st.is_ok()) return st;
    if (end != cudaSuccess) {
      // Capture is an optimisation: run directly from now on.
      cudaGetLastError();
      use_graphs_ = false;
      return enqueue_compute(batch, nullptr);
    }
    it = graphs_.emplace(batch, exec).first;
  }
  return TRTN_CUDA_STATUS(cudaGraphLaunch(it->second, stream_));
}

Status CudaContext::fail(const Status& st) {
  broken_ = true;
  broken_reason_ = st.message();
  return st;
}

Status CudaContext::execute(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                            TensorHistograms* stats) {
  const Graph& g = e_->graph();
  if (Status st = check_call(batch, inputs.size(), outputs.size()); !st.is_ok()) return st;
  timing_ = RunTiming{};
  const auto submit_start = std::chrono::steady_clock::now();
  if (env_flag("TRTN_CUDA_POISON")) {
    // Tests: every activation starts as NaN (int8: -1), so a value no kernel writes shows.
    TRTN_CUDA_TRY(cudaMemsetAsync(arena_.get(), 0xFF, arena_.bytes(), stream_));
    if (staging_.bytes() > 0) TRTN_CUDA_TRY(cudaMemsetAsync(staging_.get(), 0xFF, staging_.bytes(), stream_));
  }
  // Host -> pinned (all inputs first, so the H2D events time the copies alone) -> device.
  const std::vector<const float*> from = stage_inputs(batch, inputs);
  const std::vector<float*> to = output_targets(batch, outputs);
  TRTN_CUDA_TRY(cudaEventRecord(ev_[0], stream_));
  if (Status st = enqueue_copies_in(batch, from); !st.is_ok()) return st;
  TRTN_CUDA_TRY(cudaEventRecord(ev_[1], stream_));
  profile_ = LayerProfile{};
  if (options_.profile) {
    while (marks_.size() < g.nodes.size() + 3) {
      cudaEvent_t ev = nullptr;
      TRTN_CUDA_TRY(cudaEventCreate(&ev));
      marks_.push_back(ev);
    }
  }
  if (Status st = enqueue_run(batch, stats); !st.is_ok()) {
    cudaStreamSynchronize(stream_);
    cudaGetLastError();
    return st;
  }
  TRTN_CUDA_TRY(cudaEventRecord(ev_[2], stream_));
  // Device -> pinned -> host.
  if (Status st = enqueue_copies_out(batch, to); !st.is_ok()) return st;
  TRTN_CUDA_TRY(cudaEventRecord(ev_[3], stream_));
  const double enqueue_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - submit_start).count();
  if (Status st = TRTN_CUDA_STATUS(cudaStreamSynchronize(stream_)); !st.is_ok()) return fail(st);
  unstage_outputs(batch, outputs);
  float ms[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) TRTN_CUDA_TRY(cudaEventElapsedTime(&ms[k], ev_[k], ev_[k + 1]));
  timing_ = RunTiming{true, ms[0], ms[1], ms[2], enqueue_ms};
  if (options_.profile) return read_profile(static_cast<int>(g.nodes.size()));
  return Status::ok();
}

Status CudaContext::execute_many(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                                 int count, int depth, std::vector<QueuedRun>* runs) {
  if (count < 1 || depth < 1 || depth > kMaxQueueDepth) {
    return Status(Code::kInvalidArgument, "execute_many: count must be >= 1 and depth in [1, " + std::to_string(kMaxQueueDepth) + "]");
  }
  if (options_.profile) return Status(Code::kInvalidArgument, "per-layer profiles time one inference at a time: queue depth 1");
  if (Status st = check_call(batch, inputs.size(), outputs.size()); !st.is_ok()) return st;
  // One set of 4 events (before the copies in, after them, after the compute, after the copies out)
  // per inference in flight.
  while (queue_events_.size() < static_cast<size_t>(4 * depth)) {
    cudaEvent_t ev = nullptr;
    TRTN_CUDA_TRY(cudaEventCreate(&ev));
    queue_events_.push_back(ev);
  }
  runs->assign(count, QueuedRun{});
  const auto start = std::chrono::steady_clock::now();
  const auto since = [&start]() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); };
  // The inputs are staged once; every inference copies them in from there (stream order keeps
  // an inference's copies behind the one before it), and the last one's outputs come back.
  const std::vector<const float*> from = stage_inputs(batch, inputs);
  const std::vector<float*> to = output_targets(batch, outputs);
  const auto finish = [&](int i) -> Status {
    cudaEvent_t* ev = &queue_events_[4 * (i % depth)];
    if (Status st = TRTN_CUDA_STATUS(cudaEventSynchronize(ev[3])); !st.is_ok()) return fail(st);
    QueuedRun& r = (*runs)[i];
    r.done_ms = since();
    float ms[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) TRTN_CUDA_TRY(cudaEventElapsedTime(&ms[k], ev[k], ev[k + 1]));
    r.timing.valid = true;
    r.timing.h2d_ms = ms[0];
    r.timing.compute_ms = ms[1];
    r.timing.d2h_ms = ms[2];
    return Status::ok();
  };
  for (int i = 0; i < count; ++i) {
    if (i >= depth) {
      if (Status st = finish(i - depth); !st.is_ok()) return st;
    }
    cudaEvent_t* ev = &queue_events_[4 * (i % depth)];
    QueuedRun& r = (*runs)[i];
    r.submit_ms = since();
    TRTN_CUDA_TRY(cudaEventRecord(ev[0], stream_));
    if (Status st = enqueue_copies_in(batch, from); !st.is_ok()) return st;
    TRTN_CUDA_TRY(cudaEventRecord(ev[1], stream_));
    if (Status st = enqueue_run(batch, nullptr); !st.is_ok()) {
      cudaStreamSynchronize(stream_);
      cudaGetLastError();
      return st;
    }
    TRTN_CUDA_TRY(cudaEventRecord(ev[2], stream_));
    if (Status st = enqueue_copies_out(batch, to); !st.is_ok()) return st;
    TRTN_CUDA_TRY(cudaEventRecord(ev[3], stream_));
    r.timing.enqueue_ms = since() - r.submit_ms;
  }
  for (int i = std::max(0, count - depth); i < count; ++i) {
    if (Status st = finish(i); !st.is_ok()) return st;
  }
  unstage_outputs(batch, outputs);
  timing_ = runs->back().timing;
  return Status::ok();
}

// ---- backend ------------------------------------------------------------------------------------

bool available(std::string* why) {
  const DeviceList list = query_devices(false);
  if (list.devices.empty()) {
    *why = list.reason.empty() ? "no CUDA-capable GPU is visible" : list.reason;
    return false;
  }
  for (const DeviceInfo& d : list.devices) {
    if (d.supported) return true;
  }
  *why = "no visible GPU can run this build: " + list.devices[0].name + ": " + list.devices[0].unsupported_reason;
  return false;
}

Status make_engine(const BuildInput& in, bool loading, std::unique_ptr<Engine>* out) {
  auto engine = std::make_unique<CudaEngine>(in.graph, in.weights);
  Status st = engine->init(in, loading);
  if (!st.is_ok()) return st;
  *out = std::move(engine);
  return Status::ok();
}

Status build(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, false, out); }
Status load(const BuildInput& in, std::unique_ptr<Engine>* out) { return make_engine(in, true, out); }

const Backend kBackend{"cuda", available, build, load};

}  // namespace

const Backend& backend() { return kBackend; }

}  // namespace trtn::cuda
