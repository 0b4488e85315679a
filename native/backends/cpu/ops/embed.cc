// Embed (Caffe's EmbedLayer): every input value is an index into a table of inputDim rows of
// numOutput values (`<node>/0`); the output holds that row, plus the bias `<node>/1` when
// biasTerm. Indices come from data at run time, so one that is not an integer in [0, inputDim)
// is a run-time error naming the value (Caffe only checks it in debug builds), never a read
// outside the table.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "backends/cpu/ops/op.h"
#include "core/embed_params.h"

namespace trtn::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

class EmbedOp final : public CpuOp {
 public:
  /// `table` and `bias` (or nullptr) point into the engine's WeightStore, which outlives its ops.
  Status init(const OpInit& init) {
    EmbedParams p;
    TRTN_TRY(read_embed_params(init, &p));
    table_ = p.table->f32.data();
    bias_ = p.bias == nullptr ? nullptr : p.bias->f32.data();
    input_dim_ = p.input_dim;
    num_output_ = p.num_output;
    indices_per_image_ = p.indices_per_image;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    const float* x = static_cast<const float*>(args.in[0]);
    float* y = static_cast<float*>(args.out[0]);
    const int64_t n = args.batch * indices_per_image_;
    // The lowest position of a bad index, so the error names the same value for any thread count.
    std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
    try {
      args.pool.parallel_for(n, std::max<int64_t>(1, kGrain / num_output_), [&](int64_t begin, int64_t end) {
        for (int64_t m = begin; m < end; ++m) {
          const float v = x[m];
          float* row = y + m * num_output_;
          // Also false for NaN.
          if (!(v >= 0.0f && v < static_cast<float>(input_dim_) && v == std::floor(v))) {
            int64_t seen = first_bad.load();
            while (m < seen && !first_bad.compare_exchange_weak(seen, m)) {
            }
            return;
          }
          const float* w = table_ + static_cast<int64_t>(v) * num_output_;
          if (bias_ == nullptr) {
            std::memcpy(row, w, static_cast<size_t>(num_output_) * sizeof(float));
          } else {
            for (int64_t j = 0; j < num_output_; ++j) row[j] = w[j] + bias_[j];
          }
        }
      });
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend: out of memory running Embed");
    }
    const int64_t bad = first_bad.load();
    if (bad != std::numeric_limits<int64_t>::max()) {
      char value[32];
      std::snprintf(value, sizeof value, "%.9g", static_cast<double>(x[bad]));
      return Status(Code::kInvalidArgument, std::string("Embed index ") + value + " (image " +
                                                std::to_string(bad / indices_per_image_) + ", element " +
                                                std::to_string(bad % indices_per_image_) +
                                                ") is not an integer in [0, " + std::to_string(input_dim_) + ")");
    }
    return Status::ok();
  }

 private:
  const float* table_ = nullptr;
  const float* bias_ = nullptr;
  int64_t input_dim_ = 0;
  int64_t num_output_ = 0;
  int64_t indices_per_image_ = 0;
};

}  // namespace

Status make_embed(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<EmbedOp>(init, out); }

}  // namespace trtn::cpu
