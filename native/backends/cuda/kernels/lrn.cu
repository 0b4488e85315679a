// LRN on the GPU with Caffe's semantics (core/lrn_params.h) over View4s (NCHW or NHWC):
// float32 / float16 storage, or INT8 (docs/int8.md): an int8 input read as float(q) * s_x (one
// rounded product), the float32 arithmetic below, and an int8 output stored as saturate(y / s_y)
// (IEEE division, through div_for_int8) or a float output.
//   ACROSS_CHANNELS: sum of x^2 over channels [c - (size-1)/2, c + (size-1)/2] clipped to the
//                    tensor, in increasing channel order; scale = k + alpha / size * sum;
//                    y = x * powf(scale, -beta).
//                    NHWC (sc == 1) with size <= 2 * kMaxHalf + 1: one thread per pixel and kLanes
//                    consecutive channels, which loads the kLanes + size - 1 channels its windows
//                    cover once (consecutive threads read consecutive bytes), keeps them in registers
//                    and stores its channels as one pack; the power there is pow_neg (within 4
//                    ulp, as powf). Otherwise one thread per output element in the output's memory
//                    order.
//   WITHIN_CHANNEL:  sum of x^2 over the size x size window (pad (size - 1) / 2, rows then
//                    columns), avg = sum / pool size (window clipped to the padded input),
//                    y = x * powf(1 + alpha * avg, -beta). One thread per output element.
// Every product and sum is rounded as the cpu rounds it (__fmul_rn / __fadd_rn, no fma
// contraction) and in the cpu's order; only the power's last bits may differ from the host's pow.
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/lrn_params.h"

namespace trtn::cuda {
namespace {

constexpr int kMaxHalf = 4;  // the pixel kernel's largest (size - 1) / 2
constexpr int kLanes = 8;    // channels per thread in the pixel kernel

struct LrnArgs {
  View4 in, out;
  int size, half;
  float alpha_over_size, alpha, beta, k;
  float in_scale, out_scale, inv_out_scale;  // INT8 (docs/int8.md); inv_out_scale = 1 / out_scale
  uint32_t total;
  Decoder decoder;
};

/// An input value as a float: int8 dequantized with one rounded product.
template <typename Tin>
__device__ __forceinline__ float lrn_load(const Tin* x, int64_t i, float in_scale) {
  if constexpr (std::is_same_v<Tin, int8_t>) {
    return __fmul_rn(int8_to_float(x[i]), in_scale);
  } else {
    return to_float(x[i]);
  }
}

/// What is stored for y: int8 outputs are saturate(y / s_y) (the store saturates).
template <typename Tout>
__device__ __forceinline__ float lrn_result(float y, float out_scale, float inv_out_scale) {
  if constexpr (std::is_same_v<Tout, int8_t>) {
    return div_for_int8(y, out_scale, inv_out_scale);
  } else {
    return y;
  }
}

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
        const float v = lrn_load(x, pixel + j * a.in.sc, a.in_scale);
        sum_sq = __fadd_rn(sum_sq, __fmul_rn(v, v));
      }
      const float scale = __fadd_rn(a.k, __fmul_rn(a.alpha_over_size, sum_sq));
      y = lrn_result<Tout>(__fmul_rn(lrn_load(x, pixel + c * a.in.sc, a.in_scale), powf(scale, -a.beta)), a.out_scale,
                           a.inv_out_scale);
    }
    static_cast<Tout*>(a.out.data)[a.out.at(n, c, h, w)] = from_float<Tout>(y);
  }
}

/// scale^-beta for scale >= k > 0 as exp2(-beta * log2(scale)) on the special-function unit:
/// within 4 ulp of the correctly rounded power (lg2.approx's absolute error 2^-21.4 becomes a
/// relative error of 2^-22 after the exponential), the bound CUDA gives for powf itself.
__device__ __forceinline__ float pow_neg(float scale, float beta) { return exp2f(__fmul_rn(-beta, __log2f(scale))); }

