// SIMT implicit-GEMM convolution for every GPU: register-blocked FFMA for float32 / TF32 / FP16
// (float32 arithmetic on float16 values) and DP4A for INT8 (the P40's instruction; four int8
// products summed into an int32 per instruction).
//
// The same GEMM as conv_mma.cu (m = output pixel, n = output channel of the group, k = (r, s, c)).
// K is handled in groups of 4 consecutive k (Cg_pad is a multiple of 4, so a group never crosses
// a kernel position); `ktab` gives each group's (r * dil_h, s * dil_w, c). Each thread stages 4
// input channels of one (pixel, group of k) and 4 weights of one (channel, group of k) in
// registers, with one vector load where the input is channels-contiguous and aligned (NHWC) and
// element loads otherwise (any view; then consecutive threads take consecutive pixels, which is
// coalesced for NCHW). Shared memory holds K-major tiles, double-buffered: float32 words
// As[k][m], Bs[k][n] for FFMA; for DP4A one int32 word per (group of 4 k, m) holding 4 int8.
// Each thread computes TM x TN outputs from 4-wide vector reads of both tiles (rows
// ty*4 .. ty*4+3 and the same BM/2 further on, likewise for columns: conflict-free). The epilogue
// stages the tile in shared memory and stores it like the tensor-core kernel (conv_device.cuh).
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {
namespace {

// ---- modes: what a thread loads and how it multiplies --------------------------------------------

/// float32 values (optionally rounded to TF32 as they are staged), FFMA.
struct SimtF32 {
  using Acc = float;
  static constexpr int kEb = 4;
  static constexpr int kWords = 4;  // shared-memory words per group of 4 k
  static __device__ __forceinline__ void load4(const char* src, uint32_t (&w)[4]) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(src));
    w[0] = __float_as_uint(v.x);
    w[1] = __float_as_uint(v.y);
    w[2] = __float_as_uint(v.z);
    w[3] = __float_as_uint(v.w);
  }
  static __device__ __forceinline__ void load1(const char* src, int e, uint32_t (&w)[4]) {
    w[e] = __float_as_uint(__ldg(reinterpret_cast<const float*>(src)));
  }
  static __device__ __forceinline__ void mac(float& acc, uint32_t a, uint32_t b) {
    acc = __fmaf_rn(__uint_as_float(a), __uint_as_float(b), acc);
  }
};

/// float16 values and weights, converted to float32 as they are staged, FFMA.
struct SimtF16 {
  using Acc = float;
  static constexpr int kEb = 2;
  static constexpr int kWords = 4;
  static __device__ __forceinline__ void load4(const char* src, uint32_t (&w)[4]) {
    const uint2 v = __ldg(reinterpret_cast<const uint2*>(src));
    w[0] = __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(v.x & 0xffffu))));
    w[1] = __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(v.x >> 16))));
    w[2] = __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(v.y & 0xffffu))));
    w[3] = __float_as_uint(__half2float(__ushort_as_half(static_cast<unsigned short>(v.y >> 16))));
  }
  static __device__ __forceinline__ void load1(const char* src, int e, uint32_t (&w)[4]) {
    w[e] = __float_as_uint(__half2float(__ldg(reinterpret_cast<const __half*>(src))));
  }
  static __device__ __forceinline__ void mac(float& acc, uint32_t a, uint32_t b) {
    acc = __fmaf_rn(__uint_as_float(a), __uint_as_float(b), acc);
  }
};

