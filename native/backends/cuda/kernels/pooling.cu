// Pooling on the GPU with Caffe's semantics (core/pooling_params.h): MAX (with the optional argmax
// mask output), AVE and STOCHASTIC (TEST phase) over View4s, float32 or float16; INT8 MAX and AVE
// exactly as docs/int8.md (int8 in; int8 out with the input's scale, or float out dequantized).
//
// Windows are the cpu's (pool_window): the part inside the input is read, AVE divides by the window
// clipped to the padded input, an empty window (unpadded ceil mode) gives -FLT_MAX / -127 (MAX),
// 0 (AVE, STOCHASTIC). Reads within a window go in the cpu's order (rows, then columns), so float
// sums are the cpu's bit for bit (they are plain additions).
//
// NHWC in and out: a thread takes V consecutive channels of one output pixel (16 bytes of output,
// loaded and stored as packs when aligned), so a warp reads contiguous channel runs. Any other
// layout (or a mask output): a thread per output element in the output's memory order.
#include <cfloat>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/pooling_params.h"

namespace trtn::cuda {
namespace {

struct PoolGeom {
  int height, width, out_h, out_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

struct PoolArgs {
  View4 in, out, mask;
  bool has_mask;
  PoolGeom g;
  float scale;           // INT8 with a float output: s_x
  bool chunks_mode;      // NHWC: V channels of one pixel per item
  bool vec_in, vec_out;  // full chunks load / store as packs
  uint32_t total;        // items
  uint32_t chunks;       // chunks per output pixel
  FastDiv by_chunks, by_ow, by_oh;
  Decoder decoder;  // element mode: the output's memory order
};

/// Caffe's window along one axis (core/pooling_params.h pool_window).
__device__ __forceinline__ void window(int o, int stride, int pad, int kernel, int extent, int& begin, int& end,
                                       int& size) {
  const int start = o * stride - pad;
  const int padded_end = min(start + kernel, extent + pad);
  begin = max(start, 0);
  end = min(padded_end, extent);
  size = padded_end - start;
}

/// Byte k of four packed words (16 int8 values), sign-extended.
__device__ __forceinline__ int signed_byte(const uint32_t (&words)[4], int k) {
  return static_cast<int32_t>(words[k / 4] << (24 - 8 * (k % 4))) >> 24;
}

/// INT8 MAX of a whole 16-channel chunk: per-byte signed maxima of packed words (vmax.s8 x 4),
/// already int8 values (an int8 output stores them as they are; saturate would not change them).
/// Starting from -127 gives docs/int8.md's result: quantized values are never below -127, and an
/// empty window gives -127.
__device__ __forceinline__ uint4 max_bytes16(const PoolArgs& a, const int8_t* base, int oh, int ow) {
  const PoolGeom& g = a.g;
  int h0, h1, hsize, w0, w1, wsize;
  window(oh, g.stride_h, g.pad_h, g.kernel_h, g.height, h0, h1, hsize);
  window(ow, g.stride_w, g.pad_w, g.kernel_w, g.width, w0, w1, wsize);
  uint4 best = make_uint4(0x81818181u, 0x81818181u, 0x81818181u, 0x81818181u);
  for (int h = h0; h < h1; ++h) {
#pragma unroll 4
    for (int w = w0; w < w1; ++w) {
      const uint4 x = *reinterpret_cast<const uint4*>(base + h * a.in.sh + w * a.in.sw);
      best.x = __vmaxs4(best.x, x.x);
      best.y = __vmaxs4(best.y, x.y);
      best.z = __vmaxs4(best.z, x.z);
      best.w = __vmaxs4(best.w, x.w);
    }
  }
  return best;
}

/// Pools the window of output (oh, ow) for V lanes of consecutive input elements at `base` (the
/// input at the lanes' first channel); lanes from `valid` on read nothing. r: the values to store
/// (before the output conversion); arg: the MAX mask (input plane index, -1 when none).
template <typename Tin, typename Tout, PoolMethod M, int V, bool kArg>
__device__ __forceinline__ void pool_lanes(const PoolArgs& a, const Tin* base, int oh, int ow, int valid, bool vec,
                                           float (&r)[V], int (&arg)[V]) {
  constexpr bool kInt8 = std::is_same<Tin, int8_t>::value;
  constexpr bool kDequantize = kInt8 && !std::is_same<Tout, int8_t>::value;
  const PoolGeom& g = a.g;
  int h0, h1, hsize, w0, w1, wsize;
  window(oh, g.stride_h, g.pad_h, g.kernel_h, g.height, h0, h1, hsize);
  window(ow, g.stride_w, g.pad_w, g.kernel_w, g.width, w0, w1, wsize);
  const int64_t sh = a.in.sh, sw = a.in.sw;
  if constexpr (M == PoolMethod::kMax && kInt8 && V == 16 && !kArg) {
    if (vec && valid == V) {
      const uint4 best = max_bytes16(a, base, oh, ow);
      const uint32_t words[4] = {best.x, best.y, best.z, best.w};
#pragma unroll
      for (int k = 0; k < V; ++k) r[k] = static_cast<float>(signed_byte(words, k));
      if constexpr (kDequantize) {
#pragma unroll
        for (int k = 0; k < V; ++k) r[k] = r[k] * a.scale;
      }
      return;
    }
  }
  if constexpr (M == PoolMethod::kMax) {
    // Caffe starts from -FLT_MAX and keeps the first strict maximum; INT8 starts from the first
    // element (-127 for an empty window), docs/int8.md.
    float best[V];
#pragma unroll
    for (int k = 0; k < V; ++k) {
      best[k] = kInt8 ? -127.0f : -FLT_MAX;
      if constexpr (kArg) arg[k] = -1;
    }
    bool any = false;
    for (int h = h0; h < h1; ++h) {
      for (int w = w0; w < w1; ++w) {
        float x[V];
        load_chunk<Tin, V>(base + h * sh + w * sw, valid, vec, x);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          if (kInt8 ? (!any || x[k] > best[k]) : x[k] > best[k]) {
            best[k] = x[k];
            if constexpr (kArg) arg[k] = h * g.width + w;
          }
        }
        any = true;
      }
    }
#pragma unroll
    for (int k = 0; k < V; ++k) r[k] = best[k];
  } else if constexpr (M == PoolMethod::kAve) {
    // The divisor is the window clipped to the padded input (padding counts as zeros).
    const float n = static_cast<float>(hsize * wsize);
    const bool nonempty = h0 < h1 && w0 < w1;
    if constexpr (kInt8) {
      // Integer sums straight from the bytes (exact; no conversion instructions).
      int sum[V];
#pragma unroll
      for (int k = 0; k < V; ++k) sum[k] = 0;
      for (int h = h0; h < h1; ++h) {
        for (int w = w0; w < w1; ++w) {
          const Tin* x = base + h * sh + w * sw;
          if (V == 16 && vec && valid == V) {
            const uint4 pk = *reinterpret_cast<const uint4*>(x);
            const uint32_t words[4] = {pk.x, pk.y, pk.z, pk.w};
#pragma unroll
            for (int k = 0; k < V; ++k) sum[k] += signed_byte(words, k);
          } else {
#pragma unroll
            for (int k = 0; k < V; ++k) sum[k] += k < valid ? static_cast<int>(x[k]) : 0;
          }
        }
      }
      // v = float(sum) / float(n), an IEEE division (docs/int8.md).
#pragma unroll
      for (int k = 0; k < V; ++k) r[k] = nonempty ? static_cast<float>(sum[k]) / n : 0.0f;
    } else {
      float sum[V];
#pragma unroll
      for (int k = 0; k < V; ++k) sum[k] = 0.0f;
      for (int h = h0; h < h1; ++h) {
        for (int w = w0; w < w1; ++w) {
          float x[V];
          load_chunk<Tin, V>(base + h * sh + w * sw, valid, vec, x);
#pragma unroll
          for (int k = 0; k < V; ++k) sum[k] += x[k];
        }
      }
#pragma unroll
      for (int k = 0; k < V; ++k) r[k] = nonempty ? sum[k] / n : 0.0f;
    }
  } else {
    // STOCHASTIC, TEST phase: the activations weighted by themselves, sum(x^2) / sum(x).
    float sum[V], sum_sq[V];
#pragma unroll
    for (int k = 0; k < V; ++k) sum[k] = sum_sq[k] = 0.0f;
    for (int h = h0; h < h1; ++h) {
      for (int w = w0; w < w1; ++w) {
        float x[V];
        load_chunk<Tin, V>(base + h * sh + w * sw, valid, vec, x);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          sum[k] += x[k];
          sum_sq[k] = __fadd_rn(sum_sq[k], __fmul_rn(x[k], x[k]));
        }
      }
    }
#pragma unroll
    for (int k = 0; k < V; ++k) r[k] = sum[k] == 0.0f ? 0.0f : sum_sq[k] / sum[k];
  }
  if constexpr (kDequantize) {
    // y = float(q) * s_x (MAX) or v * s_x (AVE).
#pragma unroll
    for (int k = 0; k < V; ++k) r[k] = r[k] * a.scale;
  }
}

template <typename Tin, typename Tout, PoolMethod M, int V>
__device__ __forceinline__ void pool_chunk(const PoolArgs& a, uint32_t t) {
  const uint32_t pixel = a.by_chunks.div(t);
  const int c0 = static_cast<int>((t - pixel * a.chunks) * V);
  const uint32_t q = a.by_ow.div(pixel);
  const int ow = static_cast<int>(pixel - q * a.by_ow.d);
  const int n = static_cast<int>(a.by_oh.div(q));
  const int oh = static_cast<int>(q - static_cast<uint32_t>(n) * a.by_oh.d);
  const int cnt = min(V, a.out.c_write - c0);
  const int valid = max(0, min(cnt, a.out.c - c0));
  if constexpr (M == PoolMethod::kMax && std::is_same_v<Tin, int8_t> && std::is_same_v<Tout, int8_t> && V == 16) {
    if (a.vec_in && a.vec_out && valid == V) {
      *reinterpret_cast<uint4*>(static_cast<int8_t*>(a.out.data) + n * a.out.sn + oh * a.out.sh + ow * a.out.sw + c0) =
          max_bytes16(a, static_cast<const int8_t*>(a.in.data) + n * a.in.sn + c0, oh, ow);
      return;
    }
  }
  float r[V];
  int arg[V];
  pool_lanes<Tin, Tout, M, V, false>(a, static_cast<const Tin*>(a.in.data) + n * a.in.sn + c0, oh, ow, valid, a.vec_in,
                                     r, arg);
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (k >= valid) r[k] = 0.0f;
  }
  Tout* y = static_cast<Tout*>(a.out.data) + n * a.out.sn + oh * a.out.sh + ow * a.out.sw + c0;
  store_chunk<Tout, V>(y, cnt, a.vec_out, r);
}

