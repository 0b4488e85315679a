// BatchNorm, Scale and Bias on the GPU when they did not fold into a GEMM
// (core/channel_affine_params.h; float only):
//   - BatchNorm with global statistics: y = (x - mean[c]) * inv_std[c], a map over View4s;
//   - BatchNorm with the batch's own statistics: one block per channel sums the batch and the
//     spatial dims in double (mean, then the biased variance), as the cpu does, then normalises;
//   - Scale / Bias: y = x * a[d] + b[d] (a multiply, then an add: two roundings, as Caffe and the
//     cpu), d the channel when the engine gives views (axis 1, one axis), else d indexes the middle
//     block of the dense [outer, dim, inner] image; a and b from blobs or from input 1.
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/kernels/block_reduce.cuh"
#include "backends/cuda/kernels/map.cuh"
#include "core/channel_affine_params.h"

namespace trtn::cuda {
namespace {

struct BatchNormFn : MapFn {
  const float* mean;
  const float* inv_std;
  __device__ __forceinline__ float start(float x, int, int c) const {
    return __fmul_rn(__fsub_rn(x, __ldg(mean + c)), __ldg(inv_std + c));
  }
};

/// y = x * a + b; a and b each absent, from a blob (per d) or from input 1 (per image and d).
struct AffineFn : MapFn {
  enum Source : int { kNone = 0, kBlob = 1, kInput = 2 };
  int scale_source, bias_source;
  const float* scale_blob;
  const float* bias_blob;
  const void* operand;  // input 1
  Elem operand_elem;
  uint32_t dim;
  bool wrap;  // the view's channels are outer * dim: d = c % dim
  FastDiv by_dim;

  __device__ __forceinline__ float value(int source, const float* blob, int n, uint32_t d) const {
    if (source == kBlob) return __ldg(blob + d);
    return load_any(operand, operand_elem, static_cast<int64_t>(n) * dim + d);
  }

  __device__ __forceinline__ float start(float x, int n, int c) const {
    const uint32_t cu = static_cast<uint32_t>(c);
    const uint32_t d = wrap ? cu - by_dim.div(cu) * dim : cu;
    if (scale_source == kNone) return __fadd_rn(x, value(bias_source, bias_blob, n, d));
    const float a = value(scale_source, scale_blob, n, d);
    if (bias_source == kNone) return __fmul_rn(x, a);
    return __fadd_rn(__fmul_rn(x, a), value(bias_source, bias_blob, n, d));
  }
};

constexpr int kStatsThreads = 256;

/// BatchNorm with the batch's statistics: block c normalises channel c of every image
/// ([batch, dim, inner] dense).
template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kStatsThreads)
    batch_stats_kernel(const Tin* x, Tout* y, int batch, int64_t dim, int64_t inner, double eps) {
  __shared__ double scratch[32];
  const int64_t c = blockIdx.x;
  double sum = 0;
  for (int n = 0; n < batch; ++n) {
    const Tin* p = x + (n * dim + c) * inner;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += to_float(p[i]);
  }
  const double count = static_cast<double>(batch) * static_cast<double>(inner);
  const double mean = block_sum(sum, scratch) / count;
  double sq = 0;
  for (int n = 0; n < batch; ++n) {
    const Tin* p = x + (n * dim + c) * inner;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
      const double d = static_cast<double>(to_float(p[i])) - mean;
      sq = __dadd_rn(sq, __dmul_rn(d, d));
    }
  }
  const double var = block_sum(sq, scratch) / count;
  const float m = static_cast<float>(mean);
  const float s = static_cast<float>(1.0 / sqrt(var + eps));
  for (int n = 0; n < batch; ++n) {
    const int64_t at = (n * dim + c) * inner;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
      y[at + i] = from_float<Tout>(__fmul_rn(__fsub_rn(to_float(x[at + i]), m), s));
    }
  }
}

class ChannelAffineOp final : public CudaOp {
 public:
  ChannelAffineOp() = default;
  /// Reads and checks the node (make<ChannelAffineOp>, op.h).
  Status init(const CudaOpInit& init);

