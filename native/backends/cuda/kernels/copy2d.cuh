// 2-D copies over kLinear buffers (Slice, Tile, Concat off the channel axis):
// y[row * dst_stride + dst_off + j] = f(x[(row / rep) * src_stride + src_off + j]), whole rows cut
// into 16-byte chunks. f is a map functor (map.cuh) of one input.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/map.cuh"

namespace trtn::cuda {

/// rows of len elements: destination row r at dst_off + r * dst_stride takes source row r / rep at
/// src_off + (r / rep) * src_stride (element offsets).
struct Copy2d {
  int64_t rows = 0, len = 0;
  int64_t src_stride = 0, src_off = 0;
  int64_t dst_stride = 0, dst_off = 0;
  int64_t rep = 1;
};

namespace copy2d_detail {

struct Copy2dPlan {
  uint32_t total = 0, chunks = 1, len = 0;
  FastDiv by_chunks, by_rep;
  int64_t src_stride = 0, dst_stride = 0;
  bool vec = false;
};

template <typename Tin, typename Tout, int V, typename F>
__global__ void __launch_bounds__(kMapThreads) copy2d_kernel(const Tin* src, Tout* dst, const Copy2dPlan p, const F f) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < p.total; t += stride) {
    const uint32_t row = p.by_chunks.div(t);
    const uint32_t e0 = (t - row * p.chunks) * V;
    const int cnt = static_cast<int>(min(static_cast<uint32_t>(V), p.len - e0));
    float x[V], y[V];
    load_chunk<Tin, V>(src + p.by_rep.div(row) * p.src_stride + e0, cnt, p.vec, x);
#pragma unroll
    for (int k = 0; k < V; ++k) y[k] = f.finish(f.start(x[k], 0, 0));
    store_chunk<Tout, V>(dst + row * p.dst_stride + e0, cnt, p.vec, y);
  }
}

}  // namespace copy2d_detail

/// Runs a Copy2d with y = f(x) per element (f: a one-input map functor; n and c are given as 0).
template <typename Tin, typename Tout, typename F>
Status launch_copy2d(const void* src, void* dst, const Copy2d& c, const F& f, cudaStream_t stream) {
  constexpr int V = map_width<Tout>();
  if (c.rows <= 0 || c.len <= 0) return Status::ok();
  if (c.len >= kMaxLaunchItems || c.rep < 1 || c.rep >= kMaxLaunchItems) {
    return Status(Code::kInternal, "cuda copy2d: rows beyond the 32-bit index range");
  }
  const int64_t chunks = (c.len + V - 1) / V;
  // Rows per launch: a multiple of rep so that every launch starts on a source row.
  int64_t step = (kMaxLaunchItems - 1) / chunks;
  step = step / c.rep * c.rep;
  if (step < 1) return Status(Code::kInternal, "cuda copy2d: too many repeats for one launch");
  const bool vec = aligned_to(src, pack_align<Tin, V>()) && aligned_to(dst, pack_align<Tout, V>()) &&
                   c.src_stride % V == 0 && c.src_off % V == 0 && c.dst_stride % V == 0 && c.dst_off % V == 0;
  for (int64_t r0 = 0; r0 < c.rows; r0 += step) {
    const int64_t rows = std::min(step, c.rows - r0);
    copy2d_detail::Copy2dPlan p;
    p.len = static_cast<uint32_t>(c.len);
    p.chunks = static_cast<uint32_t>(chunks);
    p.total = static_cast<uint32_t>(rows * chunks);
    p.by_chunks = FastDiv(p.chunks);
    p.by_rep = FastDiv(static_cast<uint32_t>(c.rep));
    p.src_stride = c.src_stride;
    p.dst_stride = c.dst_stride;
    p.vec = V > 1 && vec;
    const Tin* s = static_cast<const Tin*>(src) + c.src_off + (r0 / c.rep) * c.src_stride;
    Tout* d = static_cast<Tout*>(dst) + c.dst_off + r0 * c.dst_stride;
    copy2d_detail::copy2d_kernel<Tin, Tout, V, F>
        <<<grid_for(p.total, kMapThreads), kMapThreads, 0, stream>>>(s, d, p, f);
    Status st = TRTN_CUDA_STATUS(cudaGetLastError());
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace trtn::cuda
