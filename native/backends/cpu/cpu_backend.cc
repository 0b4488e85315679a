// The cpu backend's engine and context: ops created once per engine, one activation arena per
// context, nodes run in graph order. FP16 engines round every tensor to float16 as it is written
// (docs/engine.md), which is what makes this backend the oracle for the GPU's FP16 path.
#include "backends/cpu/cpu_backend.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/memory_plan.h"
#include "backends/cpu/ops/op.h"
#include "core/numeric.h"
#include "core/task_queue.h"
#include "core/thread_pool.h"

namespace trtn::cpu {
namespace {

class CpuEngine;

class CpuContext : public Context {
 public:
  explicit CpuContext(const CpuEngine* engine) : engine_(engine) {}
  /// Runs the inference to the end (the cpu backend has nothing to overlap).
  Status submit(Inference* inf) override;
  Status wait(Inference* /*inf*/) override { return Status::ok(); }
  int64_t host_bytes() const override { return storage_ ? engine_plan_total() * capacity_ : 0; }

 private:
  Status reserve(int batch);
  Status run(Inference* inf);
  int64_t engine_plan_total() const;
  /// Copies input i into the arena (float16 widened to float32), rounding for FP16 engines.
  Status load_input(size_t i, const Inference& inf, uint8_t* at);
  /// Copies output i out of the arena (narrowed to float16 where that is its host form).
  void store_output(size_t i, const Inference& inf, const uint8_t* at) const;

  const CpuEngine* engine_;
  std::unique_ptr<uint8_t[]> storage_;
  uint8_t* arena_ = nullptr;
  int capacity_ = 0;  // batch the arena holds
};

class CpuEngine : public Engine {
 public:
  /// `threads` > 0: the engine's contexts compute on a pool of their own of that size; 0: on the
  /// process-wide pool (ThreadPool::shared: TRTN_CPU_THREADS or one per core).
  CpuEngine(std::shared_ptr<const Graph> graph, std::shared_ptr<const WeightStore> weights, int threads)
      : graph_(std::move(graph)),
        weights_(std::move(weights)),
        plan_(plan_memory(*graph_)),
        own_pool_(threads > 0 ? std::make_unique<ThreadPool>(threads) : nullptr) {}

  ThreadPool& pool() const { return own_pool_ ? *own_pool_ : ThreadPool::shared(); }

  Status init() {
    for (const Node& node : graph_->nodes) {
      std::unique_ptr<CpuOp> op;
      TRTN_TRY(make_op(OpInit{*graph_, node, *weights_}, &op));
      ops_.push_back(std::move(op));
    }
    return Status::ok();
  }

  Status create_context(std::unique_ptr<Context>* out) override {
    *out = std::make_unique<CpuContext>(this);
    return Status::ok();
  }
  Status serialize_backend(std::vector<uint8_t>* out) const override {
    out->clear();  // the cpu backend keeps nothing beyond the graph and the weights
    return Status::ok();
  }
  int64_t activation_bytes_per_image() const override { return plan_.total; }
  /// The prepared weights and the ops' own packed copies of them (about as large).
  int64_t host_bytes() const override { return 2 * weights_->bytes(); }
  const Graph& graph() const override { return *graph_; }
  const WeightStore& weights() const override { return *weights_; }

  const MemoryPlan& plan() const { return plan_; }
  const CpuOp& op(size_t i) const { return *ops_[i]; }

