// The cuda backend's engine and context classes, shared by their three files: cuda_engine.cc (device,
// ops, plan sections, details), cuda_tuner.cc (tactic timing and the timing cache) and
// cuda_context.cc (a context's compute between the run loop's copies, CUDA graphs, calibration
// statistics, profiles). cuda_backend.cc is the backend table. Also the TRTN_CUDA_* knobs.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/index_range.h"
#include "backends/cuda/op.h"
#include "backends/cuda/planner.h"
#include "core/backend.h"
#include "core/json.h"
#include "gpu/run_loop.h"

namespace trtn::cuda {

/// Workspace (after the activations) is reserved in multiples of this many bytes.
constexpr size_t kWorkspaceAlign = 256;

/// The TRTN_CUDA_* knobs an engine reads, from the environment once (at first use).
struct CudaEnv {
  bool linear = false;     // TRTN_CUDA_LINEAR=1: every tensor NCHW (kLinear), every node run (debugging)
  bool no_tuning = false;  // TRTN_CUDA_NO_TUNING=1: each op keeps its first tactic
  bool no_graphs = false;  // TRTN_CUDA_NO_GRAPHS=1: kernels launched one by one, no CUDA graphs
  // Tests' switch: a convolution run whose tactic refuses its views is an error, not a fallback to
  // the direct kernel (TRTN_CUDA_STRICT_TACTICS).
  bool strict_tactics = false;
  // Split K in the SIMT / DP4A family: on; TRTN_CUDA_SPLIT_K=0 leaves its tactics out (A/B runs).
  bool split_k = true;
  // Written but not yet run on a GPU, off until its GPU tests pass: the GEMV tactic that keeps four
  // weight vectors per column in flight (TRTN_CUDA_GEMV_U4).
  bool gemv_u4 = false;
  // The same for split K in the tensor-core (mma) family (TRTN_CUDA_MMA_SPLIT_K).
  bool mma_split_k = false;
  // The same for the INT8 LRN's integer form (TRTN_CUDA_LRN_Q: lrn.cuh's lrn_group_q, docs/int8.md)
  // and Softmax's block-per-position kernel (TRTN_CUDA_SOFTMAX_BLOCK).
  bool lrn_q = false;
  bool softmax_block = false;
};

/// The knobs above, read on the first call.
const CudaEnv& cuda_env();

/// A set, non-"0" environment variable. Read per call for the knobs tests and benchmarks toggle
/// while the process runs: TRTN_CUDA_NO_IN_PLACE and TRTN_CUDA_POISON (cuda_context.cc), and per
/// build TRTN_CUDA_FUSION (LRN / pooling pairs as one kernel, planner.h: bit-exact but slower than
/// the two ops on an H100, so off unless set; its GPU test sets it), TRTN_CUDA_MERGE (sibling
/// convolutions as one GEMM) and TRTN_CUDA_POOL_CONV (a 3x3 MAX pooling in a 1x1 convolution's
/// loader): not yet run on a GPU, so off unless set; cuda_conv_fusions.test.ts sets them.
bool env_flag(const char* name);

/// Makes GPU `index` current (select_device) and fills *props with what ops choose kernels by, and
/// *name (when given) with its name. kNoDevice for a missing GPU or one below the build's oldest
/// compute capability (probe.h kMinSm).
Status open_device(int index, DeviceProps* props, std::string* name);

/// The process-wide timing cache: op signature (with GPU and batch) -> tactic name.
struct TimingCache {
  std::mutex mu;
  std::map<std::string, std::string> entries;
};

/// The one timing cache of the process (cuda_tuner.cc).
TimingCache& timing_cache();

class TacticTimer;

/// The tactic a node ended up with, and what timing said.
struct TacticChoice {
  std::string name;
  double ms = -1;  // time of the chosen tactic at the tuning batch (-1: not timed)
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
  /// Node i's op with the node it runs fused in (planner.h EnginePlan::fused_next), or null.
  const CudaOp* fused_op(size_t i) const { return fused_[i].get(); }
  /// Scratch memory after the activations while tactics are timed (one op at a time): one region for
  /// any tactic of any op.
  size_t tuning_workspace_bytes(int batch) const {
    size_t ws = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i]) ws = std::max(ws, align_workspace(ops_[i]->max_workspace_bytes(run_batch(i, batch))));
    }
    return ws;
  }
  /// Scratch bytes per lane (schedule.h), in lane order: the largest its ops' chosen tactics need
  /// (each lane has its own region, after the activations: a context's lane_at_).
  /// A node fused into another (an observed run runs it on its own) runs on that one's lane.
  std::vector<size_t> lane_workspace(int batch) const {
    std::vector<size_t> ws(plan_.schedule.lanes, 0);
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!ops_[i]) continue;
      // A pooling a convolution runs in its loader runs (observed) on that convolution's lane.
      const int into = plan_.fused_into[i] >= 0 ? plan_.fused_into[i] : plan_.pooled_by[i];
      size_t& w = ws[plan_.schedule.lane[into >= 0 ? static_cast<size_t>(into) : i]];
      w = std::max(w, align_workspace(ops_[i]->workspace_bytes(run_batch(i, batch))));
      if (fused_[i]) w = std::max(w, align_workspace(fused_[i]->workspace_bytes(run_batch(i, batch))));
    }
    return ws;
  }
  /// The batch node i runs on for `batch` images (core/graph.h node_rows: batch x R over region
  /// tensors, as on the cpu backend).
  int run_batch(size_t i, int batch) const { return static_cast<int>(batch * node_rows(*graph_, graph_->nodes[i])); }
  /// Views of node i's tensors for an arena at `base` holding `batch` images.
  void views(size_t i, char* base, int batch, std::vector<View4>* in, std::vector<View4>* out) const {
    const Node& node = graph_->nodes[i];
    in->clear();
    out->clear();
    const int pool = plan_.pool_of[i];  // a convolution pooling its input reads the pooling's input
    for (int t : pool >= 0 ? graph_->nodes[pool].inputs : node.inputs) in->push_back(view(t, base, batch));
    if (!plan_.merge_members[i].empty()) {  // the group's channels, one output
      const Place& span = plan_.merge_span[i];
      out->push_back(span.view(base + plan_.root_offset[span.root] * batch, batch));
      return;
    }
    for (int t : node.outputs) out->push_back(view(t, base, batch));
  }
  View4 view(int t, char* base, int batch) const {
    const Place& p = plan_.places[t];
    return p.view(base + plan_.root_offset[p.root] * batch, batch);
  }

 private:
  Status choose_device(int index);
  Status apply_tactics(const json::Value& tactics);
  /// The fused ops of the plan's fusions (fused_), beside each node's own op.
  Status make_fused_ops();
  /// details(): the first node of a fused pair names the second, the second the first; a pooling a
  /// convolution runs in its loader names that convolution.
  void name_fusions();
  // Tactic timing (cuda_tuner.cc).
  Status tune(int batch, const std::map<std::string, std::string>& given);
  /// Sets node i's tactic from `given` or the process-wide timing cache; false when neither has it.
  bool tactic_from_cache(size_t i, const std::string& key, const std::map<std::string, std::string>& given);
  /// Times every tactic of node i on `timer` and keeps the fastest.
  Status time_tactics(size_t i, const RunArgs& args, TacticTimer& timer);

  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const WeightStore> weights_;
  DeviceProps props_;
  std::string device_name_;
  EnginePlan plan_;
  IndexRange index_range_;
  std::vector<std::unique_ptr<CudaOp>> ops_;    // per node; null for elided nodes
  std::vector<std::unique_ptr<CudaOp>> fused_;  // per node: its op with the next node fused in, or null
  std::vector<TacticChoice> choices_;           // per node
  int tune_batch_ = 0;
  double tune_seconds_ = 0;
  int aux_streams_ = 0;  // what the build allowed (the schedule may use fewer)
  // Sibling convolutions run as one (planner.h EnginePlan::merge_members): TRTN_CUDA_MERGE=1 at
  // build (written, not yet run on a GPU), then the plan's own choice when it is loaded.
  bool merge_ = false;
  // A 3x3 MAX pooling in the loader of the 1x1 convolution reading it (planner.h EnginePlan::pool_of):
  // TRTN_CUDA_POOL_CONV=1 at build on sm_80+ (written, not yet run on a GPU), then the plan's choice.
  bool pool_conv_ = false;

  static size_t align_workspace(size_t b) { return (b + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign; }
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
  /// In place (a lone call in pinned memory): at most this many bytes of inputs and outputs.
  static constexpr size_t kInPlaceBytes = size_t{4} << 20;
  Status check_call(const Inference& inf) const;
  Status reserve(int batch);
  /// Inputs from their host form in `in` into the arena; then the nodes; then the outputs into `out`.
  /// staged: `in` is the slot's staging (device memory), not the caller's pinned arrays.
  Status enqueue_compute(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                         cudaStream_t stream, TensorHistograms* stats, bool marks, bool staged);
  Status enqueue_graph(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                       cudaStream_t stream, bool staged);
  /// Graph inputs read where the run loop put them (root, device address of the staging).
  using Staged = std::vector<std::pair<int, const void*>>;
  /// Tensor t's view: in the staging where its root is there, else in the arena at `base`.
  View4 staged_view(int t, char* base, int batch, const Staged& staged) const;
  /// The nodes, each on its lane's stream with its waits (one stream, node order, with `stats` or
  /// `marks`: the profile's events after every node).
  Status run_nodes(int batch, char* base, const Staged& staged, cudaStream_t stream, TensorHistograms* stats,
                   bool marks);
  Status read_profile(int nodes, LayerProfile* profile);
  /// The auxiliary streams start after what `stream` holds so far (the inputs' conversion).
  Status fork(cudaStream_t stream);
  /// `stream` continues after everything the auxiliary streams hold.
  Status join(cudaStream_t stream);
  /// Calibration statistics of tensor t (its view `v`).
  Status observe(const View4& v, int t, int batch, TensorHistograms* stats, cudaStream_t stream);
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
    v.n = static_cast<int32_t>(batch * p.rows);
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
  // Independent branches (schedule.h): a stream per lane past the first (the run loop's compute
  // stream), an event after each node another lane waits for, the fork after the inputs and a join
  // per lane before the outputs.
  std::vector<cudaStream_t> aux_;
  std::vector<cudaEvent_t> after_;  // per node (null where no lane waits for it)
  cudaEvent_t fork_ = nullptr;
  std::vector<cudaEvent_t> joins_;
  DeviceBuffer arena_;           // activations, then each lane's workspace
  std::vector<size_t> lane_at_;  // per lane: where its workspace starts in the arena (set by reserve)
  DeviceBuffer stats_dev_;       // AmaxResult, then the 2048 counters
  PinnedBuffer stats_host_;
  int capacity_ = 0;  // batch the arena holds
  bool use_graphs_;
  std::map<GraphKey, CachedGraph> graphs_;
  uint64_t graph_uses_ = 0;
  GraphKey lookup_{0, {}};   // enqueue_graph's key, reused (no allocation per launch)
  size_t io_per_image_ = 0;  // host-form bytes of the inputs and outputs, per image
};

}  // namespace trtn::cuda
