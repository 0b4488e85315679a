// Tensor-core implicit-GEMM convolution (sm_80 and newer): one kernel template for TF32, FP16 and
// INT8 with the precision in a small MMA policy.
//
// GEMM: rows m = output pixels (image, p, q), columns n = output channels of a group, K = (r, s, c)
// with the group's channels fastest (padded to Cg_pad). A (activations) is gathered straight from
// the channels-contiguous input: each 16-byte chunk of a row is one (pixel, r, s, 16 bytes of
// channels), fetched with cp.async, zero-filled (src-size 0) in the padding and beyond the
// channels (src-size < 16 when C is not a multiple of 16 bytes, G == 1). B (weights) is read from
// the op's [Cout][R][S][Cg_pad] layout, K-contiguous, the same way. A multi-stage cp.async
// pipeline feeds ldmatrix + mma.sync; the epilogue stages the finished tile in shared memory and
// stores it to any output view (conv_device.cuh).
//
// Working in bytes makes the three precisions one kernel: a warp's A fragment for one mma is 16
// rows x 32 bytes and its B fragment 8 columns x 32 bytes for m16n8k8 (tf32), m16n8k16 (f16) and
// m16n8k32 (s8) alike, and ldmatrix (non-transposed, 8x8 b16 = 8 rows x 16 bytes) delivers exactly
// the register layout mma.sync wants in all three cases (PTX ISA, "Matrix fragments for mma.m16n8k*").
//
// Shared memory: per stage, A [BM][BK bytes] then B [BN][BK bytes], both as 16-byte chunks with
// the XOR swizzle of swizzle_chunk below, so the 8 row addresses of each ldmatrix phase and the
// cp.async stores hit distinct banks.
//
// POOL kernels (a MAX pooling 3x3, stride 1, pad 1 folded into a 1x1 convolution's loader: the
// pool_proj convolutions of GoogLeNet's inception blocks): each A chunk is the element-wise maximum
// of the 16-byte chunks of the pixel's 3x3 neighbourhood (clipped to the image), loaded into
// registers and stored to shared memory instead of copied there with cp.async.
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <string>
#include <type_traits>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {

