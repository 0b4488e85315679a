// Reformatting between two stored forms of one tensor (op.h: launch_reformat, launch_convert): the
// graph's inputs and outputs, Concats that cannot be elided, observation.
//   - same layout: a map with the identity (16-byte packs where pointers and strides allow);
//   - kLinear (NCHW) -> kNHWC with at most 16 padded channels (a network's colour planes): one
//     thread per pixel reads its channels from the planes (coalesced across threads) and stores the
//     padded pixel as one pack;
//   - kLinear (NCHW) <-> kNHWC: a tiled transpose through shared memory (32 pixels x 32 channels per
//     block), so that both the reads and the writes are coalesced;
//   - anything else: one element per thread through the views' strides.
// Element types: float32 <-> float16 (round to nearest even), or the same type on both sides
// (int8 included). Destination padding channels [c, c_write) get zeros. launch_quantize is the same
// walk with docs/int8.md's Quantize on each value (float in, int8 out).
#include <cuda_runtime.h>

#include <algorithm>

#include "backends/cuda/kernels/map.cuh"

namespace trtn::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;

/// Pixels a thread of planes_to_pixels_kernel keeps in flight: a network input's 3 planes are
/// 3 loads of 4 bytes per pixel, too few to cover the memory latency one pixel at a time.
constexpr int kPixelsInFlight = 4;

/// `src` (kLinear, contiguous planes) into `dst` (kNHWC, sc == 1, c_write == CW): a thread takes
/// pixels t, t + stride, ... (kPixelsInFlight of them; consecutive threads, consecutive pixels).
/// All their loads are issued first, with no branch between them (a pixel past the end reads the
/// last one again and stores nothing), so they are in flight together; then the conversion and
/// each pixel's CW channels stored as one pack.
template <typename Tin, typename Tout, int CW, typename F>
__global__ void __launch_bounds__(kMapThreads)
    planes_to_pixels_kernel(const View4 src, const View4 dst, uint32_t hw, uint32_t total, const FastDiv by_hw,
                            const FastDiv by_w, bool vec, const F f) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t0 = blockIdx.x * blockDim.x + threadIdx.x; t0 < total; t0 += kPixelsInFlight * stride) {
    Tin raw[kPixelsInFlight][CW];
#pragma unroll
    for (int k = 0; k < kPixelsInFlight; ++k) {
      const uint32_t t = min(t0 + k * stride, total - 1);
      const uint32_t n = by_hw.div(t);
      const Tin* x = static_cast<const Tin*>(src.data) + n * src.sn + (t - n * hw);
#pragma unroll
      for (int c = 0; c < CW; ++c) raw[k][c] = c < src.c ? x[c * src.sc] : Tin{};
    }
#pragma unroll
    for (int k = 0; k < kPixelsInFlight; ++k) {
      const uint32_t t = t0 + k * stride;
      if (t >= total) break;
      float v[CW];
#pragma unroll
      for (int c = 0; c < CW; ++c) v[c] = c < src.c ? f.start(to_float(raw[k][c]), 0, c) : 0.0f;
      const uint32_t n = by_hw.div(t);
      const uint32_t p = t - n * hw;
      const uint32_t h = by_w.div(p);
      const uint32_t w = p - h * by_w.d;
      store_chunk<Tout, CW>(static_cast<Tout*>(dst.data) + n * dst.sn + h * dst.sh + w * dst.sw, CW, vec, v);
    }
  }
}

