// An LRN across channels and a MAX pooling, one the only reader of the other's output, as one
// kernel (the planner's fusion, fusion.h): the first one's input is read once and only the second
// one's output is written, instead of the tensor between them written, read back and processed.
//
// LRN -> pooling: a block takes one image, a tile of pooled outputs and a chunk of channels. It
// computes the LRN of every input pixel its windows cover (the tile's region: (tile - 1) x stride +
// kernel pixels a side, clipped to the input) with lrn.cuh's lrn_group, stores each value in shared
// memory exactly as the LRN's output would hold it (int8 saturated, float16 rounded, float32), then
// pools those values as pooling.cu does (Caffe's windows; MAX from -FLT_MAX keeping strict maxima,
// int8 from -127) and stores the pooled chunk. Only the pixels on a region's border are computed
// twice (by the two tiles sharing them: about 1 / tile of the LRN's work for stride 2).
//
// Pooling -> LRN: a block takes one image and a tile of pooled pixels with all their channels: it
// pools every channel of the tile into shared memory (stored as the pooling's output would hold
// it), then runs lrn_group on those pixels, the channel windows read from shared memory.
//
// Either way a fused run stores what the two ops store one after the other, bit for bit.
#include <algorithm>
#include <cfloat>
#include <memory>
#include <string>
#include <type_traits>

#include "backends/cuda/fusion.h"
#include "backends/cuda/kernels/lrn.cuh"
#include "core/lrn_params.h"
#include "core/pooling_params.h"

