// Block-wide reductions on the device (statistics of MVN, Reduction, ChannelAffine's norms; the
// max and sum of Softmax's block kernel).
#pragma once

#include <cuda_runtime.h>

namespace trtn::cuda {

/// Sum of `v` over the block (blockDim.x a multiple of 32, at most 1024), returned to every
/// thread; `scratch` is 32 doubles of shared memory. Every thread of the block must call it.
__device__ __forceinline__ double block_sum(double v, double* scratch) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (blockDim.x == 32) return v;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by an earlier call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  double total = 0;
  const int warps = blockDim.x / 32;
  for (int i = 0; i < warps; ++i) total += scratch[i];
  return total;
}

/// op(v) over the block (blockDim.x a multiple of 32, at most 1024; op associative and
/// commutative for the result not to depend on the order: max, or a sum whose order may vary),
/// returned to every thread; `scratch` is 32 floats of shared memory. Every thread must call it.
template <typename Op>
__device__ __forceinline__ float block_allreduce(float v, float* scratch, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (blockDim.x == 32) return v;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by an earlier call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = scratch[0];
  const int warps = blockDim.x / 32;
  for (int i = 1; i < warps; ++i) total = op(total, scratch[i]);
  return total;
}

}  // namespace trtn::cuda
