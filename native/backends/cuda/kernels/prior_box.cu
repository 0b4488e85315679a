// PriorBox on the GPU (core/prior_box_params.h): the boxes are computed on the host and uploaded
// when the engine is built; a run writes them to every image of the output view (any layout: the
// op reads no input, so it lets the planner place its inputs as their other readers want).
#include <memory>
#include <string>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/prior_box_params.h"

namespace trtn::cuda {
namespace {

/// Writes the [c, h, w] values `v` to every image of `out`, zeros in its padding channels.
__global__ void __launch_bounds__(kMapThreads) broadcast_kernel(const float* v, const View4 out, uint32_t total) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const uint32_t hw = static_cast<uint32_t>(out.h) * out.w, per_image = out.c_write * hw;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
    const uint32_t n = t / per_image, i = t - n * per_image;
    const uint32_t c = i / hw, q = i - c * hw;
    const uint32_t h = q / out.w, w = q - h * out.w;
    store_any(out.data, out.elem, out.at(n, c, h, w), c < static_cast<uint32_t>(out.c) ? v[i] : 0.0f);
  }
}

class PriorBoxOp final : public CudaOp {
 public:
  PriorBoxOp() = default;
  /// Reads and checks the node, uploads the boxes (make<PriorBoxOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const View4& out = args.out[0];
    if (!is_float_elem(out.elem)) return no_kernel(name_, Elem::kF32, out.elem);
    const int64_t per_image = static_cast<int64_t>(out.c_write) * out.h * out.w;
    return for_batch_chunks(args.batch, per_image, [&](int n0, int nb) -> Status {
      const uint32_t total = static_cast<uint32_t>(nb * per_image);
      broadcast_kernel<<<grid_for(total, kMapThreads), kMapThreads, 0, args.stream>>>(values_.as<float>(),
                                                                                      images(out, n0, nb), total);
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

 private:
  std::string name_;
  DeviceBuffer values_;
};

Status PriorBoxOp::init(const CudaOpInit& init) {
  PriorBoxParams p;
  Status st = read_prior_box_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, true)).is_ok()) return st;
  if (!(st = values_.upload(p.values, "the boxes of PriorBox '" + init.node.node.name + "'")).is_ok()) return st;
  name_ = init.node.node.name;
  return Status::ok();
}

}  // namespace

Status make_prior_box(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PriorBoxOp>(init, out); }

}  // namespace trtn::cuda