/// View `src` (kLinear with contiguous planes) into `dst` (kNHWC, sc == 1). Block (pixel tile,
/// channel tile, image).
template <typename Tin, typename Tout, typename F>
__global__ void __launch_bounds__(kTile* kTileRows)
    nchw_to_nhwc_kernel(const View4 src, const View4 dst, uint32_t hw, const FastDiv by_w, const F f) {
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
    if (c < src.c && p < hw)
      v = f.start(to_float(static_cast<const Tin*>(src.data)[n * src.sn + c * src.sc + p]), 0, c);
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
template <typename Tin, typename Tout, typename F>
__global__ void __launch_bounds__(kTile* kTileRows)
    nhwc_to_nchw_kernel(const View4 src, const View4 dst, uint32_t hw, const FastDiv by_w, const F f) {
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
      v = f.start(to_float(static_cast<const Tin*>(src.data)[n * src.sn + h * src.sh + w * src.sw + c]), 0, c);
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

template <typename Tin, typename Tout, int CW, typename F>
Status planes_to_pixels(const View4& src, const View4& dst, const F& f, cudaStream_t stream) {
  const int64_t hw = static_cast<int64_t>(dst.h) * dst.w;
  const int64_t per_launch = (kMaxLaunchItems - 1) / hw;
  for (int n0 = 0; n0 < dst.n; n0 += static_cast<int>(per_launch)) {
    const int nb = static_cast<int>(std::min<int64_t>(per_launch, dst.n - n0));
    const View4 s = images(src, n0, nb), d = images(dst, n0, nb);
    const uint32_t total = static_cast<uint32_t>(hw * nb);
    const bool vec = packs_fit<Tout, CW>(d);
    const int64_t threads = (total + kPixelsInFlight - 1) / kPixelsInFlight;
    planes_to_pixels_kernel<Tin, Tout, CW, F><<<grid_for(threads, kMapThreads), kMapThreads, 0, stream>>>(
        s, d, static_cast<uint32_t>(hw), total, FastDiv(static_cast<uint32_t>(hw)), FastDiv(static_cast<uint32_t>(d.w)),
        vec, f);
    Status st = TRTN_CUDA_STATUS(cudaGetLastError());
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

template <typename Tin, typename Tout, typename F>
Status reformat_typed(const View4& src, const View4& dst, const F& f, cudaStream_t stream) {
  const int64_t hw = static_cast<int64_t>(dst.h) * dst.w;
  const bool to_nhwc = contiguous_planes(src) && channels_last(dst);
  const bool to_nchw = channels_last(src) && contiguous_planes(dst);
  if (to_nhwc && hw < kMaxLaunchItems && dst.c_write <= 16) {
    switch (dst.c_write) {
      case 4: return planes_to_pixels<Tin, Tout, 4>(src, dst, f, stream);
      case 8: return planes_to_pixels<Tin, Tout, 8>(src, dst, f, stream);
      case 16: return planes_to_pixels<Tin, Tout, 16>(src, dst, f, stream);
      default: break;
    }
  }
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
        nchw_to_nhwc_kernel<Tin, Tout, F><<<grid, block, 0, stream>>>(s, d, static_cast<uint32_t>(hw), by_w, f);
      } else {
        nhwc_to_nchw_kernel<Tin, Tout, F><<<grid, block, 0, stream>>>(s, d, static_cast<uint32_t>(hw), by_w, f);
      }
      Status st = TRTN_CUDA_STATUS(cudaGetLastError());
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }
  return launch_map1<Tin, Tout>(src, dst, f, stream);
}

Status check_shapes(const View4& src, const View4& dst) {
  if (src.n != dst.n || src.c != dst.c || src.h != dst.h || src.w != dst.w) {
    return Status(Code::kInvalidArgument, "cuda reformat: the two views differ in shape");
  }
  if (dst.c_write < dst.c) return Status(Code::kInvalidArgument, "cuda reformat: c_write below c");
  return Status::ok();
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
    load_chunk<Tin, V>(src + e0, cnt, vec, x);
    store_chunk<Tout, V>(dst + e0, cnt, vec, x);
  }
}

}  // namespace

Status launch_reformat(const View4& src, const View4& dst, cudaStream_t stream) {
  if (Status st = check_shapes(src, dst); !st.is_ok()) return st;
  if (src.elem == Elem::kI8 || dst.elem == Elem::kI8) {
    if (src.elem != dst.elem) return no_kernel("reformat", src.elem, dst.elem);
    return reformat_typed<int8_t, int8_t>(src, dst, CopyFn{}, stream);
  }
  return dispatch_float2("reformat", src.elem, dst.elem, [&](auto tin, auto tout) -> Status {
    return reformat_typed<decltype(tin), decltype(tout)>(src, dst, CopyFn{}, stream);
  });
}

Status launch_quantize(const View4& src, const View4& dst, float scale, cudaStream_t stream) {
  if (Status st = check_shapes(src, dst); !st.is_ok()) return st;
  const QuantizeFn f = quantize_fn(scale);
  if (dst.elem != Elem::kI8) return no_kernel("quantize", src.elem, dst.elem);
  if (src.elem == Elem::kF32) return reformat_typed<float, int8_t>(src, dst, f, stream);
  if (src.elem == Elem::kF16) return reformat_typed<__half, int8_t>(src, dst, f, stream);
  return no_kernel("quantize", src.elem, dst.elem);
}

Status launch_convert(const void* src, Elem src_elem, void* dst, Elem dst_elem, int64_t count, cudaStream_t stream) {
  if (count <= 0) return Status::ok();
  if (src_elem == dst_elem) {
    return TRTN_CUDA_STATUS(
        cudaMemcpyAsync(dst, src, static_cast<size_t>(count) * elem_bytes(src_elem), cudaMemcpyDeviceToDevice, stream));
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
