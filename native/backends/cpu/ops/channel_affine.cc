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
#include "core/channel_affine_params.h"

namespace trtn::cpu {
namespace {

Status out_of_memory(const std::string& node, const std::string& op) {
  return Status(Code::kOutOfMemory, "cpu backend, node '" + node + "' (" + op + "): out of host memory");
}

constexpr int64_t kGrain = int64_t{1} << 14;

class Affine final : public CpuOp {
 public:
  Affine(std::string name, std::string op, AffineLayout l, AffineOperand scale, AffineOperand bias)
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
                                 if (scale_.source == AffineOperand::Source::kNone) {
                                   const float b = value(bias_, args, n, d);
                                   for (int64_t i = 0; i < l_.inner; ++i) yr[i] = xr[i] + b;
                                 } else if (bias_.source == AffineOperand::Source::kNone) {
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
  float value(const AffineOperand& o, const OpArgs& args, int64_t n, int64_t d) const {
    if (o.source == AffineOperand::Source::kBlob) return o.blob[d];
    return static_cast<const float*>(args.in[1])[n * l_.dim + d];
  }

  std::string name_, op_;
  AffineLayout l_;
  AffineOperand scale_, bias_;
};

/// BatchNorm with global statistics: y = (x - mean[c]) * inv_std[c], both prepared in double.
class GlobalBatchNorm final : public CpuOp {
 public:
  GlobalBatchNorm(std::string name, AffineLayout l, std::vector<float> mean, std::vector<float> inv_std)
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
  AffineLayout l_;
  std::vector<float> mean_, inv_std_;
};

/// BatchNorm with use_global_stats false: Caffe normalises each channel with the mean and the
/// (biased) variance over the batch and the spatial dims of the current forward pass.
class BatchStatsBatchNorm final : public CpuOp {
 public:
  BatchStatsBatchNorm(std::string name, AffineLayout l, double eps) : name_(std::move(name)), l_(l), eps_(eps) {}

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
  AffineLayout l_;
  double eps_;
};

Status create(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  ChannelAffineParams p;
  TRTN_TRY(read_channel_affine_params(init, &p));
  switch (p.kind) {
    case ChannelAffineParams::Kind::kGlobalBatchNorm:
      *out = std::make_unique<GlobalBatchNorm>(init.node.name, p.layout, std::move(p.mean), std::move(p.inv_std));
      break;
    case ChannelAffineParams::Kind::kBatchStatsBatchNorm:
      *out = std::make_unique<BatchStatsBatchNorm>(init.node.name, p.layout, p.eps);
      break;
    case ChannelAffineParams::Kind::kAffine:
      *out = std::make_unique<Affine>(init.node.name, init.node.op, p.layout, std::move(p.scale), std::move(p.bias));
      break;
  }
  return Status::ok();
}

}  // namespace

Status make_channel_affine(const OpInit& init, std::unique_ptr<CpuOp>* out) {
  return guard_host_memory(init, [&] { return create(init, out); });
}

}  // namespace trtn::cpu