template <typename Tin, typename Tout, PoolMethod M>
__device__ __forceinline__ void pool_element(const PoolArgs& a, uint32_t t) {
  int n, c, oh, ow;
  a.decoder.decode(t, n, c, oh, ow);
  float r[1] = {0.0f};
  int arg[1] = {-1};
  if (c < a.out.c) {
    const Tin* base = static_cast<const Tin*>(a.in.data) + n * a.in.sn + c * a.in.sc;
    pool_lanes<Tin, Tout, M, 1, true>(a, base, oh, ow, 1, false, r, arg);
    if (a.has_mask) store_any(a.mask.data, a.mask.elem, a.mask.at(n, c, oh, ow), static_cast<float>(arg[0]));
  }
  static_cast<Tout*>(a.out.data)[a.out.at(n, c, oh, ow)] = from_float<Tout>(r[0]);
}

template <typename Tin, typename Tout, PoolMethod M, int V>
__global__ void __launch_bounds__(kMapThreads) pool_kernel(const PoolArgs a) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    if (a.chunks_mode) {
      pool_chunk<Tin, Tout, M, V>(a, t);
    } else {
      pool_element<Tin, Tout, M>(a, t);
    }
  }
}

/// MAX over NHWC views, tactic "rows4": item t = (image, a strip of kRows output rows, output column,
/// V-channel chunk). Each input row the strip's windows cover is reduced over the window's columns
/// once and folded into every output of the strip whose window holds it, so a stride-1 3x3 window
/// loads (kRows + 2) x 3 pixels for kRows outputs instead of kRows x 9. Rows in increasing order,
/// columns likewise, maxima strict: each output keeps the same element as the direct walk (the first
/// of its largest values in row-major order; NaN never wins), int8 from -127 as docs/int8.md says.
constexpr int kRows = 4;

