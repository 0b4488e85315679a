// Normalize on the GPU (core/normalize_params.h) over whole kLinear tensors. Per position (not
// across_spatial): one thread per (image, position) sums its channels' squares, then writes them
// scaled (neighbouring threads read neighbouring positions). Across spatial: one block per image
// sums every value (in double, block_sum), then scales them.
#include <memory>
#include <string>

#include "backends/cuda/kernels/block_reduce.cuh"
#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/normalize_params.h"

namespace trtn::cuda {
namespace {

constexpr int kImageThreads = 512;

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads)
    normalize_positions_kernel(const Tin* x, Tout* y, const float* scale, uint32_t channels, uint32_t plane,
                               uint32_t total, float eps) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
    const uint32_t n = t / plane, q = t - n * plane;
    const int64_t base = static_cast<int64_t>(n) * channels * plane + q;
    float sum = 0;
    for (uint32_t c = 0; c < channels; ++c) {
      const float v = to_float(x[base + static_cast<int64_t>(c) * plane]);
      sum = fmaf(v, v, sum);
    }
    const float inv = 1.0f / sqrtf(sum + eps);
    for (uint32_t c = 0; c < channels; ++c) {
      const int64_t i = base + static_cast<int64_t>(c) * plane;
      y[i] = from_float<Tout>(to_float(x[i]) * inv * scale[c]);
    }
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kImageThreads)
    normalize_images_kernel(const Tin* x, Tout* y, const float* scale, uint32_t plane, int64_t image, float eps) {
  __shared__ double scratch[32];
  const Tin* xn = x + blockIdx.x * image;
  Tout* yn = y + blockIdx.x * image;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < image; i += blockDim.x) {
    const double v = to_float(xn[i]);
    sum += v * v;
  }
  const float inv = 1.0f / sqrtf(static_cast<float>(block_sum(sum, scratch)) + eps);
  for (int64_t i = threadIdx.x; i < image; i += blockDim.x) {
    yn[i] = from_float<Tout>(to_float(xn[i]) * inv * scale[i / plane]);
  }
}

class NormalizeOp final : public CudaOp {
 public:
  NormalizeOp() = default;
  /// Reads and checks the node, uploads the scales (make<NormalizeOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      const Tin* x = static_cast<const Tin*>(args.in[0].data);
      Tout* y = static_cast<Tout*>(args.out[0].data);
      const float* scale = scale_.as<float>();
      const uint32_t plane = static_cast<uint32_t>(plane_);
      if (across_) {
        normalize_images_kernel<Tin, Tout>
            <<<args.batch, kImageThreads, 0, args.stream>>>(x, y, scale, plane, channels_ * plane_, eps_);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      }
      return for_batch_chunks(args.batch, channels_ * plane_, [&](int n0, int nb) -> Status {
        const int64_t off = static_cast<int64_t>(n0) * channels_ * plane_;
        const uint32_t total = static_cast<uint32_t>(nb) * plane;
        normalize_positions_kernel<Tin, Tout><<<grid_for(total, kMapThreads), kMapThreads, 0, args.stream>>>(
            x + off, y + off, scale, static_cast<uint32_t>(channels_), plane, total, eps_);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  bool across_ = true;
  float eps_ = 0;
  int64_t channels_ = 1, plane_ = 1;
  DeviceBuffer scale_;
};

Status NormalizeOp::init(const CudaOpInit& init) {
  NormalizeParams p;
  Status st = read_normalize_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  if (!(st = scale_.upload(p.scale, "the scales of Normalize '" + init.node.node.name + "'")).is_ok()) return st;
  name_ = init.node.node.name;
  across_ = p.across_spatial;
  eps_ = p.eps;
  channels_ = p.channels;
  plane_ = p.plane;
  return Status::ok();
}

}  // namespace

Status make_normalize(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<NormalizeOp>(init, out); }

}  // namespace trtn::cuda
