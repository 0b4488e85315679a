// Softmax along one axis (Caffe's SoftmaxLayer): y = exp(x - max) / sum(exp(x - max)), the max
// taken along the axis first so that exp never overflows. Float32 only (no INT8 form).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

/// Positions along the inner dims handled together, so that every read walks memory contiguously
/// even when the softmax axis has a large stride.
constexpr int64_t kBlock = 256;

class Softmax final : public CpuOp {
 public:
  /// outer_per_image: elements before the axis within one image (the batch multiplies it, unless
  /// the axis is the batch itself).
  Softmax(std::string name, bool over_batch, int64_t outer_per_image, int64_t channels, int64_t inner)
      : name_(std::move(name)), over_batch_(over_batch), outer_(outer_per_image), channels_(channels), inner_(inner) {}

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
  bool over_batch_;
  int64_t outer_, channels_, inner_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_io(1, 1);
  if (!st.is_ok()) return st;
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  if (init.node.precision == Precision::kINT8) return init.error("Softmax has no INT8 form (docs/int8.md)");
  int64_t axis = 0;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  const TensorDesc& in = init.input(0);
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  // Axes count the batch as dimension 0; a negative axis counts from the end, as in Caffe.
  const int64_t rank = static_cast<int64_t>(in.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) {
    return init.error("axis is out of range for a " + std::to_string(rank) + "-D input");
  }
  int64_t outer = 1, inner = 1, channels = 1;
  if (axis > 0) {
    for (int64_t d = 0; d < axis - 1; ++d) outer *= in.dims[d];
    channels = in.dims[axis - 1];
    for (int64_t d = axis; d < rank - 1; ++d) inner *= in.dims[d];
  } else {
    inner = in.volume;
  }
  *out = std::make_unique<Softmax>(init.node.name, axis == 0, outer, channels, inner);
  return Status::ok();
}

}  // namespace

Status make_softmax(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "cpu backend, node '" + init.node.name + "' (Softmax): out of host memory");
  }
}

}  // namespace trtn::cpu
