// Preprocess on the GPU (core/preprocess_params.h): uint8 images [N, H_in, W_in, C] to the network's
// input in whatever form the planner chose for it (float32 or float16, NCHW planes or padded NHWC,
// int8 when the input's Quantize is fused in), in one pass. Thread t handles four consecutive
// pixels of one output row: it loads their 4 * C bytes as 32-bit words (C = 4: one 16-byte load)
// when the crop window's rows are aligned, else byte by byte; consecutive threads read consecutive
// bytes. It computes y = (x - mean) * scale in float32 (a rounded subtraction, then a rounded
// multiplication: nothing to contract into an fma) and stores:
//   - padded NHWC: each pixel's channels (zeros after C) as one 16-byte pack;
//   - NCHW planes: the four pixels of each channel as one pack (16 bytes of float32);
//   - anything else: element by element through the view's strides.
// float16 stores round to nearest even; int8 stores are docs/int8.md's saturate(y / s_y) with a
// true division, as the Quantize node they replace.
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/kernels/op_support.cuh"
#include "backends/cuda/kernels/packs.cuh"
#include "core/preprocess_params.h"

namespace trtn::cuda {
namespace {

/// Pixels per thread.
constexpr int kPix = 4;

/// How a thread loads its pixels' bytes.
enum class Load : int32_t { kBytes, kWords, kQuads };
/// How it stores its outputs.
/// kNhwcPacks: a pixel's 16 bytes of channels as one store; kNhwcQuads: its 4 channels (a network's
/// first layer input, planner.cc stem_input); kPlanePacks: kPix pixels of a plane.
enum class Store : int32_t { kElements, kNhwcPacks, kNhwcQuads, kPlanePacks };

struct PreArgs {
  const uint8_t* src = nullptr;  // image 0 of this launch
  const float* mean = nullptr;   // per-pixel mean [C, H_in, W_in], or nullptr
  float mean_c[kMaxImageChannels] = {};
  float scale = 1.0f;
  float out_scale = 0.0f;  // int8 output: its s_y
  int32_t in_h = 0, in_w = 0, h_off = 0, w_off = 0, out_h = 0, out_w = 0;
  uint32_t chunks = 1;  // chunks of kPix pixels per output row
  uint32_t total = 0;   // work items: images * out_h * chunks
  FastDiv by_chunks, by_h;
  Load load = Load::kBytes;
  Store store = Store::kElements;
};

/// The final value of output y: float stores round (float16) or convert; int8 quantizes.
template <typename Tout>
__device__ __forceinline__ Tout output_value(float y, float out_scale) {
  if constexpr (sizeof(Tout) == 1) {
    return saturate_int8(__fdiv_rn(y, out_scale));
  } else {
    return from_float<Tout>(y);
  }
}

/// The 4 * kC bytes of pixels [w0, w0 + cnt) of one source row (zeros after cnt).
template <int kC>
__device__ __forceinline__ void load_pixels(const uint8_t* p, int cnt, Load load, uint8_t (&px)[kPix * kC]) {
  if (cnt == kPix && load == Load::kQuads && kC == 4) {
    const uint4 q = *reinterpret_cast<const uint4*>(p);
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < kPix * kC; ++i) px[i] = static_cast<uint8_t>(w[i / 4] >> (8 * (i % 4)));
  } else if (cnt == kPix && load != Load::kBytes) {
#pragma unroll
    for (int k = 0; k < kC; ++k) {
      const uint32_t w = reinterpret_cast<const uint32_t*>(p)[k];
#pragma unroll
      for (int b = 0; b < 4; ++b) px[4 * k + b] = static_cast<uint8_t>(w >> (8 * b));
    }
  } else {
#pragma unroll
    for (int i = 0; i < kPix * kC; ++i) px[i] = i < cnt * kC ? p[i] : 0;
  }
}

/// Each of `cnt` pixels' CW channels (zeros past kC) as one pack.
template <int CW, int kC, typename Tout>
__device__ __forceinline__ void store_pixels(Tout* out, const View4& dst, int n, int h, int w0, int cnt,
                                             const Tout (&y)[kC][kPix]) {
  for (int j = 0; j < cnt; ++j) {
    Pack<Tout, CW> pk;
#pragma unroll
    for (int c = 0; c < CW; ++c) pk.v[c] = c < kC ? y[c < kC ? c : 0][j] : Tout{};
    *reinterpret_cast<Pack<Tout, CW>*>(out + dst.at(n, 0, h, w0 + j)) = pk;
  }
}

template <typename Tout, int kC, bool kSwap>
__global__ void __launch_bounds__(kMapThreads) preprocess_kernel(const PreArgs a, const View4 dst) {
  const uint32_t stride = gridDim.x * blockDim.x;
  for (uint32_t t = blockIdx.x * blockDim.x + threadIdx.x; t < a.total; t += stride) {
    const uint32_t row = a.by_chunks.div(t);
    const int w0 = static_cast<int>(t - row * a.chunks) * kPix;
    const int n = static_cast<int>(a.by_h.div(row));
    const int h = static_cast<int>(row - static_cast<uint32_t>(n) * a.by_h.d);
    const int cnt = min(kPix, a.out_w - w0);
    const int64_t hs = h + a.h_off;
    const int64_t ws = static_cast<int64_t>(a.w_off) + w0;
    uint8_t px[kPix * kC];
    load_pixels<kC>(a.src + ((static_cast<int64_t>(n) * a.in_h + hs) * a.in_w + ws) * kC, cnt, a.load, px);
    Tout y[kC][kPix];
#pragma unroll
    for (int c = 0; c < kC; ++c) {
      const int sc = kSwap ? kC - 1 - c : c;
      const float* mrow = a.mean == nullptr ? nullptr : a.mean + (c * static_cast<int64_t>(a.in_h) + hs) * a.in_w + ws;
#pragma unroll
      for (int j = 0; j < kPix; ++j) {
        const float m = mrow == nullptr ? a.mean_c[c] : (j < cnt ? __ldg(mrow + j) : 0.0f);
        y[c][j] =
            output_value<Tout>(__fmul_rn(__fsub_rn(static_cast<float>(px[j * kC + sc]), m), a.scale), a.out_scale);
      }
    }
    Tout* out = static_cast<Tout*>(dst.data);
    if (a.store == Store::kNhwcPacks) {
      store_pixels<16 / static_cast<int>(sizeof(Tout)), kC>(out, dst, n, h, w0, cnt, y);
    } else if (a.store == Store::kNhwcQuads) {
      store_pixels<4, kC>(out, dst, n, h, w0, cnt, y);
    } else if (a.store == Store::kPlanePacks && cnt == kPix) {
#pragma unroll
      for (int c = 0; c < kC; ++c) {
        Pack<Tout, kPix> pk;
#pragma unroll
        for (int j = 0; j < kPix; ++j) pk.v[j] = y[c][j];
        *reinterpret_cast<Pack<Tout, kPix>*>(out + dst.at(n, c, h, w0)) = pk;
      }
    } else {
      for (int j = 0; j < cnt; ++j) {
        for (int c = 0; c < dst.c_write; ++c) out[dst.at(n, c, h, w0 + j)] = c < kC ? y[c < kC ? c : 0][j] : Tout{};
      }
    }
  }
}

/// The store mode for `dst` (any view of the [C, H, W] output).
template <typename Tout>
Store store_mode(const View4& d) {
  constexpr int CW = 16 / static_cast<int>(sizeof(Tout));
  if (d.layout == Layout::kNHWC && d.sc == 1 && d.c_write == CW && aligned_to(d.data, 16) && d.sn % CW == 0 &&
      d.sh % CW == 0 && d.sw % CW == 0) {
    return Store::kNhwcPacks;
  }
  if (d.layout == Layout::kNHWC && d.sc == 1 && d.c_write == 4 && aligned_to(d.data, pack_align<Tout, 4>()) &&
      d.sn % 4 == 0 && d.sh % 4 == 0 && d.sw % 4 == 0) {
    return Store::kNhwcQuads;
  }
  if (d.layout == Layout::kLinear && d.sw == 1 && d.c_write == d.c && aligned_to(d.data, pack_align<Tout, kPix>()) &&
      d.sn % kPix == 0 && d.sc % kPix == 0 && d.sh % kPix == 0) {
    return Store::kPlanePacks;
  }
  return Store::kElements;
}

class PreprocessOp final : public CudaOp {
 public:
  PreprocessOp() = default;
  /// Reads and checks the node (make<PreprocessOp>, op.h).
  Status init(const CudaOpInit& init);