namespace {

using mma_policy::PolicyF16;
using mma_policy::PolicyI8;
using mma_policy::PolicyTf32;

/// Physical 16-byte chunk of logical chunk `chunk` of row `row` in a tile of kCpr chunks per row:
/// within each 128-byte line (8 chunks) the chunk index is XORed with the line number. For 64- and
/// 128-byte rows, 8 consecutive rows at one logical chunk then land on 8 different chunks of a
/// line (conflict-free ldmatrix phases).
template <int kCpr>
__device__ __forceinline__ int swizzle_chunk(int row, int chunk) {
  const int l = row * kCpr + chunk;
  return (l & ~7) | ((l ^ (l >> 3)) & 7);
}

/// Compile-time shape of one tile configuration.
template <int BM, int BN, int WM, int WN, int BKB, int STAGES>
struct MmaShape {
  static constexpr int kThreads = (BM / WM) * (BN / WN) * 32;
  static constexpr int kStageBytes = (BM + BN) * BKB;
  static constexpr size_t smem(int out_eb) {
    return std::max(static_cast<size_t>(STAGES) * kStageBytes, stage_bytes(BM, BN, out_eb));
  }
};

/// The A chunk of a POOL kernel: the element-wise maximum (Pol::max_word) of the 16-byte chunks at
/// `base` (the chunk's channels of the row's image) over the 3x3 pixels around (h, w) inside the
/// image, from Pol::kLowestWord: what the MAX pooling op stores for that pixel. A neighbour outside
/// the image reads the centre instead (the maximum is unchanged), so the loads have no branch
/// between them (a row of three in flight at a time).
template <class Pol>
__device__ __forceinline__ uint4 pooled_chunk(const char* base, int h, int w, const GemmParams& p) {
  int64_t rows[3], cols[3];
#pragma unroll
  for (int d = -1; d <= 1; ++d) {
    const int hh = static_cast<unsigned>(h + d) < static_cast<unsigned>(p.H) ? h + d : h;
    const int ww = static_cast<unsigned>(w + d) < static_cast<unsigned>(p.W) ? w + d : w;
    rows[d + 1] = hh * p.in_sh * Pol::kBytes;
    cols[d + 1] = ww * p.in_sw * Pol::kBytes;
  }
  uint4 best = make_uint4(Pol::kLowestWord, Pol::kLowestWord, Pol::kLowestWord, Pol::kLowestWord);
#pragma unroll
  for (int r = 0; r < 3; ++r) {  // a row of three loads at a time
    uint4 x[3];
#pragma unroll
    for (int c = 0; c < 3; ++c) x[c] = __ldg(reinterpret_cast<const uint4*>(base + rows[r] + cols[c]));
#pragma unroll
    for (int c = 0; c < 3; ++c) {
      best = make_uint4(Pol::max_word(best.x, x[c].x), Pol::max_word(best.y, x[c].y), Pol::max_word(best.z, x[c].z),
                        Pol::max_word(best.w, x[c].w));
    }
  }
  return best;
}

/// SPLIT: split K (CTA z sums its share of the K tiles into p.partial; a second kernel finishes);
/// POOL: the input MAX-pooled in the loader (a 1x1 convolution of whole 16-byte chunks; see the
/// header). Separate instantiations, so the plain kernels are compiled as they were.
template <class Pol, int BM, int BN, int WM, int WN, int BKB, int STAGES, bool SPLIT = false, bool POOL = false>
__global__ void __launch_bounds__(MmaShape<BM, BN, WM, WN, BKB, STAGES>::kThreads) mma_conv_kernel(const GemmParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using Acc = typename Pol::Acc;
  constexpr int kWarpsM = BM / WM;
  constexpr int kThreads = MmaShape<BM, BN, WM, WN, BKB, STAGES>::kThreads;
  constexpr int kStageBytes = MmaShape<BM, BN, WM, WN, BKB, STAGES>::kStageBytes;
  constexpr int kCpr = BKB / 16;             // 16-byte chunks per tile row
  constexpr int kRowStep = kThreads / kCpr;  // rows one pass of the loader covers
  constexpr int kARows = BM / kRowStep;      // A rows each thread loads per stage
  constexpr int kBRows = BN / kRowStep;
  constexpr int kEb = Pol::kBytes;
  constexpr int kCe = 16 / kEb;   // elements per chunk
  constexpr int kBk = BKB / kEb;  // K elements per stage
  constexpr int kMi = WM / 16;
  constexpr int kNj = WN / 8;
  static_assert(BKB % 32 == 0 && kThreads % kCpr == 0, "K tile of whole mma steps");
  static_assert(BM % kRowStep == 0 && BN % kRowStep == 0, "every thread loads whole rows");
  static_assert(WM % 16 == 0 && kNj % 2 == 0, "warp tile of m16 x (2 x n8) blocks");

  extern __shared__ __align__(128) char smem[];
  const int tid = threadIdx.x;
  const int g = blockIdx.y;
  const int nt = blockIdx.x % p.n_tiles;  // the order of tile_grid
  const int m0 = (blockIdx.x / p.n_tiles) * BM;
  const int n0 = nt * BN;

  const char* in = static_cast<const char*>(p.in);
  const char* wts = static_cast<const char*>(p.weights);
  const int kc = tid % kCpr;  // the chunk column this thread loads, in every row it loads
  const int row0 = tid / kCpr;

  // A rows: element offset of (image, the group's first channel) and the window origin. Rows past
  // M get an origin no kernel offset brings into the image, so they load zeros.
  int64_t a_off[kARows];
  int a_h0[kARows], a_w0[kARows];
  const int pq = p.P * p.Q;
#pragma unroll
  for (int i = 0; i < kARows; ++i) {
    const int m = m0 + row0 + i * kRowStep;
    a_off[i] = 0;
    a_h0[i] = INT_MIN / 2;
    a_w0[i] = 0;
    if (m < p.M) {
      const int img = m / pq;
      const int rest = m - img * pq;
      const int op = rest / p.Q;
      const int oq = rest - op * p.Q;
      a_off[i] = img * p.in_sn + static_cast<int64_t>(g) * p.Cg;
      a_h0[i] = op * p.stride_h - p.pad_h;
      a_w0[i] = oq * p.stride_w - p.pad_w;
    }
  }
  const char* b_row[kBRows];
#pragma unroll
  for (int i = 0; i < kBRows; ++i) {
    const int n = n0 + row0 + i * kRowStep;
    b_row[i] = n < p.Ng ? wts + static_cast<int64_t>(g * p.Ng + n) * p.Ktot * kEb : nullptr;
  }
  // This CTA's K tiles: all of them, or split K's share z of them (conv_family.h).
  int k_tiles = (p.Ktot + kBk - 1) / kBk;
  int kt_first = 0;
  if constexpr (SPLIT) {
    const int per_split = (k_tiles + p.k_splits - 1) / p.k_splits;
    kt_first = static_cast<int>(blockIdx.z) * per_split;
    k_tiles = max(0, min(k_tiles, kt_first + per_split) - kt_first);
  }
  // This thread's K position k = (kr * S + ks) * Cg_pad + kcc, advanced one stage at a time.
  int kk = kt_first * kBk + kc * kCe;
  int kcc = kk % p.Cg_pad;
  int ks = (kk / p.Cg_pad) % p.S;
  int kr = (kk / p.Cg_pad) / p.S;

  const uint32_t smem0 = smem_addr(smem);
  // Issues the copies of the next K tile into `stage` (tiles are loaded strictly in order).
  auto load_stage = [&](int stage) {
    const uint32_t a_dst = smem0 + stage * kStageBytes;
    const uint32_t b_dst = a_dst + BM * BKB;
    const int cbytes = kr < p.R && kcc < p.Cg ? min(p.Cg - kcc, kCe) * kEb : 0;
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      const int h = a_h0[i] + kr * p.dil_h;
      const int w = a_w0[i] + ks * p.dil_w;
      const bool ok = cbytes > 0 && static_cast<unsigned>(h) < static_cast<unsigned>(p.H) &&
                      static_cast<unsigned>(w) < static_cast<unsigned>(p.W);
      if constexpr (POOL) {
        // 1x1, stride 1, no padding: (h, w) is the row's pixel; chunks are whole (cbytes 16 or 0).
        st_shared16(a_dst + swizzle_chunk<kCpr>(row0 + i * kRowStep, kc) * 16,
                    ok ? pooled_chunk<Pol>(in + (a_off[i] + kcc) * kEb, h, w, p) : make_uint4(0, 0, 0, 0));
      } else {
        const char* src = ok ? in + (a_off[i] + h * p.in_sh + w * p.in_sw + kcc) * kEb : in;
        cp_async16(a_dst + swizzle_chunk<kCpr>(row0 + i * kRowStep, kc) * 16, src, ok ? cbytes : 0);
      }
    }
#pragma unroll
    for (int i = 0; i < kBRows; ++i) {
      const bool ok = b_row[i] != nullptr && kk < p.Ktot;
      const char* src = ok ? b_row[i] + static_cast<int64_t>(kk) * kEb : wts;
      cp_async16(b_dst + swizzle_chunk<kCpr>(row0 + i * kRowStep, kc) * 16, src, ok ? 16 : 0);
    }
    kk += kBk;
    kcc += kBk;
    while (kcc >= p.Cg_pad) {
      kcc -= p.Cg_pad;
      if (++ks == p.S) {
        ks = 0;
        ++kr;
      }
    }
  };

