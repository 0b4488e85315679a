// The map engine: y = f(x_0, ..., x_k) element by element over View4s of one [N, C, H, W], in the
// output's memory order, reading inputs through their own strides and writing zeros to the
// output's padding channels [c, c_write). Whole rows (NHWC pixels, NCHW planes, or the whole dense
// tensor) are cut into chunks of V elements, loaded and stored as 16-byte packs when the pointers
// and strides allow; mixed layouts fall back to one element per thread.
// A functor F gives start(x, n, c) for input 0 (n: the image in the whole batch, c: the channel),
// step(acc, x, i) for input i >= 1 and finish(acc); MapFn supplies the defaults. Functors compute
// in float32; the store rounds (float16: nearest even) or saturates (int8).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/elem_io.cuh"
#include "backends/cuda/kernels/index_math.cuh"
#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"

namespace trtn::cuda {

// ---- the map engine -----------------------------------------------------------------------------

/// Defaults for map functors: one input, nothing after the first value.
struct MapFn {
  __device__ __forceinline__ float step(float acc, float /*x*/, int /*i*/) const { return acc; }
  __device__ __forceinline__ float finish(float acc) const { return acc; }
};

/// Quantize (docs/int8.md): x / s as an IEEE float32 division rounds (div_for_int8); the int8 store
/// saturates. Make it with quantize_fn, which rounds the inverse once.
struct QuantizeFn : MapFn {
  float scale, inverse;
  __device__ __forceinline__ float start(float x, int, int) const { return div_for_int8(x, scale, inverse); }
};
inline QuantizeFn quantize_fn(float scale) { return QuantizeFn{{}, scale, 1.0f / scale}; }

/// The identity (a copy, converting the element type).
struct CopyFn : MapFn {
  __device__ __forceinline__ float start(float x, int /*n*/, int /*c*/) const { return x; }
};

/// x * factor: INT8 dequantization (float(q) * s) and requantization (then saturated by the store).
struct ScaleFn : MapFn {
  float factor;
  __device__ __forceinline__ float start(float x, int /*n*/, int /*c*/) const { return x * factor; }
};

template <int kMaxIn>
struct MapArgs {
  View4 out;
  View4 in[kMaxIn];
  int count = 1;  // inputs in use
  int n0 = 0;     // the batch index of image 0 of these views (functors see whole-batch indices)
};

enum class MapMode : int32_t {
  kNhwcRows,   // rows are pixels: c_write channels each; sc == 1 everywhere
  kPlaneRows,  // rows are (image, channel) planes of h * w elements; sw == 1, sh == w everywhere
  kFlat,       // every view dense NCHW of one shape: one row of n * c * h * w elements
  kCoords,     // anything else: one element per thread, inputs read through at()
};

struct MapPlan {
  MapMode mode = MapMode::kCoords;
  bool vec_in = false;   // full chunks of every input load as packs
  bool vec_out = false;  // full chunks of the output store as packs
  uint32_t total = 0;    // work items: chunks, or elements in kCoords
  uint32_t chunks = 1;   // chunks per row
  uint32_t len = 0;      // elements per row
  FastDiv by_chunks;     // item -> row
  FastDiv by_a, by_b;    // kNhwcRows: / w, / h; kPlaneRows: / c_write; kFlat: / (h * w), / c
  Decoder decoder;       // kCoords
};

namespace map_detail {

template <typename Tin, typename Tout, int kMaxIn, typename F>
__device__ __forceinline__ void map_element(const MapArgs<kMaxIn>& a, const MapPlan& p, const F& f, uint32_t t) {
  int n, c, h, w;
  p.decoder.decode(t, n, c, h, w);
  float y = 0.0f;
  if (c < a.out.c) {
    float acc = f.start(to_float(static_cast<const Tin*>(a.in[0].data)[a.in[0].at(n, c, h, w)]), a.n0 + n, c);
#pragma unroll
    for (int i = 1; i < kMaxIn; ++i) {
      if (i < a.count) acc = f.step(acc, to_float(static_cast<const Tin*>(a.in[i].data)[a.in[i].at(n, c, h, w)]), i);
    }
    y = f.finish(acc);
  }
  static_cast<Tout*>(a.out.data)[a.out.at(n, c, h, w)] = from_float<Tout>(y);
}

template <typename Tin, typename Tout, int V, int kMaxIn, typename F>
__device__ __forceinline__ void map_chunk(const MapArgs<kMaxIn>& a, const MapPlan& p, const F& f, uint32_t t) {
  // Where the chunk starts in every view (element offsets), its length, and each element's image
  // and channel.
  int n = 0, c = 0, h = 0, w = 0;
  uint32_t e0;
  if (p.mode == MapMode::kFlat) {
    e0 = t * V;
  } else {
    const uint32_t row = p.by_chunks.div(t);
    e0 = (t - row * p.chunks) * V;
    if (p.mode == MapMode::kNhwcRows) {
      const uint32_t q = p.by_a.div(row);
      w = static_cast<int>(row - q * p.by_a.d);
      n = static_cast<int>(p.by_b.div(q));
      h = static_cast<int>(q - static_cast<uint32_t>(n) * p.by_b.d);
    } else {
      n = static_cast<int>(p.by_a.div(row));
      c = static_cast<int>(row - static_cast<uint32_t>(n) * p.by_a.d);
    }
  }
  const int cnt = static_cast<int>(min(static_cast<uint32_t>(V), p.len - e0));
  auto offset = [&](const View4& v) -> int64_t {
    if (p.mode == MapMode::kFlat) return e0;
    if (p.mode == MapMode::kNhwcRows) return n * v.sn + h * v.sh + w * v.sw + e0;
    return n * v.sn + c * v.sc + e0;
  };
  // Elements of the chunk that exist in a view of `channels` channels (the rest read as 0).
  auto valid = [&](int channels) -> int {
    if (p.mode == MapMode::kNhwcRows) return max(0, min(cnt, channels - static_cast<int>(e0)));
    if (p.mode == MapMode::kPlaneRows) return c < channels ? cnt : 0;
    return cnt;
  };
  int en[V], ec[V];
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (p.mode == MapMode::kFlat) {
      const uint32_t e = min(e0 + k, p.len - 1);
      const uint32_t q = p.by_a.div(e);
      en[k] = static_cast<int>(p.by_b.div(q));
      ec[k] = static_cast<int>(q - static_cast<uint32_t>(en[k]) * p.by_b.d);
    } else {
      en[k] = n;
      ec[k] = p.mode == MapMode::kNhwcRows ? static_cast<int>(e0) + k : c;
    }
  }
  float acc[V];
  {
    float x[V];
    load_chunk<Tin, V>(static_cast<const Tin*>(a.in[0].data) + offset(a.in[0]), valid(a.in[0].c), p.vec_in, x);
#pragma unroll
    // Padding channels (c >= out.c) are stored as 0 below; functors never see them (their
    // per-channel operands have out.c entries).
    for (int k = 0; k < V; ++k) acc[k] = ec[k] < a.out.c ? f.start(x[k], a.n0 + en[k], ec[k]) : 0.0f;
  }
#pragma unroll
  for (int i = 1; i < kMaxIn; ++i) {
    if (i < a.count) {
      float x[V];
      load_chunk<Tin, V>(static_cast<const Tin*>(a.in[i].data) + offset(a.in[i]), valid(a.in[i].c), p.vec_in, x);
#pragma unroll
      for (int k = 0; k < V; ++k) acc[k] = f.step(acc[k], x[k], i);
    }
  }
  float y[V];
#pragma unroll
  for (int k = 0; k < V; ++k) y[k] = ec[k] < a.out.c ? f.finish(acc[k]) : 0.0f;
  store_chunk<Tout, V>(static_cast<Tout*>(a.out.data) + offset(a.out), cnt, p.vec_out, y);
}

template <typename Tin, typename Tout, int V, int kMaxIn, typename F>
__global__ void __launch_bounds__(kMapThreads) map_kernel(const MapArgs<kMaxIn> a, const MapPlan p, const F f) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < p.total; t += stride) {
    if (p.mode == MapMode::kCoords) {
      map_element<Tin, Tout, kMaxIn, F>(a, p, f, t);
    } else {
      map_chunk<Tin, Tout, V, kMaxIn, F>(a, p, f, t);
    }
  }
}