 private:
  /// The operands to the device.
  Status upload() {
    const std::string what = "the operands of '" + name_ + "'";
    Status st;
    if (p_.kind == ChannelAffineParams::Kind::kGlobalBatchNorm) {
      if (!(st = a_.upload(p_.mean, what)).is_ok()) return st;
      return b_.upload(p_.inv_std, what);
    }
    if (p_.scale.source == AffineOperand::Source::kBlob && !(st = a_.upload(p_.scale.blob, what)).is_ok()) return st;
    if (p_.bias.source == AffineOperand::Source::kBlob && !(st = b_.upload(p_.bias.blob, what)).is_ok()) return st;
    return Status::ok();
  }

 public:
  Status run(const RunArgs& args) const override {
    const AffineLayout& l = p_.layout;
    const int batch = args.batch;
    if (p_.kind == ChannelAffineParams::Kind::kBatchStatsBatchNorm) {
      const void* x = args.in[0].data;
      void* y = args.out[0].data;
      if (l.dim == 0 || l.inner == 0) return Status::ok();
      return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
        using Tin = decltype(tin);
        using Tout = decltype(tout);
        batch_stats_kernel<Tin, Tout><<<static_cast<unsigned>(l.dim), kStatsThreads, 0, args.stream>>>(
            static_cast<const Tin*>(x), static_cast<Tout*>(y), batch, l.dim, l.inner, p_.eps);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    }
    View4 x = args.in[0], y = args.out[0];
    if (!views_) {
      // Dense images as [outer * dim, inner]: the view's channel c holds operand index c % dim.
      TensorDesc d;
      d.dims = {l.outer * l.dim, l.inner};
      x = dense_like(x, d);
      y = dense_like(y, d);
    }
    if (p_.kind == ChannelAffineParams::Kind::kGlobalBatchNorm) {
      const BatchNormFn f{{}, a_.as<float>(), b_.as<float>()};
      return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
        return launch_map1<decltype(tin), decltype(tout)>(x, y, f, args.stream);
      });
    }
    AffineFn f{};
    f.scale_source = source(p_.scale);
    f.bias_source = source(p_.bias);
    f.scale_blob = a_.as<float>();
    f.bias_blob = b_.as<float>();
    f.operand = args.in.size() > 1 ? args.in[1].data : nullptr;
    f.operand_elem = args.in.size() > 1 ? args.in[1].elem : Elem::kF32;
    f.dim = static_cast<uint32_t>(l.dim);
    f.wrap = !views_ && l.outer > 1;
    f.by_dim = FastDiv(static_cast<uint32_t>(l.dim));
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      return launch_map1<decltype(tin), decltype(tout)>(x, y, f, args.stream);
    });
  }

 private:
  static int source(const AffineOperand& o) {
    switch (o.source) {
      case AffineOperand::Source::kNone: return AffineFn::kNone;
      case AffineOperand::Source::kBlob: return AffineFn::kBlob;
      case AffineOperand::Source::kInput: return AffineFn::kInput;
    }
    return AffineFn::kNone;
  }

  std::string name_;
  ChannelAffineParams p_;
  bool views_ = false;
  std::vector<int64_t> dims_;
  DeviceBuffer a_, b_;  // mean and inv_std, or the scale and bias blobs
};

Status ChannelAffineOp::init(const CudaOpInit& init) {
  ChannelAffineParams p;
  Status st = read_channel_affine_params(init.node, &p);
  if (!st.is_ok()) return st;
  const bool views =
      op_takes_views(init.node.graph, init.node.node) && p.kind != ChannelAffineParams::Kind::kBatchStatsBatchNorm;
  if (!(st = check_places(init, views)).is_ok()) return st;
  if (p.layout.dim >= kMaxLaunchItems) return init.node.error("has more than 2^31 operand values");
  name_ = init.node.node.name;
  p_ = std::move(p);
  views_ = views;
  dims_ = init.node.input(0).dims;
  return upload();
}

}  // namespace

Status make_channel_affine(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make<ChannelAffineOp>(init, out);
}

}  // namespace trtn::cuda