  const int warp = tid / 32;
  const int lane = tid % 32;
  const int wm = (warp % kWarpsM) * WM;
  const int wn = (warp / kWarpsM) * WN;
  Acc acc[kMi][kNj][4];
#pragma unroll
  for (int i = 0; i < kMi; ++i) {
#pragma unroll
    for (int j = 0; j < kNj; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;
    }
  }

#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    if (st < k_tiles) load_stage(st);
    cp_async_commit();
  }
  for (int kt = 0; kt < k_tiles; ++kt) {
    cp_async_wait<STAGES - 2>();
    // Tile kt has landed for every thread, and every warp is done with the stage refilled below
    // (the one tile kt - 1 used).
    __syncthreads();
    const int next = kt + STAGES - 1;
    if (next < k_tiles) load_stage(next % STAGES);
    cp_async_commit();

    const uint32_t a_base = smem0 + (kt % STAGES) * kStageBytes;
    const uint32_t b_base = a_base + BM * BKB;
#pragma unroll
    for (int step = 0; step < BKB / 32; ++step) {
      uint32_t af[kMi][4];
      uint32_t bf[kNj][2];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        // Matrices: rows 0-7 / 8-15 of the m16 block at chunk 2*step, then the same at 2*step+1.
        ldmatrix_x4(af[i], a_base + swizzle_chunk<kCpr>(wm + i * 16 + (lane & 15), 2 * step + (lane >> 4)) * 16);
        if (Pol::kRoundA) {
#pragma unroll
          for (int e = 0; e < 4; ++e) af[i][e] = __float_as_uint(round_tf32(__uint_as_float(af[i][e])));
        }
      }
#pragma unroll
      for (int j = 0; j < kNj; j += 2) {
        // Matrices: n 0-7 at chunks 2*step, 2*step+1 (b0, b1 of block j), then n 8-15 (block j+1).
        uint32_t t[4];
        ldmatrix_x4(t, b_base + swizzle_chunk<kCpr>(wn + j * 8 + (lane & 7) + ((lane >> 4) << 3),
                                                    2 * step + ((lane >> 3) & 1)) *
                                    16);
        bf[j][0] = t[0];
        bf[j][1] = t[1];
        bf[j + 1][0] = t[2];
        bf[j + 1][1] = t[3];
      }
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
#pragma unroll
        for (int j = 0; j < kNj; ++j) Pol::mma(acc[i][j], af[i], bf[j]);
      }
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the pipeline's shared memory becomes the output staging area

  if constexpr (SPLIT) {
    // Split K: this share's raw sums for splitk_reduce_kernel (conv_device.cuh), at accumulator
    // (i, j, e)'s row and column as below.
    const int64_t ctot = static_cast<int64_t>(p.G) * p.Ng;
    Acc* part = static_cast<Acc*>(p.partial) + static_cast<int64_t>(blockIdx.z) * p.M * ctot + g * p.Ng;
#pragma unroll
    for (int i = 0; i < kMi; ++i) {
#pragma unroll
      for (int j = 0; j < kNj; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int m = m0 + wm + i * 16 + (lane >> 2) + (e >> 1) * 8;
          const int n = n0 + wn + j * 8 + 2 * (lane & 3) + (e & 1);
          if (m < p.M && n < p.Ng) part[m * ctot + n] = acc[i][j][e];
        }
      }
    }
    return;
  }

  // Epilogue: accumulator (i, j, e) is row wm + 16i + lane/4 (+8 for e >= 2), column
  // wn + 8j + 2(lane%4) (+1 for odd e).
  char* cs = smem;
  const int eb = p.out_eb;
  const int pitch = stage_pitch(BN, eb);
  float mul[kNj][2], add[kNj][2];