inline bool same_nchw(const View4& a, const View4& b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

template <typename Tin, typename Tout, int kMaxIn>
MapPlan plan_map(const MapArgs<kMaxIn>& a) {
  constexpr int V = map_width<Tout>();
  const View4& o = a.out;
  MapPlan p;
  bool nhwc = o.layout == Layout::kNHWC && o.sc == 1;
  bool planes = o.layout == Layout::kLinear && o.sw == 1 && o.sh == o.w;
  bool flat = planes && o.dense_nchw() && o.c_write == o.c;
  for (int i = 0; i < a.count; ++i) {
    const View4& v = a.in[i];
    nhwc = nhwc && v.layout == Layout::kNHWC && v.sc == 1;
    planes = planes && v.layout == Layout::kLinear && v.sw == 1 && v.sh == v.w;
    flat = flat && v.layout == Layout::kLinear && v.dense_nchw();
  }
  const int64_t hw = static_cast<int64_t>(o.h) * o.w;
  // Chunks start at multiples of V within a row; rows start at these strides' multiples.
  auto packs_ok = [&](const View4& v, int align, auto... strides) {
    return V > 1 && aligned_to(v.data, align) && ((strides(v) % V == 0) && ...);
  };
  auto packs_in = [&](auto... strides) {
    for (int i = 0; i < a.count; ++i) {
      if (!packs_ok(a.in[i], pack_align<Tin, V>(), strides...)) return false;
    }
    return true;
  };
  const auto sn = [](const View4& v) { return v.sn; };
  const auto sc = [](const View4& v) { return v.sc; };
  const auto sh = [](const View4& v) { return v.sh; };
  const auto sw = [](const View4& v) { return v.sw; };
  if (flat) {
    p.mode = MapMode::kFlat;
    p.len = static_cast<uint32_t>(o.n * o.image_volume());
    p.total = (p.len + V - 1) / V;
    p.by_a = FastDiv(static_cast<uint32_t>(hw));
    p.by_b = FastDiv(static_cast<uint32_t>(o.c));
    p.vec_out = packs_ok(o, pack_align<Tout, V>());
    p.vec_in = packs_in();
  } else if (nhwc) {
    p.mode = MapMode::kNhwcRows;
    p.len = static_cast<uint32_t>(o.c_write);
    p.chunks = (p.len + V - 1) / V;
    p.total = static_cast<uint32_t>(static_cast<int64_t>(o.n) * hw * p.chunks);
    p.by_chunks = FastDiv(p.chunks);
    p.by_a = FastDiv(static_cast<uint32_t>(o.w));
    p.by_b = FastDiv(static_cast<uint32_t>(o.h));
    p.vec_out = packs_ok(o, pack_align<Tout, V>(), sn, sh, sw);
    p.vec_in = packs_in(sn, sh, sw);
  } else if (planes) {
    p.mode = MapMode::kPlaneRows;
    p.len = static_cast<uint32_t>(hw);
    p.chunks = (p.len + V - 1) / V;
    p.total = static_cast<uint32_t>(static_cast<int64_t>(o.n) * o.c_write * p.chunks);
    p.by_chunks = FastDiv(p.chunks);
    p.by_a = FastDiv(static_cast<uint32_t>(o.c_write));
    p.vec_out = packs_ok(o, pack_align<Tout, V>(), sn, sc);
    p.vec_in = packs_in(sn, sc);
  } else {
    p.mode = MapMode::kCoords;
    p.total = static_cast<uint32_t>(write_count(o));
    p.decoder = Decoder(o);
  }
  return p;
}

}  // namespace map_detail

