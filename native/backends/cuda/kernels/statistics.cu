#include "backends/cuda/kernels/statistics.h"

#include <cfloat>

#include "backends/cuda/kernels/common.cuh"

namespace trtn::cuda {
namespace {

constexpr int kBins = 2048;
constexpr int kThreads = 256;

/// The view restricted to its real channels (no padding), in its memory order.
__device__ __forceinline__ float value_at(const View4& v, int64_t i, int64_t* nchw) {
  int n, c, h, w;
  coords(v, i, n, c, h, w);
  *nchw = ((static_cast<int64_t>(n) * v.c + c) * v.h + h) * v.w + w;
  return load_any(v.data, v.elem, v.at(n, c, h, w));
}

__global__ void amax_kernel(View4 v, int64_t count, AmaxResult* result) {
  __shared__ float block_max[kThreads / 32];
  float m = 0.0f;
  TRTN_GRID_LOOP(i, count) {
    int64_t idx;
    const float x = value_at(v, i, &idx);
    const float a = fabsf(x);
    if (!(a <= FLT_MAX)) {
      atomicMin(&result->first_bad, static_cast<unsigned long long>(idx) * 2 + (x != x ? 1 : 0));
    } else {
      m = fmaxf(m, a);
    }
  }
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if ((threadIdx.x & 31) == 0) block_max[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < kThreads / 32; ++k) m = fmaxf(m, block_max[k]);
    atomicMax(&result->amax_bits, __float_as_uint(m));
  }
}

__global__ void histogram_kernel(View4 v, int64_t count, double per, unsigned long long* counts) {
  __shared__ unsigned int local[kBins];
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  TRTN_GRID_LOOP(i, count) {
    int64_t idx;
    const double a = fabs(static_cast<double>(value_at(v, i, &idx)));
    double b = ceil(a * per) - 1.0;
    b = b < 0 ? 0 : (b >= kBins ? kBins - 1 : b);
    atomicAdd(&local[static_cast<int>(b)], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
    if (local[b] != 0) atomicAdd(&counts[b], static_cast<unsigned long long>(local[b]));
  }
}

View4 real_channels(View4 v) {
  v.c_write = v.c;
  return v;
}

unsigned blocks_for(int64_t count) {
  // Enough blocks to fill the GPU, few enough that per-block shared counters stay cheap.
  const int64_t want = (count + kThreads * 16 - 1) / (kThreads * 16);
  return static_cast<unsigned>(want < 1 ? 1 : want > 2048 ? 2048 : want);
}

}  // namespace

Status launch_amax(const View4& view, AmaxResult* result, cudaStream_t stream) {
  const View4 v = real_channels(view);
  const int64_t count = write_count(v);
  TRTN_CUDA_TRY(cudaMemsetAsync(result, 0, sizeof(uint32_t) * 2, stream));
  TRTN_CUDA_TRY(cudaMemsetAsync(&result->first_bad, 0xFF, sizeof(unsigned long long), stream));
  amax_kernel<<<blocks_for(count), kThreads, 0, stream>>>(v, count, result);
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

Status launch_histogram(const View4& view, double per, unsigned long long* counts, cudaStream_t stream) {
  const View4 v = real_channels(view);
  const int64_t count = write_count(v);
  histogram_kernel<<<blocks_for(count), kThreads, 0, stream>>>(v, count, per, counts);
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

}  // namespace trtn::cuda
