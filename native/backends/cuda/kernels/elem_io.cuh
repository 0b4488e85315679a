// Typed element conversion on the device for the non-GEMM kernels: float32 computation over any
// storage type, with docs/engine.md's fp16 rounding and docs/int8.md's saturation on the store.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/common.cuh"

namespace trtn::cuda {

template <typename T>
struct ElemIO;
template <>
struct ElemIO<float> {
  static constexpr Elem kElem = Elem::kF32;
  __device__ __forceinline__ static float load(float v) { return v; }
  __device__ __forceinline__ static float store(float v) { return v; }
};
template <>
struct ElemIO<__half> {
  static constexpr Elem kElem = Elem::kF16;
  __device__ __forceinline__ static float load(__half v) { return __half2float(v); }
  /// Round to nearest even (cvt.rn.f16.f32): the fp16 rule of docs/engine.md.
  __device__ __forceinline__ static __half store(float v) { return __float2half_rn(v); }
};
template <>
struct ElemIO<int8_t> {
  static constexpr Elem kElem = Elem::kI8;
  /// float(q): exact for every int8.
  __device__ __forceinline__ static float load(int8_t v) { return int8_to_float(v); }
  /// saturate(v) of docs/int8.md: round half to even, clamp to [-127, 127], NaN to 0.
  __device__ __forceinline__ static int8_t store(float v) { return saturate_int8(v); }
};

template <typename T>
__device__ __forceinline__ float to_float(T v) {
  return ElemIO<T>::load(v);
}
template <typename T>
__device__ __forceinline__ T from_float(float v) {
  return ElemIO<T>::store(v);
}

}  // namespace trtn::cuda