template <typename Tin, typename Tout, int V>
__global__ void __launch_bounds__(kMapThreads) pool_rows_kernel(const PoolArgs a, uint32_t strips, FastDiv by_strips) {
  constexpr bool kInt8 = std::is_same<Tin, int8_t>::value;
  constexpr bool kDequantize = kInt8 && !std::is_same<Tout, int8_t>::value;
  const PoolGeom& g = a.g;
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t pixel = a.by_chunks.div(t);
    const int c0 = static_cast<int>((t - pixel * a.chunks) * V);
    const uint32_t q = a.by_ow.div(pixel);
    const int ow = static_cast<int>(pixel - q * a.by_ow.d);
    const uint32_t n = by_strips.div(q);
    const int oh0 = static_cast<int>(q - n * strips) * kRows;
    const int cnt = min(V, a.out.c_write - c0);
    const int valid = max(0, min(cnt, a.out.c - c0));
    int w0, w1, wsize, first, last, unused;
    window(ow, g.stride_w, g.pad_w, g.kernel_w, g.width, w0, w1, wsize);
    window(oh0, g.stride_h, g.pad_h, g.kernel_h, g.height, first, unused, wsize);
    window(min(oh0 + kRows - 1, g.out_h - 1), g.stride_h, g.pad_h, g.kernel_h, g.height, unused, last, wsize);
    const Tin* base = static_cast<const Tin*>(a.in.data) + static_cast<int64_t>(n) * a.in.sn + c0;
    int h0[kRows], h1[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) window(oh0 + r, g.stride_h, g.pad_h, g.kernel_h, g.height, h0[r], h1[r], wsize);
    if constexpr (kInt8 && !kDequantize && V == 16) {
      // Whole 16-channel chunks: packed byte maxima (__vmaxs4), as pool_chunk's max_bytes16.
      if (a.vec_in && a.vec_out && valid == V) {
        uint4 most[kRows];
#pragma unroll
        for (int r = 0; r < kRows; ++r) most[r] = make_uint4(0x81818181u, 0x81818181u, 0x81818181u, 0x81818181u);
        for (int h = first; h < last; ++h) {
          uint4 row = make_uint4(0x81818181u, 0x81818181u, 0x81818181u, 0x81818181u);
          for (int w = w0; w < w1; ++w) {
            const uint4 x = *reinterpret_cast<const uint4*>(base + h * a.in.sh + w * a.in.sw);
            row = make_uint4(__vmaxs4(row.x, x.x), __vmaxs4(row.y, x.y), __vmaxs4(row.z, x.z), __vmaxs4(row.w, x.w));
          }
#pragma unroll
          for (int r = 0; r < kRows; ++r) {
            if (h < h0[r] || h >= h1[r]) continue;
            most[r] = make_uint4(__vmaxs4(most[r].x, row.x), __vmaxs4(most[r].y, row.y), __vmaxs4(most[r].z, row.z),
                                 __vmaxs4(most[r].w, row.w));
          }
        }
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          if (oh0 + r >= g.out_h) break;
          *reinterpret_cast<uint4*>(static_cast<int8_t*>(a.out.data) + static_cast<int64_t>(n) * a.out.sn +
                                    (oh0 + r) * a.out.sh + ow * a.out.sw + c0) = most[r];
        }
        continue;
      }
    }
    float best[kRows][V];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
      for (int k = 0; k < V; ++k) best[r][k] = kInt8 ? -127.0f : -FLT_MAX;
    }
    for (int h = first; h < last; ++h) {
      float row[V];
#pragma unroll
      for (int k = 0; k < V; ++k) row[k] = kInt8 ? -127.0f : -FLT_MAX;
      for (int w = w0; w < w1; ++w) {
        float x[V];
        load_chunk<Tin, V>(base + h * a.in.sh + w * a.in.sw, valid, a.vec_in, x);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          if (x[k] > row[k]) row[k] = x[k];
        }
      }
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (h < h0[r] || h >= h1[r]) continue;
#pragma unroll
        for (int k = 0; k < V; ++k) {
          if (row[k] > best[r][k]) best[r][k] = row[k];
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int oh = oh0 + r;
      if (oh >= g.out_h) break;
#pragma unroll
      for (int k = 0; k < V; ++k) {
        if (k >= valid) best[r][k] = 0.0f;
        if constexpr (kDequantize) best[r][k] = best[r][k] * a.scale;
      }
      Tout* y =
          static_cast<Tout*>(a.out.data) + static_cast<int64_t>(n) * a.out.sn + oh * a.out.sh + ow * a.out.sw + c0;
      store_chunk<Tout, V>(y, cnt, a.vec_out, best[r]);
    }
  }
}

