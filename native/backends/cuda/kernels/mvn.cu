// MVN on the GPU (core/mvn_params.h) over whole kLinear tensors: a block (long rows) or a warp
// (short rows) per row computes the mean in double, then with normalizeVariance the biased
// variance of (x - mean) in double, inv = 1 / (sqrt(var) + eps) (eps on the standard deviation, as
// Caffe), and writes float((x - mean) * inv) computed in double and rounded once, as the cpu does.
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/block_reduce.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/mvn_params.h"

namespace trtn::cuda {
namespace {

template <typename Tin, typename Tout>
__global__ void mvn_kernel(const Tin* x, Tout* y, int64_t rows, int64_t dim, bool normalize_variance, double eps) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Tin* p = x + r * dim;
    double s = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) s += static_cast<double>(to_float(p[i]));
    const double mean = block_sum(s, scratch) / static_cast<double>(dim);
    double inv = 1.0;
    if (normalize_variance) {
      double sq = 0;
      for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const double d = static_cast<double>(to_float(p[i])) - mean;
        sq = __dadd_rn(sq, __dmul_rn(d, d));
      }
      inv = 1.0 / (sqrt(block_sum(sq, scratch) / static_cast<double>(dim)) + eps);
    }
    Tout* q = y + r * dim;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      q[i] = from_float<Tout>(static_cast<float>((static_cast<double>(to_float(p[i])) - mean) * inv));
    }
  }
}

class MvnOp final : public CudaOp {
 public:
  MvnOp() = default;
  /// Reads and checks the node (make<MvnOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int64_t rows = static_cast<int64_t>(args.batch) * p_.rows_per_image;
    if (rows == 0 || p_.dim == 0) return Status::ok();
    const int threads = p_.dim >= 1024 ? 256 : 32;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(rows, 65535LL * 8));
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      mvn_kernel<Tin, Tout><<<grid, threads, 0, args.stream>>>(static_cast<const Tin*>(args.in[0].data),
                                                               static_cast<Tout*>(args.out[0].data), rows, p_.dim,
                                                               p_.normalize_variance, p_.eps);
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

 private:
  std::string name_;
  MvnParams p_;
};

Status MvnOp::init(const CudaOpInit& init) {
  MvnParams p;
  Status st = read_mvn_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_mvn(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<MvnOp>(init, out); }

}  // namespace trtn::cuda
