// Upsample and Interp on the GPU (core/resize_params.h) over whole kLinear tensors: a thread per
// output value for nearest and bilinear resizing; max unpooling zeroes the output and scatters each
// input value to its mask position (overlapping windows can name one position twice, always with
// the same value).
#include <memory>
#include <string>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/resize_params.h"

namespace trtn::cuda {
namespace {

/// Plane sizes of one launch (32-bit: for_batch_chunks keeps every index below 2^31).
struct Planes {
  uint32_t h, w, ho, wo, crop, he, we;
  uint32_t total;  // output values (nearest, bilinear) or input values (unpool)
};

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) nearest_kernel(const Tin* x, Tout* y, const Planes p) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < p.total; t += stride) {
    const uint32_t q = t / (p.ho * p.wo), i = t - q * p.ho * p.wo;
    const uint32_t r = i / p.wo, c = i - r * p.wo;
    const uint64_t sr = static_cast<uint64_t>(r) * p.h / p.ho, sc = static_cast<uint64_t>(c) * p.w / p.wo;
    y[t] = from_float<Tout>(to_float(x[static_cast<int64_t>(q) * p.h * p.w + sr * p.w + sc]));
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads)
    unpool_kernel(const Tin* x, const void* mask, Elem mask_elem, Tout* y, const Planes p) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const float plane = static_cast<float>(p.ho) * p.wo;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < p.total; t += stride) {
    const uint32_t q = t / (p.h * p.w);
    const float at = load_any(mask, mask_elem, t);
    if (at >= 0.0f && at < plane)
      y[static_cast<int64_t>(q) * p.ho * p.wo + static_cast<int64_t>(at)] = from_float<Tout>(to_float(x[t]));
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) bilinear_kernel(const Tin* x, Tout* y, const Planes p) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < p.total; t += stride) {
    const uint32_t q = t / (p.ho * p.wo), i = t - q * p.ho * p.wo;
    const uint32_t r = i / p.wo, c = i - r * p.wo;
    const InterpTap ty = interp_tap(r, p.ho, p.he), tx = interp_tap(c, p.wo, p.we);
    const Tin* xq = x + static_cast<int64_t>(q) * p.h * p.w + static_cast<int64_t>(p.crop) * p.w + p.crop;
    const Tin* r0 = xq + static_cast<int64_t>(ty.i0) * p.w;
    const Tin* r1 = xq + static_cast<int64_t>(ty.i1) * p.w;
    const float top = (1 - tx.lambda) * to_float(r0[tx.i0]) + tx.lambda * to_float(r0[tx.i1]);
    const float bottom = (1 - tx.lambda) * to_float(r1[tx.i0]) + tx.lambda * to_float(r1[tx.i1]);
    y[t] = from_float<Tout>((1 - ty.lambda) * top + ty.lambda * bottom);
  }
}

/// Upsample (nearest or unpool) or Interp, per the node's kind.
class ResizeOp final : public CudaOp {
 public:
  ResizeOp() = default;
  /// Reads and checks the node (make<ResizeOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const View4& in = args.in[0];
    const View4& out = args.out[0];
    return dispatch_float2(name_, in.elem, out.elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      const int64_t in_image = p_.channels * p_.h * p_.w, out_image = p_.channels * p_.ho * p_.wo;
      const int64_t per_image = in_image > out_image ? in_image : out_image;
      return for_batch_chunks(args.batch, per_image, [&](int n0, int nb) -> Status {
        const Tin* x = static_cast<const Tin*>(in.data) + n0 * in_image;
        Tout* y = static_cast<Tout*>(out.data) + n0 * out_image;
        Planes p{static_cast<uint32_t>(p_.h),    static_cast<uint32_t>(p_.w),
                 static_cast<uint32_t>(p_.ho),   static_cast<uint32_t>(p_.wo),
                 static_cast<uint32_t>(p_.crop), static_cast<uint32_t>(p_.he),
                 static_cast<uint32_t>(p_.we),   0};
        if (interp_) {
          p.total = static_cast<uint32_t>(nb * out_image);
          bilinear_kernel<Tin, Tout><<<grid_for(p.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, y, p);
        } else if (p_.unpool) {
          TRTN_TRY(
              TRTN_CUDA_STATUS(cudaMemsetAsync(y, 0, static_cast<size_t>(nb * out_image) * sizeof(Tout), args.stream)));
          p.total = static_cast<uint32_t>(nb * in_image);
          const View4& mask = args.in[1];
          const void* m = static_cast<const char*>(mask.data) + n0 * in_image * elem_bytes(mask.elem);
          unpool_kernel<Tin, Tout>
              <<<grid_for(p.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, m, mask.elem, y, p);
        } else {
          p.total = static_cast<uint32_t>(nb * out_image);
          nearest_kernel<Tin, Tout><<<grid_for(p.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, y, p);
        }
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  bool interp_ = false;
  ResizeParams p_;
};

Status ResizeOp::init(const CudaOpInit& init) {
  interp_ = init.node.node.kind == OpKind::kInterp;
  ResizeParams p;
  Status st = interp_ ? read_interp_params(init.node, &p) : read_upsample_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_resize(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ResizeOp>(init, out); }

}  // namespace trtn::cuda