/// int8 values and weights, 4 per word (k order, low byte first), DP4A into int32.
struct SimtI8 {
  using Acc = int;
  static constexpr int kEb = 1;
  static constexpr int kWords = 1;
  static __device__ __forceinline__ void load4(const char* src, uint32_t (&w)[4]) {
    w[0] = __ldg(reinterpret_cast<const unsigned int*>(src));
  }
  static __device__ __forceinline__ void load1(const char* src, int e, uint32_t (&w)[4]) {
    w[0] |= static_cast<uint32_t>(static_cast<uint8_t>(__ldg(reinterpret_cast<const signed char*>(src)))) << (8 * e);
  }
  static __device__ __forceinline__ void mac(int& acc, uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 610
    // No DP4A before sm_61 (simt_eligible does not offer INT8 there; the same sum, byte by byte,
    // so the sm_52 image still compiles).
    for (int j = 0; j < 4; ++j) {
      acc += static_cast<int>(static_cast<int8_t>(a >> (8 * j))) * static_cast<int>(static_cast<int8_t>(b >> (8 * j)));
    }
#else
    acc = __dp4a(static_cast<int>(a), static_cast<int>(b), acc);
#endif
  }
};

template <class Mode, int BM, int BN, int TM, int TN, int BK4>
struct SimtShape {
  static constexpr int kTy = BM / TM, kTx = BN / TN;
  static constexpr int kThreads = kTy * kTx;
  static constexpr int kKw = BK4 * Mode::kWords;  // shared-memory word rows per stage
  static constexpr int kApitch = BM + 4, kBpitch = BN + 4;
  static constexpr size_t kMainBytes = static_cast<size_t>(2) * kKw * (kApitch + kBpitch) * 4;
  static constexpr size_t smem(int out_eb) { return std::max(kMainBytes, stage_bytes(BM, BN, out_eb)); }
};

template <class Mode, int BM, int BN, int TM, int TN, int BK4>
__global__ void __launch_bounds__(SimtShape<Mode, BM, BN, TM, TN, BK4>::kThreads) simt_conv_kernel(const GemmParams p) {
  using Shape = SimtShape<Mode, BM, BN, TM, TN, BK4>;
  using Acc = typename Mode::Acc;
  constexpr int kThreads = Shape::kThreads;
  constexpr int kTx = Shape::kTx, kTy = Shape::kTy;
  constexpr int kKw = Shape::kKw;
  constexpr int kAp = Shape::kApitch, kBp = Shape::kBpitch;
  constexpr int kUa = BM * BK4 / kThreads;  // (pixel, group of 4 k) units each thread loads
  constexpr int kUb = BN * BK4 / kThreads;  // (channel, group of 4 k) units
  constexpr int kEb = Mode::kEb;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && TM <= 8 && TN <= 8, "thread tile of 4-wide halves");
  static_assert(BM * BK4 % kThreads == 0 && BN * BK4 % kThreads == 0, "whole loader units");
  static_assert(kThreads % BK4 == 0, "loader mapping");

  extern __shared__ __align__(16) char smem[];
  uint32_t* as = reinterpret_cast<uint32_t*>(smem);  // [2][kKw][kAp]
  uint32_t* bs = as + 2 * kKw * kAp;                 // [2][kKw][kBp]

  const int tid = threadIdx.x;
  const int g = blockIdx.y;
  const int nt = blockIdx.x % p.n_tiles;  // the order of tile_grid
  const int m0 = (blockIdx.x / p.n_tiles) * BM;
  const int n0 = nt * BN;
  const char* in = static_cast<const char*>(p.in);
  const char* wts = static_cast<const char*>(p.weights);
  const int pq = p.P * p.Q;

  // A units: u = tid + i * kThreads as (row, group) with the groups fastest (channels-contiguous
  // input) or the rows fastest (strided channels).
  int a_row[kUa], a_k4[kUa], a_h0[kUa], a_w0[kUa];
  int64_t a_off[kUa];
#pragma unroll
  for (int i = 0; i < kUa; ++i) {
    const int u = tid + i * kThreads;
    a_row[i] = p.m_fastest ? u % BM : u / BK4;
    a_k4[i] = p.m_fastest ? u / BM : u % BK4;
    const int m = m0 + a_row[i];
    a_off[i] = 0;
    a_h0[i] = INT_MIN / 2;
    a_w0[i] = 0;
    if (m < p.M) {
      const int img = m / pq;
      const int rest = m - img * pq;
      const int op = rest / p.Q;
      const int oq = rest - op * p.Q;
      a_off[i] = img * p.in_sn + static_cast<int64_t>(g) * p.Cg * p.in_sc;
      a_h0[i] = op * p.stride_h - p.pad_h;
      a_w0[i] = oq * p.stride_w - p.pad_w;
    }
  }
  // B units: (channel row, group) with the groups fastest (the weights are K-contiguous).
  const int b_k4 = tid % BK4;
  const char* b_row[kUb];
