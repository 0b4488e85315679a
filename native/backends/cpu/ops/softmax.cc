// Softmax along one axis (Caffe's SoftmaxLayer): y = exp(x - max) / sum(exp(x - max)), the max
// taken along the axis first so that exp never overflows. Float32 only (no INT8 form).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"
#include "core/softmax_params.h"

namespace trtn::cpu {
namespace {

/// Positions along the inner dims handled together, so that every read walks memory contiguously
/// even when the softmax axis has a large stride.
constexpr int64_t kBlock = 256;

class Softmax final : public CpuOp {
 public:
  /// outer_: elements before the axis within one image (the batch multiplies it, unless
  /// the axis is the batch itself).
  Status init(const OpInit& init) {
    SoftmaxParams p;
    TRTN_TRY(read_softmax_params(init, &p));
    name_ = init.node.name;
    over_batch_ = p.over_batch;
    outer_ = p.outer;
    channels_ = p.channels;
    inner_ = p.inner;
    return Status::ok();
  }

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t outer = over_batch_ ? 1 : args.batch * outer_;
      const int64_t channels = over_batch_ ? args.batch : channels_;
      const int64_t blocks = (inner_ + kBlock - 1) / kBlock;
      const int64_t work = channels * std::min(inner_, kBlock);
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, work));
      args.pool.parallel_for(outer * blocks, grain, [&](int64_t begin, int64_t end) {
        float max[kBlock], sum[kBlock];
        for (int64_t t = begin; t < end; ++t) {
          const int64_t o = t / blocks, i0 = (t % blocks) * kBlock, len = std::min(kBlock, inner_ - i0);
          const float* xo = x + o * channels * inner_ + i0;
          float* yo = y + o * channels * inner_ + i0;
          std::copy(xo, xo + len, max);
          for (int64_t c = 1; c < channels; ++c) {
            for (int64_t i = 0; i < len; ++i) max[i] = std::max(max[i], xo[c * inner_ + i]);
          }
          std::fill(sum, sum + len, 0.0f);
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t i = 0; i < len; ++i) {
              const float e = std::exp(xo[c * inner_ + i] - max[i]);
              yo[c * inner_ + i] = e;
              sum[i] += e;
            }
          }
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t i = 0; i < len; ++i) yo[c * inner_ + i] /= sum[i];
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return Status(Code::kOutOfMemory, "cpu backend, node '" + name_ + "' (Softmax): out of host memory");
    }
  }

 private:
  std::string name_;
  bool over_batch_ = false;
  int64_t outer_ = 0, channels_ = 0, inner_ = 0;
};

}  // namespace

Status make_softmax(const OpInit& init, std::unique_ptr<CpuOp>* out) { return make<Softmax>(init, out); }

}  // namespace trtn::cpu
