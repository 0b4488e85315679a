// Device helpers every cuda kernel file shares: element loads and stores of float views, the
// rounding and saturation rules of docs/engine.md and docs/int8.md, iteration over a View4 in its
// memory order (so consecutive threads touch consecutive addresses) and launch sizes.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "gpu/cuda_check.h"
#include "backends/cuda/format.h"

namespace trtn::cuda {

// ---- element access ---------------------------------------------------------------------------

/// Reads element `i` of a float view of either float type.
__device__ __forceinline__ float load_any(const void* base, Elem e, int64_t i) {
  return e == Elem::kF16 ? __half2float(static_cast<const __half*>(base)[i]) : static_cast<const float*>(base)[i];
}
__device__ __forceinline__ void store_any(void* base, Elem e, int64_t i, float v) {
  if (e == Elem::kF16) {
    static_cast<__half*>(base)[i] = __float2half_rn(v);
  } else {
    static_cast<float*>(base)[i] = v;
  }
}

// ---- rounding -----------------------------------------------------------------------------------

/// 1.5 * 2^23: a float in [-2^22, 2^22] added to it is rounded to an integer (the addition's own
/// round half to even), which the sum's low mantissa bits hold; subtracting it back is exact.
constexpr float kRoundMagic = 12582912.0f;
constexpr uint32_t kRoundMagicBits = 0x4B400000u;

/// INT8 saturation (docs/int8.md): round half to even, clamp to [-127, 127], NaN to 0. Clamped
/// first (the bounds are integers, so that equals rounding first), rounded by kRoundMagic: plain
/// float and integer instructions, none of the conversion unit's (cvt.rni / cvt.s32 run at a
/// quarter of the rate and were the int8 epilogues' and maps' limit).
/// saturate_int8 for a v known not to be NaN (no test for it).
__device__ __forceinline__ int8_t saturate_int8_not_nan(float v) {
  const float m = __fadd_rn(fminf(fmaxf(v, -127.0f), 127.0f), kRoundMagic);
  return static_cast<int8_t>(__float_as_uint(m) & 0xFFu);
}
__device__ __forceinline__ int8_t saturate_int8(float v) { return v != v ? int8_t{0} : saturate_int8_not_nan(v); }

/// y / s as an int8 store rounds it (saturate_int8(y / s), docs/int8.md's IEEE division), from
/// y * inv_s (inv_s = 1 / s rounded): that product is within 2^-23 relative of y / s, at most
/// 2^-16 from it below the saturation bound, so both round to the same integer unless y / s is
/// within 2^-12 of a half-integer, where the division itself decides (rarely: the common path has
/// no reciprocal on the special-function unit). NaN takes the division too. Returns the value to
/// saturate: the product or the quotient.
__device__ __forceinline__ float div_for_int8(float y, float s, float inv_s) {
  const float p = __fmul_rn(y, inv_s);
  const float t = fminf(fmaxf(p, -128.0f), 128.0f);
  const float r = __fsub_rn(__fadd_rn(t, kRoundMagic), kRoundMagic);
  return fabsf(__fsub_rn(t, r)) < 0.499755859375f ? p : __fdiv_rn(y, s);
}

/// float(q) for an int8 q, exactly, without the conversion unit (kRoundMagic's bits plus q).
__device__ __forceinline__ float int8_to_float(int8_t q) {
  return __fsub_rn(__uint_as_float(kRoundMagicBits + static_cast<uint32_t>(static_cast<int32_t>(q))), kRoundMagic);
}

/// TF32 rounding of an activation (nearest, ties away from zero), as a float: cvt.rna.tf32.f32
/// where the GPU has it (sm_80+), else the same rounding on the bits (sm_75 runs the CUDA-core
/// kernels). Infinities and NaN pass through.
__device__ __forceinline__ float round_tf32(float x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return __uint_as_float(r);
#else
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7F800000u) == 0x7F800000u) return x;
  return __uint_as_float((u + 0x1000u) & 0xFFFFE000u);
#endif
}

// ---- iteration ----------------------------------------------------------------------------------

/// Elements a writer of `v` covers: n * c_write * h * w.
__host__ __device__ __forceinline__ int64_t write_count(const View4& v) {
  return static_cast<int64_t>(v.n) * v.c_write * v.h * v.w;
}

/// Coordinates of the i-th element of `v` in its memory order (kNHWC: channel fastest; kLinear:
/// width fastest), channels counted to c_write.
__device__ __forceinline__ void coords(const View4& v, int64_t i, int& n, int& c, int& h, int& w) {
  if (v.layout == Layout::kNHWC) {
    c = static_cast<int>(i % v.c_write);
    i /= v.c_write;
    w = static_cast<int>(i % v.w);
    i /= v.w;
    h = static_cast<int>(i % v.h);
    n = static_cast<int>(i / v.h);
  } else {
    w = static_cast<int>(i % v.w);
    i /= v.w;
    h = static_cast<int>(i % v.h);
    i /= v.h;
    c = static_cast<int>(i % v.c_write);
    n = static_cast<int>(i / v.c_write);
  }
}

/// Grid-stride loop bounds.
#define TRTN_GRID_LOOP(i, count)                                                             \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

/// Threads per block of the elementwise kernels (the map engine and most non-GEMM ops).
constexpr int kMapThreads = 256;

/// Blocks for `count` threads of `threads` per block, capped (grid-stride loops cover the rest).
inline unsigned grid_for(int64_t count, int threads = 256) {
  int64_t blocks = (count + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535LL * 8) blocks = 65535LL * 8;
  return static_cast<unsigned>(blocks);
}

}  // namespace trtn::cuda
