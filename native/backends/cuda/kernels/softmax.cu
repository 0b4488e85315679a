// Softmax on the GPU (core/softmax_params.h): y = exp(x - max) / sum(exp(x - max)) along one
// axis, float32 or float16 storage. The tensor is seen as a View4 [N, C, H, W] with the axis as C:
// along channels (axis 1) the engine's views (NCHW or NHWC, padding channels zeroed); any other
// axis is a dense [outer, axis, inner, 1] view of the kLinear tensor (the batch itself for axis 0).
// Each position (n, h, w) reduces over C:
//   - one thread per position when channels are far apart in memory (NCHW planes): consecutive
//     threads read consecutive addresses, and the sums run in the cpu's order;
//   - one warp per position when channels are contiguous (NHWC, or one position per image), or
//     long with few positions: lanes stride over the channels, then a butterfly reduction;
//   - one block per position when there are few positions and kSoftmaxBlock to
//     kSoftmaxBlock * kSoftmaxPer channels (a classifier at a small batch): each thread reads its
//     channels once into registers, block-wide max and sum (a warp per position there left the GPU
//     idle and read the channels three times in a chain of dependent loads). Written but not yet
//     run on a GPU: taken only with TRTN_CUDA_SOFTMAX_BLOCK=1 (the GPU op tests set it).
// The max is taken first (exp never overflows), exp is expf (accurate), the division IEEE.
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/block_reduce.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/softmax_params.h"

namespace trtn::cuda {
namespace {

struct SoftmaxArgs {
  View4 in, out;
  uint32_t positions;
  FastDiv by_w, by_h;
};

__device__ __forceinline__ void position(const SoftmaxArgs& a, uint32_t p, int64_t& xb, int64_t& yb) {
  const uint32_t q = a.by_w.div(p);
  const int w = static_cast<int>(p - q * a.by_w.d);
  const int n = static_cast<int>(a.by_h.div(q));
  const int h = static_cast<int>(q - static_cast<uint32_t>(n) * a.by_h.d);
  xb = n * a.in.sn + h * a.in.sh + w * a.in.sw;
  yb = n * a.out.sn + h * a.out.sh + w * a.out.sw;
}

/// std::max(m, v) as the cpu computes it (keeps m unless m < v).
__device__ __forceinline__ float keep_max(float m, float v) { return m < v ? v : m; }

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) softmax_thread_kernel(const SoftmaxArgs a) {
  const Tin* x = static_cast<const Tin*>(a.in.data);
  Tout* y = static_cast<Tout*>(a.out.data);
  const int channels = a.in.c;
  const int64_t xs = a.in.sc, ys = a.out.sc;
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t p = blockIdx.x * blockDim.x + threadIdx.x; p < a.positions; p += stride) {
    int64_t xb, yb;
    position(a, p, xb, yb);
    float m = to_float(x[xb]);
    for (int c = 1; c < channels; ++c) m = keep_max(m, to_float(x[xb + c * xs]));
    float sum = 0.0f;
    for (int c = 0; c < channels; ++c) sum += expf(to_float(x[xb + c * xs]) - m);
    for (int c = 0; c < channels; ++c) y[yb + c * ys] = from_float<Tout>(expf(to_float(x[xb + c * xs]) - m) / sum);
    for (int c = channels; c < a.out.c_write; ++c) y[yb + c * ys] = from_float<Tout>(0.0f);
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) softmax_warp_kernel(const SoftmaxArgs a) {
  const Tin* x = static_cast<const Tin*>(a.in.data);
  Tout* y = static_cast<Tout*>(a.out.data);
  const int channels = a.in.c;
  const int64_t xs = a.in.sc, ys = a.out.sc;
  const int lane = threadIdx.x % 32;
  const uint32_t warps = gridDim.x * blockDim.x / 32;
  for (uint32_t p = (blockIdx.x * blockDim.x + threadIdx.x) / 32; p < a.positions; p += warps) {
    int64_t xb, yb;
    position(a, p, xb, yb);
    float m = -INFINITY;
    for (int c = lane; c < channels; c += 32) m = keep_max(m, to_float(x[xb + c * xs]));
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) m = keep_max(m, __shfl_xor_sync(0xffffffffu, m, o));
    float sum = 0.0f;
    for (int c = lane; c < channels; c += 32) sum += expf(to_float(x[xb + c * xs]) - m);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    for (int c = lane; c < channels; c += 32) {
      y[yb + c * ys] = from_float<Tout>(expf(to_float(x[xb + c * xs]) - m) / sum);
    }
    for (int c = channels + lane; c < a.out.c_write; c += 32) y[yb + c * ys] = from_float<Tout>(0.0f);
  }
}

