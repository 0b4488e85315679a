// Reformatting between two stored forms of one tensor (op.h: launch_reformat, launch_convert): the
// graph's inputs and outputs, Concats that cannot be elided, observation.
//   - same layout: a map with the identity (16-byte packs where pointers and strides allow);
//   - kLinear (NCHW) <-> kNHWC: a tiled transpose through shared memory (32 pixels x 32 channels per
//     block), so that both the reads and the writes are coalesced;
//   - anything else: one element per thread through the views' strides.
// Element types: float32 <-> float16 (round to nearest even), or the same type on both sides
// (int8 included). Destination padding channels [c, c_write) get zeros.
#include <cuda_runtime.h>

#include <algorithm>

#include "backends/cuda/kernels/map.cuh"

namespace trtn::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;

/// View `src` (kLinear with contiguous planes) into `dst` (kNHWC, sc == 1). Block (pixel tile,
/// channel tile, image).
template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kTile* kTileRows)
    nchw_to_nhwc_kernel(const View4 src, const View4 dst, uint32_t hw, const FastDiv by_w) {
  __shared__ float tile[kTile][kTile + 1];
  const uint32_t p0 = blockIdx.x * kTile;
  const int c0 = static_cast<int>(blockIdx.y) * kTile;
  const int64_t n = blockIdx.z;
  const int tx = threadIdx.x, ty = threadIdx.y;
#pragma unroll
  for (int j = 0; j < kTile; j += kTileRows) {
    const int c = c0 + ty + j;
    const uint32_t p = p0 + tx;
    float v = 0.0f;
    if (c < src.c && p < hw) v = to_float(static_cast<const Tin*>(src.data)[n * src.sn + c * src.sc + p]);
    tile[ty + j][tx] = v;
  }
  __syncthreads();
#pragma unroll
  for (int j = 0; j < kTile; j += kTileRows) {
    const uint32_t p = p0 + ty + j;
    const int c = c0 + tx;
    if (p < hw && c < dst.c_write) {
      const uint32_t h = by_w.div(p);
      const uint32_t w = p - h * by_w.d;
      const float v = c < dst.c ? tile[tx][ty + j] : 0.0f;
      static_cast<Tout*>(dst.data)[n * dst.sn + h * dst.sh + w * dst.sw + c] = from_float<Tout>(v);
    }
  }
}

/// View `src` (kNHWC, sc == 1) into `dst` (kLinear with contiguous planes).
template <typename Tin, typename Tout>
__global__ void __launch_bounds__(kTile* kTileRows)
    nhwc_to_nchw_kernel(const View4 src, const View4 dst, uint32_t hw, const FastDiv by_w) {
  __shared__ float tile[kTile][kTile + 1];
  const uint32_t p0 = blockIdx.x * kTile;
  const int c0 = static_cast<int>(blockIdx.y) * kTile;
  const int64_t n = blockIdx.z;
  const int tx = threadIdx.x, ty = threadIdx.y;
#pragma unroll
  for (int j = 0; j < kTile; j += kTileRows) {
    const uint32_t p = p0 + ty + j;
    const int c = c0 + tx;
    float v = 0.0f;
    if (p < hw && c < src.c) {
      const uint32_t h = by_w.div(p);
      const uint32_t w = p - h * by_w.d;
      v = to_float(static_cast<const Tin*>(src.data)[n * src.sn + h * src.sh + w * src.sw + c]);
    }
    tile[ty + j][tx] = v;
  }
  __syncthreads();
#pragma unroll
  for (int j = 0; j < kTile; j += kTileRows) {
    const int c = c0 + ty + j;
    const uint32_t p = p0 + tx;
    if (c < dst.c_write && p < hw) {
      const float v = c < dst.c ? tile[tx][ty + j] : 0.0f;
      static_cast<Tout*>(dst.data)[n * dst.sn + c * dst.sc + p] = from_float<Tout>(v);
    }
  }
}

bool contiguous_planes(const View4& v) { return v.layout == Layout::kLinear && v.sw == 1 && v.sh == v.w; }
bool channels_last(const View4& v) { return v.layout == Layout::kNHWC && v.sc == 1; }