namespace trtn::cuda {
namespace {

static_assert(kFusedMaxHalf <= kLrnMaxHalf, "the fused LRN is lrn.cuh's pixel kernel");

constexpr int kThreads = 256;
/// A block's shared memory (static: 12 KiB per byte of the stored type, so a float32 block takes
/// the 48 KiB a block may use without opting in, and int8 blocks leave room for more per SM).
template <typename Tmid>
constexpr int shared_bytes() {
  return 12 * 1024 * static_cast<int>(sizeof(Tmid));
}

/// The pooling's geometry and a block's tile of pooled outputs.
struct Tiles {
  int height, width;  // the pooling's input extent
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int out_h, out_w;    // pooled extent
  int tile_h, tile_w;  // pooled outputs a block takes
  int tiles_w, tiles;  // tiles per output row, per image
};

struct LrnPoolArgs {
  LrnArgs lrn;  // lrn.in: the LRN's input
  View4 out;    // the pooling's output
  Tiles t;
  int region_w;       // LRN pixels a region row holds: (tile_w - 1) x stride_w + kernel_w
  int chunk, chunks;  // channels a block takes (a multiple of kLrnLanes), chunks over c_write
  bool vec_in, vec_out;
};

struct PoolLrnArgs {
  View4 in;     // the pooling's input
  LrnArgs lrn;  // lrn.out: the LRN's output; lrn.in.c: the channels (the input itself is in shared memory)
  Tiles t;
  int cpad;  // channels a pixel holds in shared memory: the channels rounded up to kLrnLanes
  bool vec_in, vec_out;
};

/// Caffe's pooling window along one axis (pooling.cu's `window`): [begin, end) inside the input.
__device__ __forceinline__ void span(int o, int stride, int pad, int kernel, int extent, int& begin, int& end) {
  const int start = o * stride - pad;
  begin = max(start, 0);
  end = min(min(start + kernel, extent + pad), extent);
}

/// The first pooled output of block `tile` and how many of each axis it takes.
__device__ __forceinline__ void tile_of(const Tiles& t, int tile, int& oh0, int& ow0, int& oh_n, int& ow_n) {
  oh0 = tile / t.tiles_w * t.tile_h;
  ow0 = tile % t.tiles_w * t.tile_w;
  oh_n = min(t.tile_h, t.out_h - oh0);
  ow_n = min(t.tile_w, t.out_w - ow0);
}

/// MAX over the window of pooled output (oh, ow) of kLrnLanes values a pixel at pixel(h, w) (the
/// pooling's semantics: float from -FLT_MAX keeping strict maxima, int8 from -127).
template <bool kInt8, typename PixelFn>
__device__ __forceinline__ void window_max(const Tiles& t, int oh, int ow, PixelFn pixel, float (&best)[kLrnLanes]) {
  int h0, h1, w0, w1;
  span(oh, t.stride_h, t.pad_h, t.kernel_h, t.height, h0, h1);
  span(ow, t.stride_w, t.pad_w, t.kernel_w, t.width, w0, w1);
#pragma unroll
  for (int l = 0; l < kLrnLanes; ++l) best[l] = kInt8 ? -127.0f : -FLT_MAX;
  for (int h = h0; h < h1; ++h) {
    for (int w = w0; w < w1; ++w) {
      float v[kLrnLanes];
      pixel(h, w, v);
#pragma unroll
      for (int l = 0; l < kLrnLanes; ++l) {
        if (v[l] > best[l]) best[l] = v[l];
      }
    }
  }
}

template <typename Tin, typename Tmid, int HALF>
__global__ void __launch_bounds__(kThreads) lrn_pool_kernel(const LrnPoolArgs a) {
  __shared__ __align__(16) unsigned char shared_raw[shared_bytes<Tmid>()];
  Tmid* mid = reinterpret_cast<Tmid*>(shared_raw);
  const int tile = static_cast<int>(blockIdx.x) / a.chunks;
  const int c_base = (static_cast<int>(blockIdx.x) - tile * a.chunks) * a.chunk;
  int oh0, ow0, oh_n, ow_n;
  tile_of(a.t, tile, oh0, ow0, oh_n, ow_n);
  // The region's first pixel (possibly in the padding) and extent.
  const int ih0 = oh0 * a.t.stride_h - a.t.pad_h, iw0 = ow0 * a.t.stride_w - a.t.pad_w;
  const int rh = (oh_n - 1) * a.t.stride_h + a.t.kernel_h, rw = (ow_n - 1) * a.t.stride_w + a.t.kernel_w;
  const int groups = (min(a.chunk, a.out.c_write - c_base) + kLrnLanes - 1) / kLrnLanes;
  for (int n = static_cast<int>(blockIdx.y); n < a.out.n; n += static_cast<int>(gridDim.y)) {
    const Tin* x = static_cast<const Tin*>(a.lrn.in.data) + static_cast<int64_t>(n) * a.lrn.in.sn;
    for (int i = static_cast<int>(threadIdx.x); i < rh * rw * groups; i += kThreads) {
      const int px = i / groups, g = i - px * groups;
      const int r = px / rw, q = px - r * rw;
      const int h = ih0 + r, w = iw0 + q;
      if (h < 0 || h >= a.t.height || w < 0 || w >= a.t.width) continue;  // no window reads it
      float y[kLrnLanes];
      lrn_group<Tin, Tmid, HALF>(a.lrn, x + h * a.lrn.in.sh + w * a.lrn.in.sw, c_base + g * kLrnLanes, a.vec_in, y);
      Pack<Tmid, kLrnLanes> pk;
#pragma unroll
      for (int l = 0; l < kLrnLanes; ++l) pk.v[l] = from_float<Tmid>(y[l]);
      *reinterpret_cast<Pack<Tmid, kLrnLanes>*>(mid + (r * a.region_w + q) * a.chunk + g * kLrnLanes) = pk;
    }
    __syncthreads();
    Tmid* out = static_cast<Tmid*>(a.out.data) + static_cast<int64_t>(n) * a.out.sn;
    for (int i = static_cast<int>(threadIdx.x); i < oh_n * ow_n * groups; i += kThreads) {
      const int o = i / groups, g = i - o * groups;
      const int oh = oh0 + o / ow_n, ow = ow0 + o % ow_n;
      float best[kLrnLanes];
      window_max<std::is_same_v<Tmid, int8_t>>(
          a.t, oh, ow,
          [&](int h, int w, float(&v)[kLrnLanes]) {
            const Pack<Tmid, kLrnLanes> pk = *reinterpret_cast<const Pack<Tmid, kLrnLanes>*>(
                mid + ((h - ih0) * a.region_w + (w - iw0)) * a.chunk + g * kLrnLanes);
#pragma unroll
            for (int l = 0; l < kLrnLanes; ++l) v[l] = to_float(pk.v[l]);
          },
          best);
      const int c0 = c_base + g * kLrnLanes;
#pragma unroll
      for (int l = 0; l < kLrnLanes; ++l) {
        if (c0 + l >= a.out.c) best[l] = 0.0f;  // padding channels hold zeros
      }
      store_chunk<Tmid, kLrnLanes>(out + oh * a.out.sh + ow * a.out.sw + c0, min(kLrnLanes, a.out.c_write - c0),
                                   a.vec_out, best);
    }
    __syncthreads();
  }
}

template <typename Tmid, typename Tout, int HALF>
__global__ void __launch_bounds__(kThreads) pool_lrn_kernel(const PoolLrnArgs a) {
  __shared__ __align__(16) unsigned char shared_raw[shared_bytes<Tmid>()];
  Tmid* mid = reinterpret_cast<Tmid*>(shared_raw);
  const int channels = a.lrn.in.c;
  int oh0, ow0, oh_n, ow_n;
  tile_of(a.t, static_cast<int>(blockIdx.x), oh0, ow0, oh_n, ow_n);
  const int groups_in = a.cpad / kLrnLanes;
  const int groups_out = (a.lrn.out.c_write + kLrnLanes - 1) / kLrnLanes;
  for (int n = static_cast<int>(blockIdx.y); n < a.lrn.out.n; n += static_cast<int>(gridDim.y)) {
    const Tmid* x = static_cast<const Tmid*>(a.in.data) + static_cast<int64_t>(n) * a.in.sn;
    for (int i = static_cast<int>(threadIdx.x); i < oh_n * ow_n * groups_in; i += kThreads) {
      const int px = i / groups_in, g = i - px * groups_in;
      const int c0 = g * kLrnLanes, valid = min(kLrnLanes, channels - c0);
      float best[kLrnLanes];
      window_max<std::is_same_v<Tmid, int8_t>>(
          a.t, oh0 + px / ow_n, ow0 + px % ow_n,
          [&](int h, int w, float(&v)[kLrnLanes]) {
            load_chunk<Tmid, kLrnLanes>(x + h * a.in.sh + w * a.in.sw + c0, valid, a.vec_in, v);
          },
          best);
      Pack<Tmid, kLrnLanes> pk;
#pragma unroll
      for (int l = 0; l < kLrnLanes; ++l) pk.v[l] = from_float<Tmid>(l < valid ? best[l] : 0.0f);
      *reinterpret_cast<Pack<Tmid, kLrnLanes>*>(mid + px * a.cpad + c0) = pk;
    }
    __syncthreads();
    Tout* out = static_cast<Tout*>(a.lrn.out.data) + static_cast<int64_t>(n) * a.lrn.out.sn;
    for (int i = static_cast<int>(threadIdx.x); i < oh_n * ow_n * groups_out; i += kThreads) {
      const int px = i / groups_out, g = i - px * groups_out;
      const int oh = oh0 + px / ow_n, ow = ow0 + px % ow_n, c0 = g * kLrnLanes;
      float y[kLrnLanes];
      lrn_group<Tmid, Tout, HALF>(a.lrn, mid + px * a.cpad, c0, true, y);
      store_chunk<Tout, kLrnLanes>(out + oh * a.lrn.out.sh + ow * a.lrn.out.sw + c0,
                                   min(kLrnLanes, a.lrn.out.c_write - c0), a.vec_out, y);
    }
    __syncthreads();
  }
}

class LrnPoolOp final : public CudaOp {
 public:
  LrnPoolOp() = default;
  /// first, second: an LRN and its MAX pooling, or a MAX pooling and its LRN (fusion.h).
  Status init(const CudaOpInit& first, const CudaOpInit& second);

