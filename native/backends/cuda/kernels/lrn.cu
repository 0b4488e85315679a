// LRN on the GPU with Caffe's semantics (core/lrn_params.h), float32 or float16 storage over
// View4s (NCHW or NHWC), one thread per output element in the output's memory order:
//   ACROSS_CHANNELS: sum of x^2 over channels [c - (size-1)/2, c + (size-1)/2] clipped to the
//                    tensor, in increasing channel order; scale = k + alpha / size * sum;
//                    y = x * powf(scale, -beta). With NHWC the neighbours are adjacent in memory
//                    (a warp's window reads hit the same lines); with NCHW each is a coalesced plane.
//   WITHIN_CHANNEL:  sum of x^2 over the size x size window (pad (size - 1) / 2, rows then
//                    columns), avg = sum / pool size (window clipped to the padded input),
//                    y = x * powf(1 + alpha * avg, -beta).
// Every product and sum is rounded as the cpu rounds it (__fmul_rn / __fadd_rn, no fma
// contraction) and in the cpu's order; only powf's last bit may differ from the host's pow.
#include <memory>
#include <new>
#include <string>

#include "backends/cuda/kernels/map.cuh"
#include "core/lrn_params.h"

namespace trtn::cuda {
namespace {

struct LrnArgs {
  View4 in, out;
  int size, half;
  float alpha_over_size, alpha, beta, k;
  uint32_t total;
  Decoder decoder;
};

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) lrn_across_kernel(const LrnArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const Tin* x = static_cast<const Tin*>(a.in.data);
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    int n, c, h, w;
    a.decoder.decode(t, n, c, h, w);
    float y = 0.0f;
    if (c < a.out.c) {
      const int64_t pixel = n * a.in.sn + h * a.in.sh + w * a.in.sw;
      const int lo = max(0, c - a.half), hi = min(a.in.c - 1, c + a.half);
      float sum_sq = 0.0f;
      for (int j = lo; j <= hi; ++j) {
        const float v = to_float(x[pixel + j * a.in.sc]);
        sum_sq = __fadd_rn(sum_sq, __fmul_rn(v, v));
      }
      const float scale = __fadd_rn(a.k, __fmul_rn(a.alpha_over_size, sum_sq));
      y = to_float(x[pixel + c * a.in.sc]) * powf(scale, -a.beta);
    }
    static_cast<Tout*>(a.out.data)[a.out.at(n, c, h, w)] = from_float<Tout>(y);
  }
}

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) lrn_within_kernel(const LrnArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const Tin* x = static_cast<const Tin*>(a.in.data);
  const int height = a.in.h, width = a.in.w, pad = a.half, size = a.size;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    int n, c, h, w;
    a.decoder.decode(t, n, c, h, w);
    float y = 0.0f;
    if (c < a.out.c) {
      const int64_t plane = n * a.in.sn + c * a.in.sc;
      // Caffe's AVE pooling window at stride 1: clipped to the padded input for the divisor, to
      // the input for the sum.
      const int h0 = h - pad, h1 = min(h0 + size, height + pad);
      const int w0 = w - pad, w1 = min(w0 + size, width + pad);
      const int pool_size = (h1 - h0) * (w1 - w0);
      float sum_sq = 0.0f;
      for (int i = max(h0, 0); i < min(h1, height); ++i) {
        for (int j = max(w0, 0); j < min(w1, width); ++j) {
          const float v = to_float(x[plane + i * a.in.sh + j * a.in.sw]);
          sum_sq = __fadd_rn(sum_sq, __fmul_rn(v, v));
        }
      }
      const float avg = sum_sq / static_cast<float>(pool_size);
      y = to_float(x[plane + h * a.in.sh + w * a.in.sw]) * powf(__fadd_rn(1.0f, __fmul_rn(a.alpha, avg)), -a.beta);
    }
    static_cast<Tout*>(a.out.data)[a.out.at(n, c, h, w)] = from_float<Tout>(y);
  }
}

class LrnOp final : public CudaOp {
 public:
  LrnOp(std::string name, LrnParams p) : name_(std::move(name)), p_(p) {}

  Status run(const RunArgs& args) const override {
    const View4& x = args.in[0];
    const View4& y = args.out[0];
    if (x.c != p_.channels || x.h != p_.height || x.w != p_.width || y.c != x.c || y.h != x.h || y.w != x.w ||
        y.n != x.n) {
      return run_error(name_, "LRN", "views do not match the node's shapes");
    }
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      using Tin = decltype(tin);
      using Tout = decltype(tout);
      LrnArgs a{};
      a.size = static_cast<int>(p_.size);
      a.half = static_cast<int>((p_.size - 1) / 2);
      // Caffe computes alpha / size in the layer's type before scaling the squares.
      a.alpha_over_size = p_.alpha / static_cast<float>(p_.size);
      a.alpha = p_.alpha;
      a.beta = p_.beta;
      a.k = p_.k;
      return for_batch_chunks(y.n, static_cast<int64_t>(y.c_write) * y.h * y.w, [&](int n0, int nb) -> Status {
        a.in = images(x, n0, nb);
        a.out = images(y, n0, nb);
        a.total = static_cast<uint32_t>(write_count(a.out));
        a.decoder = Decoder(a.out);
        const unsigned grid = grid_for(a.total, kMapThreads);
        if (p_.across_channels) {
          lrn_across_kernel<Tin, Tout><<<grid, kMapThreads, 0, args.stream>>>(a);
        } else {
          lrn_within_kernel<Tin, Tout><<<grid, kMapThreads, 0, args.stream>>>(a);
        }
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    });
  }

 private:
  std::string name_;
  LrnParams p_;
};

}  // namespace

Status make_lrn(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) {
  try {
    LrnParams p;
    Status st = read_lrn_params(init.node, &p);
    if (!st.is_ok()) return st;
    if (!(st = check_places(init, op_takes_views(init.node.graph, init.node.node))).is_ok()) return st;
    *out = std::make_unique<LrnOp>(init.node.node.name, p);
    return Status::ok();
  } catch (const std::bad_alloc&) {
    return Status(Code::kOutOfMemory, "cuda backend, node '" + init.node.node.name + "': out of host memory");
  }
}

}  // namespace trtn::cuda
