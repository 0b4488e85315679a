// ShuffleChannel on the GPU (core/shuffle_channel_params.h) over whole kLinear tensors: each output
// plane (one channel of one image) is one input plane; V values of a plane per thread (16-byte
// packs when every plane start is aligned).
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/shuffle_channel_params.h"

namespace trtn::cuda {
namespace {

struct ShuffleArgs {
  uint32_t plane;       // values per channel
  uint32_t chunks;      // chunks per plane
  uint32_t group, per;  // the channel matrix: group x per
  uint32_t total;       // items: planes * chunks
  FastDiv by_chunks;    // item -> output plane
  FastDiv by_channels;  // output plane -> image
  FastDiv by_group;     // output channel -> (i, j)
  bool vec;
};

template <typename Tin, typename Tout, int V>
__global__ void __launch_bounds__(kMapThreads) shuffle_channel_kernel(const Tin* x, Tout* y, const ShuffleArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const uint32_t channels = a.group * a.per;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t b = a.by_chunks.div(t);  // output plane
    const uint32_t e0 = (t - b * a.chunks) * V;
    const int cnt = static_cast<int>(min(static_cast<uint32_t>(V), a.plane - e0));
    const uint32_t n = a.by_channels.div(b);
    const uint32_t c = b - n * channels;
    const uint32_t i = a.by_group.div(c);  // c = i * group + j
    const uint32_t j = c - i * a.group;
    const int64_t src = (static_cast<int64_t>(n) * channels + j * a.per + i) * a.plane + e0;
    float v[V];
    load_chunk<Tin, V>(x + src, cnt, a.vec, v);
    store_chunk<Tout, V>(y + static_cast<int64_t>(b) * a.plane + e0, cnt, a.vec, v);
  }
}

class ShuffleChannelOp final : public CudaOp {
 public:
  ShuffleChannelOp() = default;
  /// Reads and checks the node (make<ShuffleChannelOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const int64_t channels = p_.group * p_.per_group;
    return dispatch_float2(name_, args.in[0].elem, args.out[0].elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      constexpr int V = map_width<Tout>();
      ShuffleArgs a{};
      a.plane = static_cast<uint32_t>(p_.plane);
      a.chunks = static_cast<uint32_t>((p_.plane + V - 1) / V);
      a.group = static_cast<uint32_t>(p_.group);
      a.per = static_cast<uint32_t>(p_.per_group);
      a.by_chunks = FastDiv(a.chunks);
      a.by_channels = FastDiv(static_cast<uint32_t>(channels));
      a.by_group = FastDiv(a.group);
      return for_batch_chunks(args.batch, channels * a.chunks, [&](int n0, int nb) -> Status {
        const Tin* x = static_cast<const Tin*>(args.in[0].data) + n0 * channels * p_.plane;
        Tout* y = static_cast<Tout*>(args.out[0].data) + n0 * channels * p_.plane;
        a.total = static_cast<uint32_t>(nb * channels * a.chunks);
        a.vec =
            V > 1 && p_.plane % V == 0 && aligned_to(x, pack_align<Tin, V>()) && aligned_to(y, pack_align<Tout, V>());
        shuffle_channel_kernel<Tin, Tout, V><<<grid_for(a.total, kMapThreads), kMapThreads, 0, args.stream>>>(x, y, a);
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  ShuffleChannelParams p_;
};

Status ShuffleChannelOp::init(const CudaOpInit& init) {
  ShuffleChannelParams p;
  Status st = read_shuffle_channel_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, false)).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_shuffle_channel(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  return make<ShuffleChannelOp>(init, out);
}

}  // namespace trtn::cuda
