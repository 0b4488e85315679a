// What the kernels of the non-GEMM ops share: typed element conversion (docs/engine.md's fp16
// rounding, docs/int8.md's saturation), 16-byte vector packs, 32-bit index arithmetic with
// precomputed divisions, batch chunking (so that every launch indexes below 2^31), host helpers for
// views and places, and two copy engines:
//   - launch_map: y = f(x_0, ..., x_k) element by element over View4s of one [N, C, H, W], in the
//     output's memory order, reading inputs through their own strides and writing zeros to the
//     output's padding channels [c, c_write). Whole rows (NHWC pixels, NCHW planes, or the whole
//     dense tensor) are cut into chunks of V elements, loaded and stored as 16-byte packs when the
//     pointers and strides allow; mixed layouts fall back to one element per thread.
//   - launch_copy2d: y[row * dst_stride + dst_off + j] = f(x[(row / rep) * src_stride + src_off + j])
//     over kLinear buffers (Slice, Tile, Concat off the channel axis).
// A functor F gives start(x, n, c) for input 0 (n: the image in the whole batch, c: the channel),
// step(acc, x, i) for input i >= 1 and finish(acc); MapFn supplies the defaults. Functors compute
// in float32; the store rounds (float16: nearest even) or saturates (int8).
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/op.h"

