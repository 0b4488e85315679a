// LRN across channels on channels-last pixels, shared by the LRN op (lrn.cu) and the fused
// LRN + max pooling (lrn_pool.cu): the arguments, the element conversions of docs/int8.md and one
// thread's work for kLanes consecutive channels of one pixel, so both store the same values.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/lrn_params.h"

namespace trtn::cuda {

constexpr int kLrnMaxHalf = 4;  // the pixel kernels' largest (size - 1) / 2
constexpr int kLrnLanes = 8;    // channels per thread in the pixel kernels
constexpr int kLrnQLanes = 16;  // channels per thread in the INT8 LRN's pixel kernel (16 bytes)

struct LrnArgs {
  View4 in, out;
  int size, half;
  float alpha_over_size, alpha, beta, k;
  float in_scale, out_scale, inv_out_scale;  // INT8 (docs/int8.md); inv_out_scale = 1 / out_scale
  float sq_scale, out_factor;                // INT8 ACROSS_CHANNELS: core/lrn_params.h's LrnInt8
  bool q_form;   // INT8 ACROSS_CHANNELS in the integer form (lrn_group_q; TRTN_CUDA_LRN_Q until GPU-tested)
  bool pow_ftz;  // lrn_pow_ftz_safe: the integer form's kernels may take lrn_pow_q<true>
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

/// scale^-beta for scale >= k > 0 as exp2(-beta * log2(scale)) on the special-function unit:
/// within 4 ulp of the correctly rounded power (lg2.approx's absolute error 2^-21.4 becomes a
/// relative error of 2^-22 after the exponential), the bound CUDA gives for powf itself.
__device__ __forceinline__ float lrn_pow_neg(float scale, float beta) {
  return exp2f(__fmul_rn(-beta, __log2f(scale)));
}

/// scale^-beta for the INT8 form: lg2 and ex2 on the special-function unit with denormals flushed,
/// the scaling non-ftz instructions add done here only where FTZ is false. With FTZ true (the host
/// found lrn_pow_ftz_safe) scale, the logarithm's product and the power are normal numbers or zero,
/// where both forms give the same bits; so FTZ only removes instructions.
template <bool FTZ>
__device__ __forceinline__ float lrn_pow_q(float scale, float beta) {
  const bool tiny = !FTZ && scale < 0x1p-126f;
  float l, e;
  const float in = tiny ? __fmul_rn(scale, 0x1p24f) : scale;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(l) : "f"(in));
  if (tiny) l = __fsub_rn(l, 24.0f);
  const float t = __fmul_rn(-beta, l);
  const bool low = !FTZ && t < -126.0f;
  const float arg = low ? __fadd_rn(t, 24.0f) : t;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(e) : "f"(arg));
  return low ? __fmul_rn(e, 0x1p-24f) : e;
}

/// float(s) for 0 <= s < 2^23, exactly, without the conversion unit (its bits under 2^23's exponent).
__device__ __forceinline__ float small_int_to_float(int s) {
  return __fsub_rn(__uint_as_float(0x4B000000u | static_cast<uint32_t>(s)), 8388608.0f);
}

/// The value an INT8 ACROSS_CHANNELS output stores for input q and s = float(window sum of
/// squares) (core/lrn_params.h's LrnInt8): before saturation for an int8 output, y for a float one.
template <typename Tout, bool FTZ>
__device__ __forceinline__ float lrn_value_q(const LrnArgs& a, float s, int q) {
  const float scale = __fadd_rn(a.k, __fmul_rn(a.sq_scale, s));
  const float qf = int8_to_float(static_cast<int8_t>(q));
  const float factor = std::is_same_v<Tout, int8_t> ? a.out_factor : a.in_scale;
  return __fmul_rn(__fmul_rn(qf, factor), lrn_pow_q<FTZ>(scale, a.beta));
}