#pragma unroll
  for (int j = 0; j < kNj; ++j) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int n = n0 + wn + j * 8 + 2 * (lane & 3) + e;
      load_channel(p.epi, g * p.Ng + n, n < p.Ng, &mul[j][e], &add[j][e]);
    }
  }
#pragma unroll
  for (int i = 0; i < kMi; ++i) {
#pragma unroll
    for (int j = 0; j < kNj; ++j) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = wm + i * 16 + (lane >> 2) + half * 8;
        const int col = wn + j * 8 + 2 * (lane & 3);
        float v[2];
        v[0] = finish(acc[i][j][2 * half], mul[j][0], add[j][0], p.epi);
        v[1] = finish(acc[i][j][2 * half + 1], mul[j][1], add[j][1], p.epi);
        put_values(cs + row * pitch + col * eb, p.out_elem, v, 2);
      }
    }
  }
  store_tile<BM, BN, kThreads>(cs, p, m0, n0, g);
#endif
}

/// One tile configuration for one policy: its shared memory, limit raising and launch.
template <class Pol, int BM, int BN, int WM, int WN, int BKB, int STAGES, bool SPLIT = false, bool POOL = false>
struct MmaKernel {
  using Shape = MmaShape<BM, BN, WM, WN, BKB, STAGES>;