/// Zeros for the padding channels [c, c_write) of a view (the mask output's, written apart).
__global__ void zero_padding_kernel(const View4 v, uint32_t pad, uint32_t total, const FastDiv by_pad,
                                    const FastDiv by_w, const FastDiv by_h) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
    const uint32_t q = by_pad.div(t);
    const int c = v.c + static_cast<int>(t - q * pad);
    const uint32_t r = by_w.div(q);
    const int w = static_cast<int>(q - r * by_w.d);
    const int n = static_cast<int>(by_h.div(r));
    const int h = static_cast<int>(r - static_cast<uint32_t>(n) * by_h.d);
    store_any(v.data, v.elem, v.at(n, c, h, w), 0.0f);
  }
}

Status zero_padding(const View4& v, cudaStream_t stream) {
  if (v.c_write <= v.c) return Status::ok();
  const uint32_t pad = static_cast<uint32_t>(v.c_write - v.c);
  return for_batch_chunks(v.n, static_cast<int64_t>(pad) * v.h * v.w, [&](int n0, int nb) -> Status {
    const View4 part = images(v, n0, nb);
    const uint32_t total = static_cast<uint32_t>(static_cast<int64_t>(nb) * pad * v.h * v.w);
    zero_padding_kernel<<<grid_for(total, kMapThreads), kMapThreads, 0, stream>>>(
        part, pad, total, FastDiv(pad), FastDiv(static_cast<uint32_t>(v.w)), FastDiv(static_cast<uint32_t>(v.h)));
    return TRTN_CUDA_STATUS(cudaGetLastError());
  });
}

