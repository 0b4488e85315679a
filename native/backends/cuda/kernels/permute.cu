// Permute on the GPU (core/permute_params.h) over whole kLinear tensors: one thread per output
// value, its input offset from the output coordinates (fast division per output dim).
#include <memory>
#include <string>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/permute_params.h"

namespace trtn::cuda {
namespace {

constexpr int kMaxRank = 8;  // dims per image

struct PermuteArgs {
  int rank;
  FastDiv dims[kMaxRank];  // output dims
  uint32_t in_strides[kMaxRank];
  uint32_t volume;  // per image
  uint32_t total;
  FastDiv by_volume;
};

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) permute_kernel(const Tin* x, Tout* y, const PermuteArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t n = a.by_volume.div(t);
    uint32_t rest = t - n * a.volume, from = 0;
    for (int d = a.rank - 1; d >= 0; --d) {
      const uint32_t q = a.dims[d].div(rest);
      from += (rest - q * a.dims[d].d) * a.in_strides[d];
      rest = q;
    }
    y[t] = from_float<Tout>(to_float(x[static_cast<int64_t>(n) * a.volume + from]));
  }
}

class PermuteOp final : public CudaOp {
 public:
  PermuteOp() = default;
  /// Reads and checks the node (make<PermuteOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      return for_batch_chunks(args.batch, a_.volume, [&](int n0, int nb) -> Status {
        PermuteArgs a = a_;
        a.total = static_cast<uint32_t>(nb) * a.volume;
        const Tin* x = static_cast<const Tin*>(args.in[0].data) + static_cast<int64_t>(n0) * a.volume;
        Tout* y = static_cast<Tout*>(args.out[0].data) + static_cast<int64_t>(n0) * a.volume;
        permute_kernel<Tin, Tout><<<grid_for(a.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, y, a);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  PermuteArgs a_{};
};

Status PermuteOp::init(const CudaOpInit& init) {
  PermuteParams p;
  Status st = read_permute_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  if (p.out_dims.size() > static_cast<size_t>(kMaxRank)) {
    return init.node.error("has more than " + std::to_string(kMaxRank) + " dims per image, beyond the cuda kernel");
  }
  name_ = init.node.node.name;
  a_.rank = static_cast<int>(p.out_dims.size());
  for (size_t d = 0; d < p.out_dims.size(); ++d) {
    a_.dims[d] = FastDiv(static_cast<uint32_t>(p.out_dims[d]));
    a_.in_strides[d] = static_cast<uint32_t>(p.in_strides[d]);
  }
  a_.volume = static_cast<uint32_t>(p.volume);
  a_.by_volume = FastDiv(a_.volume);
  return Status::ok();
}

}  // namespace

Status make_permute(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PermuteOp>(init, out); }

}  // namespace trtn::cuda