/// ACROSS_CHANNELS over channels-last views: item t = (pixel, group of kLanes channels), windows of
/// HALF channels either side (HALF == (size - 1) / 2, so every window term is known at compile
/// time). vec_in: the group's own channels load as one pack.
template <typename Tin, typename Tout, int HALF>
__global__ void __launch_bounds__(kMapThreads)
    lrn_across_pixels_kernel(const LrnArgs a, uint32_t groups, const FastDiv by_groups, const FastDiv by_w,
                             const FastDiv by_h, bool vec, bool vec_in) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const int channels = a.in.c;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t pixel = by_groups.div(t);
    const int c0 = static_cast<int>(t - pixel * groups) * kLanes;
    const uint32_t row = by_w.div(pixel);
    const uint32_t w = pixel - row * by_w.d;
    const uint32_t n = by_h.div(row);
    const uint32_t h = row - n * by_h.d;
    const Tin* x = static_cast<const Tin*>(a.in.data) + n * a.in.sn + h * a.in.sh + w * a.in.sw;
    // v[i] holds channel c0 - HALF + i (0 outside the tensor: such values are never summed).
    float v[kLanes + 2 * HALF];
#pragma unroll
    for (int i = 0; i < HALF; ++i) {
      const int lo = c0 - HALF + i, hi = c0 + kLanes + i;
      v[i] = lo >= 0 ? lrn_load(x, lo, a.in_scale) : 0.0f;
      v[HALF + kLanes + i] = hi < channels ? lrn_load(x, hi, a.in_scale) : 0.0f;
    }
    if (vec_in && c0 + kLanes <= channels) {
      const Pack<Tin, kLanes> pk = *reinterpret_cast<const Pack<Tin, kLanes>*>(x + c0);
#pragma unroll
      for (int l = 0; l < kLanes; ++l) {
        if constexpr (std::is_same_v<Tin, int8_t>) {
          v[HALF + l] = __fmul_rn(int8_to_float(pk.v[l]), a.in_scale);
        } else {
          v[HALF + l] = to_float(pk.v[l]);
        }
      }
    } else {
#pragma unroll
      for (int l = 0; l < kLanes; ++l) v[HALF + l] = c0 + l < channels ? lrn_load(x, c0 + l, a.in_scale) : 0.0f;
    }
    float y[kLanes];
#pragma unroll
    for (int l = 0; l < kLanes; ++l) {
      const int c = c0 + l;
      float sum_sq = 0.0f;
#pragma unroll
      for (int d = -HALF; d <= HALF; ++d) {
        // Increasing channel order from max(0, c - half), as the cpu sums.
        if (c + d >= 0 && c + d < channels) {
          const float u = v[l + HALF + d];
          sum_sq = __fadd_rn(sum_sq, __fmul_rn(u, u));
        }
      }
      const float scale = __fadd_rn(a.k, __fmul_rn(a.alpha_over_size, sum_sq));
      y[l] = c < channels
                 ? lrn_result<Tout>(__fmul_rn(v[l + HALF], pow_neg(scale, a.beta)), a.out_scale, a.inv_out_scale)
                 : 0.0f;
    }
    const int cnt = min(kLanes, a.out.c_write - c0);
    store_chunk<Tout, kLanes>(static_cast<Tout*>(a.out.data) + n * a.out.sn + h * a.out.sh + w * a.out.sw + c0, cnt,
                              vec, y);
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
          const float v = lrn_load(x, plane + i * a.in.sh + j * a.in.sw, a.in_scale);
          sum_sq = __fadd_rn(sum_sq, __fmul_rn(v, v));
        }
      }
      const float avg = __fdiv_rn(sum_sq, static_cast<float>(pool_size));
      y = lrn_result<Tout>(__fmul_rn(lrn_load(x, plane + h * a.in.sh + w * a.in.sw, a.in_scale),
                                     powf(__fadd_rn(1.0f, __fmul_rn(a.alpha, avg)), -a.beta)),
                           a.out_scale, a.inv_out_scale);
    }
    static_cast<Tout*>(a.out.data)[a.out.at(n, c, h, w)] = from_float<Tout>(y);
  }
}