class PoolingOp final : public CudaOp {
 public:
  PoolingOp() = default;
  /// Reads and checks the node (make<PoolingOp>, op.h).
  Status init(const CudaOpInit& init);

  // Tactics: "chunks" (a thread per output chunk), and for MAX over channels-last tensors with
  // overlapping rows of windows (stride < kernel) "rows4" (pool_rows_kernel).
  int tactic_count() const override { return rows_ok_ ? 2 : 1; }
  std::string tactic_name(int i) const override { return i == 1 ? "rows4" : "chunks"; }
  Status set_tactic(int i) override {
    if (i < 0 || i >= tactic_count()) return run_error(name_, "Pooling", "no tactic " + std::to_string(i));
    rows_ = i == 1;
    return Status::ok();
  }
  int tactic() const override { return rows_ ? 1 : 0; }
  std::string signature() const override { return signature_; }

  Status run(const RunArgs& args) const override {
    const View4& x = args.in[0];
    const View4& y = args.out[0];
    if (x.c != p_.channels || x.h != p_.height || x.w != p_.width || y.c != p_.channels || y.h != p_.out_h ||
        y.w != p_.out_w || x.n != y.n) {
      return run_error(name_, "Pooling", "views do not match the node's shapes");
    }
    const View4* mask = p_.mask ? &args.out[1] : nullptr;
    if (p_.int8) {
      if (x.elem != Elem::kI8) return no_kernel(name_, x.elem, y.elem);
      switch (y.elem) {
        case Elem::kI8: return by_method<int8_t, int8_t>(x, y, mask, args.stream);
        case Elem::kF32: return by_method<int8_t, float>(x, y, mask, args.stream);
        case Elem::kF16: return by_method<int8_t, __half>(x, y, mask, args.stream);
      }
      return no_kernel(name_, x.elem, y.elem);
    }
    return dispatch_float2(name_, x.elem, y.elem, [&](auto tin, auto tout) -> Status {
      return by_method<decltype(tin), decltype(tout)>(x, y, mask, args.stream);
    });
  }

 private:
  template <typename Tin, typename Tout>
  Status by_method(const View4& x, const View4& y, const View4* mask, cudaStream_t stream) const {
    switch (p_.method) {
      case PoolMethod::kMax: return launch<Tin, Tout, PoolMethod::kMax>(x, y, mask, stream);
      case PoolMethod::kAve: return launch<Tin, Tout, PoolMethod::kAve>(x, y, mask, stream);
      case PoolMethod::kStochastic:
        if constexpr (std::is_same<Tin, int8_t>::value) {
          return no_kernel(name_ + " (STOCHASTIC)", x.elem, y.elem);
        } else {
          return launch<Tin, Tout, PoolMethod::kStochastic>(x, y, mask, stream);
        }
    }
    return no_kernel(name_, x.elem, y.elem);
  }