#pragma unroll
  for (int i = 0; i < kUb; ++i) {
    const int n = n0 + (tid + i * kThreads) / BK4;
    b_row[i] = n < p.Ng ? wts + static_cast<int64_t>(g * p.Ng + n) * p.Ktot * kEb : nullptr;
  }

  uint32_t ra[kUa][4], rb[kUb][4];
  // Loads K tile kt into registers (zeros outside the image, the channels and K).
  auto load_tile = [&](int kt) {
#pragma unroll
    for (int i = 0; i < kUa; ++i) {
      ra[i][0] = ra[i][1] = ra[i][2] = ra[i][3] = 0u;
      const int kq = kt * BK4 + a_k4[i];
      if (kq < p.K4) {
        const int4 e = __ldg(p.ktab + kq);
        const int h = a_h0[i] + e.x;
        const int w = a_w0[i] + e.y;
        const int cnt = min(4, p.Cg - e.z);
        if (cnt > 0 && static_cast<unsigned>(h) < static_cast<unsigned>(p.H) &&
            static_cast<unsigned>(w) < static_cast<unsigned>(p.W)) {
          const char* px = in + (a_off[i] + h * p.in_sh + w * p.in_sw) * kEb;
          if (p.vec_in && cnt == 4) {
            Mode::load4(px + static_cast<int64_t>(e.z) * kEb, ra[i]);
          } else {
            for (int c = 0; c < cnt; ++c) Mode::load1(px + (e.z + c) * p.in_sc * kEb, c, ra[i]);
          }
        }
        if (p.round_tf32) {
#pragma unroll
          for (int c = 0; c < 4; ++c) ra[i][c] = __float_as_uint(round_tf32(__uint_as_float(ra[i][c])));
        }
      }
    }
    const int k = (kt * BK4 + b_k4) * 4;
#pragma unroll
    for (int i = 0; i < kUb; ++i) {
      rb[i][0] = rb[i][1] = rb[i][2] = rb[i][3] = 0u;
      if (b_row[i] != nullptr && k < p.Ktot) Mode::load4(b_row[i] + static_cast<int64_t>(k) * kEb, rb[i]);
    }
  };
  // Writes the staged registers K-major into buffer `buf`.
  auto store_tile_smem = [&](int buf) {
    uint32_t* a = as + buf * kKw * kAp;
    uint32_t* b = bs + buf * kKw * kBp;
#pragma unroll
    for (int i = 0; i < kUa; ++i) {
#pragma unroll
      for (int c = 0; c < Mode::kWords; ++c) a[(a_k4[i] * Mode::kWords + c) * kAp + a_row[i]] = ra[i][c];
    }
#pragma unroll
    for (int i = 0; i < kUb; ++i) {
      const int row = (tid + i * kThreads) / BK4;
#pragma unroll
      for (int c = 0; c < Mode::kWords; ++c) b[(b_k4 * Mode::kWords + c) * kBp + row] = rb[i][c];
    }
  };

  const int tx = tid % kTx;
  const int ty = tid / kTx;
  Acc acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0;
  }

  // This CTA's K tiles: all of them, or split K's share z of them.
  const int k_tiles = (p.K4 + BK4 - 1) / BK4;
  const int per_split = (k_tiles + p.k_splits - 1) / p.k_splits;
  const int kt0 = static_cast<int>(blockIdx.z) * per_split;
  const int kt1 = min(k_tiles, kt0 + per_split);
  if (kt0 < kt1) {
    load_tile(kt0);
    store_tile_smem(0);
  }
  __syncthreads();
  for (int kt = kt0; kt < kt1; ++kt) {
    const int buf = (kt - kt0) & 1;
    if (kt + 1 < kt1) load_tile(kt + 1);  // global loads in flight during the FMAs below
    const uint32_t* a = as + buf * kKw * kAp;
    const uint32_t* b = bs + buf * kKw * kBp;
#pragma unroll
    for (int kw = 0; kw < kKw; ++kw) {
      uint32_t av[TM], bv[TN];
#pragma unroll
      for (int h = 0; h < TM / 4; ++h) {
        const uint4 v = *reinterpret_cast<const uint4*>(a + kw * kAp + h * 4 * kTy + ty * 4);
        av[h * 4 + 0] = v.x;
        av[h * 4 + 1] = v.y;
        av[h * 4 + 2] = v.z;
        av[h * 4 + 3] = v.w;
      }
#pragma unroll
      for (int h = 0; h < TN / 4; ++h) {
        const uint4 v = *reinterpret_cast<const uint4*>(b + kw * kBp + h * 4 * kTx + tx * 4);
        bv[h * 4 + 0] = v.x;
        bv[h * 4 + 1] = v.y;
        bv[h * 4 + 2] = v.z;
        bv[h * 4 + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) Mode::mac(acc[i][j], av[i], bv[j]);
      }
    }
    if (kt + 1 < kt1) store_tile_smem(buf ^ 1);
    // One barrier per tile: the next iteration reads buf ^ 1 (just written) and the one after
    // overwrites buf, which every thread has finished reading here.
    __syncthreads();
  }

  // Epilogue: thread value (i, j) is row (i / 4) * 4 * kTy + ty * 4 + i % 4, column likewise.
  if (p.k_splits > 1) {
    // Split K: this share's sums, raw, for splitk_reduce_kernel.
    const int64_t ctot = static_cast<int64_t>(p.G) * p.Ng;
    Acc* part = static_cast<Acc*>(p.partial) + static_cast<int64_t>(blockIdx.z) * p.M * ctot + g * p.Ng;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int m = m0 + (i / 4) * 4 * kTy + ty * 4 + i % 4;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int n = n0 + (j / 4) * 4 * kTx + tx * 4 + j % 4;
        if (m < p.M && n < p.Ng) part[m * ctot + n] = acc[i][j];
      }
    }
    return;
  }
  char* cs = smem;
  const int eb = p.out_eb;
  const int pitch = stage_pitch(BN, eb);
  float mul[TN], add[TN];
