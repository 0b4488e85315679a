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
#include "gpu/run_loop.h"
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

/// A context: the shared GPU run loop (gpu/run_loop.h) moves the inputs and outputs; this class
/// computes between the copies: the inputs' conversion from their host form in the slot's staging
/// into the arena, the nodes, and the outputs' conversion into the slot's staging (or, for a lone
/// call in pinned memory, straight from and to that host memory). The whole sequence is captured
/// into a CUDA graph per batch size and buffer addresses, and replayed.
class CudaContext : public Context, public gpu::DeviceCompute {
 public:
  explicit CudaContext(const CudaEngine* engine);
  ~CudaContext() override;
  Status init();
  int depth() const override { return kMaxQueueDepth; }
  Status submit(Inference* inf) override;
  Status wait(Inference* inf) override { return loop_.wait(inf, *this); }
  bool ready() override { return loop_.ready(); }
  Status enqueue(Inference& inf, int slot, const std::vector<const void*>& in, const std::vector<void*>& out,
                 cudaStream_t stream) override;
  Status completed(Inference& inf) override;
  bool in_place_ok(const Inference& inf) const override;

 private:
  /// A captured graph is valid for one batch and one set of input and output addresses (a slot's
  /// staging, or a caller's pinned arrays); `used` orders them for eviction.
  struct GraphKey {
    int batch;
    std::vector<uintptr_t> io;
    bool operator<(const GraphKey& o) const { return batch != o.batch ? batch < o.batch : io < o.io; }
  };
  struct CachedGraph {
    cudaGraphExec_t exec = nullptr;
    uint64_t used = 0;
  };
  /// Graphs kept per context: every slot's staging at a few batch sizes, and the pinned arrays a
  /// service reuses.
  static constexpr size_t kMaxGraphs = 64;
  /// In place (a lone call in pinned memory): at most this many bytes converted by kernels reading host memory.
  static constexpr size_t kInPlaceConvertBytes = size_t{4} << 20;
  Status check_call(const Inference& inf) const;
  Status reserve(int batch);
  /// Inputs from their host form in `in` into the arena; then the nodes; then the outputs into `out`.
  Status enqueue_compute(int batch, const std::vector<const void*>& in, const std::vector<void*>& out, cudaStream_t stream,
                         TensorHistograms* stats, bool marks);
  Status enqueue_graph(int batch, const std::vector<const void*>& in, const std::vector<void*>& out, cudaStream_t stream);
  Status read_profile(int nodes, LayerProfile* profile);
  Status observe(int t, int batch, TensorHistograms* stats, cudaStream_t stream);
  void drop_graphs();
  /// A graph input or output stored in the arena exactly in its host form: copied, not converted.
  bool direct(int t) const {
    const Place& p = e_->plan().places[t];
    const TensorDesc& d = e_->graph().tensors[t];
    return p.elem == host_elem(d) && p.layout == Layout::kLinear && p.c_offset == 0 && p.root_image_elems() == d.volume;
  }
  static Elem host_elem(const TensorDesc& d) {
    return d.host == DType::kFloat16 ? Elem::kF16 : d.host == DType::kUInt8 ? Elem::kU8 : Elem::kF32;
  }
  /// A tensor's host form in staging memory at `data`: dense NCHW.
  View4 staging_view(int t, const void* data, int batch) const {
    const Place& p = e_->plan().places[t];
    View4 v;
    v.data = const_cast<void*>(data);
    v.elem = host_elem(e_->graph().tensors[t]);
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
  gpu::RunLoop loop_;
  std::vector<cudaEvent_t> marks_;  // profiling: before the inputs' conversion, after each node, after the outputs'
  DeviceBuffer arena_;              // activations, then workspace
  DeviceBuffer stats_dev_;          // AmaxResult, then the 2048 counters
  PinnedBuffer stats_host_;
  int capacity_ = 0;                // batch the arena holds
  bool use_graphs_;
  std::map<GraphKey, CachedGraph> graphs_;
  uint64_t graph_uses_ = 0;
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

namespace {

std::vector<size_t> host_image_bytes(const Graph& g, const std::vector<int>& ids) {
  std::vector<size_t> bytes;
  for (int t : ids) bytes.push_back(static_cast<size_t>(g.tensors[t].volume) * dtype_bytes(g.tensors[t].host));
  return bytes;
}

}  // namespace

CudaContext::CudaContext(const CudaEngine* engine)
    : e_(engine),
      loop_(engine->device(), host_image_bytes(engine->graph(), engine->graph().inputs),
            host_image_bytes(engine->graph(), engine->graph().outputs)),
      use_graphs_(!env_flag("TRTN_CUDA_NO_GRAPHS")) {}

CudaContext::~CudaContext() {
  cudaSetDevice(e_->device());
  cudaStreamSynchronize(loop_.compute_stream());
  drop_graphs();
  for (cudaEvent_t ev : marks_) cudaEventDestroy(ev);
  cudaGetLastError();
}

void CudaContext::drop_graphs() {
  for (auto& [key, g] : graphs_) cudaGraphExecDestroy(g.exec);
  graphs_.clear();
}

Status CudaContext::init() { return loop_.init(); }

Status CudaContext::reserve(int batch) {
  if (Status st = check_index_range(e_->index_range(), batch); !st.is_ok()) return st;
  if (batch <= capacity_) return Status::ok();
  if (loop_.in_flight() > 0) {
    return Status(Code::kInternal, "cuda context: a larger batch needs no inference in flight (its memory is replaced)");
  }
  drop_graphs();
  arena_.reset();
  capacity_ = 0;
  const size_t arena = static_cast<size_t>(e_->plan().arena_per_image) * batch + e_->workspace_bytes(batch);
  Status st = arena_.allocate(arena, "the activations of batch " + std::to_string(batch));
  if (!st.is_ok()) return st;
  capacity_ = batch;
  return Status::ok();
}

Status CudaContext::observe(int t, int batch, TensorHistograms* stats, cudaStream_t stream) {
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
  Status st = launch_amax(v, result, stream);
  if (!st.is_ok()) return st;
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), result, sizeof(AmaxResult), cudaMemcpyDeviceToHost, stream));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream));
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
  TRTN_CUDA_TRY(cudaMemsetAsync(counters, 0, kCounters, stream));
  if (!(st = launch_histogram(v, TensorHistograms::kBins / range, counters, stream)).is_ok()) return st;
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), counters, kCounters, cudaMemcpyDeviceToHost, stream));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream));
  std::vector<int64_t> counts(TensorHistograms::kBins);
  const auto* host = reinterpret_cast<const unsigned long long*>(stats_host_.floats());
  for (int b = 0; b < TensorHistograms::kBins; ++b) counts[b] = static_cast<int64_t>(host[b]);
  stats->add_counts(t, counts.data());
  return Status::ok();
}