class LrnOp final : public CudaOp {
 public:
  LrnOp() = default;
  /// Reads and checks the node (make<LrnOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const View4& x = args.in[0];
    const View4& y = args.out[0];
    if (x.c != p_.channels || x.h != p_.height || x.w != p_.width || y.c != x.c || y.h != x.h || y.w != x.w ||
        y.n != x.n) {
      return run_error(name_, "LRN", "views do not match the node's shapes");
    }
    const bool int8_in = p_.in_scale > 0;
    if ((x.elem == Elem::kI8) != int8_in || (y.elem == Elem::kI8) != (p_.out_scale > 0)) {
      return run_error(name_, "LRN", "storage types do not match the node's precision");
    }
    if (int8_in && y.elem == Elem::kI8) return launch<int8_t, int8_t>(x, y, args.stream);
    if (int8_in && y.elem == Elem::kF32) return launch<int8_t, float>(x, y, args.stream);
    if (int8_in && y.elem == Elem::kF16) return launch<int8_t, __half>(x, y, args.stream);
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      return launch<decltype(tin), decltype(tout)>(x, y, args.stream);
    });
  }

 private:
  template <typename Tin, typename Tout>
  Status launch(const View4& x, const View4& y, cudaStream_t stream) const {
    LrnArgs a{};
    a.size = static_cast<int>(p_.size);
    a.half = static_cast<int>((p_.size - 1) / 2);
    // Caffe computes alpha / size in the layer's type before scaling the squares.
    a.alpha_over_size = p_.alpha / static_cast<float>(p_.size);
    a.alpha = p_.alpha;
    a.beta = p_.beta;
    a.k = p_.k;
    a.in_scale = p_.in_scale;
    a.out_scale = p_.out_scale;
    a.inv_out_scale = p_.out_scale > 0 ? 1.0f / p_.out_scale : 0.0f;
    const bool pixels = p_.across_channels && a.half <= kMaxHalf && x.layout == Layout::kNHWC &&
                        y.layout == Layout::kNHWC && x.sc == 1 && y.sc == 1;
    if (pixels) {
      const uint32_t groups = static_cast<uint32_t>((y.c_write + kLanes - 1) / kLanes);
      const int64_t per_image = static_cast<int64_t>(groups) * y.h * y.w;
      const bool vec = aligned_to(y.data, pack_align<Tout, kLanes>()) && y.sn % kLanes == 0 && y.sh % kLanes == 0 &&
                       y.sw % kLanes == 0;
      const bool vec_in = aligned_to(x.data, pack_align<Tin, kLanes>()) && x.sn % kLanes == 0 && x.sh % kLanes == 0 &&
                          x.sw % kLanes == 0;
      return for_batch_chunks(y.n, per_image, [&](int n0, int nb) -> Status {
        a.in = images(x, n0, nb);
        a.out = images(y, n0, nb);
        a.total = static_cast<uint32_t>(per_image * nb);
        const unsigned grid = grid_for(a.total, kMapThreads);
        const FastDiv by_groups(groups), by_w(static_cast<uint32_t>(y.w)), by_h(static_cast<uint32_t>(y.h));
        switch (a.half) {
          case 0:
            lrn_across_pixels_kernel<Tin, Tout, 0>
                <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
            break;
          case 1:
            lrn_across_pixels_kernel<Tin, Tout, 1>
                <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
            break;
          case 2:
            lrn_across_pixels_kernel<Tin, Tout, 2>
                <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
            break;
          case 3:
            lrn_across_pixels_kernel<Tin, Tout, 3>
                <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
            break;
          default:
            lrn_across_pixels_kernel<Tin, Tout, 4>
                <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
            break;
        }
        return TRTN_CUDA_STATUS(cudaGetLastError());
      });
    }
    return for_batch_chunks(y.n, static_cast<int64_t>(y.c_write) * y.h * y.w, [&](int n0, int nb) -> Status {
      a.in = images(x, n0, nb);
      a.out = images(y, n0, nb);
      a.total = static_cast<uint32_t>(write_count(a.out));
      a.decoder = Decoder(a.out);
      const unsigned grid = grid_for(a.total, kMapThreads);
      if (p_.across_channels) {
        lrn_across_kernel<Tin, Tout><<<grid, kMapThreads, 0, stream>>>(a);
      } else {
        lrn_within_kernel<Tin, Tout><<<grid, kMapThreads, 0, stream>>>(a);
      }
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

  std::string name_;
  LrnParams p_;
};

Status LrnOp::init(const CudaOpInit& init) {
  LrnParams p;
  Status st = read_lrn_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, op_takes_views(init.node.graph, init.node.node))).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  return Status::ok();
}

}  // namespace

Status make_lrn(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<LrnOp>(init, out); }

}  // namespace trtn::cuda