  Status run(const RunArgs& args) const override {
    const View4& x = args.in[0];
    const View4& y = args.out[0];
    if (x.elem != Elem::kU8 || y.c != p_.channels || y.h != p_.out_h || y.w != p_.out_w || y.c_write < y.c) {
      return run_error(name_, "Preprocess", "views that do not match the node");
    }
    switch (y.elem) {
      case Elem::kF32: return by_channels<float>(x, y, args.stream);
      case Elem::kF16: return by_channels<__half>(x, y, args.stream);
      case Elem::kI8: return by_channels<int8_t>(x, y, args.stream);
      default: return no_kernel(name_, x.elem, y.elem);
    }
  }

 private:
  template <typename Tout>
  Status by_channels(const View4& x, const View4& y, cudaStream_t stream) const {
    switch (p_.channels) {
      case 1: return launch<Tout, 1, false>(x, y, stream);
      case 2: return launch<Tout, 2, false>(x, y, stream);
      case 3: return p_.swap ? launch<Tout, 3, true>(x, y, stream) : launch<Tout, 3, false>(x, y, stream);
      case 4: return launch<Tout, 4, false>(x, y, stream);
      default: return run_error(name_, "Preprocess", "no kernel for " + std::to_string(p_.channels) + " channels");
    }
  }