/// INT8 ACROSS_CHANNELS for channels [c0, c0 + LANES) of the pixel at `x` (channels-last, sc == 1):
/// y[l] as lrn_value_q gives it (0 past the channels). The LANES + 2 HALF channels the windows
/// cover load once (vec_in: the group's own channels as one pack); the integer sums slide from one
/// channel's window to the next (exact, so any order gives the same sum; at most 9 x 128^2 < 2^23).
template <typename Tout, int LANES, int HALF, bool FTZ>
__device__ __forceinline__ void lrn_group_q(const LrnArgs& a, const int8_t* x, int c0, bool vec_in, float (&y)[LANES]) {
  constexpr int kSpan = LANES + 2 * HALF;
  const int channels = a.in.c;
  int q[kSpan];  // channel c0 - HALF + i (0 outside the tensor)
#pragma unroll
  for (int i = 0; i < HALF; ++i) {
    const int lo = c0 - HALF + i, hi = c0 + LANES + i;
    q[i] = lo >= 0 ? x[lo] : 0;
    q[HALF + LANES + i] = hi < channels ? x[hi] : 0;
  }
  if (vec_in && c0 + LANES <= channels) {
    const Pack<int8_t, LANES> pk = *reinterpret_cast<const Pack<int8_t, LANES>*>(x + c0);
#pragma unroll
    for (int l = 0; l < LANES; ++l) q[HALF + l] = pk.v[l];
  } else {
#pragma unroll
    for (int l = 0; l < LANES; ++l) q[HALF + l] = c0 + l < channels ? x[c0 + l] : 0;
  }
  int sq[kSpan];
#pragma unroll
  for (int i = 0; i < kSpan; ++i) sq[i] = q[i] * q[i];
  int sum = 0;
#pragma unroll
  for (int d = 0; d < 2 * HALF; ++d) sum += sq[d];
#pragma unroll
  for (int l = 0; l < LANES; ++l) {
    sum += sq[l + 2 * HALF];
    // Past the channels q is 0, and so is the value where the power is finite (FTZ).
    y[l] = FTZ || c0 + l < channels ? lrn_value_q<Tout, FTZ>(a, small_int_to_float(sum), q[HALF + l]) : 0.0f;
    sum -= sq[l];
  }
}

/// ACROSS_CHANNELS for channels [c0, c0 + kLrnLanes) of the pixel at `x` (channels-last, sc == 1):
/// y[l] is what the output stores for channel c0 + l (before its conversion; 0 past the channels).
/// HALF == (size - 1) / 2. An int8 input in the integer form (q_form) takes lrn_group_q. The
/// kLrnLanes + 2 HALF channels the
/// windows cover load once (vec_in:
/// the group's own channels as one pack), each square is formed once, and each window sums its
/// squares in increasing channel order from c - HALF: the channels outside the tensor hold 0, and
/// adding +0 to a sum of squares changes nothing, so the sums are the cpu's from max(0, c - half)
/// bit for bit without a bounds test per term.
template <typename Tin, typename Tout, int HALF>
__device__ __forceinline__ void lrn_group(const LrnArgs& a, const Tin* x, int c0, bool vec_in, float (&y)[kLrnLanes]) {
  if constexpr (std::is_same_v<Tin, int8_t>) {
    if (a.q_form) {
      // The fused kernels' choice of power is uniform over the launch; both forms give the same
      // bits where the FTZ one is taken (lrn_pow_q).
      if (a.pow_ftz) {
        lrn_group_q<Tout, kLrnLanes, HALF, true>(a, x, c0, vec_in, y);
      } else {
        lrn_group_q<Tout, kLrnLanes, HALF, false>(a, x, c0, vec_in, y);
      }
      return;
    }
  }
  constexpr int kSpan = kLrnLanes + 2 * HALF;
  const int channels = a.in.c;
  // v[i] holds channel c0 - HALF + i (0 outside the tensor).
  float v[kSpan];
#pragma unroll
  for (int i = 0; i < HALF; ++i) {
    const int lo = c0 - HALF + i, hi = c0 + kLrnLanes + i;
    v[i] = lo >= 0 ? lrn_load(x, lo, a.in_scale) : 0.0f;
    v[HALF + kLrnLanes + i] = hi < channels ? lrn_load(x, hi, a.in_scale) : 0.0f;
  }
  if (vec_in && c0 + kLrnLanes <= channels) {
    const Pack<Tin, kLrnLanes> pk = *reinterpret_cast<const Pack<Tin, kLrnLanes>*>(x + c0);
#pragma unroll
    for (int l = 0; l < kLrnLanes; ++l) {
      if constexpr (std::is_same_v<Tin, int8_t>) {
        v[HALF + l] = __fmul_rn(int8_to_float(pk.v[l]), a.in_scale);
      } else {
        v[HALF + l] = to_float(pk.v[l]);
      }
    }
  } else {
#pragma unroll
    for (int l = 0; l < kLrnLanes; ++l) v[HALF + l] = c0 + l < channels ? lrn_load(x, c0 + l, a.in_scale) : 0.0f;
  }
  float sq[kSpan];
#pragma unroll
  for (int i = 0; i < kSpan; ++i) sq[i] = __fmul_rn(v[i], v[i]);
#pragma unroll
  for (int l = 0; l < kLrnLanes; ++l) {
    float sum_sq = sq[l];
#pragma unroll
    for (int d = 1; d <= 2 * HALF; ++d) sum_sq = __fadd_rn(sum_sq, sq[l + d]);
    const float scale = __fadd_rn(a.k, __fmul_rn(a.alpha_over_size, sum_sq));
    y[l] = c0 + l < channels
               ? lrn_result<Tout>(__fmul_rn(v[l + HALF], lrn_pow_neg(scale, a.beta)), a.out_scale, a.inv_out_scale)
               : 0.0f;
  }
}

