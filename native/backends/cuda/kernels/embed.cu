// Embed on the GPU (core/embed_params.h) over whole kLinear tensors: output row m is the table row
// named by input value m (plus the bias), one thread per output element (consecutive threads copy
// consecutive values of a row).
//
// An index that is not an integer in [0, inputDim) is a run-time error on the cpu backend. A
// kernel cannot return one from an asynchronous launch, so here such a row is filled with NaN:
// never a read outside the table, and a result no caller can take for a valid embedding.
#include <cmath>
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "core/embed_params.h"

namespace trtn::cuda {
namespace {

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads)
    embed_kernel(const Tin* x, Tout* y, const float* table, const float* bias, uint32_t total, FastDiv by_out,
                 float input_dim) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
    const uint32_t m = by_out.div(t);
    const uint32_t j = t - m * by_out.d;
    const float v = to_float(x[m]);
    float r = NAN;
    // Also false for NaN.
    if (v >= 0.0f && v < input_dim && v == floorf(v)) {
      const float w = __ldg(table + static_cast<int64_t>(v) * by_out.d + j);
      r = bias == nullptr ? w : __fadd_rn(w, __ldg(bias + j));
    }
    y[t] = from_float<Tout>(r);
  }
}

class EmbedOp final : public CudaOp {
 public:
  EmbedOp() = default;
  /// Reads and checks the node (make<EmbedOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int64_t per_image = p_.indices_per_image * p_.num_output;
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      return for_batch_chunks(args.batch, per_image, [&](int n0, int nb) -> Status {
        const uint32_t total = static_cast<uint32_t>(nb * per_image);
        embed_kernel<Tin, Tout><<<grid_for(total, kMapThreads), kMapThreads, 0, args.stream>>>(
            static_cast<const Tin*>(args.in[0].data) + n0 * p_.indices_per_image,
            static_cast<Tout*>(args.out[0].data) + n0 * per_image, table_.as<float>(), bias_.as<float>(), total,
            FastDiv(static_cast<uint32_t>(p_.num_output)), static_cast<float>(p_.input_dim));
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  EmbedParams p_;              // blob pointers cleared: the op reads its device copies
  DeviceBuffer table_, bias_;  // bias_ empty (nullptr) without biasTerm
};

Status EmbedOp::init(const CudaOpInit& init) {
  EmbedParams p;
  Status st = read_embed_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  DeviceBuffer table, bias;
  const std::string what = "the weights of Embed '" + init.node.node.name + "'";
  if (!(st = table.upload(p.table->f32, what)).is_ok()) return st;
  if (p.bias != nullptr && !(st = bias.upload(p.bias->f32, what)).is_ok()) return st;
  p.table = nullptr;
  p.bias = nullptr;
  name_ = init.node.node.name;
  p_ = p;
  table_ = std::move(table);
  bias_ = std::move(bias);
  return Status::ok();
}

}  // namespace

Status make_embed(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<EmbedOp>(init, out); }

}  // namespace trtn::cuda