  template <typename Tin, typename Tout, PoolMethod M>
  Status launch(const View4& x, const View4& y, const View4* mask, cudaStream_t stream) const {
    constexpr int V = map_width<Tout>();
    PoolArgs a{};
    a.has_mask = mask != nullptr;
    a.g = PoolGeom{static_cast<int>(p_.height),   static_cast<int>(p_.width),    static_cast<int>(p_.out_h),
                   static_cast<int>(p_.out_w),    static_cast<int>(p_.kernel_h), static_cast<int>(p_.kernel_w),
                   static_cast<int>(p_.stride_h), static_cast<int>(p_.stride_w), static_cast<int>(p_.pad_h),
                   static_cast<int>(p_.pad_w)};
    a.scale = p_.scale;
    a.chunks_mode = mask == nullptr && x.layout == Layout::kNHWC && y.layout == Layout::kNHWC && x.sc == 1 && y.sc == 1;
    a.vec_in = a.chunks_mode && V > 1 && packs_fit<Tin, V>(x);
    a.vec_out = a.chunks_mode && V > 1 && packs_fit<Tout, V>(y);
    const int64_t per_image = static_cast<int64_t>(y.c_write) * y.h * y.w;
    Status st = for_batch_chunks(y.n, per_image, [&](int n0, int nb) -> Status {
      a.in = images(x, n0, nb);
      a.out = images(y, n0, nb);
      if (mask != nullptr) a.mask = images(*mask, n0, nb);
      if (a.chunks_mode) {
        a.chunks = static_cast<uint32_t>((y.c_write + V - 1) / V);
        a.total = static_cast<uint32_t>(static_cast<int64_t>(nb) * y.h * y.w * a.chunks);
        a.by_chunks = FastDiv(a.chunks);
        a.by_ow = FastDiv(static_cast<uint32_t>(y.w));
        a.by_oh = FastDiv(static_cast<uint32_t>(y.h));
      } else {
        a.total = static_cast<uint32_t>(write_count(a.out));
        a.decoder = Decoder(a.out);
      }
      if (a.total == 0) return Status::ok();
      if constexpr (M == PoolMethod::kMax) {
        if (rows_ && a.chunks_mode) {
          const uint32_t strips = static_cast<uint32_t>((y.h + kRows - 1) / kRows);
          a.total = static_cast<uint32_t>(static_cast<int64_t>(nb) * strips * y.w * a.chunks);
          pool_rows_kernel<Tin, Tout, V>
              <<<grid_for(a.total, kMapThreads), kMapThreads, 0, stream>>>(a, strips, FastDiv(strips));
          return TRTN_CUDA_STATUS(cudaGetLastError());
        }
      }
      pool_kernel<Tin, Tout, M, V><<<grid_for(a.total, kMapThreads), kMapThreads, 0, stream>>>(a);
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
    if (!st.is_ok() || mask == nullptr) return st;
    return zero_padding(*mask, stream);
  }

  std::string name_;
  PoolingParams p_;
  bool rows_ok_ = false, rows_ = false;
  std::string signature_;
};

Status PoolingOp::init(const CudaOpInit& init) {
  PoolingParams p;
  Status st = read_pooling_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, op_takes_views(init.node.graph, init.node.node))).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = p;
  const Place& in = init.in_place(0);
  const Place& out = init.out_place(0);
  rows_ok_ = p.method == PoolMethod::kMax && !p.mask && p.stride_h < p.kernel_h && in.layout == Layout::kNHWC &&
             out.layout == Layout::kNHWC;
  // What decides the faster tactic, for the timing cache.
  signature_ = "Pooling MAX c" + std::to_string(p.channels) + " in" + std::to_string(p.height) + "x" +
               std::to_string(p.width) + " k" + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
               std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) + " p" + std::to_string(p.pad_h) + "x" +
               std::to_string(p.pad_w) + " " + elem_name(in.elem) + "->" + elem_name(out.elem) + " c_pad" +
               std::to_string(in.root_c) + "/" + std::to_string(out.root_c);
  return Status::ok();
}

}  // namespace

Status make_pooling(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PoolingOp>(init, out); }

}  // namespace trtn::cuda