  template <typename Tout, int kC, bool kSwap>
  Status launch(const View4& x, const View4& y, cudaStream_t stream) const {
    PreArgs a;
    a.mean = p_.mean_per_pixel ? mean_.as<float>() : nullptr;
    for (int c = 0; c < kC && !p_.mean_per_pixel; ++c) a.mean_c[c] = p_.mean[c];
    a.scale = p_.scale;
    a.out_scale = p_.out_scale;
    a.in_h = static_cast<int32_t>(p_.in_h);
    a.in_w = static_cast<int32_t>(p_.in_w);
    a.h_off = static_cast<int32_t>(p_.h_off);
    a.w_off = static_cast<int32_t>(p_.w_off);
    a.out_h = static_cast<int32_t>(p_.out_h);
    a.out_w = static_cast<int32_t>(p_.out_w);
    a.chunks = static_cast<uint32_t>((p_.out_w + kPix - 1) / kPix);
    a.by_chunks = FastDiv(a.chunks);
    a.by_h = FastDiv(static_cast<uint32_t>(p_.out_h));
    // Every chunk starts at a multiple of 4 * kC bytes past its row's start in the window.
    const int64_t row_bytes = p_.in_w * kC, skip = p_.w_off * kC;
    const bool words = aligned_to(x.data, 4) && row_bytes % 4 == 0 && skip % 4 == 0;
    const bool quads = kC == 4 && aligned_to(x.data, 16) && row_bytes % 16 == 0 && skip % 16 == 0;
    a.load = quads ? Load::kQuads : words ? Load::kWords : Load::kBytes;
    a.store = store_mode<Tout>(y);
    const int64_t image_bytes = p_.in_h * row_bytes;
    return for_batch_chunks(y.n, p_.out_h * static_cast<int64_t>(a.chunks), [&](int n0, int nb) -> Status {
      PreArgs b = a;
      b.src = static_cast<const uint8_t*>(x.data) + n0 * image_bytes;
      b.total = static_cast<uint32_t>(nb * p_.out_h * static_cast<int64_t>(a.chunks));
      const View4 d = images(y, n0, nb);
      preprocess_kernel<Tout, kC, kSwap><<<grid_for(b.total, kMapThreads), kMapThreads, 0, stream>>>(b, d);
      return TRTN_CUDA_STATUS(cudaGetLastError());
    });
  }

  std::string name_;
  PreprocessParams p_;
  DeviceBuffer mean_;  // per-pixel mean, when there is one
};

Status PreprocessOp::init(const CudaOpInit& init) {
  PreprocessParams p;
  Status st = read_preprocess_params(init.node, &p);
  if (!st.is_ok()) return st;
  if (!(st = check_places(init, true)).is_ok()) return st;
  const Place& in = init.in_place(0);
  if (in.layout != Layout::kLinear || in.c_offset != 0 || in.root_image_elems() != init.node.input(0).volume) {
    return Status(Code::kInternal, "cuda backend, node '" + init.node.node.name +
                                       "' (Preprocess): needs its image input " + "as the caller's dense bytes");
  }
  DeviceBuffer mean;
  if (p.mean_per_pixel && !(st = mean.upload(p.mean, "the mean of '" + init.node.node.name + "'")).is_ok()) return st;
  name_ = init.node.node.name;
  p_ = std::move(p);
  mean_ = std::move(mean);
  return Status::ok();
}

}  // namespace

Status make_preprocess(const CudaOpInit& init, std::unique_ptr<CudaOp>* out) { return make<PreprocessOp>(init, out); }

}  // namespace trtn::cuda
