// The backend interface: a small table of functions per backend (cpu, cuda, tensorrt), registered
// explicitly in registry.cc. A backend turns a checked graph and its prepared weights into an
// Engine; an Engine makes execution Contexts; a Context runs a batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/histogram.h"
#include "core/host_memory.h"
#include "core/status.h"
#include "core/weights.h"

namespace trtn {

/// GPU times of the last execute (events around the copies and the compute), when the backend has them.
struct RunTiming {
  bool valid = false;
  double h2d_ms = 0, compute_ms = 0, d2h_ms = 0;
  /// Host time to submit the inference (staging, copies and launches enqueued), before waiting for it.
  double enqueue_ms = 0;
};

/// Per-layer times of the last execute, when profiling is on (trtexec's --dumpProfile): one entry
/// per graph node, in node order (0 for nodes that run nothing, such as elided concatenations), and
/// the time of the layout conversions of inputs and outputs that no node owns.
struct LayerProfile {
  bool valid = false;
  std::vector<double> node_ms;
  double reformat_ms = 0;
};

/// How later executes of a context run (the bench's options); the defaults are what infer() wants.
struct RunOptions {
  /// Time every layer on its own (GPU backends: no CUDA graph, an event after each layer).
  bool profile = false;
  /// False: inputs are not copied in nor outputs out; the device keeps the data of earlier runs
  /// (trtexec's --noDataTransfers).
  bool transfers = true;
  /// GPU backends: replay the batch size's CUDA graph (false: launch the kernels one by one).
  bool graphs = true;
  /// The input and output pointers of the call lie in memory from the engine's host_allocator():
  /// GPU backends copy straight from and to them instead of through their own pinned staging.
  bool host_pinned = false;
};

/// One inference of Context::execute_many: its GPU times (enqueue_ms: its submission) and, in host
/// milliseconds from the start of the call, when it was submitted and when the host saw it done.
struct QueuedRun {
  RunTiming timing;
  double submit_ms = 0;
  double done_ms = 0;
};

/// The most inferences execute_many keeps queued on a context.
constexpr int kMaxQueueDepth = 8;

/// Runs batches; one at a time (callers serialise; several contexts run in parallel).
class Context {
 public:
  virtual ~Context() = default;
  virtual RunTiming last_timing() const { return {}; }
  /// Options of later executes (RunOptions).
  void set_run_options(const RunOptions& options) { options_ = options; }
  const LayerProfile& last_profile() const { return profile_; }
  /// Runs `batch` images (1..maxBatchSize): inputs and outputs in graph order, float32, batch-major.
  /// With `stats` (calibration), every float tensor's values are added to its histogram as it is
  /// written (a failure there stops the run and is its result).
  virtual Status execute(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                         TensorHistograms* stats) = 0;
  /// Benchmarks (trtexec's timing loop): `count` inferences of `batch` back to back, keeping up to
  /// `depth` of them queued so the device does not wait for the host between them. The inputs are
  /// staged once and copied in by every inference (with transfers); the outputs are the last
  /// inference's. `runs` gets one entry per inference. Backends without a queue run execute()
  /// `count` times (depth does not change anything there).
  virtual Status execute_many(int batch, const std::vector<const float*>& inputs, const std::vector<float*>& outputs,
                              int count, int depth, std::vector<QueuedRun>* runs) {
    if (count < 1 || depth < 1 || depth > kMaxQueueDepth) {
      return Status(Code::kInvalidArgument, "execute_many: count must be >= 1 and depth in [1, " + std::to_string(kMaxQueueDepth) + "]");
    }
    runs->assign(count, QueuedRun{});
    const auto start = std::chrono::steady_clock::now();
    const auto since = [&start]() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(); };
    for (QueuedRun& r : *runs) {
      r.submit_ms = since();
      Status st = execute(batch, inputs, outputs, nullptr);
      if (!st.is_ok()) return st;
      r.done_ms = since();
      r.timing = last_timing();
      if (!r.timing.valid) r.timing.enqueue_ms = r.done_ms - r.submit_ms;
    }
    return Status::ok();
  }

 protected:
  RunOptions options_;
  LayerProfile profile_;
};

/// A built engine: immutable, shared by its contexts.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual Status create_context(std::unique_ptr<Context>* out) = 0;
  /// Backend-specific bytes for the plan (tactics ...); may be empty.
  virtual Status serialize_backend(std::vector<uint8_t>* out) const = 0;
  /// Bytes of memory one context needs per image of batch (activations), for reports.
  virtual int64_t activation_bytes_per_image() const = 0;
  /// The largest batch every kernel launch of this engine indexes correctly (the cuda backend's
  /// 32-bit GEMM row counts, backends/cuda/index_range.h); 2147483647 where only the batch's own
  /// int range bounds it. Never below maxBatchSize: an engine beyond its limit is not built.
  virtual int64_t max_runnable_batch() const { return INT32_MAX; }
  virtual const Graph& graph() const = 0;
  virtual const WeightStore& weights() const = 0;
  /// Backend details as a JSON object (chosen tactics, memory plan, timing cache ...); "{}" when none.
  virtual std::string info_json() const { return "{}"; }
  /// The host memory this engine's inputs and outputs are best kept in (host_memory.h).
  virtual std::shared_ptr<const HostAllocator> host_allocator() const { return HostAllocator::plain(); }
};

/// What build and load receive.
struct BuildInput {
  std::shared_ptr<const Graph> graph;
  std::shared_ptr<const WeightStore> weights;
  std::string graph_json;                // build only: the graph's JSON text (tensorrt hands it to its module)
  std::vector<uint8_t> backend_section;  // load only
  int threads = 0;                       // cpu: worker threads (0: one per core)
  int device = 0;                        // cuda: GPU index
  int tune_batch = 0;                    // cuda: batch the tactics are timed at (0: min(maxBatch, 32))
  std::string timing_cache;              // cuda: JSON object of earlier timings, "" for none
};

/// One backend.
struct Backend {
  const char* name;
  /// True when the backend can run here; otherwise *why says what is missing.
  bool (*available)(std::string* why);
  /// Builds an engine (may time tactics).
  Status (*build)(const BuildInput& in, std::unique_ptr<Engine>* out);
  /// Loads an engine from a plan's sections.
  Status (*load)(const BuildInput& in, std::unique_ptr<Engine>* out);
};

/// The backend of that name compiled into this binary, or nullptr.
const Backend* find_backend(const std::string& name);

/// Names of the backends compiled in.
std::vector<std::string> backend_names();

}  // namespace trtn