 private:
  std::shared_ptr<const Graph> graph_;
  std::shared_ptr<const WeightStore> weights_;
  MemoryPlan plan_;
  std::vector<std::unique_ptr<CpuOp>> ops_;
  std::unique_ptr<ThreadPool> own_pool_;
};

void round_half_in_place(float* p, int64_t n, ThreadPool& pool) {
  pool.parallel_for(n, 1 << 16, [p](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = numeric::round_to_half(p[i]);
  });
}

int64_t CpuContext::engine_plan_total() const { return engine_->plan().total; }

Status CpuContext::reserve(int batch) {
  if (batch <= capacity_) return Status::ok();
  const int64_t bytes = engine_->plan().total * batch;
  storage_.reset();
  arena_ = nullptr;
  capacity_ = 0;
  // Tests: TRTN_CPU_ARENA_LIMIT=<bytes> makes larger activation arenas fail like a full memory.
  if (const char* limit = std::getenv("TRTN_CPU_ARENA_LIMIT"); limit != nullptr && *limit != '\0') {
    char* end = nullptr;
    const long long cap = std::strtoll(limit, &end, 10);
    if (*end != '\0' || cap < 0) {
      return Status(Code::kInvalidArgument,
                    std::string("TRTN_CPU_ARENA_LIMIT (a test hook) must be a number of bytes, got '") + limit + "'");
    }
    if (bytes > cap) {
      return Status(Code::kOutOfMemory, "cpu backend: cannot allocate " + std::to_string(bytes) +
                                            " bytes of activations for batch " + std::to_string(batch) +
                                            " (TRTN_CPU_ARENA_LIMIT is " + limit + ")");
    }
  }
  uint8_t* raw = new (std::nothrow) uint8_t[static_cast<size_t>(bytes) + 64];
  if (raw == nullptr) {
    const long pages = sysconf(_SC_AVPHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    std::string avail = pages > 0 && page > 0
                            ? "; " + std::to_string(static_cast<int64_t>(pages) * page) + " bytes of host memory free"
                            : "";
    return Status(Code::kOutOfMemory, "cpu backend: cannot allocate " + std::to_string(bytes) +
                                          " bytes of activations for batch " + std::to_string(batch) + avail);
  }
  storage_.reset(raw);
  arena_ = raw + (64 - reinterpret_cast<uintptr_t>(raw) % 64) % 64;
  capacity_ = batch;
  return Status::ok();
}

Status CpuContext::submit(Inference* inf) {
  const auto t0 = std::chrono::steady_clock::now();
  inf->timing = RunTiming{};
  inf->profile = LayerProfile{};
  Status st = run(inf);
  inf->timing.enqueue_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

Status CpuContext::load_input(size_t i, const Inference& inf, uint8_t* at) {
  const Graph& g = engine_->graph();
  const TensorDesc& d = g.tensors[g.inputs[i]];
  const int64_t n = d.image_volume() * inf.batch;
  if (inf.options.transfers) {
    if (d.host == DType::kFloat16) {
      const auto* src = static_cast<const uint16_t*>(inf.io.inputs[i]);
      auto* dst = reinterpret_cast<float*>(at);
      for (int64_t k = 0; k < n; ++k) dst[k] = numeric::half_bits_to_float(src[k]);
    } else {
      std::memcpy(at, inf.io.inputs[i], static_cast<size_t>(n) * dtype_bytes(d.dtype));
    }
  }
  if (d.dtype == DType::kUInt8) return Status::ok();  // raw image bytes: the Preprocess node reads them
  auto* p = reinterpret_cast<float*>(at);
  if (g.precision == Precision::kFP16) round_half_in_place(p, n, engine_->pool());
  return inf.stats != nullptr ? inf.stats->add(g.inputs[i], p, n, d.name) : Status::ok();
}

void CpuContext::store_output(size_t i, const Inference& inf, const uint8_t* at) const {
  const Graph& g = engine_->graph();
  const TensorDesc& d = g.tensors[g.outputs[i]];
  const int64_t n = d.image_volume() * inf.batch;
  if (!inf.options.transfers) return;
  if (d.host == DType::kFloat16) {
    const auto* src = reinterpret_cast<const float*>(at);
    auto* dst = static_cast<uint16_t*>(inf.io.outputs[i]);
    for (int64_t k = 0; k < n; ++k) dst[k] = numeric::float_to_half_bits(src[k]);
  } else {
    std::memcpy(inf.io.outputs[i], at, static_cast<size_t>(n) * sizeof(float));
  }
}

Status CpuContext::run(Inference* inf) {
  const Graph& g = engine_->graph();
  const int batch = inf->batch;
  if (batch < 1 || batch > g.max_batch) {
    return Status(Code::kInvalidArgument,
                  "batch " + std::to_string(batch) + " is outside [1, " + std::to_string(g.max_batch) + "]");
  }
  if (inf->io.inputs.size() != g.inputs.size() || inf->io.outputs.size() != g.outputs.size()) {
    return Status(Code::kInvalidArgument, "wrong number of input or output buffers");
  }
  TRTN_TRY(reserve(batch));
  mark_compute_thread();  // the calling thread (a context's lane) computes too
  ThreadPool& pool = engine_->pool();
  const MemoryPlan& plan = engine_->plan();
  auto at = [&](int t) { return arena_ + plan.offset[t] * batch; };
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    TRTN_TRY(load_input(i, *inf, at(g.inputs[i])));
  }
  std::vector<const void*> in;
  std::vector<void*> out;
  LayerProfile& profile = inf->profile;
  if (inf->options.profile) profile.node_ms.assign(g.nodes.size(), 0.0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    in.clear();
    out.clear();
    for (int t : node.inputs) in.push_back(at(t));
    for (int t : node.outputs) out.push_back(at(t));
    const auto t0 = std::chrono::steady_clock::now();
    // A node over region tensors runs on their rows: batch x R.
    Status st = engine_->op(i).run(OpArgs{static_cast<int>(batch * node_rows(g, node)), in, out, pool});
    if (!st.is_ok()) return Status(st.code(), "node '" + node.name + "': " + st.message());
    if (inf->options.profile) {
      profile.node_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    for (int t : node.outputs) {
      const TensorDesc& d = g.tensors[t];
      if (d.dtype == DType::kInt8) continue;
      float* p = reinterpret_cast<float*>(at(t));
      if (node.precision == Precision::kFP16 && !d.indices) round_half_in_place(p, d.image_volume() * batch, pool);
      if (inf->stats != nullptr) {
        TRTN_TRY(inf->stats->add(t, p, d.image_volume() * batch, d.name));
      }
    }
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) store_output(i, *inf, at(g.outputs[i]));
  profile.valid = inf->options.profile;
  return Status::ok();
}

bool available(std::string* /*why*/) { return true; }

Status build(const BuildInput& in, std::unique_ptr<Engine>* out) {
  auto engine = std::make_unique<CpuEngine>(in.graph, in.weights, in.threads);
  TRTN_TRY(engine->init());
  *out = std::move(engine);
  return Status::ok();
}

Status load(const BuildInput& in, std::unique_ptr<Engine>* out) {
  if (!in.backend_section.empty()) {
    return Status(Code::kPlanCorrupt, "the cpu backend's plan section must be empty");
  }
  return build(in, out);
}

bool supports(const Graph& graph, const Node& node, std::string* why) {
  return table_supports(op_table(), graph, node, why);
}

std::vector<std::string> ops() { return op_table().names(); }

const Backend kBackend{"cpu", available, build, load, supports, ops};

}  // namespace

const Backend& backend() { return kBackend; }

}  // namespace trtn::cpu
