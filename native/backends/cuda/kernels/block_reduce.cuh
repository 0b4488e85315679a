// Block-wide reductions on the device (statistics of MVN, Reduction, ChannelAffine's norms; the
// max and sum of Softmax's block kernel).
#pragma once

#include <cuda_runtime.h>

namespace trtn::cuda {

/// op(v) over the block (blockDim.x a multiple of 32, at most 1024; op associative and
/// commutative for the result not to depend on the order: max, or a sum whose order may vary),
/// returned to every thread; `scratch` is 32 values of T in shared memory. Every thread of the
/// block must call it.
template <typename T, typename Op>
__device__ __forceinline__ T block_allreduce(T v, T* scratch, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (blockDim.x == 32) return v;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by an earlier call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = scratch[0];
  const int warps = blockDim.x / 32;
  for (int i = 1; i < warps; ++i) total = op(total, scratch[i]);
  return total;
}

/// Sum of `v` over the block, returned to every thread; `scratch` is 32 doubles of shared memory.
__device__ __forceinline__ double block_sum(double v, double* scratch) {
  return block_allreduce(v, scratch, [](double s, double t) { return s + t; });
}

}  // namespace trtn::cuda