Status CudaContext::enqueue_compute(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                                    cudaStream_t stream, TensorHistograms* stats, bool marks) {
  const Graph& g = e_->graph();
  auto mark = [&](size_t k) { return marks ? TRTN_CUDA_STATUS(cudaEventRecord(marks_[k], stream)) : Status::ok(); };
  if (Status st = mark(0); !st.is_ok()) return st;
  char* base = arena_.as<char>();
  void* workspace = base + e_->plan().arena_per_image * batch;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const int t = g.inputs[i];
    const View4 dst = e_->view(t, base, batch);
    Status st = direct(t) ? TRTN_CUDA_STATUS(cudaMemcpyAsync(dst.data, in[i], static_cast<size_t>(g.tensors[t].volume) * batch *
                                                               dtype_bytes(g.tensors[t].host), cudaMemcpyDefault, stream))
                          : launch_reformat(staging_view(t, in[i], batch), dst, stream);
    if (!st.is_ok()) return st;
  }
  if (Status st = mark(1); !st.is_ok()) return st;
  if (stats != nullptr) {
    for (int t : g.inputs) {
      Status st = observe(t, batch, stats, stream);
      if (!st.is_ok()) return st;
    }
  }
  std::vector<View4> vin, vout;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const CudaOp* op = e_->op(i);
    if (op != nullptr) {
      e_->views(i, base, batch, &vin, &vout);
      Status st = op->run(RunArgs{batch, vin, vout, stream, workspace});
      if (!st.is_ok()) return Status(st.code(), "node '" + g.nodes[i].name + "': " + st.message());
    }
    if (Status st = mark(2 + i); !st.is_ok()) return st;
    if (stats != nullptr) {
      for (int t : g.nodes[i].outputs) {
        Status st = observe(t, batch, stats, stream);
        if (!st.is_ok()) return st;
      }
    }
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const int t = g.outputs[i];
    const View4 src = e_->view(t, base, batch);
    Status st = direct(t) ? TRTN_CUDA_STATUS(cudaMemcpyAsync(out[i], src.data, static_cast<size_t>(g.tensors[t].volume) * batch *
                                                               dtype_bytes(g.tensors[t].host), cudaMemcpyDefault, stream))
                          : launch_reformat(src, staging_view(t, out[i], batch), stream);
    if (!st.is_ok()) return st;
  }
  return mark(2 + g.nodes.size());
}

