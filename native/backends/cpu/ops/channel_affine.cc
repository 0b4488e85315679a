// BatchNorm, Scale and Bias when they did not fold into a GEMM (Caffe's layers; float32 only, no
// INT8 form). All three are y = x * a[d] + b[d] with d indexing a block of dimensions of the input:
//   BatchNorm: d = channel (dim 1); with global statistics (blobs mean [C], variance [C], factor [1],
//              sf = factor == 0 ? 0 : 1 / factor) y = (x - mean * sf) / sqrt(var * sf + eps);
//              without them, Caffe normalises with the statistics of the batch itself.
//   Scale:     d over dims [axis, axis + numAxes): a = blob 0 (or input 1), b = blob 1 (none with
//              input 1).
//   Bias:      a = 1, b = blob 0 (or input 1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/ops/op.h"

namespace trtn::cpu {
namespace {

Status out_of_memory(const std::string& node, const std::string& op) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (" + op + "): out of host memory");
}

/// The broadcast of an operand over one image: outer x dim x inner elements, the operand indexed
/// by the middle one.
struct Layout {
  int64_t outer = 1, dim = 1, inner = 1;
};

constexpr int64_t kGrain = int64_t{1} << 14;

/// Where one operand of y = x * a + b comes from: absent, a learned blob (one value per d), or
/// the node's second input (one operand per image, so it moves with the batch).
struct Operand {
  enum class Source { kNone, kBlob, kInput } source = Source::kNone;
  std::vector<float> blob;
};

class Affine final : public CpuOp {
 public:
  Affine(std::string name, std::string op, Layout l, Operand scale, Operand bias)
      : name_(std::move(name)), op_(std::move(op)), l_(l), scale_(std::move(scale)), bias_(std::move(bias)) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t per_image = l_.outer * l_.dim;
      // Each row of `inner` elements shares one operand element.
      args.pool.parallel_for(args.batch * per_image, std::max<int64_t>(1, kGrain / l_.inner),
                             [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t n = r / per_image, d = r % l_.dim;
          const float* xr = x + r * l_.inner;
          float* yr = y + r * l_.inner;
          if (scale_.source == Operand::Source::kNone) {
            const float b = value(bias_, args, n, d);
            for (int64_t i = 0; i < l_.inner; ++i) yr[i] = xr[i] + b;
          } else if (bias_.source == Operand::Source::kNone) {
            const float a = value(scale_, args, n, d);
            for (int64_t i = 0; i < l_.inner; ++i) yr[i] = xr[i] * a;
          } else {
            // Caffe scales, then adds the bias: two roundings.
            const float a = value(scale_, args, n, d), b = value(bias_, args, n, d);
            for (int64_t i = 0; i < l_.inner; ++i) {
              const float v = xr[i] * a;
              yr[i] = v + b;
            }
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_, op_);
    }
  }

 private:
  float value(const Operand& o, const OpArgs& args, int64_t n, int64_t d) const {
    if (o.source == Operand::Source::kBlob) return o.blob[d];
    return static_cast<const float*>(args.in[1])[n * l_.dim + d];
  }

  std::string name_, op_;
  Layout l_;
  Operand scale_, bias_;
};

/// BatchNorm with global statistics: y = (x - mean[c]) * inv_std[c], both prepared in double.
class GlobalBatchNorm final : public CpuOp {
 public:
  GlobalBatchNorm(std::string name, Layout l, std::vector<float> mean, std::vector<float> inv_std)
      : name_(std::move(name)), l_(l), mean_(std::move(mean)), inv_std_(std::move(inv_std)) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t grain = std::max<int64_t>(1, kGrain / l_.inner);
      args.pool.parallel_for(args.batch * l_.dim, grain, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t c = r % l_.dim;
          const float m = mean_[c], s = inv_std_[c];
          for (int64_t i = 0; i < l_.inner; ++i) y[r * l_.inner + i] = (x[r * l_.inner + i] - m) * s;
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_, "BatchNorm");
    }
  }

 private:
  std::string name_;
  Layout l_;
  std::vector<float> mean_, inv_std_;
};

/// BatchNorm with use_global_stats false: Caffe normalises each channel with the mean and the
/// (biased) variance over the batch and the spatial dims of the current forward pass.
class BatchStatsBatchNorm final : public CpuOp {
 public:
  BatchStatsBatchNorm(std::string name, Layout l, double eps) : name_(std::move(name)), l_(l), eps_(eps) {}

