// The cuda backend's context: the shared GPU run loop (gpu/run_loop.h) moves inputs and outputs;
// the context computes between the copies (input conversion, the nodes on their streams, output
// conversion), captures that into a CUDA graph per batch and buffer addresses, collects calibration
// statistics and reads per-layer profiles.
#include <algorithm>
#include <cstring>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/statistics.h"

namespace trtn::cuda {

namespace {

std::vector<size_t> host_image_bytes(const Graph& g, const std::vector<int>& ids) {
  std::vector<size_t> bytes;
  for (int t : ids) bytes.push_back(static_cast<size_t>(g.tensors[t].image_volume()) * dtype_bytes(g.tensors[t].host));
  return bytes;
}

}  // namespace

CudaContext::CudaContext(const CudaEngine* engine)
    : e_(engine),
      loop_(engine->device(), host_image_bytes(engine->graph(), engine->graph().inputs),
            host_image_bytes(engine->graph(), engine->graph().outputs)),
      use_graphs_(!cuda_env().no_graphs) {
  const Graph& g = e_->graph();
  for (const std::vector<int>* ids : {&g.inputs, &g.outputs}) {
    for (int t : *ids)
      io_per_image_ += static_cast<size_t>(g.tensors[t].image_volume()) * dtype_bytes(g.tensors[t].host);
  }
}

CudaContext::~CudaContext() {
  cudaSetDevice(e_->device());
  cudaStreamSynchronize(loop_.compute_stream());
  for (cudaStream_t s : aux_) cudaStreamSynchronize(s);
  drop_graphs();
  for (cudaEvent_t ev : marks_) cudaEventDestroy(ev);
  for (cudaEvent_t ev : after_) {
    if (ev != nullptr) cudaEventDestroy(ev);
  }
  for (cudaEvent_t ev : joins_) cudaEventDestroy(ev);
  if (fork_ != nullptr) cudaEventDestroy(fork_);
  for (cudaStream_t s : aux_) cudaStreamDestroy(s);
  cudaGetLastError();
}

void CudaContext::drop_graphs() {
  for (auto& [key, g] : graphs_) cudaGraphExecDestroy(g.exec);
  graphs_.clear();
}

Status CudaContext::init() {
  TRTN_TRY(loop_.init());
  const Schedule& s = e_->plan().schedule;
  if (s.lanes < 2) return Status::ok();
  // Events that only order streams: no timing, so a wait costs nothing more than the dependency.
  auto event = [](cudaEvent_t* ev) { return TRTN_CUDA_STATUS(cudaEventCreateWithFlags(ev, cudaEventDisableTiming)); };
  TRTN_TRY(event(&fork_));
  for (int l = 1; l < s.lanes; ++l) {
    cudaStream_t st = nullptr;
    TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    aux_.push_back(st);
    joins_.push_back(nullptr);
    TRTN_TRY(event(&joins_.back()));
  }
  after_.assign(s.signals.size(), nullptr);
  for (size_t i = 0; i < s.signals.size(); ++i) {
    if (s.signals[i]) TRTN_TRY(event(&after_[i]));
  }
  return Status::ok();
}

Status CudaContext::reserve(int batch) {
  TRTN_TRY(check_index_range(e_->index_range(), batch));
  if (batch <= capacity_) return Status::ok();
  if (loop_.in_flight() > 0) {
    return Status(Code::kInternal,
                  "cuda context: a larger batch needs no inference in flight (its memory is replaced)");
  }
  drop_graphs();
  arena_.reset();
  capacity_ = 0;
  // Each lane's scratch, one after the other past the activations of `batch` images (smaller
  // batches use the same places).
  lane_at_ = e_->lane_workspace(batch);
  size_t at = static_cast<size_t>(e_->plan().arena_per_image) * batch;
  for (size_t& w : lane_at_) {
    const size_t bytes = w;
    w = at;
    at += bytes;
  }
  TRTN_TRY(arena_.allocate(at, "the activations of batch " + std::to_string(batch)));
  capacity_ = batch;
  return Status::ok();
}

Status CudaContext::observe(const View4& v, int t, int batch, TensorHistograms* stats, cudaStream_t stream) {
  const TensorDesc& d = e_->graph().tensors[t];
  if (d.dtype != DType::kFloat32) return Status::ok();
  constexpr size_t kCounters = TensorHistograms::kBins * sizeof(unsigned long long);
  if (stats_dev_.get() == nullptr) {
    TRTN_TRY(stats_dev_.allocate(sizeof(AmaxResult) + kCounters, "calibration statistics"));
    TRTN_TRY(stats_host_.allocate(sizeof(AmaxResult) + kCounters, "calibration statistics"));
  }
  auto* result = stats_dev_.as<AmaxResult>();
  auto* counters = reinterpret_cast<unsigned long long*>(stats_dev_.as<char>() + sizeof(AmaxResult));
  TRTN_TRY(launch_amax(v, result, stream));
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), result, sizeof(AmaxResult), cudaMemcpyDeviceToHost, stream));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream));
  AmaxResult r;
  std::memcpy(&r, stats_host_.floats(), sizeof r);
  if (r.first_bad != ~0ULL)
    return TensorHistograms::non_finite(d.name, static_cast<int64_t>(r.first_bad / 2), r.first_bad % 2 == 1);
  float amax;
  std::memcpy(&amax, &r.amax_bits, sizeof amax);
  const double range = stats->widen(t, amax);
  if (range == 0) {
    stats->add_zeros(t, d.image_volume() * batch);
    return Status::ok();
  }
  TRTN_CUDA_TRY(cudaMemsetAsync(counters, 0, kCounters, stream));
  TRTN_TRY(launch_histogram(v, TensorHistograms::kBins / range, counters, stream));
  TRTN_CUDA_TRY(cudaMemcpyAsync(stats_host_.floats(), counters, kCounters, cudaMemcpyDeviceToHost, stream));
  TRTN_CUDA_TRY(cudaStreamSynchronize(stream));
  std::vector<int64_t> counts(TensorHistograms::kBins);
  const auto* host = reinterpret_cast<const unsigned long long*>(stats_host_.floats());
  for (int b = 0; b < TensorHistograms::kBins; ++b) counts[b] = static_cast<int64_t>(host[b]);
  stats->add_counts(t, counts.data());
  return Status::ok();
}

