// The backend interface: a small table of functions per backend (cpu, cuda, tensorrt), registered
// explicitly in registry.cc. A backend turns a checked graph and its prepared weights into an
// Engine; an Engine makes execution Contexts; a Context runs a batch.
#pragma once

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
  /// Host time the call waited on its context before it was submitted (behind earlier calls, or for
  /// the lane to wake); the addon sets it, 0 elsewhere.
  double queue_ms = 0;
};

/// Per-layer times of the last execute, when profiling is on (trtexec's --dumpProfile): one entry
/// per graph node, in node order (0 for nodes that run nothing, such as elided concatenations), and
/// the time of the layout conversions of inputs and outputs that no node owns.
struct LayerProfile {
  bool valid = false;
  std::vector<double> node_ms;
  double reformat_ms = 0;
};

/// How an inference runs (the bench's options); the defaults are what infer() wants.
struct RunOptions {
  /// Time every layer on its own (GPU backends: no CUDA graph, an event after each layer).
  bool profile = false;
  /// False: inputs are not copied in nor outputs out; the device keeps the data of earlier runs
  /// (trtexec's --noDataTransfers).
  bool transfers = true;
  /// GPU backends: replay the batch size's CUDA graph (false: launch the kernels one by one).
  bool graphs = true;
};

/// The host memory of one inference: a pointer per graph input and output, in graph order, each
/// holding `batch` images in the tensor's dtype (graph.h: the form it crosses to the host in).
/// GPU backends copy straight from and to it: pinned memory (the engine's host_allocator()) lets
/// the copies overlap the compute.
struct HostIo {
  std::vector<const void*> inputs;
  std::vector<void*> outputs;
  /// Every array is pinned memory of the engine's host_allocator() (which a GPU addresses directly:
  /// a lone call's compute may then read and write it in place, gpu/run_loop.h).
  bool pinned = false;
};

/// One inference as a context runs it: what to run, and what it measured.
struct Inference {
  int batch = 1;
  HostIo io;
  RunOptions options;
  /// Calibration: every float tensor's values are added to its histogram as it is written (a
  /// failure there stops the run and is its result).
  TensorHistograms* stats = nullptr;
  /// A hint: no other inference is expected while this one runs (a lone call), so GPU backends
  /// put its copies on the compute stream (no overlap to gain, two cross-stream waits saved).
  bool lone = false;
  /// Out: GPU times (GPU backends) and the host time to submit it.
  RunTiming timing;
  /// Out: per-layer times when options.profile.
  LayerProfile profile;
};

/// One inference of Context::execute_many: its GPU times (enqueue_ms: its submission) and, in host
/// milliseconds from the start of the call, when it was submitted and when the host saw it done.
struct QueuedRun {
  RunTiming timing;
  double submit_ms = 0;
  double done_ms = 0;
};

/// The most inferences a context keeps in flight (GPU backends: one staging slot each).
constexpr int kMaxQueueDepth = 8;

/// Runs batches. Inferences are submitted and waited for in order, from one thread at a time
/// (a context's lane); several contexts run in parallel.
class Context {
 public:
  virtual ~Context() = default;
  /// The most inferences in flight at once: GPU backends kMaxQueueDepth (their copies and compute
  /// overlap), others 1 (submit runs the inference to the end).
  virtual int depth() const { return 1; }
  /// Host bytes the context holds (the cpu backend's activations; GPU backends keep theirs on the
  /// device). Read on the thread that submits.
  virtual int64_t host_bytes() const { return 0; }
  /// Starts an inference (1 <= batch <= maxBatchSize). GPU backends enqueue its copies and kernels
  /// and return; others run it to the end. At most depth() may be submitted and not yet waited
  /// for; an inference with a larger batch than any before, or with stats or a profile, needs
  /// none in flight. `inf` stays valid and untouched by the caller until wait() returns.
  virtual Status submit(Inference* inf) = 0;
  /// Waits for the oldest inference submitted and not yet waited for (`inf`); fills its timing
  /// and profile. The host memory of its outputs holds the results when this returns ok.
  virtual Status wait(Inference* inf) = 0;
  /// True when wait() for the oldest inference in flight would not block (it finished, or failed:
  /// wait says how). Lets a submitting thread watch for new work while the device runs.
  virtual bool ready() { return true; }
  /// One inference: submit, then wait.
  Status execute(Inference* inf) {
    Status st = submit(inf);
    return st.is_ok() ? wait(inf) : st;
  }
  /// Benchmarks (trtexec's timing loop): `count` inferences like `proto` back to back, keeping up
  /// to `depth` of them in flight so the device does not wait for the host between them. Every
  /// inference copies in from the same host inputs (with transfers) and the outputs are the last
  /// inference's. `runs` gets one entry per inference.
  Status execute_many(const Inference& proto, int count, int depth, std::vector<QueuedRun>* runs);
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
  /// Host bytes the engine holds (reported to V8 so that dropped engines get collected).
  virtual int64_t host_bytes() const { return weights().bytes(); }
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
  int max_aux_streams = -1;              // cuda: streams beside the main one for independent branches (-1: 3)
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
  /// True when the backend runs `node` of `graph` (checked by parse_graph); otherwise *why says
  /// what it lacks (ggml's supports_op). Asked of every node before a build (check_supported).
  bool (*supports)(const Graph& graph, const Node& node, std::string* why);
  /// The ops this backend has (core/op_kind.h names, OpKind order), for buildInfo().
  std::vector<std::string> (*ops)();
};

/// Every node of `graph` runs on `backend`, or kUnsupportedLayer naming the first layer that does
/// not, its op, the backend, why, and what to do instead.
Status check_supported(const Backend& backend, const Graph& graph);

/// The backend of that name compiled into this binary, or nullptr.
const Backend* find_backend(const std::string& name);

/// Names of the backends compiled in.
std::vector<std::string> backend_names();

}  // namespace trtn