  Status run(const RunArgs& args) const override {
    const View4& x = args.in[0];
    const View4& y = args.out[0];
    const bool shapes = x.c == pp_.channels && x.h == (lrn_first_ ? lp_.height : pp_.height) &&
                        x.w == (lrn_first_ ? lp_.width : pp_.width) && y.c == pp_.channels && y.h == pp_.out_h &&
                        y.w == pp_.out_w && x.n == y.n && lrn_pixel_views(lp_, x, y);
    if (!shapes) return run_error(name_, "LRN + Pooling", "views do not match the nodes' shapes");
    if (lrn_first_) {
      if (x.elem == Elem::kI8 && y.elem == Elem::kI8) return lrn_pool<int8_t, int8_t>(x, y, args.stream);
      if (x.elem == Elem::kI8 && y.elem == Elem::kF32) return lrn_pool<int8_t, float>(x, y, args.stream);
      if (x.elem == Elem::kI8 && y.elem == Elem::kF16) return lrn_pool<int8_t, __half>(x, y, args.stream);
      if (x.elem == Elem::kF32 && y.elem == Elem::kF32) return lrn_pool<float, float>(x, y, args.stream);
      if (x.elem == Elem::kF16 && y.elem == Elem::kF16) return lrn_pool<__half, __half>(x, y, args.stream);
    } else {
      if (x.elem == Elem::kI8 && y.elem == Elem::kI8) return pool_lrn<int8_t, int8_t>(x, y, args.stream);
      if (x.elem == Elem::kI8 && y.elem == Elem::kF32) return pool_lrn<int8_t, float>(x, y, args.stream);
      if (x.elem == Elem::kI8 && y.elem == Elem::kF16) return pool_lrn<int8_t, __half>(x, y, args.stream);
      if (x.elem == Elem::kF32 && y.elem == Elem::kF32) return pool_lrn<float, float>(x, y, args.stream);
      if (x.elem == Elem::kF16 && y.elem == Elem::kF16) return pool_lrn<__half, __half>(x, y, args.stream);
    }
    return no_kernel(name_, x.elem, y.elem);
  }