View4 CudaContext::staged_view(int t, char* base, int batch, const Staged& staged) const {
  const Place& p = e_->plan().places[t];
  for (const auto& [root, data] : staged) {
    if (p.root == root) return p.view(static_cast<char*>(const_cast<void*>(data)), batch);
  }
  return e_->view(t, base, batch);
}

Status CudaContext::run_nodes(int batch, char* base, const Staged& staged, cudaStream_t stream, TensorHistograms* stats,
                              bool marks) {
  const Graph& g = e_->graph();
  const EnginePlan& plan = e_->plan();
  const Schedule& sched = plan.schedule;
  auto mark = [&](size_t k) { return marks ? TRTN_CUDA_STATUS(cudaEventRecord(marks_[k], stream)) : Status::ok(); };
  // Independent branches on their lanes' streams, except where every node is timed or observed (one
  // stream, node order: the schedule's order is one of its topological orders).
  const bool fan = !aux_.empty() && stats == nullptr && !marks;
  if (fan) TRTN_TRY(fork(stream));
  std::vector<View4> vin, vout, unused;
  // Runs `op` of node i on stream s: node i's input views, node `out`'s output views.
  auto run = [&](const CudaOp* op, size_t i, size_t out, cudaStream_t s, int lane) -> Status {
    e_->views(i, base, batch, &vin, &vout);
    if (out != i) e_->views(out, base, batch, &unused, &vout);
    if (!staged.empty()) {
      for (size_t k = 0; k < vin.size(); ++k) vin[k] = staged_view(g.nodes[i].inputs[k], base, batch, staged);
    }
    Status st = op->run(RunArgs{e_->run_batch(i, batch), vin, vout, s, base + lane_at_[lane]});
    return st.is_ok() ? st : Status(st.code(), "node '" + g.nodes[out].name + "': " + st.message());
  };
  auto observe_outputs = [&](size_t i) -> Status {
    for (int t : g.nodes[i].outputs) TRTN_TRY(observe(staged_view(t, base, batch, staged), t, batch, stats, stream));
    return Status::ok();
  };
  Status failed = Status::ok();
  for (size_t i = 0; i < g.nodes.size() && failed.is_ok(); ++i) {
    const CudaOp* op = e_->op(i);
    const int j = plan.fused_next[i];
    // A node fused into the one before it (plan.fused_next: an LRN and a MAX pooling) runs there: in
    // the fused kernel, or, observed, on its own right after that one.
    // A pooling that a convolution runs in its loader (plan.pool_of) runs only when observed, right
    // before that convolution (its output lives there: schedule.h NodeAccess).
    const bool absorbed = plan.pooled_by[i] >= 0;
    if (op != nullptr && plan.fused_into[i] < 0 && !absorbed) {
      const int lane = sched.lane[i];
      cudaStream_t s = fan && lane > 0 ? aux_[lane - 1] : stream;
      for (size_t k = 0; fan && k < sched.waits[i].size() && failed.is_ok(); ++k) {
        failed = TRTN_CUDA_STATUS(cudaStreamWaitEvent(s, after_[sched.waits[i][k]], 0));
      }
      const int pool = plan.pool_of[i];
      if (failed.is_ok() && pool >= 0 && stats != nullptr) {
        failed = run(e_->op(pool), static_cast<size_t>(pool), static_cast<size_t>(pool), s, lane);
        if (failed.is_ok()) failed = observe_outputs(static_cast<size_t>(pool));
      }
      if (!failed.is_ok()) break;
      if (j >= 0 && stats == nullptr) {
        failed = run(e_->fused_op(i), i, static_cast<size_t>(j), s, lane);
      } else {
        failed = run(op, i, i, s, lane);
        if (failed.is_ok() && j >= 0) failed = run(e_->op(j), static_cast<size_t>(j), static_cast<size_t>(j), s, lane);
      }
      if (failed.is_ok() && fan && sched.signals[i]) failed = TRTN_CUDA_STATUS(cudaEventRecord(after_[i], s));
    }
    if (failed.is_ok()) failed = mark(2 + i);
    if (stats != nullptr && failed.is_ok() && plan.fused_into[i] < 0 && !absorbed) {
      failed = observe_outputs(i);
      if (failed.is_ok() && j >= 0) failed = observe_outputs(static_cast<size_t>(j));
    }
  }
  // Every lane joins the main stream even after a failure: a capture must end joined.
  if (fan) {
    Status joined = join(stream);
    if (failed.is_ok()) failed = joined;
  }
  return failed;
}

