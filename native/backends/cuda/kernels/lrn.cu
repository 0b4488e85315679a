// LRN on the GPU with Caffe's semantics (core/lrn_params.h) over View4s (NCHW or NHWC):
// float32 / float16 storage, or INT8 (docs/int8.md). INT8 ACROSS_CHANNELS sums the integer
// squares exactly and scales once (core/lrn_params.h's LrnInt8, lrn.cuh's lrn_value_q); on
// channels-last views one thread takes kLrnQLanes channels (lrn_pixels_kernel), the sums sliding
// from channel to channel. That integer form is written but not yet run on a GPU: it runs with
// TRTN_CUDA_LRN_Q=1 (the GPU op tests set it); otherwise INT8 ACROSS_CHANNELS takes the float form
// below, within a step of docs/int8.md's value (the tolerance LRN always had). INT8
// WITHIN_CHANNEL reads float(q) * s_x (one rounded product), the
// float32 arithmetic below, and stores saturate(y / s_y) (IEEE division, through div_for_int8) or
// a float output.
//   ACROSS_CHANNELS: sum of x^2 over channels [c - (size-1)/2, c + (size-1)/2] clipped to the
//                    tensor, in increasing channel order; scale = k + alpha / size * sum;
//                    y = x * powf(scale, -beta).
//                    NHWC (sc == 1) with size <= 2 * kLrnMaxHalf + 1: one thread per pixel and
//                    kLrnLanes consecutive channels (lrn.cuh's lrn_group, shared with the fused
//                    LRN + max pooling of lrn_pool.cu), which loads the channels its windows cover
//                    once and stores its channels as one pack; the power there is lrn_pow_neg
//                    (within 4 ulp, as powf). Otherwise one thread per output element in the
//                    output's memory order.
//   WITHIN_CHANNEL:  sum of x^2 over the size x size window (pad (size - 1) / 2, rows then
//                    columns), avg = sum / pool size (window clipped to the padded input),
//                    y = x * powf(1 + alpha * avg, -beta). One thread per output element.
// Every product and sum is rounded as the cpu rounds it (__fmul_rn / __fadd_rn, no fma
// contraction) and in the cpu's order; only the power's last bits may differ from the host's pow.
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "backends/cuda/kernels/lrn.cuh"
#include "core/lrn_params.h"