Status CudaContext::enqueue_graph(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                                  cudaStream_t stream) {
  GraphKey key{batch, {}};
  for (const void* p : in) key.io.push_back(reinterpret_cast<uintptr_t>(p));
  for (const void* p : out) key.io.push_back(reinterpret_cast<uintptr_t>(p));
  auto it = graphs_.find(key);
  if (it == graphs_.end()) {
    if (graphs_.size() >= kMaxGraphs) {
      // A graph in use by an inference in flight may go: the launched copy runs to its end.
      auto oldest = std::min_element(graphs_.begin(), graphs_.end(), [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      cudaGraphExecDestroy(oldest->second.exec);
      graphs_.erase(oldest);
    }
    cudaGraph_t graph = nullptr;
    TRTN_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status st = enqueue_compute(batch, in, out, stream, nullptr, false);
    cudaError_t end = cudaStreamEndCapture(stream, &graph);
    cudaGraphExec_t exec = nullptr;
    if (st.is_ok() && end == cudaSuccess) end = cudaGraphInstantiate(&exec, graph, 0);
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (!st.is_ok()) return st;
    if (end != cudaSuccess) {
      // Capture is an optimisation: run directly from now on.
      cudaGetLastError();
      use_graphs_ = false;
      return enqueue_compute(batch, in, out, stream, nullptr, false);
    }
    it = graphs_.emplace(std::move(key), CachedGraph{exec, 0}).first;
  }
  it->second.used = ++graph_uses_;
  return TRTN_CUDA_STATUS(cudaGraphLaunch(it->second.exec, stream));
}

bool CudaContext::in_place_ok(const Inference& inf) const {
  // Unified addressing maps pinned memory into the device: tensors in their host form are copied
  // by the copy engine; the others are converted by kernels that read the host memory across
  // PCIe, which is slower than a copy once a batch is large.
  if (env_flag("TRTN_CUDA_NO_IN_PLACE")) return false;  // read per call: benchmarks compare both ways
  const Graph& g = e_->graph();
  size_t converted = 0;
  for (const std::vector<int>* ids : {&g.inputs, &g.outputs}) {
    for (int t : *ids) {
      if (!direct(t)) converted += static_cast<size_t>(g.tensors[t].volume) * inf.batch * dtype_bytes(g.tensors[t].host);
    }
  }
  return converted <= kInPlaceConvertBytes;
}

Status CudaContext::enqueue(Inference& inf, int /*slot*/, const std::vector<const void*>& in, const std::vector<void*>& out,
                            cudaStream_t stream) {
  if (env_flag("TRTN_CUDA_POISON")) {
    // Tests: every activation starts as NaN (int8: -1), so a value no kernel writes shows.
    TRTN_CUDA_TRY(cudaMemsetAsync(arena_.get(), 0xFF, arena_.bytes(), stream));
  }
  const RunOptions& o = inf.options;
  if (inf.stats != nullptr || !use_graphs_ || !o.graphs || o.profile) {
    return enqueue_compute(inf.batch, in, out, stream, inf.stats, o.profile);
  }
  return enqueue_graph(inf.batch, in, out, stream);
}

Status CudaContext::completed(Inference& inf) {
  inf.profile = LayerProfile{};
  return inf.options.profile ? read_profile(static_cast<int>(e_->graph().nodes.size()), &inf.profile) : Status::ok();
}

Status CudaContext::read_profile(int nodes, LayerProfile* profile) {
  auto between = [&](size_t a, size_t b, double* ms) {
    float v = 0;
    Status st = TRTN_CUDA_STATUS(cudaEventElapsedTime(&v, marks_[a], marks_[b]));
    *ms = v;
    return st;
  };
  profile->node_ms.assign(nodes, 0.0);
  double in_ms = 0, out_ms = 0;
  if (Status st = between(0, 1, &in_ms); !st.is_ok()) return st;
  if (Status st = between(1 + nodes, 2 + nodes, &out_ms); !st.is_ok()) return st;
  for (int i = 0; i < nodes; ++i) {
    if (Status st = between(1 + i, 2 + i, &profile->node_ms[i]); !st.is_ok()) return st;
  }
  profile->reformat_ms = in_ms + out_ms;
  profile->valid = true;
  return Status::ok();
}

Status CudaContext::check_call(const Inference& inf) const {
  const Graph& g = e_->graph();
  if (inf.batch < 1 || inf.batch > g.max_batch) {
    return Status(Code::kInvalidArgument, "batch " + std::to_string(inf.batch) + " is outside [1, " +
                                              std::to_string(g.max_batch) + "]");
  }
  if (inf.io.inputs.size() != g.inputs.size() || inf.io.outputs.size() != g.outputs.size()) {
    return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
  }
  if ((inf.stats != nullptr || inf.options.profile) && loop_.in_flight() > 0) {
    return Status(Code::kInternal, "cuda context: calibration and profiles run with no other inference in flight");
  }
  return loop_.usable();
}

Status CudaContext::submit(Inference* inf) {
  if (Status st = check_call(*inf); !st.is_ok()) return st;
  TRTN_CUDA_TRY(cudaSetDevice(e_->device()));
  if (Status st = reserve(inf->batch); !st.is_ok()) return st;
  if (inf->options.profile) {
    while (marks_.size() < e_->graph().nodes.size() + 3) {
      cudaEvent_t ev = nullptr;
      TRTN_CUDA_TRY(cudaEventCreate(&ev));
      marks_.push_back(ev);
    }
  }
  return loop_.submit(inf, *this);
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

bool supports(const Graph& graph, const Node& node, std::string* why) { return table_supports(op_table(), graph, node, why); }

std::vector<std::string> ops() { return op_table().names(); }

const Backend kBackend{"cuda", available, build, load, supports, ops};

}  // namespace

const Backend& backend() { return kBackend; }

}  // namespace trtn::cuda
