// Reduction on the GPU (core/reduction_params.h): each row of the dims from `axis` on becomes
// coeff * (SUM x | ASUM |x| | SUMSQ x^2 | MEAN x) over whole kLinear tensors. A block (long rows) or
// a warp (short rows) per row sums in double, as the cpu does (its block order differs, but double
// sums of float32 terms round to the same float32 but in pathological cancellations), then
// multiplies by coeff (coeff / dim for MEAN) in double and rounds once.
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/block_reduce.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/reduction_params.h"

namespace trtn::cuda {
namespace {

template <typename Tin, typename Tout>
__global__ void reduction_kernel(const Tin* x, Tout* y, int64_t rows, int64_t dim, int op, double multiplier) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Tin* p = x + r * dim;
    double s = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const double v = to_float(p[i]);
      switch (op) {
        case static_cast<int>(ReductionOperation::kAsum): s += fabs(v); break;
        case static_cast<int>(ReductionOperation::kSumSq): s += v * v; break;
        default: s += v; break;
      }
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) y[r] = from_float<Tout>(static_cast<float>(s * multiplier));
  }
}

class ReductionOp final : public CudaOp {
 public:
  ReductionOp() = default;
  /// Reads and checks the node (make<ReductionOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int64_t rows = static_cast<int64_t>(args.batch) * p_.rows_per_image;
    if (rows == 0) return Status::ok();
    const int threads = p_.dim >= 1024 ? 256 : 32;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(rows, 65535LL * 8));
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      reduction_kernel<Tin, Tout><<<grid, threads, 0, args.stream>>>(static_cast<const Tin*>(args.in[0].data),
                                                                     static_cast<Tout*>(args.out[0].data), rows, p_.dim,
                                                                     static_cast<int>(p_.op), p_.multiplier());
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

 private:
  std::string name_;
  ReductionParams p_;
};

Status ReductionOp::init(const CudaOpInit& init) {
  ReductionParams p;
  Status st = read_reduction_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_reduction(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<ReductionOp>(init, out); }

}  // namespace trtn::cuda