Status CudaContext::enqueue_compute(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                                    cudaStream_t stream, TensorHistograms* stats, bool marks, bool staged) {
  const Graph& g = e_->graph();
  auto mark = [&](size_t k) { return marks ? TRTN_CUDA_STATUS(cudaEventRecord(marks_[k], stream)) : Status::ok(); };
  TRTN_TRY(mark(0));
  char* base = arena_.as<char>();
  // Roots read where the caller's data lies: a direct input in staging (device memory, which the
  // slot keeps until the inference completed) is not copied into the arena; its readers (and a
  // Flatten / Reshape aliasing it) get views of the staging. No node writes a graph input.
  Staged in_staging;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const int t = g.inputs[i];
    if (staged && direct(t) && e_->plan().places[t].root == t) {
      in_staging.emplace_back(t, in[i]);
      continue;
    }
    const View4 dst = e_->view(t, base, batch);
    TRTN_TRY(direct(t) ? TRTN_CUDA_STATUS(cudaMemcpyAsync(
                             dst.data, in[i],
                             static_cast<size_t>(g.tensors[t].image_volume()) * batch * dtype_bytes(g.tensors[t].host),
                             cudaMemcpyDefault, stream))
                       : launch_reformat(staging_view(t, in[i], batch), dst, stream));
  }
  auto view_of = [&](int t) { return staged_view(t, base, batch, in_staging); };
  TRTN_TRY(mark(1));
  if (stats != nullptr) {
    for (int t : g.inputs) {
      TRTN_TRY(observe(view_of(t), t, batch, stats, stream));
    }
  }
  TRTN_TRY(run_nodes(batch, base, in_staging, stream, stats, marks));
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const int t = g.outputs[i];
    const View4 src = view_of(t);
    TRTN_TRY(direct(t) ? TRTN_CUDA_STATUS(cudaMemcpyAsync(
                             out[i], src.data,
                             static_cast<size_t>(g.tensors[t].image_volume()) * batch * dtype_bytes(g.tensors[t].host),
                             cudaMemcpyDefault, stream))
                       : launch_reformat(src, staging_view(t, out[i], batch), stream));
  }
  return mark(2 + g.nodes.size());
}

Status CudaContext::fork(cudaStream_t stream) {
  TRTN_CUDA_TRY(cudaEventRecord(fork_, stream));
  for (cudaStream_t s : aux_) TRTN_CUDA_TRY(cudaStreamWaitEvent(s, fork_, 0));
  return Status::ok();
}

Status CudaContext::join(cudaStream_t stream) {
  Status st = Status::ok();
  for (size_t l = 0; l < aux_.size(); ++l) {
    Status rec = TRTN_CUDA_STATUS(cudaEventRecord(joins_[l], aux_[l]));
    if (rec.is_ok()) rec = TRTN_CUDA_STATUS(cudaStreamWaitEvent(stream, joins_[l], 0));
    if (st.is_ok()) st = rec;
  }
  return st;
}