namespace trtn::cuda {

// ---- element conversion ---------------------------------------------------------------------------

template <typename T> struct ElemIO;
template <> struct ElemIO<float> {
  static constexpr Elem kElem = Elem::kF32;
  __device__ __forceinline__ static float load(float v) { return v; }
  __device__ __forceinline__ static float store(float v) { return v; }
};
template <> struct ElemIO<__half> {
  static constexpr Elem kElem = Elem::kF16;
  __device__ __forceinline__ static float load(__half v) { return __half2float(v); }
  /// Round to nearest even (cvt.rn.f16.f32): the fp16 rule of docs/engine.md.
  __device__ __forceinline__ static __half store(float v) { return __float2half_rn(v); }
};
template <> struct ElemIO<int8_t> {
  static constexpr Elem kElem = Elem::kI8;
  /// float(q): exact for every int8.
  __device__ __forceinline__ static float load(int8_t v) { return static_cast<float>(static_cast<int>(v)); }
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

// ---- vector packs -------------------------------------------------------------------------------

/// Alignment a pack of V elements of T is accessed with: its size, at most 16 bytes.
template <typename T, int V>
constexpr int pack_align() {
  return static_cast<int>(sizeof(T)) * V >= 16 ? 16 : static_cast<int>(sizeof(T)) * V;
}

/// V elements of T loaded or stored together (one to four 16-byte accesses).
template <typename T, int V>
struct alignas(pack_align<T, V>()) Pack {
  T v[V];
};

/// Elements per chunk of a map writing Tout: 16 bytes of output.
template <typename Tout>
constexpr int map_width() {
  return 16 / static_cast<int>(sizeof(Tout));
}

inline bool aligned_to(const void* p, int bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---- 32-bit division by a constant ------------------------------------------------------------

/// Division of n < 2^31 by a divisor fixed on the host, as a multiply-high and a shift
/// (Granlund-Montgomery, the form CUTLASS's FastDivmod uses).
struct FastDiv {
  uint32_t d = 1, mul = 0, shift = 0;

  FastDiv() = default;
  explicit FastDiv(uint32_t divisor) : d(divisor) {
    if (divisor > 1) {
      uint32_t p = 0;  // ceil(log2(divisor))
      while ((uint64_t{1} << p) < divisor) ++p;
      mul = static_cast<uint32_t>(((uint64_t{1} << (31 + p)) + divisor - 1) / divisor);
      shift = p - 1;
    }
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const { return d == 1 ? n : __umulhi(n, mul) >> shift; }
};

/// Largest index a launch iterates over (exclusive): kernels index with 32-bit arithmetic.
constexpr int64_t kMaxLaunchItems = int64_t{1} << 31;

/// Coordinates of the i-th element (i < 2^31) of a view in its memory order (kNHWC: channel
/// fastest; kLinear: width fastest), channels counted to c_write.
struct Decoder {
  Layout layout = Layout::kLinear;
  FastDiv by_w, by_h, by_c;

  Decoder() = default;
  explicit Decoder(const View4& v)
      : layout(v.layout), by_w(static_cast<uint32_t>(v.w)), by_h(static_cast<uint32_t>(v.h)),
        by_c(static_cast<uint32_t>(v.c_write)) {}

  __device__ __forceinline__ void decode(uint32_t i, int& n, int& c, int& h, int& w) const {
    if (layout == Layout::kNHWC) {
      uint32_t q = by_c.div(i);
      c = static_cast<int>(i - q * by_c.d);
      uint32_t r = by_w.div(q);
      w = static_cast<int>(q - r * by_w.d);
      q = by_h.div(r);
      h = static_cast<int>(r - q * by_h.d);
      n = static_cast<int>(q);
    } else {
      uint32_t q = by_w.div(i);
      w = static_cast<int>(i - q * by_w.d);
      uint32_t r = by_h.div(q);
      h = static_cast<int>(q - r * by_h.d);
      q = by_c.div(r);
      c = static_cast<int>(r - q * by_c.d);
      n = static_cast<int>(q);
    }
  }
};

// ---- reductions ---------------------------------------------------------------------------------

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

// ---- host helpers -----------------------------------------------------------------------------------

inline const char* elem_name(Elem e) {
  return e == Elem::kF32 ? "float32" : e == Elem::kF16 ? "float16" : e == Elem::kI8 ? "int8" : "uint8";
}
inline bool is_float_elem(Elem e) { return e == Elem::kF32 || e == Elem::kF16; }

/// A dense kLinear view of `batch` images of per-image dims `dims` at `data`: rank <= 3 maps to
/// [C, H, W] (missing dims 1), a larger rank to [dims[0], the product of the rest, 1].
inline View4 dense_view(void* data, Elem elem, int batch, const std::vector<int64_t>& dims, float scale = 0.0f) {
  int64_t c = 1, h = 1, w = 1;
  if (dims.size() >= 1) c = dims[0];
  if (dims.size() == 2) h = dims[1];
  if (dims.size() == 3) {
    h = dims[1];
    w = dims[2];
  }
  if (dims.size() > 3) {
    for (size_t i = 1; i < dims.size(); ++i) h *= dims[i];
  }
  View4 v;
  v.data = data;
  v.elem = elem;
  v.layout = Layout::kLinear;
  v.n = batch;
  v.c = static_cast<int32_t>(c);
  v.h = static_cast<int32_t>(h);
  v.w = static_cast<int32_t>(w);
  v.c_write = v.c;
  v.sw = 1;
  v.sh = w;
  v.sc = h * w;
  v.sn = c * h * w;
  v.scale = scale;
  return v;
}

/// The dense view of tensor `t` at the data, element type, batch and scale of `given`.
inline View4 dense_like(const View4& given, const TensorDesc& t) {
  return dense_view(given.data, given.elem, given.n, t.dims, given.scale);
}

/// Images [n0, n0 + count) of a view.
inline View4 images(const View4& v, int n0, int count) {
  View4 r = v;
  r.data = static_cast<char*>(v.data) + static_cast<int64_t>(n0) * v.sn * elem_bytes(v.elem);
  r.n = count;
  return r;
}

/// Calls fn(n0, count) over consecutive chunks of [0, batch) such that count * per_image stays
/// below 2^31 (the kernels' 32-bit index range); stops at the first error.
template <typename Fn>
Status for_batch_chunks(int batch, int64_t per_image, Fn fn) {
  if (batch <= 0 || per_image <= 0) return Status::ok();
  if (per_image >= kMaxLaunchItems) {
    return Status(Code::kInvalidArgument, "cuda backend: a tensor of " + std::to_string(per_image) +
                                              " elements per image is beyond the kernels' 2^31 index range");
  }
  const int64_t step = (kMaxLaunchItems - 1) / per_image;
  for (int64_t n0 = 0; n0 < batch; n0 += step) {
    const int count = static_cast<int>(std::min<int64_t>(step, batch - n0));
    Status st = fn(static_cast<int>(n0), count);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

/// Checks the places the engine chose for a node's tensors: int8 graph tensors stored as int8,
/// uint8 ones as uint8, float32 ones as float32 or float16; for ops without views, whole dense
/// kLinear tensors.
inline Status check_places(const CudaOpInit& init, bool takes_views) {
  auto check = [&](int t, const Place& p) -> Status {
    const TensorDesc& d = init.node.graph.tensors[t];
    const bool ok = d.dtype == DType::kInt8    ? p.elem == Elem::kI8
                    : d.dtype == DType::kUInt8 ? p.elem == Elem::kU8
                                               : is_float_elem(p.elem);
    if (!ok) {
      return init.node.error("tensor '" + d.name + "' is " + dtype_name(d.dtype) + " in the graph but stored as " +
                             elem_name(p.elem));
    }
    if (!takes_views && (p.layout != Layout::kLinear || p.c_offset != 0 || p.root_c != p.c)) {
      return Status(Code::kInternal, "cuda backend, node '" + init.node.node.name + "' (" + init.node.node.op +
                                         "): needs tensor '" + d.name + "' as a whole kLinear tensor");
    }
    if (volume_of(d.dims) >= kMaxLaunchItems) {
      return init.node.error("tensor '" + d.name + "' has more than 2^31 elements per image");
    }
    return Status::ok();
  };
  for (size_t i = 0; i < init.node.node.inputs.size(); ++i) {
    Status st = check(init.node.node.inputs[i], init.in_place(i));
    if (!st.is_ok()) return st;
  }
  for (size_t i = 0; i < init.node.node.outputs.size(); ++i) {
    Status st = check(init.node.node.outputs[i], init.out_place(i));
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

/// "cuda backend, node '<name>' (<op>): <what>" as kInternal: a run with views the op cannot take.
inline Status run_error(const std::string& node, const std::string& op, const std::string& what) {
  return Status(Code::kInternal, "cuda backend, node '" + node + "' (" + op + "): " + what);
}

/// kInternal: no kernel for these element types.
inline Status no_kernel(const std::string& what, Elem in, Elem out) {
  return Status(Code::kInternal, "cuda backend: " + what + " has no kernel for " + elem_name(in) + " -> " + elem_name(out));
}

/// Returns fn(Tin{}, Tout{}) for the storage types of two float elements (float32 or float16).
template <typename Fn>
Status dispatch_float2(const std::string& what, Elem in, Elem out, Fn fn) {
  if (in == Elem::kF32 && out == Elem::kF32) return fn(float{}, float{});
  if (in == Elem::kF32 && out == Elem::kF16) return fn(float{}, __half{});
  if (in == Elem::kF16 && out == Elem::kF32) return fn(__half{}, float{});
  if (in == Elem::kF16 && out == Elem::kF16) return fn(__half{}, __half{});
  return no_kernel(what, in, out);
}

/// Returns fn(T{}) for the storage type of any element.
template <typename Fn>
Status dispatch_any1(Elem e, Fn fn) {
  if (e == Elem::kF32) return fn(float{});
  if (e == Elem::kF16) return fn(__half{});
  return fn(int8_t{});
}

// ---- the map engine -----------------------------------------------------------------------------

constexpr int kMapThreads = 256;

/// Defaults for map functors: one input, nothing after the first value.
struct MapFn {
  __device__ __forceinline__ float step(float acc, float /*x*/, int /*i*/) const { return acc; }
  __device__ __forceinline__ float finish(float acc) const { return acc; }
};

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
  uint32_t total = 0;   // work items: chunks, or elements in kCoords
  uint32_t chunks = 1;  // chunks per row
  uint32_t len = 0;     // elements per row
  FastDiv by_chunks;    // item -> row
  FastDiv by_a, by_b;   // kNhwcRows: / w, / h; kPlaneRows: / c_write; kFlat: / (h * w), / c
  Decoder decoder;      // kCoords
};

namespace map_detail {

/// Loads elements [0, valid) of a chunk as floats (zeros after), as one pack when it can.
template <typename T, int V>
__device__ __forceinline__ void load_chunk(const T* p, int valid, bool vec, float (&x)[V]) {
  if (vec && valid >= V) {
    const Pack<T, V> pk = *reinterpret_cast<const Pack<T, V>*>(p);
#pragma unroll
    for (int k = 0; k < V; ++k) x[k] = to_float(pk.v[k]);
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) x[k] = k < valid ? to_float(p[k]) : 0.0f;
  }
}

/// Stores elements [0, cnt) of a chunk.
template <typename T, int V>
__device__ __forceinline__ void store_chunk(T* p, int cnt, bool vec, const float (&y)[V]) {
  if (vec && cnt == V) {
    Pack<T, V> pk;
#pragma unroll
    for (int k = 0; k < V; ++k) pk.v[k] = from_float<T>(y[k]);
    *reinterpret_cast<Pack<T, V>*>(p) = pk;
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      if (k < cnt) p[k] = from_float<T>(y[k]);
    }
  }
}

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

// ---- 2-D copies over kLinear buffers -----------------------------------------------------------------

/// rows of len elements: destination row r at dst_off + r * dst_stride takes source row r / rep at
/// src_off + (r / rep) * src_stride (element offsets).
struct Copy2d {
  int64_t rows = 0, len = 0;
  int64_t src_stride = 0, src_off = 0;
  int64_t dst_stride = 0, dst_off = 0;
  int64_t rep = 1;
};

namespace map_detail {

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

}  // namespace map_detail

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
    map_detail::Copy2dPlan p;
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
    map_detail::copy2d_kernel<Tin, Tout, V, F><<<grid_for(p.total, kMapThreads), kMapThreads, 0, stream>>>(s, d, p, f);
    Status st = TRTN_CUDA_STATUS(cudaGetLastError());
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace trtn::cuda
