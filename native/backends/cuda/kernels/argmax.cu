// ArgMax on the GPU (core/argmax_params.h) over whole kLinear tensors: the top_k values of each row
// in Caffe's order (larger values first, equal values by larger index, NaN above every number:
// argmax_before, a strict total order), written as indices or values (as floats).
// The k-th result is the largest element ranked below the (k-1)-th, so no sort buffer is needed;
// since the order is total, any reduction order finds the same element: long rows use a warp per
// row (lanes stride over the row, then a butterfly), short rows a thread per row.
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/argmax_params.h"

namespace trtn::cuda {
namespace {

struct ArgMaxArgs {
  const void* x;
  void* y;
  int64_t dim, stride, top_k;
  bool has_axis, out_max_val;
  uint32_t rows;
  FastDiv by_stride;
};

/// argmax_before on the device.
__device__ __forceinline__ bool before(float a, int64_t ia, float b, int64_t ib) {
  const bool na = isnan(a), nb = isnan(b);
  if (na || nb) return na && (!nb || ia > ib);
  if (a != b) return a > b;
  return ia > ib;
}

template <typename Tin, typename Tout>
__device__ __forceinline__ void write_result(const ArgMaxArgs& a, uint32_t r, int64_t group, int64_t inner, int64_t j,
                                             float value, int64_t index) {
  Tout* y = static_cast<Tout*>(a.y);
  if (a.has_axis) {
    y[(group * a.top_k + j) * a.stride + inner] = from_float<Tout>(a.out_max_val ? value : static_cast<float>(index));
  } else {
    Tout* row = y + static_cast<int64_t>(r) * a.top_k * (a.out_max_val ? 2 : 1);
    row[j] = from_float<Tout>(static_cast<float>(index));
    if (a.out_max_val) row[a.top_k + j] = from_float<Tout>(value);
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) argmax_thread_kernel(const ArgMaxArgs a) {
  const Tin* x = static_cast<const Tin*>(a.x);
  const uint32_t step = gridDim.x * blockDim.x;
  for (uint32_t r = blockIdx.x * blockDim.x + threadIdx.x; r < a.rows; r += step) {
    const int64_t group = a.by_stride.div(r);
    const int64_t inner = r - group * a.stride;
    const Tin* in = x + group * a.dim * a.stride + inner;
    float prev = 0.0f;
    int64_t prev_i = -1;
    for (int64_t j = 0; j < a.top_k; ++j) {
      float best = 0.0f;
      int64_t best_i = -1;
      for (int64_t i = 0; i < a.dim; ++i) {
        const float v = to_float(in[i * a.stride]);
        if (prev_i >= 0 && !before(prev, prev_i, v, i)) continue;  // already taken
        if (best_i < 0 || before(v, i, best, best_i)) {
          best = v;
          best_i = i;
        }
      }
      write_result<Tin, Tout>(a, r, group, inner, j, best, best_i);
      prev = best;
      prev_i = best_i;
    }
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) argmax_warp_kernel(const ArgMaxArgs a) {
  const Tin* x = static_cast<const Tin*>(a.x);
  const int lane = threadIdx.x % 32;
  const uint32_t warps = gridDim.x * blockDim.x / 32;
  for (uint32_t r = (blockIdx.x * blockDim.x + threadIdx.x) / 32; r < a.rows; r += warps) {
    const int64_t group = a.by_stride.div(r);
    const int64_t inner = r - group * a.stride;
    const Tin* in = x + group * a.dim * a.stride + inner;
    float prev = 0.0f;
    int64_t prev_i = -1;
    for (int64_t j = 0; j < a.top_k; ++j) {
      float best = 0.0f;
      int64_t best_i = -1;
      for (int64_t i = lane; i < a.dim; i += 32) {
        const float v = to_float(in[i * a.stride]);
        if (prev_i >= 0 && !before(prev, prev_i, v, i)) continue;
        if (best_i < 0 || before(v, i, best, best_i)) {
          best = v;
          best_i = i;
        }
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int64_t oi = __shfl_xor_sync(0xffffffffu, best_i, o);
        if (oi >= 0 && (best_i < 0 || before(ov, oi, best, best_i))) {
          best = ov;
          best_i = oi;
        }
      }
      if (lane == 0) write_result<Tin, Tout>(a, r, group, inner, j, best, best_i);
      prev = best;
      prev_i = best_i;
    }
  }
}

class ArgMaxOp final : public CudaOp {
 public:
  ArgMaxOp() = default;
  /// Reads and checks the node (make<ArgMaxOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    // A warp per row when rows are long enough to keep its lanes busy.
    const bool warp = p_.dim >= 128;
    const int64_t rows_per_image = p_.outer * p_.stride;
    const int64_t in_image = p_.outer * p_.dim * p_.stride;
    const int64_t out_image = p_.has_axis ? p_.outer * p_.top_k * p_.stride : p_.top_k * (p_.out_max_val ? 2 : 1);
    const Elem xe = args.in[0].elem, ye = args.out[0].elem;
    return dispatch_float2(name_, xe, ye, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      return for_batch_chunks(args.batch, rows_per_image * (warp ? 32 : 1), [&](int n0, int nb) -> Status {
        ArgMaxArgs a{};
        a.x = static_cast<const Tin*>(args.in[0].data) + n0 * in_image;
        a.y = static_cast<Tout*>(args.out[0].data) + n0 * out_image;
        a.dim = p_.dim;
        a.stride = p_.stride;
        a.top_k = p_.top_k;
        a.has_axis = p_.has_axis;
        a.out_max_val = p_.out_max_val;
        a.rows = static_cast<uint32_t>(nb * rows_per_image);
        a.by_stride = FastDiv(static_cast<uint32_t>(p_.stride));
        if (warp) {
          argmax_warp_kernel<Tin, Tout>
              <<<grid_for(static_cast<int64_t>(a.rows) * 32, kMapThreads), kMapThreads, 0, args.stream>>>(a);
        } else {
          argmax_thread_kernel<Tin, Tout><<<grid_for(a.rows, kMapThreads), kMapThreads, 0, args.stream>>>(a);
        }
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  ArgMaxParams p_;
};

Status ArgMaxOp::init(const CudaOpInit& init) {
  ArgMaxParams p;
  Status st = read_argmax_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_argmax(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ArgMaxOp>(init, out); }

}  // namespace trtn::cuda
