// The cuda backend's tactic timing (TensorRT's builder does the same): every op with several
// tactics (kernel variants) is run with each on the engine's GPU at the tuning batch, and the
// fastest is kept. Choices are remembered per op signature, GPU and batch in a process-wide timing
// cache (and in the one a build is given), so rebuilds are quick.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "backends/cuda/cuda_engine.h"

namespace trtn::cuda {
namespace {

/// Repetitions of a tactic are sized so that their total takes about this long.
constexpr double kTargetTotalMs = 2.0;
/// Bounds on the repetitions of one tactic.
constexpr int kMinReps = 3;
constexpr int kMaxReps = 50;
/// A single run shorter than this counts as this long when sizing repetitions.
constexpr float kShortestRunMs = 1e-3f;
/// A tactic whose first timed run is this many times slower than the best so far is not timed further.
constexpr double kHopelessFactor = 4.0;

}  // namespace

/// A stream and two events for timing, destroyed with it.
class TacticTimer {
 public:
  TacticTimer() = default;
  TacticTimer(const TacticTimer&) = delete;
  TacticTimer& operator=(const TacticTimer&) = delete;
  ~TacticTimer() {
    if (t0_) cudaEventDestroy(t0_);
    if (t1_) cudaEventDestroy(t1_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  Status init() {
    TRTN_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    TRTN_CUDA_TRY(cudaEventCreate(&t0_));
    TRTN_CUDA_TRY(cudaEventCreate(&t1_));
    return Status::ok();
  }
  cudaStream_t stream() const { return stream_; }
  /// Milliseconds per run of `reps` runs of `op` (its first failure is the result).
  Status time(const CudaOp& op, const RunArgs& args, int reps, double* ms) {
    TRTN_CUDA_TRY(cudaEventRecord(t0_, stream_));
    for (int r = 0; r < reps; ++r) {
      TRTN_TRY(op.run(args));
    }
    TRTN_CUDA_TRY(cudaEventRecord(t1_, stream_));
    TRTN_CUDA_TRY(cudaEventSynchronize(t1_));
    float total = 0;
    TRTN_CUDA_TRY(cudaEventElapsedTime(&total, t0_, t1_));
    *ms = total / reps;
    return Status::ok();
  }

 private:
  cudaStream_t stream_ = nullptr;
  cudaEvent_t t0_ = nullptr, t1_ = nullptr;
};

TimingCache& timing_cache() {
  static TimingCache cache;
  return cache;
}

bool CudaEngine::tactic_from_cache(size_t i, const std::string& key, const std::map<std::string, std::string>& given) {
  std::string cached;
  auto it = given.find(key);
  if (it != given.end()) cached = it->second;
  {
    std::lock_guard<std::mutex> lock(timing_cache().mu);
    auto jt = timing_cache().entries.find(key);
    if (cached.empty() && jt != timing_cache().entries.end()) cached = jt->second;
  }
  if (cached.empty()) return false;
  CudaOp* op = ops_[i].get();
  for (int k = 0; k < op->tactic_count(); ++k) {
    if (op->tactic_name(k) == cached && op->set_tactic(k).is_ok()) {
      choices_[i].name = cached;
      choices_[i].from_cache = true;
      return true;
    }
  }
  return false;
}

Status CudaEngine::time_tactics(size_t i, const RunArgs& args, TacticTimer& timer) {
  CudaOp* op = ops_[i].get();
  int best = -1;
  double best_ms = 0;
  for (int k = 0; k < op->tactic_count(); ++k) {
    // Warm up (the first launch loads the module), then one timed run sizes the repetitions.
    if (!op->set_tactic(k).is_ok() || !op->run(args).is_ok()) continue;
    double once = 0;
    if (!timer.time(*op, args, 1, &once).is_ok()) continue;
    if (best >= 0 && once > kHopelessFactor * best_ms) continue;
    const double per_run = std::max(static_cast<float>(once), kShortestRunMs);
    const int reps = std::max(kMinReps, std::min(kMaxReps, static_cast<int>(std::ceil(kTargetTotalMs / per_run))));
    double ms = 0;
    TRTN_TRY(timer.time(*op, args, reps, &ms));
    if (best < 0 || ms < best_ms) {
      best = k;
      best_ms = ms;
    }
  }
  if (best < 0) {
    return Status(Code::kCuda, "node '" + graph_->nodes[i].name + "': no tactic of the cuda backend runs on this GPU");
  }
  TRTN_TRY(op->set_tactic(best));
  choices_[i].name = op->tactic_name(best);
  choices_[i].ms = best_ms;
  return Status::ok();
}

Status CudaEngine::tune(int batch, const std::map<std::string, std::string>& given) {
  bool any = false;
  for (const auto& op : ops_) any = any || (op && op->tactic_count() > 1);
  if (!any || cuda_env().no_tuning) return Status::ok();
  const auto start = std::chrono::steady_clock::now();
  DeviceBuffer arena;
  const size_t bytes = static_cast<size_t>(plan_.arena_per_image) * batch + tuning_workspace_bytes(batch);
  TRTN_TRY(arena.allocate(bytes, "timing tactics at batch " + std::to_string(batch)));
  TacticTimer timer;
  TRTN_TRY(timer.init());
  TRTN_CUDA_TRY(cudaMemsetAsync(arena.get(), 0, bytes, timer.stream()));
  char* base = arena.as<char>();
  void* workspace = base + plan_.arena_per_image * batch;
  const std::string gpu = device_name_ + "|sm" + std::to_string(props_.sm) + "|b" + std::to_string(batch) + "|";
  std::vector<View4> in, out;
  for (size_t i = 0; i < ops_.size(); ++i) {
    CudaOp* op = ops_[i].get();
    if (op == nullptr || op->tactic_count() <= 1) continue;
    const std::string key = gpu + op->signature();
    choices_[i].candidates = op->tactic_count();
    if (tactic_from_cache(i, key, given)) continue;
    views(i, base, batch, &in, &out);
    TRTN_TRY(time_tactics(i, RunArgs{run_batch(i, batch), in, out, timer.stream(), workspace}, timer));
    std::lock_guard<std::mutex> lock(timing_cache().mu);
    timing_cache().entries[key] = choices_[i].name;
  }
  TRTN_CUDA_TRY(cudaStreamSynchronize(timer.stream()));
  tune_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::ok();
}

}  // namespace trtn::cuda