  static Status prepare(size_t smem) {
    return TRTN_CUDA_STATUS(cudaFuncSetAttribute(mma_conv_kernel<Pol, BM, BN, WM, WN, BKB, STAGES, SPLIT, POOL>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  }

  static Status launch(GemmParams p, cudaStream_t stream) {
    dim3 grid;
    Status st = tile_grid(&p, BM, BN, &grid);
    if (!st.is_ok()) return st;
    if constexpr (SPLIT) grid.z = static_cast<unsigned>(p.k_splits);
    mma_conv_kernel<Pol, BM, BN, WM, WN, BKB, STAGES, SPLIT, POOL>
        <<<grid, Shape::kThreads, Shape::smem(p.out_eb), stream>>>(p);
    const Status launched = TRTN_CUDA_STATUS(cudaGetLastError());
    if constexpr (!SPLIT) {
      return launched;
    } else {
      if (!launched.is_ok()) return launched;
      return launch_splitk_reduce<typename Pol::Acc>(p, stream);
    }
  }
};

// Which arithmetics a configuration is compiled and offered for (a mask of these bits).
constexpr int kForTf32 = 1, kForF16 = 2, kForI8 = 4, kForAll = 7;

template <class Pol>
constexpr int policy_bit() {
  return std::is_same_v<Pol, PolicyTf32> ? kForTf32 : std::is_same_v<Pol, PolicyF16> ? kForF16 : kForI8;
}

// The tile configurations offered as tactics: (BM, BN, warp M, warp N, K bytes per stage, stages,
// arithmetics). Large tiles for large layers; 64x32 and 32x64 for the many small GoogLeNet layers
// and FC layers. INT8 does twice the multiply-adds of FP16 per mma and per byte loaded, so its big
// tiles want more K bytes per stage (fewer barriers per mma) and 64x64 warp tiles (fewer ldmatrix
// per mma): configs 7-10, compiled for FP16 and INT8 only. Configs 11-12: narrow tiles (N 32, 16)
// for the layers with few output channels and many pixels (GoogLeNet's 5x5 and pool_proj
// convolutions: N 32-128, M 100k at batch 128), where a 64-wide tile computes up to half zeros.
#define TRTN_MMA_CONFIGS(X)                        \
  X(0, 128, 128, 64, 32, 64, 4, kForAll)           \
  X(1, 128, 64, 64, 32, 64, 4, kForAll)            \
  X(2, 64, 128, 32, 64, 64, 4, kForAll)            \
  X(3, 64, 64, 32, 32, 64, 4, kForAll)             \
  X(4, 64, 64, 32, 32, 128, 3, kForAll)            \
  X(5, 64, 32, 32, 16, 128, 4, kForAll)            \
  X(6, 32, 64, 16, 32, 128, 4, kForAll)            \
  X(7, 128, 128, 64, 64, 128, 3, kForF16 | kForI8) \
  X(8, 128, 128, 64, 32, 128, 3, kForF16 | kForI8) \
  X(9, 128, 256, 64, 64, 64, 4, kForF16 | kForI8)  \
  X(10, 256, 128, 64, 64, 64, 4, kForF16 | kForI8) \
  X(11, 128, 32, 32, 16, 128, 3, kForAll)          \
  X(12, 128, 16, 32, 16, 128, 3, kForAll)

struct MmaConfigBytes {
  int bm, bn, bk_bytes, stages, threads, maths;
  size_t smem_f32_out, smem_f16_out, smem_i8_out;
};

#define TRTN_MMA_ROW(i, bm, bn, wm, wn, bkb, st, maths) \
  {bm,                                                  \
   bn,                                                  \
   bkb,                                                 \
   st,                                                  \
   MmaShape<bm, bn, wm, wn, bkb, st>::kThreads,         \
   maths,                                               \
   MmaShape<bm, bn, wm, wn, bkb, st>::smem(4),          \
   MmaShape<bm, bn, wm, wn, bkb, st>::smem(2),          \
   MmaShape<bm, bn, wm, wn, bkb, st>::smem(1)},
constexpr MmaConfigBytes kMmaConfigs[] = {TRTN_MMA_CONFIGS(TRTN_MMA_ROW)};
#undef TRTN_MMA_ROW

constexpr int kMmaConfigCount = static_cast<int>(sizeof(kMmaConfigs) / sizeof(kMmaConfigs[0]));

// Split-K configurations after the tiles: the small tiles (64x32, 32x64: batch-1 layers) with K
// cut in 4 or 8. Written but not yet run on a GPU: offered only with TRTN_CUDA_MMA_SPLIT_K=1 (the
// tactic tests set it).
constexpr int kMmaSplitTile[] = {5, 5, 6, 6};
constexpr int kMmaSplitWays[] = {4, 8, 4, 8};
constexpr int kMmaSplitCount = static_cast<int>(sizeof(kMmaSplitWays) / sizeof(kMmaSplitWays[0]));

// POOL configurations after those: the tiles of the small and mid-sized layers (GoogLeNet's
// pool_proj: N 32-128, K 192-832) with the pooling loader. Written but not yet run on a GPU: the
// planner folds a pooling into a convolution only with TRTN_CUDA_POOL_CONV=1.
constexpr int kMmaPoolTile[] = {1, 3, 4, 5, 6};
constexpr int kMmaPoolCount = static_cast<int>(sizeof(kMmaPoolTile) / sizeof(kMmaPoolTile[0]));
constexpr int kMmaPoolFirst = kMmaConfigCount + kMmaSplitCount;

/// The tile configuration of tactic i, its K ways, and whether it pools its input.
int mma_tile_of(int i) {
  return i < kMmaConfigCount ? i
         : i < kMmaPoolFirst ? kMmaSplitTile[i - kMmaConfigCount]
                             : kMmaPoolTile[i - kMmaPoolFirst];
}
int mma_splits_of(int i) { return i < kMmaConfigCount || i >= kMmaPoolFirst ? 1 : kMmaSplitWays[i - kMmaConfigCount]; }
bool mma_pools(int i) { return i >= kMmaPoolFirst; }

/// Whether tile `id` is compiled for policy `Pol` and, for SPLIT or POOL, is one of those tiles (the
/// split and pool instantiations exist for those only).
template <size_t N>
constexpr bool listed(const int (&tiles)[N], int id) {
  for (int t : tiles) {
    if (t == id) return true;
  }
  return false;
}
template <class Pol, bool SPLIT, bool POOL>
constexpr bool compiled(int id, int maths) {
  if ((maths & policy_bit<Pol>()) == 0 || (SPLIT && POOL)) return false;
  return SPLIT ? listed(kMmaSplitTile, id) : POOL ? listed(kMmaPoolTile, id) : true;
}

template <class Pol, bool SPLIT, bool POOL = false>
Status prepare_config(int i, size_t smem) {
  switch (i) {
#define TRTN_MMA_CASE(id, bm, bn, wm, wn, bkb, st, maths)                         \
  case id:                                                                        \
    if constexpr (compiled<Pol, SPLIT, POOL>(id, maths)) {                        \
      return MmaKernel<Pol, bm, bn, wm, wn, bkb, st, SPLIT, POOL>::prepare(smem); \
    }                                                                             \
    break;
    TRTN_MMA_CONFIGS(TRTN_MMA_CASE)
#undef TRTN_MMA_CASE
  }
  return Status(Code::kInternal, "no such tensor-core convolution tile");
}

template <class Pol, bool SPLIT, bool POOL = false>
Status launch_config(int i, const GemmParams& p, cudaStream_t stream) {
  switch (i) {
#define TRTN_MMA_CASE(id, bm, bn, wm, wn, bkb, st, maths)                             \
  case id:                                                                            \
    if constexpr (compiled<Pol, SPLIT, POOL>(id, maths)) {                            \
      return MmaKernel<Pol, bm, bn, wm, wn, bkb, st, SPLIT, POOL>::launch(p, stream); \
    }                                                                                 \
    break;
    TRTN_MMA_CONFIGS(TRTN_MMA_CASE)
#undef TRTN_MMA_CASE
  }
  return Status(Code::kInternal, "no such tensor-core convolution tile");
}

/// Calls fn(policy) for the arithmetic's MMA policy (TF32, FP16, INT8); kInternal for FP32.
template <typename Fn>
Status with_policy(Math math, Fn fn) {
  switch (math) {
    case Math::kTF32: return fn(PolicyTf32{});
    case Math::kF16: return fn(PolicyF16{});
    case Math::kI8: return fn(PolicyI8{});
    default: break;
  }
  return Status(Code::kInternal, "float32 convolutions have no tensor-core kernel");
}

int mma_configs() { return kMmaConfigCount + kMmaSplitCount + kMmaPoolCount; }

bool mma_tile(Math math, int i, TileConfig* t);

bool mma_offered(const ConvProblem& p, int i) {
  const Math math = p.math;
  const int bit = math == Math::kTF32 ? kForTf32 : math == Math::kF16 ? kForF16 : math == Math::kI8 ? kForI8 : 0;
  if ((kMmaConfigs[mma_tile_of(i)].maths & bit) == 0) return false;
  // A convolution that pools its input has only the POOL kernels, and only it has them.
  if (mma_pools(i) != p.pool_input) return false;
  if (mma_splits_of(i) == 1) return true;
  if (!cuda_env().mma_split_k) return false;
  TileConfig t;
  mma_tile(math, i, &t);
  return split_k_worthwhile(p, t, mma_splits_of(i));
}

size_t mma_workspace_bytes(const ConvProblem& p, int i, int batch) { return split_k_bytes(p, mma_splits_of(i), batch); }

bool mma_tile(Math math, int i, TileConfig* t) {
  const MmaConfigBytes& c = kMmaConfigs[mma_tile_of(i)];
  *t = TileConfig{c.bm, c.bn, c.bk_bytes / math_bytes(math), c.stages, c.threads};
  return true;
}

/// "mma_<math>_<BM>x<BN>x<BK>_s<stages>"; a tile that an earlier config already names (the same
/// block tile split over other warps) adds "_w<warps>", so names stay unique and the earlier one's
/// name (the one plans and tactic caches hold) stays what it was; split K adds "_k<ways>", the
/// pooling loader "_pool".
std::string mma_tactic_name(Math math, int i) {
  if (mma_splits_of(i) > 1) return mma_tactic_name(math, mma_tile_of(i)) + "_k" + std::to_string(mma_splits_of(i));
  if (mma_pools(i)) return mma_tactic_name(math, mma_tile_of(i)) + "_pool";
  TileConfig t;
  mma_tile(math, i, &t);
  std::string name = tile_tactic_name(std::string("mma_") + math_label(math), t, true);
  for (int j = 0; j < i; ++j) {
    const MmaConfigBytes& a = kMmaConfigs[j];
    const MmaConfigBytes& b = kMmaConfigs[i];
    if (a.bm == b.bm && a.bn == b.bn && a.bk_bytes == b.bk_bytes && a.stages == b.stages && (a.maths & b.maths) != 0) {
      return name + "_w" + std::to_string(b.threads / 32);
    }
  }
  return name;
}

size_t mma_smem_bytes(const ConvProblem& /*p*/, int i, int out_eb) {
  const MmaConfigBytes& c = kMmaConfigs[mma_tile_of(i)];
  return out_eb == 4 ? c.smem_f32_out : out_eb == 2 ? c.smem_f16_out : c.smem_i8_out;
}

Status mma_prepare(Math math, int i, size_t smem) {
  const bool split = mma_splits_of(i) > 1;
  return with_policy(math, [&](auto pol) {
    using Pol = decltype(pol);
    if (mma_pools(i)) return prepare_config<Pol, false, true>(mma_tile_of(i), smem);
    return split ? prepare_config<Pol, true>(mma_tile_of(i), smem) : prepare_config<Pol, false>(i, smem);
  });
}

bool mma_accepts(const ConvProblem& p, const ConvCall& call) {
  return channel_vectors_ok(call.in, 16 / math_bytes(p.math), p.cg, p.groups);
}

Status mma_family_launch(const ConvProblem& p, const ConvCall& call, int i) {
  GemmParams g = gemm_params(p, call.in, call.out, call.pair);
  g.k_splits = mma_splits_of(i);
  g.partial = call.workspace;  // split_k_bytes of it (never null: the run loop and the tuner pass the arena's)
  if (mma_pools(i)) {
    return with_policy(
        p.math, [&](auto pol) { return launch_config<decltype(pol), false, true>(mma_tile_of(i), g, call.stream); });
  }
  if (g.k_splits == 1) return mma_launch(p.math, i, g, call.stream);
  return with_policy(p.math,
                     [&](auto pol) { return launch_config<decltype(pol), true>(mma_tile_of(i), g, call.stream); });
}

}  // namespace

bool mma_serves(const ConvProblem& p) {
  bool ok = p.axes == 2 && p.math != Math::kF32 && p.device.sm >= 80;
  // The pooling loader: a 1x1 convolution (stride 1, no padding, one group) of whole 16-byte chunks.
  if (p.pool_input) {
    ok = ok && p.kvol == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.pad[0] == 0 && p.pad[1] == 0 && p.groups == 1 &&
         p.pairs == 1 && p.cg % (16 / math_bytes(p.math)) == 0;
  }
  for (size_t i = 0; i < p.pairs && ok; ++i) {
    const View4 nominal = p.in_places[i].view(reinterpret_cast<void*>(uintptr_t{256}), 1);
    const View4 nominal_out = p.out_places[i].view(reinterpret_cast<void*>(uintptr_t{256}), 1);
    View4 in, out;
    ok = problem_views(p, nominal, nominal_out, &in, &out).is_ok() &&
         channel_vectors_ok(in, 16 / math_bytes(p.math), p.cg, p.groups);
  }
  return ok;
}

Status mma_launch(Math math, int i, GemmParams p, cudaStream_t stream) {
  return with_policy(math, [&](auto pol) { return launch_config<decltype(pol), false>(i, p, stream); });
}

const ConvFamily kMmaFamily = {
    mma_configs,
    mma_serves,
    mma_offered,
    mma_tile,
    mma_tactic_name,
    mma_smem_bytes,
    mma_prepare,
    /*prepare_weights=*/nullptr,
    mma_workspace_bytes,
    mma_accepts,
    mma_family_launch,
};

}  // namespace trtn::cuda::conv