 private:
  /// Tiles of about 8 x 8 pooled outputs that split the output evenly, shrunk (the larger side
  /// first) until `bytes(tiles)` fits `budget`.
  template <typename BytesFn>
  Tiles tiles(int budget, BytesFn bytes) const {
    Tiles t{};
    t.height = static_cast<int>(pp_.height);
    t.width = static_cast<int>(pp_.width);
    t.kernel_h = static_cast<int>(pp_.kernel_h);
    t.kernel_w = static_cast<int>(pp_.kernel_w);
    t.stride_h = static_cast<int>(pp_.stride_h);
    t.stride_w = static_cast<int>(pp_.stride_w);
    t.pad_h = static_cast<int>(pp_.pad_h);
    t.pad_w = static_cast<int>(pp_.pad_w);
    t.out_h = static_cast<int>(pp_.out_h);
    t.out_w = static_cast<int>(pp_.out_w);
    auto even = [](int out, int most) { return (out + (out + most - 1) / most - 1) / ((out + most - 1) / most); };
    t.tile_h = even(t.out_h, 8);
    t.tile_w = even(t.out_w, 8);
    while (bytes(t) > budget && (t.tile_h > 1 || t.tile_w > 1)) {
      if (t.tile_h >= t.tile_w)
        --t.tile_h;
      else
        --t.tile_w;
    }
    t.tiles_w = (t.out_w + t.tile_w - 1) / t.tile_w;
    t.tiles = t.tiles_w * ((t.out_h + t.tile_h - 1) / t.tile_h);
    return t;
  }