  Status run(const OpArgs& args) const override {
    try {
      const float* x = static_cast<const float*>(args.in[0]);
      float* y = static_cast<float*>(args.out[0]);
      const int64_t count = args.batch * l_.inner;
      const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, count));
      args.pool.parallel_for(l_.dim, grain, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
          double sum = 0;
          for (int64_t n = 0; n < args.batch; ++n) {
            const float* p = x + (n * l_.dim + c) * l_.inner;
            for (int64_t i = 0; i < l_.inner; ++i) sum += p[i];
          }
          const double mean = sum / static_cast<double>(count);
          double sq = 0;
          for (int64_t n = 0; n < args.batch; ++n) {
            const float* p = x + (n * l_.dim + c) * l_.inner;
            for (int64_t i = 0; i < l_.inner; ++i) sq += (p[i] - mean) * (p[i] - mean);
          }
          const float m = static_cast<float>(mean);
          const float s = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(count) + eps_));
          for (int64_t n = 0; n < args.batch; ++n) {
            const int64_t at = (n * l_.dim + c) * l_.inner;
            for (int64_t i = 0; i < l_.inner; ++i) y[at + i] = (x[at + i] - m) * s;
          }
        }
      });
      return Status::ok();
    } catch (const std::bad_alloc&) {
      return out_of_memory(name_, "BatchNorm");
    }
  }

 private:
  std::string name_;
  Layout l_;
  double eps_;
};

/// Channel layout of BatchNorm: Caffe's channels are dim 1 (1 for a 1-D input).
Layout channel_layout(const TensorDesc& in) {
  Layout l;
  if (!in.dims.empty()) {
    l.dim = in.dims[0];
    for (size_t d = 1; d < in.dims.size(); ++d) l.inner *= in.dims[d];
  }
  return l;
}

Status create_batch_norm(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  Status st = init.expect_io(1, 1);
  if (!st.is_ok()) return st;
  double eps = 0;
  bool global = true;
  if (!(st = init.attr_double("eps", &eps)).is_ok()) return st;
  if (init.node.attrs.has("useGlobalStats") && !(st = init.attr_bool("useGlobalStats", &global)).is_ok()) return st;
  const TensorDesc& in = init.input(0);
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  const Layout l = channel_layout(in);
  if (!global) {
    *out = std::make_unique<BatchStatsBatchNorm>(init.node.name, l, eps);
    return Status::ok();
  }
  const Blob* mean = init.blob("0");
  const Blob* var = init.blob("1");
  const Blob* factor = init.blob("2");
  if (mean == nullptr || var == nullptr || factor == nullptr) {
    return init.error("needs blobs mean [C], variance [C] and the moving-average factor [1]");
  }
  if (mean->volume() != l.dim || var->volume() != l.dim || factor->volume() != 1) {
    return init.error("blobs must be mean [" + std::to_string(l.dim) + "], variance [" + std::to_string(l.dim) +
                      "] and factor [1]");
  }
  // Caffe's moving-average normalisation; a zero factor means statistics never accumulated.
  const double f = factor->f32[0];
  const double sf = f == 0 ? 0 : 1 / f;
  std::vector<float> m(l.dim), inv(l.dim);
  for (int64_t c = 0; c < l.dim; ++c) {
    m[c] = static_cast<float>(mean->f32[c] * sf);
    inv[c] = static_cast<float>(1 / std::sqrt(var->f32[c] * sf + eps));
  }
  *out = std::make_unique<GlobalBatchNorm>(init.node.name, l, std::move(m), std::move(inv));
  return Status::ok();
}

std::string blob_error(const std::string& what, int64_t want, const Blob* got) {
  return "needs a " + what + " blob of " + std::to_string(want) + " values, " +
         (got == nullptr ? std::string("got none") : "got " + std::to_string(got->volume()));
}