template <typename Tin, typename Tout>
Status reformat_typed(const View4& src, const View4& dst, cudaStream_t stream) {
  const int64_t hw = static_cast<int64_t>(dst.h) * dst.w;
  const bool to_nhwc = contiguous_planes(src) && channels_last(dst);
  const bool to_nchw = channels_last(src) && contiguous_planes(dst);
  if ((to_nhwc || to_nchw) && hw < kMaxLaunchItems - kTile) {
    const dim3 block(kTile, kTileRows);
    const unsigned pixel_tiles = static_cast<unsigned>((hw + kTile - 1) / kTile);
    const unsigned channel_tiles = static_cast<unsigned>((dst.c_write + kTile - 1) / kTile);
    const FastDiv by_w(static_cast<uint32_t>(dst.w));
    constexpr int kMaxGridZ = 65535;
    for (int n0 = 0; n0 < dst.n; n0 += kMaxGridZ) {
      const int nb = std::min(kMaxGridZ, dst.n - n0);
      const dim3 grid(pixel_tiles, channel_tiles, static_cast<unsigned>(nb));
      const View4 s = images(src, n0, nb), d = images(dst, n0, nb);
      if (to_nhwc) {
        nchw_to_nhwc_kernel<Tin, Tout><<<grid, block, 0, stream>>>(s, d, static_cast<uint32_t>(hw), by_w);
      } else {
        nhwc_to_nchw_kernel<Tin, Tout><<<grid, block, 0, stream>>>(s, d, static_cast<uint32_t>(hw), by_w);
      }
      Status st = TRTN_CUDA_STATUS(cudaGetLastError());
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }
  return launch_map1<Tin, Tout>(src, dst, CopyFn{}, stream);
}

/// Flat conversion of `count` elements (grid-stride, 64-bit indices, packs when aligned).
template <typename Tin, typename Tout, int V>
__global__ void __launch_bounds__(kMapThreads) convert_kernel(const Tin* src, Tout* dst, int64_t count, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t chunks = (count + V - 1) / V;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < chunks; t += stride) {
    const int64_t e0 = t * V;
    const int cnt = static_cast<int>(count - e0 < V ? count - e0 : V);
    float x[V];
    map_detail::load_chunk<Tin, V>(src + e0, cnt, vec, x);
    map_detail::store_chunk<Tout, V>(dst + e0, cnt, vec, x);
  }
}

}  // namespace

Status launch_reformat(const View4& src, const View4& dst, cudaStream_t stream) {
  if (src.n != dst.n || src.c != dst.c || src.h != dst.h || src.w != dst.w) {
    return Status(Code::kInvalidArgument, "cuda reformat: the two views differ in shape");
  }
  if (dst.c_write < dst.c) return Status(Code::kInvalidArgument, "cuda reformat: c_write below c");
  if (src.elem == Elem::kI8 || dst.elem == Elem::kI8) {
    if (src.elem != dst.elem) return no_kernel("reformat", src.elem, dst.elem);
    return reformat_typed<int8_t, int8_t>(src, dst, stream);
  }
  return dispatch_float2("reformat", src.elem, dst.elem, [&](auto tin, auto tout) -> Status {
    return reformat_typed<decltype(tin), decltype(tout)>(src, dst, stream);
  });
}

Status launch_convert(const void* src, Elem src_elem, void* dst, Elem dst_elem, int64_t count, cudaStream_t stream) {
  if (count <= 0) return Status::ok();
  if (src_elem == dst_elem) {
    return TRTN_CUDA_STATUS(cudaMemcpyAsync(dst, src, static_cast<size_t>(count) * elem_bytes(src_elem),
                                            cudaMemcpyDeviceToDevice, stream));
  }
  return dispatch_float2("convert", src_elem, dst_elem, [&](auto tin, auto tout) -> Status {
    using Tin = decltype(tin);
    using Tout = decltype(tout);
    constexpr int V = map_width<Tout>();
    const bool vec = aligned_to(src, pack_align<Tin, V>()) && aligned_to(dst, pack_align<Tout, V>());
    const int64_t chunks = (count + V - 1) / V;
    convert_kernel<Tin, Tout, V><<<grid_for(chunks, kMapThreads), kMapThreads, 0, stream>>>(
        static_cast<const Tin*>(src), static_cast<Tout*>(dst), count, vec);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  });
}

}  // namespace trtn::cuda