/// Whether lrn_pow_q<true> is exact for every scale an INT8 ACROSS_CHANNELS node can form: with
/// alpha >= 0 and k >= 2^-60, scale >= k is normal (or infinite); log2(scale) is 0 or at least
/// 2^-24 in magnitude, times beta >= 2^-20 normal; and with beta <= 0.98, -beta * log2(scale) >
/// -126 for every finite scale, so the power is normal. With k, the squares' factor and the
/// output factors at most 2^100, scale (sum < 2^23) and the power are finite and float(q) * factor
/// too, so the stored value is never NaN (the pixel kernel's int8 store skips that test).
inline bool lrn_pow_ftz_safe(const LrnParams& p, const LrnInt8& q8) {
  const float big = 0x1p100f;
  return p.alpha >= 0.0f && p.k >= 0x1p-60f && p.k <= big && p.beta >= 0x1p-20f && p.beta <= 0.98f &&
         q8.sq_scale <= big && q8.out_factor <= big && p.in_scale <= big;
}

/// The kernels' arguments for a node (views, total and decoder are the launcher's).
inline LrnArgs lrn_args(const LrnParams& p) {
  LrnArgs a{};
  a.size = static_cast<int>(p.size);
  a.half = static_cast<int>((p.size - 1) / 2);
  // Caffe computes alpha / size in the layer's type before scaling the squares.
  a.alpha_over_size = p.alpha / static_cast<float>(p.size);
  a.alpha = p.alpha;
  a.beta = p.beta;
  a.k = p.k;
  a.in_scale = p.in_scale;
  a.out_scale = p.out_scale;
  a.inv_out_scale = p.out_scale > 0 ? 1.0f / p.out_scale : 0.0f;
  const LrnInt8 q8 = lrn_int8(p);
  a.sq_scale = q8.sq_scale;
  a.out_factor = q8.out_factor;
  a.q_form = p.in_scale > 0 && p.across_channels && cuda_env().lrn_q;
  a.pow_ftz = lrn_pow_ftz_safe(p, q8);
  return a;
}

/// Whether a node runs on the pixel kernels for these views: ACROSS_CHANNELS with a window of at
/// most 2 kLrnMaxHalf + 1 channels, channels-last views with contiguous channels.
inline bool lrn_pixel_views(const LrnParams& p, const View4& x, const View4& y) {
  return p.across_channels && (p.size - 1) / 2 <= kLrnMaxHalf && x.layout == Layout::kNHWC &&
         y.layout == Layout::kNHWC && x.sc == 1 && y.sc == 1;
}

/// Calls fn(std::integral_constant<int, HALF>) for half in [0, kLrnMaxHalf] (the pixel kernels'
/// template argument).
template <typename Fn>
void with_lrn_half(int half, Fn fn) {
  switch (half) {
    case 0: fn(std::integral_constant<int, 0>{}); break;
    case 1: fn(std::integral_constant<int, 1>{}); break;
    case 2: fn(std::integral_constant<int, 2>{}); break;
    case 3: fn(std::integral_constant<int, 3>{}); break;
    default: fn(std::integral_constant<int, 4>{}); break;
  }
}

}  // namespace trtn::cuda