namespace trtn::cuda {
namespace {

template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kMapThreads) lrn_across_kernel(const LrnArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  const Tin* x = static_cast<const Tin*>(a.in.data);
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    int n, c, h, w;
    a.decoder.decode(t, n, c, h, w);
    float y = 0.0f;
    if (c < a.out.c && std::is_same_v<Tin, int8_t> && a.q_form) {
      const int8_t* q = reinterpret_cast<const int8_t*>(x) + n * a.in.sn + h * a.in.sh + w * a.in.sw;
      long long sum_sq = 0;  // any window: 64 bits, rounded to float as the cpu rounds it
      for (int j = max(0, c - a.half); j <= min(a.in.c - 1, c + a.half); ++j) sum_sq += q[j * a.in.sc] * q[j * a.in.sc];
      y = lrn_value_q<Tout, false>(a, __ll2float_rn(sum_sq), q[c * a.in.sc]);
    } else if (c < a.out.c) {
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

/// Channels a thread of lrn_pixels_kernel takes: 16 bytes of int8 input in the integer form
/// (lrn_group_q), else kLrnLanes.
template <bool Q>
constexpr int lrn_pixel_lanes() {
  return Q ? kLrnQLanes : kLrnLanes;
}

/// ACROSS_CHANNELS over channels-last views: item t = (pixel, group of lrn_pixel_lanes<Q>()
/// channels), lrn.cuh's lrn_group_q (Q: int8 input, integer form) or lrn_group stored as one pack.
/// FTZ (Q where lrn_pow_ftz_safe holds): the flush-to-zero power, and an int8 output stored without
/// saturate_int8's NaN test (the value cannot be NaN there).
template <typename Tin, typename Tout, int HALF, bool Q, bool FTZ>
__global__ void __launch_bounds__(kMapThreads)
    lrn_pixels_kernel(const LrnArgs a, uint32_t groups, const FastDiv by_groups, const FastDiv by_w, const FastDiv by_h,
                      bool vec, bool vec_in) {
  constexpr int kLanes = lrn_pixel_lanes<Q>();
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t pixel = by_groups.div(t);
    const int c0 = static_cast<int>(t - pixel * groups) * kLanes;
    const uint32_t row = by_w.div(pixel);
    const uint32_t w = pixel - row * by_w.d;
    const uint32_t n = by_h.div(row);
    const uint32_t h = row - n * by_h.d;
    const Tin* x = static_cast<const Tin*>(a.in.data) + n * a.in.sn + h * a.in.sh + w * a.in.sw;
    float y[kLanes];
    if constexpr (Q) {
      lrn_group_q<Tout, kLanes, HALF, FTZ>(a, reinterpret_cast<const int8_t*>(x), c0, vec_in, y);
    } else {
      lrn_group<Tin, Tout, HALF>(a, x, c0, vec_in, y);
    }
    const int cnt = min(kLanes, a.out.c_write - c0);
    Tout* dst = static_cast<Tout*>(a.out.data) + n * a.out.sn + h * a.out.sh + w * a.out.sw + c0;
    if constexpr (std::is_same_v<Tout, int8_t> && FTZ) {
      if (vec && cnt == kLanes) {
        Pack<int8_t, kLanes> pk;
#pragma unroll
        for (int l = 0; l < kLanes; ++l) pk.v[l] = saturate_int8_not_nan(y[l]);
        *reinterpret_cast<Pack<int8_t, kLanes>*>(dst) = pk;
        continue;
      }
    }
    store_chunk<Tout, kLanes>(dst, cnt, vec, y);
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
    LrnArgs a = args_;
    if (lrn_pixel_views(p_, x, y)) {
      if constexpr (std::is_same_v<Tin, int8_t>) {
        if (a.q_form) return launch_pixels<Tin, Tout, true>(a, x, y, stream);
      }
      return launch_pixels<Tin, Tout, false>(a, x, y, stream);
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

  /// lrn_pixels_kernel over channels-last views (Q: the INT8 integer form).
  template <typename Tin, typename Tout, bool Q>
  static Status launch_pixels(LrnArgs a, const View4& x, const View4& y, cudaStream_t stream) {
    constexpr int kLanes = lrn_pixel_lanes<Q>();
    const uint32_t groups = static_cast<uint32_t>((y.c_write + kLanes - 1) / kLanes);
    const int64_t per_image = static_cast<int64_t>(groups) * y.h * y.w;
    const bool vec = packs_fit<Tout, kLanes>(y);
    const bool vec_in = packs_fit<Tin, kLanes>(x);
    return for_batch_chunks(y.n, per_image, [&](int n0, int nb) -> Status {
      a.in = images(x, n0, nb);
      a.out = images(y, n0, nb);
      a.total = static_cast<uint32_t>(per_image * nb);
      const unsigned grid = grid_for(a.total, kMapThreads);
      const FastDiv by_groups(groups), by_w(static_cast<uint32_t>(y.w)), by_h(static_cast<uint32_t>(y.h));
      with_lrn_half(a.half, [&](auto half) {
        constexpr int kHalf = decltype(half)::value;
        if (Q && a.pow_ftz) {
          lrn_pixels_kernel<Tin, Tout, kHalf, Q, Q>
              <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
        } else {
          lrn_pixels_kernel<Tin, Tout, kHalf, Q, false>
              <<<grid, kMapThreads, 0, stream>>>(a, groups, by_groups, by_w, by_h, vec, vec_in);
        }
      });
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

  std::string name_;
  LrnParams p_;
  LrnArgs args_{};  // lrn_args(p_): the launches fill in the views
};

Status LrnOp::init(const CudaOpInit& init) {
  LrnParams p;
  Status st = read_lrn_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, op_takes_views(init.node.graph, init.node.node))).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  args_ = lrn_args(p);
  return Status::ok();
}

}  // namespace

Status make_lrn(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<LrnOp>(init, out); }

}  // namespace trtn::cuda