/// y = f(x_0, ..., x_{count-1}) over views of one [N, C, H, W] (any layouts and strides), zeros
/// in the output's padding channels. Tin is the storage type of every input.
template <typename Tin, typename Tout, int kMaxIn, typename F>
Status launch_map(const View4* ins, int count, const View4& out, const F& f, cudaStream_t stream) {
  if (count < 1 || count > kMaxIn) return Status(Code::kInternal, "cuda map: bad input count");
  for (int i = 0; i < count; ++i) {
    if (!map_detail::same_nchw(ins[i], out) || ins[i].elem != ElemIO<Tin>::kElem) {
      return Status(Code::kInternal, "cuda map: an input does not match the output's shape or element type");
    }
  }
  if (out.elem != ElemIO<Tout>::kElem || out.c_write < out.c) {
    return Status(Code::kInternal, "cuda map: the output view does not match the kernel");
  }
  const int64_t per_image = static_cast<int64_t>(out.c_write) * out.h * out.w;
  return for_batch_chunks(out.n, per_image, [&](int n0, int nb) -> Status {
    MapArgs<kMaxIn> a;
    a.out = images(out, n0, nb);
    for (int i = 0; i < count; ++i) a.in[i] = images(ins[i], n0, nb);
    a.count = count;
    a.n0 = n0;
    const MapPlan p = map_detail::plan_map<Tin, Tout, kMaxIn>(a);
    if (p.total == 0) return Status::ok();
    map_detail::map_kernel<Tin, Tout, map_width<Tout>(), kMaxIn, F>
        <<<grid_for(p.total, kMapThreads), kMapThreads, 0, stream>>>(a, p, f);
    return TRTN_CUDA_STATUS(cudaGetLastError());
  });
}

/// launch_map of one input.
template <typename Tin, typename Tout, typename F>
Status launch_map1(const View4& in, const View4& out, const F& f, cudaStream_t stream) {
  return launch_map<Tin, Tout, 1, F>(&in, 1, out, f, stream);
}

}  // namespace trtn::cuda