#pragma unroll
  for (int j = 0; j < TN; ++j) {
    const int n = n0 + (j / 4) * 4 * kTx + tx * 4 + j % 4;
    load_channel(p.epi, g * p.Ng + n, n < p.Ng, &mul[j], &add[j]);
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int row = (i / 4) * 4 * kTy + ty * 4 + i % 4;
#pragma unroll
    for (int h = 0; h < TN / 4; ++h) {
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = finish(acc[i][h * 4 + j], mul[h * 4 + j], add[h * 4 + j], p.epi);
      put_values(cs + row * pitch + (h * 4 * kTx + tx * 4) * eb, p.out_elem, v, 4);
    }
  }
  store_tile<BM, BN, kThreads>(cs, p, m0, n0, g);
}

template <class Mode, int BM, int BN, int TM, int TN, int BK4>
struct SimtKernel {
  using Shape = SimtShape<Mode, BM, BN, TM, TN, BK4>;

  static Status prepare(size_t smem) {
    return TRTN_CUDA_STATUS(cudaFuncSetAttribute(simt_conv_kernel<Mode, BM, BN, TM, TN, BK4>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  }

  static Status launch(GemmParams p, cudaStream_t stream) {
    dim3 grid;
    Status st = tile_grid(&p, BM, BN, &grid);
    if (!st.is_ok()) return st;
    grid.z = static_cast<unsigned>(p.k_splits);
    simt_conv_kernel<Mode, BM, BN, TM, TN, BK4><<<grid, Shape::kThreads, Shape::smem(p.out_eb), stream>>>(p);
    Status launched = TRTN_CUDA_STATUS(cudaGetLastError());
    if (!launched.is_ok() || p.k_splits == 1) return launched;
    return launch_splitk_reduce<typename Mode::Acc>(p, stream);
  }
};

// Tile configurations: (BM, BN, TM, TN); K per stage: 16 for FFMA (4 groups), 32 for DP4A (8).
#define TRTN_SIMT_CONFIGS(X) \
  X(0, 128, 64, 8, 8)        \
  X(1, 128, 128, 8, 8)       \
  X(2, 64, 64, 4, 8)         \
  X(3, 64, 32, 4, 4)

constexpr int kFfmaBk4 = 4;
constexpr int kDp4aBk4 = 8;

template <class Mode>
constexpr int bk4_of() {
  return Mode::kWords == 1 ? kDp4aBk4 : kFfmaBk4;
}

template <class Mode>
Status prepare_config(int i, size_t smem) {
  switch (i) {
#define TRTN_SIMT_CASE(id, bm, bn, tm, tn) \
  case id: return SimtKernel<Mode, bm, bn, tm, tn, bk4_of<Mode>()>::prepare(smem);
    TRTN_SIMT_CONFIGS(TRTN_SIMT_CASE)
#undef TRTN_SIMT_CASE
  }
  return Status(Code::kInternal, "no such SIMT convolution tile");
}

template <class Mode>
Status launch_config(int i, const GemmParams& p, cudaStream_t stream) {
  switch (i) {
#define TRTN_SIMT_CASE(id, bm, bn, tm, tn) \
  case id: return SimtKernel<Mode, bm, bn, tm, tn, bk4_of<Mode>()>::launch(p, stream);
    TRTN_SIMT_CONFIGS(TRTN_SIMT_CASE)
#undef TRTN_SIMT_CASE
  }
  return Status(Code::kInternal, "no such SIMT convolution tile");
}

template <class Mode>
size_t smem_config(int i, int out_eb) {
  switch (i) {
#define TRTN_SIMT_CASE(id, bm, bn, tm, tn) \
  case id: return SimtKernel<Mode, bm, bn, tm, tn, bk4_of<Mode>()>::Shape::smem(out_eb);
    TRTN_SIMT_CONFIGS(TRTN_SIMT_CASE)
#undef TRTN_SIMT_CASE
  }
  return 0;
}

template <class Mode>
TileConfig tile_config(int i) {
  switch (i) {
#define TRTN_SIMT_CASE(id, bm, bn, tm, tn) \
  case id: return TileConfig{bm, bn, 4 * bk4_of<Mode>(), 2, SimtShape<Mode, bm, bn, tm, tn, bk4_of<Mode>()>::kThreads};
    TRTN_SIMT_CONFIGS(TRTN_SIMT_CASE)
#undef TRTN_SIMT_CASE
  }
  return TileConfig{0, 0, 0, 0, 0};
}

constexpr int kTileConfigCount = 4;
// Split-K configurations after the tiles: the small tiles (64x64, 64x32) with K cut in 4 or 8.
constexpr int kSplitTile[] = {2, 2, 3, 3};
constexpr int kSplitWays[] = {4, 8, 4, 8};
constexpr int kSimtConfigCount = kTileConfigCount + 4;

int tile_of(int i) { return i < kTileConfigCount ? i : kSplitTile[i - kTileConfigCount]; }
int splits_of(int i) { return i < kTileConfigCount ? 1 : kSplitWays[i - kTileConfigCount]; }

int simt_configs() { return kSimtConfigCount; }

bool simt_tile(Math math, int i, TileConfig* t) {
  switch (math) {
    case Math::kF16: *t = tile_config<SimtF16>(tile_of(i)); break;
    case Math::kI8: *t = tile_config<SimtI8>(tile_of(i)); break;
    default: *t = tile_config<SimtF32>(tile_of(i)); break;
  }
  return true;
}

/// "simt_<math>_<BM>x<BN>x16" / "dp4a_<BM>x<BN>x32", and "_k<ways>" for split K.
std::string simt_tactic_name(Math math, int i) {
  TileConfig t;
  simt_tile(math, i, &t);
  return tile_tactic_name(math == Math::kI8 ? std::string("dp4a") : std::string("simt_") + math_label(math), t, false) +
         (splits_of(i) > 1 ? "_k" + std::to_string(splits_of(i)) : std::string());
}

/// The tiles always; split K where split_k_worthwhile (conv_family.h). TRTN_CUDA_SPLIT_K=0 leaves
/// them out (A/B runs).
bool simt_offered(const ConvProblem& p, int i) {
  if (splits_of(i) == 1) return true;
  if (!cuda_env().split_k) return false;
  TileConfig t;
  simt_tile(p.math, i, &t);
  return split_k_worthwhile(p, t, splits_of(i));
}

size_t simt_workspace_bytes(const ConvProblem& p, int i, int batch) { return split_k_bytes(p, splits_of(i), batch); }

size_t simt_smem_bytes(const ConvProblem& p, int i, int out_eb) {
  switch (p.math) {
    case Math::kF16: return smem_config<SimtF16>(tile_of(i), out_eb);
    case Math::kI8: return smem_config<SimtI8>(tile_of(i), out_eb);
    default: return smem_config<SimtF32>(tile_of(i), out_eb);
  }
}

Status simt_prepare(Math math, int i, size_t smem) {
  switch (math) {
    case Math::kF16: return prepare_config<SimtF16>(tile_of(i), smem);
    case Math::kI8: return prepare_config<SimtI8>(tile_of(i), smem);
    default: return prepare_config<SimtF32>(tile_of(i), smem);
  }
}

/// Any 2-D view. Listed for FP32, for INT8 (DP4A, next to the tensor cores; sm_61 and newer, the
/// P40's instruction: below it INT8 runs the direct family) and for TF32 / FP16 where the tensor
/// cores are not available.
bool simt_eligible(const ConvProblem& p) {
  if (p.pool_input || (p.math == Math::kI8 && p.device.sm < 61)) return false;
  return p.axes == 2 && (p.math == Math::kF32 || p.math == Math::kI8 || !mma_serves(p));
}

/// The kernels' table of K groups: per 4 consecutive k, (r * dil_h, s * dil_w, c, 0).
Status simt_prepare_weights(const ConvProblem& p, const HostWeights& /*w*/, DeviceBuffer* own) {
  const int64_t s_ext = p.kernel[1];
  std::vector<int4> tab(static_cast<size_t>(p.ktot / 4));
  for (int64_t k4 = 0; k4 < p.ktot / 4; ++k4) {
    const int64_t k = 4 * k4;
    const int64_t rs = k / p.cg_pad;
    tab[k4] = make_int4(static_cast<int>(rs / s_ext * p.dil[0]), static_cast<int>(rs % s_ext * p.dil[1]),
                        static_cast<int>(k % p.cg_pad), 0);
  }
  return own->upload(tab, p.name + " K table");
}

bool simt_accepts(const ConvProblem& /*p*/, const ConvCall& /*call*/) { return true; }

Status simt_launch(const ConvProblem& pr, const ConvCall& call, int i) {
  GemmParams p = gemm_params(pr, call.in, call.out, call.pair);
  p.ktab = static_cast<const int4*>(call.own);
  p.k_splits = splits_of(i);
  p.partial = call.workspace;  // split_k_bytes of it (never null: the run loop and the tuner pass the arena's)
  switch (pr.math) {
    case Math::kF16: return launch_config<SimtF16>(tile_of(i), p, call.stream);
    case Math::kI8: return launch_config<SimtI8>(tile_of(i), p, call.stream);
    default: return launch_config<SimtF32>(tile_of(i), p, call.stream);  // kF32 and kTF32 (p.round_tf32)
  }
}

}  // namespace

const ConvFamily kSimtFamily = {
    simt_configs, simt_eligible,        simt_offered,         simt_tile,    simt_tactic_name, simt_smem_bytes,
    simt_prepare, simt_prepare_weights, simt_workspace_bytes, simt_accepts, simt_launch,
};

}  // namespace trtn::cuda::conv