  /// LRN -> pooling: 32 channels a block (fewer, then smaller tiles, where the region would not fit
  /// the shared memory; kFusedMaxKernel keeps a 1 x 1 tile of 8 channels within it).
  template <typename Tin, typename Tmid>
  Status lrn_pool(const View4& x, const View4& y, cudaStream_t stream) const {
    LrnPoolArgs a{};
    auto region = [&](const Tiles& t) {
      return static_cast<int64_t>((t.tile_h - 1) * t.stride_h + t.kernel_h) *
             ((t.tile_w - 1) * t.stride_w + t.kernel_w);
    };
    const int budget = shared_bytes<Tmid>() / static_cast<int>(sizeof(Tmid));  // elements
    const int64_t whole = region(tiles(budget, [](const Tiles&) { return int64_t{0}; }));
    for (a.chunk = 4 * kLrnLanes; whole * a.chunk > budget && a.chunk > kLrnLanes;) a.chunk /= 2;
    a.t = tiles(budget, [&](const Tiles& t) { return region(t) * a.chunk; });
    a.region_w = (a.t.tile_w - 1) * a.t.stride_w + a.t.kernel_w;
    a.chunks = (y.c_write + a.chunk - 1) / a.chunk;
    a.lrn = lrn_;
    a.lrn.in = x;
    a.out = y;
    a.vec_in = packs_fit<Tin, kLrnLanes>(x);
    a.vec_out = packs_fit<Tmid, kLrnLanes>(y);
    const dim3 grid(static_cast<unsigned>(a.t.tiles * a.chunks), static_cast<unsigned>(std::min(y.n, 65535)));
    if (grid.x == 0 || y.n == 0) return Status::ok();
    with_lrn_half(a.lrn.half, [&](auto half) {
      lrn_pool_kernel<Tin, Tmid, decltype(half)::value><<<grid, kThreads, 0, stream>>>(a);
    });
    return TRTN_CUDA_STATUS(cudaGetLastError());
  }

  /// Pooling -> LRN: every channel of a tile's pixels in shared memory (the tile shrinks to fit).
  template <typename Tmid, typename Tout>
  Status pool_lrn(const View4& x, const View4& y, cudaStream_t stream) const {
    PoolLrnArgs a{};
    a.cpad = (static_cast<int>(pp_.channels) + kLrnLanes - 1) / kLrnLanes * kLrnLanes;
    const int budget = shared_bytes<Tmid>() / static_cast<int>(sizeof(Tmid));
    a.t = tiles(budget, [&](const Tiles& t) { return static_cast<int64_t>(t.tile_h) * t.tile_w * a.cpad; });
    a.in = x;
    a.lrn = lrn_;
    a.lrn.in.c = static_cast<int32_t>(pp_.channels);
    a.lrn.out = y;
    a.vec_in = packs_fit<Tmid, kLrnLanes>(x);
    a.vec_out = packs_fit<Tout, kLrnLanes>(y);
    const dim3 grid(static_cast<unsigned>(a.t.tiles), static_cast<unsigned>(std::min(y.n, 65535)));
    if (grid.x == 0 || y.n == 0) return Status::ok();
    with_lrn_half(a.lrn.half, [&](auto half) {
      pool_lrn_kernel<Tmid, Tout, decltype(half)::value><<<grid, kThreads, 0, stream>>>(a);
    });
    return TRTN_CUDA_STATUS(cudaGetLastError());
  }

  std::string name_;
  bool lrn_first_ = true;
  LrnParams lp_;
  LrnArgs lrn_{};  // lrn_args(lp_): the launches fill in the views
  PoolingParams pp_;
};

Status LrnPoolOp::init(const CudaOpInit& first, const CudaOpInit& second) {
  lrn_first_ = first.node.node.kind == OpKind::kLRN;
  const CudaOpInit& lrn = lrn_first_ ? first : second;
  const CudaOpInit& pool = lrn_first_ ? second : first;
  TRTN_TRY(read_lrn_params(lrn.node, &lp_));
  TRTN_TRY(read_pooling_params(pool.node, &pp_));
  if (!fusable(first.node.graph, first.node.node, second.node.node, first.places)) {
    return Status(Code::kInternal, "cuda backend: nodes '" + first.node.node.name + "' and '" + second.node.node.name +
                                       "' cannot run as one kernel");
  }
  name_ = first.node.node.name + " + " + second.node.node.name;
  lrn_ = lrn_args(lp_);
  return Status::ok();
}

}  // namespace

Status make_lrn_pool(const CudaOpInit& first, const CudaOpInit& second, std::unique_ptr<CudaOp>* out) {
  return guard_host_memory(first.node, [&] {
    auto op = std::make_unique<LrnPoolOp>();
    Status st = op->init(first, second);
    if (st.is_ok()) *out = std::move(op);
    return st;
  });
}

}  // namespace trtn::cuda