/// Scale (is_scale) and Bias.
Status create_scale_or_bias(const OpInit& init, bool is_scale, std::unique_ptr<CpuOp>* out) {
  const size_t inputs = init.node.inputs.size();
  if (inputs < 1 || inputs > 2 || init.node.outputs.size() != 1) {
    return init.error("expects 1 or 2 inputs and 1 output");
  }
  int64_t axis = 0, num_axes = 0;
  bool bias_term = !is_scale;
  Status st;
  if (!(st = init.attr_int("axis", &axis)).is_ok()) return st;
  if (!(st = init.attr_int("numAxes", &num_axes)).is_ok()) return st;
  if (is_scale && !(st = init.attr_bool("biasTerm", &bias_term)).is_ok()) return st;
  const TensorDesc& in = init.input(0);
  const int64_t rank = static_cast<int64_t>(in.dims.size()) + 1;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return init.error("axis is out of range for a " + std::to_string(rank) + "-D input");

  Layout l;
  const bool from_input = inputs == 2;
  int64_t first = 0, last = 0;  // the operand's dims among the per-image dims: [first, last)
  if (from_input) {
    // Every tensor leads with the batch, so an operand input lines up with the input only from
    // axis 0: one operand of dims [0, k) per image.
    const TensorDesc& operand = init.input(1);
    if (axis != 0) {
      return init.error("an operand given as the second input must start at axis 0 (both lead with the batch)");
    }
    if (operand.dims.size() > in.dims.size() ||
        !std::equal(operand.dims.begin(), operand.dims.end(), in.dims.begin())) {
      return init.error("the second input's shape must match the first input's leading dimensions");
    }
    if (operand.dtype != DType::kFloat32) return init.error("needs float32 tensors");
    first = 0;
    last = static_cast<int64_t>(operand.dims.size());
  } else {
    const int64_t end = num_axes == -1 ? rank : axis + num_axes;
    if (num_axes < -1 || end > rank) return init.error("axis and numAxes run past the input");
    if (axis == 0 && end > 0) {
      return init.error("a learned operand cannot span the batch dimension (axis 0); the batch is chosen at run time");
    }
    first = std::max<int64_t>(axis - 1, 0);
    last = std::max<int64_t>(end - 1, 0);
  }
  for (int64_t d = 0; d < first; ++d) l.outer *= in.dims[d];
  for (int64_t d = first; d < last; ++d) l.dim *= in.dims[d];
  for (int64_t d = last; d < rank - 1; ++d) l.inner *= in.dims[d];

  // Blob order: Scale [scale, bias] with a learned scale; Bias [bias], or none when the bias is
  // input 1.
  Operand scale, bias;
  if (is_scale) {
    if (from_input) {
      scale.source = Operand::Source::kInput;
    } else {
      const Blob* b = init.blob("0");
      if (b == nullptr || b->volume() != l.dim) return init.error(blob_error("scale", l.dim, b));
      scale.source = Operand::Source::kBlob;
      scale.blob = b->f32;
    }
  }
  if (!is_scale && from_input) {
    bias.source = Operand::Source::kInput;
  } else if (bias_term) {
    // With the scale as input 1, Caffe shapes the bias blob like that operand, batch included: a
    // learned value per image of a fixed batch, which an engine whose batch is chosen per call
    // cannot hold.
    if (from_input) return init.error("a learned bias shaped like a second-input scale spans the batch dimension");
    const Blob* b = init.blob(is_scale ? "1" : "0");
    if (b == nullptr || b->volume() != l.dim) return init.error(blob_error("bias", l.dim, b));
    bias.source = Operand::Source::kBlob;
    bias.blob = b->f32;
  }
  if (in.dtype != DType::kFloat32 || init.output(0).dtype != DType::kFloat32) {
    return init.error("needs float32 tensors");
  }
  if (init.output(0).dims != in.dims) return init.error("output shape must equal the input shape");
  *out = std::make_unique<Affine>(init.node.name, init.node.op, l, std::move(scale), std::move(bias));
  return Status::ok();
}

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  if (init.node.activation.relu) return init.error("cannot fuse an activation");
  if (init.node.precision == Precision::kINT8) return init.error("has no INT8 form (docs/int8.md)");
  if (init.node.op == "BatchNorm") return create_batch_norm(init, out);
  if (init.node.op == "Scale") return create_scale_or_bias(init, true, out);
  if (init.node.op == "Bias") return create_scale_or_bias(init, false, out);
  return init.error("is not BatchNorm, Scale or Bias");
}

}  // namespace

Status make_channel_affine(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  try {
    return create(init, out);
  } catch (const std::bad_alloc&) {
    return out_of_memory(init.node.name, init.node.op);
  }
}

}  // namespace trtn::cpu