constexpr int kSoftmaxBlock = 256;                 // threads of the block kernel
constexpr int kSoftmaxPer = 8;                     // channels a thread of it holds
constexpr uint32_t kSoftmaxBlockPositions = 1024;  // at most this many positions take the block kernel

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kSoftmaxBlock) softmax_block_kernel(const SoftmaxArgs a) {
  __shared__ float scratch[32];
  const Tin* x = static_cast<const Tin*>(a.in.data);
  Tout* y = static_cast<Tout*>(a.out.data);
  const int channels = a.in.c;
  const int64_t xs = a.in.sc, ys = a.out.sc;
  for (uint32_t p = blockIdx.x; p < a.positions; p += gridDim.x) {
    int64_t xb, yb;
    position(a, p, xb, yb);
    float v[kSoftmaxPer];
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < kSoftmaxPer; ++k) {
      const int c = static_cast<int>(threadIdx.x) + k * kSoftmaxBlock;
      v[k] = c < channels ? to_float(x[xb + c * xs]) : -INFINITY;
      m = keep_max(m, v[k]);
    }
    m = block_allreduce(m, scratch, [](float s, float t) { return keep_max(s, t); });
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kSoftmaxPer; ++k) {
      v[k] = static_cast<int>(threadIdx.x) + k * kSoftmaxBlock < channels ? expf(v[k] - m) : 0.0f;
      sum += v[k];
    }
    sum = block_allreduce(sum, scratch, [](float s, float t) { return s + t; });
#pragma unroll
    for (int k = 0; k < kSoftmaxPer; ++k) {
      const int c = static_cast<int>(threadIdx.x) + k * kSoftmaxBlock;
      if (c < channels) y[yb + c * ys] = from_float<Tout>(v[k] / sum);
    }
    for (int c = channels + static_cast<int>(threadIdx.x); c < a.out.c_write; c += kSoftmaxBlock) {
      y[yb + c * ys] = from_float<Tout>(0.0f);
    }
  }
}

class SoftmaxOp final : public CudaOp {
 public:
  SoftmaxOp() = default;
  /// Reads and checks the node (make<SoftmaxOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    View4 x = args.in[0], y = args.out[0];
    if (!views_) {
      x = axis_view(x, args.batch);
      y = axis_view(y, args.batch);
    } else if (x.n != y.n || x.c != y.c || x.h != y.h || x.w != y.w) {
      return run_error(name_, "Softmax", "views do not match");
    }
    if (x.c < 1) return Status::ok();
    const bool contiguous = x.sc == 1;
    const int64_t hw = static_cast<int64_t>(x.h) * x.w;
    const bool warp = contiguous ? x.c >= 32 : x.c >= 128 && static_cast<int64_t>(x.n) * hw <= 32768;
    const bool block = cuda_env().softmax_block && x.c >= kSoftmaxBlock && x.c <= kSoftmaxBlock * kSoftmaxPer &&
                       static_cast<int64_t>(x.n) * hw <= kSoftmaxBlockPositions;
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      return for_batch_chunks(x.n, 32 * hw, [&](int n0, int nb) -> Status {
        SoftmaxArgs a{};
        a.in = images(x, n0, nb);
        a.out = images(y, n0, nb);
        a.positions = static_cast<uint32_t>(nb * hw);
        a.by_w = FastDiv(static_cast<uint32_t>(x.w));
        a.by_h = FastDiv(static_cast<uint32_t>(x.h));
        if (block) {
          softmax_block_kernel<Tin, Tout><<<a.positions, kSoftmaxBlock, 0, args.stream>>>(a);
        } else if (warp) {
          softmax_warp_kernel<Tin, Tout>
              <<<grid_for(static_cast<int64_t>(a.positions) * 32, kMapThreads), kMapThreads, 0, args.stream>>>(a);
        } else {
          softmax_thread_kernel<Tin, Tout><<<grid_for(a.positions, kMapThreads), kMapThreads, 0, args.stream>>>(a);
        }
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  /// The dense kLinear tensor as [outer, axis, inner, 1] (over the batch: [1, batch, volume, 1]).
  View4 axis_view(const View4& v, int batch) const {
    const int64_t outer = p_.over_batch ? 1 : batch * p_.outer;
    const int64_t channels = p_.over_batch ? batch : p_.channels;
    View4 r = v;
    r.layout = Layout::kLinear;
    r.n = static_cast<int32_t>(outer);
    r.c = static_cast<int32_t>(channels);
    r.c_write = r.c;
    r.h = static_cast<int32_t>(p_.inner);
    r.w = 1;
    r.sw = 1;
    r.sh = 1;
    r.sc = p_.inner;
    r.sn = channels * p_.inner;
    return r;
  }

  std::string name_;
  SoftmaxParams p_;
  bool views_ = false;
};

Status SoftmaxOp::init(const CudaOpInit& init) {
  SoftmaxParams p;
  Status st = read_softmax_params(init.node, &p);
  if (!st.is_ok()) return st;
  const bool views = p.axis == 1 && op_takes_views(init.node.graph, init.node.node);
  if (!(st = check_places(init, views)).is_ok()) return st;
  const int64_t max_rows = init.max_run_batch() * (p.over_batch ? 1 : p.outer);
  if (max_rows >= kMaxLaunchItems || p.inner >= kMaxLaunchItems / 32) {
    return init.node.error("is beyond the cuda kernels' 2^31 index range");
  }
  name_ = init.node.node.name;
  p_ = p;
  views_ = views;
  return Status::ok();
}

}  // namespace

Status make_softmax(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<SoftmaxOp>(init, out); }

}  // namespace trtn::cuda