Status CudaContext::enqueue_graph(int batch, const std::vector<const void*>& in, const std::vector<void*>& out,
                                  cudaStream_t stream, bool staged) {
  lookup_.batch = batch;
  lookup_.io.clear();
  for (const void* p : in) lookup_.io.push_back(reinterpret_cast<uintptr_t>(p));
  for (const void* p : out) lookup_.io.push_back(reinterpret_cast<uintptr_t>(p));
  auto it = graphs_.find(lookup_);
  if (it == graphs_.end()) {
    if (graphs_.size() >= kMaxGraphs) {
      // A graph in use by an inference in flight may go: the launched copy runs to its end.
      auto oldest = std::min_element(graphs_.begin(), graphs_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      cudaGraphExecDestroy(oldest->second.exec);
      graphs_.erase(oldest);
    }
    cudaGraph_t graph = nullptr;
    TRTN_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status st = enqueue_compute(batch, in, out, stream, nullptr, false, staged);
    cudaError_t end = cudaStreamEndCapture(stream, &graph);
    cudaGraphExec_t exec = nullptr;
    if (st.is_ok() && end == cudaSuccess) end = cudaGraphInstantiate(&exec, graph, 0);
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (!st.is_ok()) return st;
    if (end != cudaSuccess) {
      // Capture is an optimisation: run directly from now on.
      cudaGetLastError();
      use_graphs_ = false;
      return enqueue_compute(batch, in, out, stream, nullptr, false, staged);
    }
    it = graphs_.emplace(lookup_, CachedGraph{exec, 0}).first;
  }
  it->second.used = ++graph_uses_;
  return TRTN_CUDA_STATUS(cudaGraphLaunch(it->second.exec, stream));
}

bool CudaContext::in_place_ok(const Inference& inf) const {
  // Unified addressing maps pinned memory into the device: tensors in their host form are copied
  // by the copy engine; the others are converted by kernels that read the host memory across
  // PCIe, which is slower than a copy once a batch is large. In place, the copies run on the
  // compute stream and count as GPU compute: a large batch goes through staging, where they are
  // timed as H2D / D2H (a 77 MB input would add 1.5 ms to the compute of an H100) and overlap.
  if (env_flag("TRTN_CUDA_NO_IN_PLACE")) return false;  // read per call: benchmarks compare both ways
  return io_per_image_ * static_cast<size_t>(inf.batch) <= kInPlaceBytes;
}

Status CudaContext::enqueue(Inference& inf, int /*slot*/, const std::vector<const void*>& in,
                            const std::vector<void*>& out, cudaStream_t stream) {
  if (env_flag("TRTN_CUDA_POISON")) {
    // Tests: every activation starts as NaN (int8: -1), so a value no kernel writes shows.
    TRTN_CUDA_TRY(cudaMemsetAsync(arena_.get(), 0xFF, arena_.bytes(), stream));
  }
  const RunOptions& o = inf.options;
  // The run loop hands over either the slot's staging (device memory) or, in place, the caller's
  // own pinned arrays: only the former may be read by the nodes where it lies.
  const bool staged = in != inf.io.inputs;
  if (inf.stats != nullptr || !use_graphs_ || !o.graphs || o.profile) {
    return enqueue_compute(inf.batch, in, out, stream, inf.stats, o.profile, staged);
  }
  return enqueue_graph(inf.batch, in, out, stream, staged);
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
  TRTN_TRY(between(0, 1, &in_ms));
  TRTN_TRY(between(1 + nodes, 2 + nodes, &out_ms));
  for (int i = 0; i < nodes; ++i) {
    TRTN_TRY(between(1 + i, 2 + i, &profile->node_ms[i]));
  }
  profile->reformat_ms = in_ms + out_ms;
  profile->valid = true;
  return Status::ok();
}

Status CudaContext::check_call(const Inference& inf) const {
  const Graph& g = e_->graph();
  if (inf.batch < 1 || inf.batch > g.max_batch) {
    return Status(Code::kInvalidArgument,
                  "batch " + std::to_string(inf.batch) + " is outside [1, " + std::to_string(g.max_batch) + "]");
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
  TRTN_TRY(check_call(*inf));
  TRTN_CUDA_TRY(cudaSetDevice(e_->device()));
  TRTN_TRY(reserve(inf->batch));
  if (inf->options.profile) {
    while (marks_.size() < e_->graph().nodes.size() + 3) {
      cudaEvent_t ev = nullptr;
      TRTN_CUDA_TRY(cudaEventCreate(&ev));
      marks_.push_back(ev);
    }
  }
  return loop_.submit(inf, *this);
}

}  // namespace trtn::cuda
