#include "backends/cpu/ops/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "core/numeric.h"

// On x86-64 the kernels also come in AVX2+FMA variants, chosen at run time. Defining
// TRTN_PORTABLE_KERNELS builds the portable variants only (to test them on an AVX2 machine).
#if defined(__x86_64__) && !defined(TRTN_PORTABLE_KERNELS)
#define TRTN_X86_KERNELS 1
#include <immintrin.h>
#endif

namespace trtn::cpu {

Status AlignedBuffer::allocate(size_t bytes, const char* what) {
  raw_.reset();
  ptr_ = nullptr;
  size_ = 0;
  unsigned char* raw = new (std::nothrow) unsigned char[bytes + 64];
  if (raw == nullptr) {
    return Status(Code::kOutOfMemory,
                  std::string("cpu backend: cannot allocate ") + std::to_string(bytes) + " bytes for " + what);
  }
  raw_.reset(raw);
  ptr_ = raw + (64 - reinterpret_cast<uintptr_t>(raw) % 64) % 64;
  size_ = bytes;
  return Status::ok();
}

namespace {

// Cache blocking. A float micro-panel of B (KC x NR, 24 KiB) stays in L1 while the MC x KC block
// of A streams from L2 past it; the KC x NC block of B lives in L2/L3. The int8 kernel reads
// int16, half the bytes, so its K block is twice as long for the same footprint.
constexpr int64_t kKC = 384;
constexpr int64_t kMC = 144;
constexpr int64_t kNC = 2048;
constexpr int64_t kKCI = 768;
constexpr int64_t kMCI = 144;
constexpr int64_t kNCI = 2048;
static_assert(kMC % kSgemmMR == 0 && kNC % kSgemmNR == 0, "float blocks must hold whole panels");
static_assert(kMCI % kIgemmMR == 0 && kNCI % kIgemmNR == 0 && kKCI % 2 == 0,
              "int8 blocks must hold whole panels and pairs");

// Below this many multiply-adds, handing work to other threads costs more than it saves.
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// K is cut into blocks of equal length (at most `limit`, a multiple of `align`) rather than
// full blocks and a short tail: every pass over C then does the same amount of work. Packed
// operands and the drivers both use this, so a pre-packed block starts where the driver looks.
int64_t k_block(int64_t k, int64_t limit, int64_t align) {
  const int64_t blocks = (k + limit - 1) / limit;
  return round_up((k + blocks - 1) / blocks, align);
}
int64_t sgemm_kblock(int64_t k) { return k_block(k, kKC, 1); }
int64_t igemm_kblock(int64_t k) { return k_block(k, kKCI, 2); }

// ---- micro-kernels ----------------------------------------------------------------------------

// A micro-kernel computes the R x NR tile of (packed A panel) * (packed B panel) over one K block
// and stores it to c (row stride ldc, unit column stride), adding to what is there when
// `accumulate`. R < MR serves the bottom edge of A without wasted rows, which matters for
// InnerProduct at batch 1 (one row).
using SgemmKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
using IgemmKernel = void (*)(int64_t kpairs, const int16_t* a, const int16_t* b, int32_t* tile);

// Float vectors of the kernels: 8 lanes where AVX is enabled, 4 (SSE2, NEON) in the portable
// kernel. A vector wider than the ISA's registers would be split by the compiler, and its
// broadcasts would go through memory.
typedef float VecF8 __attribute__((vector_size(32)));
typedef float VecF4 __attribute__((vector_size(16)));

// The body is written once with GCC vector extensions and inlined into each ISA's wrapper, so the
// compiler emits ymm + FMA code in the AVX2 wrapper and the baseline ISA in the portable one.
// Packed B panels are 64-byte aligned (the packing layout guarantees it).
template <typename Vec, int R>
inline __attribute__((always_inline)) void sgemm_tile(int64_t kc, const float* __restrict a, const float* __restrict b,
                                                      float* __restrict c, int64_t ldc, bool accumulate) {
  constexpr int kLanes = sizeof(Vec) / sizeof(float);
  constexpr int kVecs = kSgemmNR / kLanes;
  static_assert(kSgemmNR % kLanes == 0, "a tile row is whole vectors");
  Vec acc[R][kVecs];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = Vec{};
  }
  for (int64_t p = 0; p < kc; ++p) {
    Vec bv[kVecs];
    for (int v = 0; v < kVecs; ++v) bv[v] = *reinterpret_cast<const Vec*>(b + p * kSgemmNR + v * kLanes);
    const float* ap = a + p * kSgemmMR;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float av = ap[r];
      for (int v = 0; v < kVecs; ++v) acc[r][v] += bv[v] * av;
    }
  }
  // memcpy: C rows have no alignment, and it compiles to unaligned vector moves.
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
    for (int v = 0; v < kVecs; ++v) {
      if (accumulate) {
        Vec old;
        std::memcpy(&old, row + v * kLanes, sizeof old);
        acc[r][v] += old;
      }
      std::memcpy(row + v * kLanes, &acc[r][v], sizeof(Vec));
    }
  }
}

template <int R>
void sgemm_kernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  sgemm_tile<VecF4, R>(kc, a, b, c, ldc, accumulate);
}

// Portable int8 kernel: int16 pairs along K, as the AVX2 kernel reads them; unsigned sums wrap
// like the hardware's int32 adds.
template <int R>
void igemm_kernel_portable(int64_t kpairs, const int16_t* a, const int16_t* b, int32_t* tile) {
  uint32_t acc[R][kIgemmNR] = {};
  for (int64_t p = 0; p < kpairs; ++p) {
    const int16_t* ap = a + p * kIgemmMR * 2;
    const int16_t* bp = b + p * kIgemmNR * 2;
    for (int r = 0; r < R; ++r) {
      const int32_t a0 = ap[2 * r], a1 = ap[2 * r + 1];
      for (int j = 0; j < kIgemmNR; ++j) {
        acc[r][j] += static_cast<uint32_t>(a0 * bp[2 * j] + a1 * bp[2 * j + 1]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < kIgemmNR; ++j) tile[r * kIgemmNR + j] = static_cast<int32_t>(acc[r][j]);
  }
}

#ifdef TRTN_X86_KERNELS
template <int R>
__attribute__((target("avx2,fma"))) void sgemm_kernel_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                           int64_t ldc, bool accumulate) {
  sgemm_tile<VecF8, R>(kc, a, b, c, ldc, accumulate);
}

// vpmaddwd multiplies int16 pairs and adds each pair into an int32 lane: with A's pair (a[k],
// a[k+1]) broadcast and B's pairs (b[k][j], b[k+1][j]) interleaved, lane j gains
// a[k] b[k][j] + a[k+1] b[k+1][j], exactly (|sum| <= 2 * 127 * 127).
template <int R>
__attribute__((target("avx2"))) void igemm_kernel_avx2(int64_t kpairs, const int16_t* a, const int16_t* b,
                                                       int32_t* tile) {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm256_setzero_si256();
    c1[r] = _mm256_setzero_si256();
  }
  for (int64_t p = 0; p < kpairs; ++p) {
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + p * kIgemmNR * 2));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + p * kIgemmNR * 2 + 16));
    const int16_t* ap = a + p * kIgemmMR * 2;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, ap + 2 * r, sizeof pair);
      const __m256i av = _mm256_set1_epi32(pair);
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(av, b0));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kIgemmNR), c0[r]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kIgemmNR + 8), c1[r]);
  }
}
#endif

static_assert(kSgemmMR == 6 && kIgemmMR == 6, "the kernel tables list one kernel per row count");

struct Kernels {
  SgemmKernel s[kSgemmMR];
  IgemmKernel i[kIgemmMR];
  const char* isa;
};

Kernels pick_kernels() {
#ifdef TRTN_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return {{sgemm_kernel_avx2<1>, sgemm_kernel_avx2<2>, sgemm_kernel_avx2<3>, sgemm_kernel_avx2<4>,
             sgemm_kernel_avx2<5>, sgemm_kernel_avx2<6>},
            {igemm_kernel_avx2<1>, igemm_kernel_avx2<2>, igemm_kernel_avx2<3>, igemm_kernel_avx2<4>,
             igemm_kernel_avx2<5>, igemm_kernel_avx2<6>},
            "avx2+fma"};
  }
#endif
  return {{sgemm_kernel_portable<1>, sgemm_kernel_portable<2>, sgemm_kernel_portable<3>, sgemm_kernel_portable<4>,
           sgemm_kernel_portable<5>, sgemm_kernel_portable<6>},
          {igemm_kernel_portable<1>, igemm_kernel_portable<2>, igemm_kernel_portable<3>, igemm_kernel_portable<4>,
           igemm_kernel_portable<5>, igemm_kernel_portable<6>},
          "portable"};
}

const Kernels& kernels() {
  static const Kernels k = pick_kernels();
  return k;
}

// ---- packing ----------------------------------------------------------------------------------

template <bool kRound>
inline float load_f32(const float* p) {
  return kRound ? numeric::round_to_tf32(*p) : *p;
}

// Rows [m0, m0 + mc) and K [k0, k0 + kc) of A into MR-row panels: panel i at dst + i * MR * kc,
// element (r, p) at [p * MR + r]. Rows at or past m (the matrix's end) are zeros.
template <bool kRound>
void pack_a_f32(MatF32 a, int64_t m, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += kSgemmMR) {
    float* panel = dst + i0 * kc;
    const int64_t rows = std::min<int64_t>(kSgemmMR, m - (m0 + i0));
    for (int r = 0; r < kSgemmMR; ++r) {
      if (r >= rows) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kSgemmMR + r] = 0.0f;
        continue;
      }
      const float* src = a.data + (m0 + i0 + r) * a.rs + k0 * a.cs;
      for (int64_t p = 0; p < kc; ++p) panel[p * kSgemmMR + r] = load_f32<kRound>(src + p * a.cs);
    }
  }
}

// K [k0, k0 + kc) and columns [n0, n0 + nc) of B into NR-column panels: panel j at
// dst + j * NR * kc, element (p, c) at [p * NR + c]. Columns at or past n are zeros.
template <bool kRound>
void pack_b_f32(MatF32 b, int64_t n, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const int64_t cols = std::min(nc, n - n0);  // real columns; the rest of the last panel is padding
  const int64_t full = cols / kSgemmNR * kSgemmNR;
  if (b.cs == 1) {
    // Rows of B are contiguous (im2col output, activations): read each row once, front to back,
    // NR values into each panel.
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b.data + (k0 + p) * b.rs + n0;
      float* d = dst + p * kSgemmNR;
      for (int64_t j0 = 0; j0 < full; j0 += kSgemmNR) {
        for (int c = 0; c < kSgemmNR; ++c) d[j0 * kc + c] = load_f32<kRound>(src + j0 + c);
      }
      if (full < nc) {
        for (int64_t c = 0; c < kSgemmNR; ++c)
          d[full * kc + c] = full + c < cols ? load_f32<kRound>(src + full + c) : 0.0f;
      }
    }
    return;
  }
  // Columns of B are contiguous (weights read transposed): read each column front to back.
  for (int64_t j0 = 0; j0 < nc; j0 += kSgemmNR) {
    float* panel = dst + j0 * kc;
    for (int64_t c = 0; c < kSgemmNR; ++c) {
      if (j0 + c >= cols) {
        for (int64_t p = 0; p < kc; ++p) panel[p * kSgemmNR + c] = 0.0f;
        continue;
      }
      const float* src = b.data + k0 * b.rs + (n0 + j0 + c) * b.cs;
      for (int64_t p = 0; p < kc; ++p) panel[p * kSgemmNR + c] = load_f32<kRound>(src + p * b.rs);
    }
  }
}

// Int8 panels hold int16 pairs along K (kc rounded up to even, the odd tail zero): A element
// (r, p) of a panel at [((p / 2) * MR + r) * 2 + p % 2], B element (p, c) at
// [((p / 2) * NR + c) * 2 + p % 2].
void pack_a_i8(MatI8 a, int64_t m, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int16_t* dst) {
  const int64_t kcp = round_up(kc, 2);
  for (int64_t i0 = 0; i0 < mc; i0 += kIgemmMR) {
    int16_t* panel = dst + i0 * kcp;
    const int64_t rows = std::min<int64_t>(kIgemmMR, m - (m0 + i0));
    for (int r = 0; r < kIgemmMR; ++r) {
      const int8_t* src = r < rows ? a.data + (m0 + i0 + r) * a.rs + k0 * a.cs : nullptr;
      for (int64_t p = 0; p < kcp; ++p) {
        panel[((p >> 1) * kIgemmMR + r) * 2 + (p & 1)] = src != nullptr && p < kc ? src[p * a.cs] : 0;
      }
    }
  }
}

void pack_b_i8(MatI8 b, int64_t n, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int16_t* dst) {
  const int64_t kcp = round_up(kc, 2);
  const int64_t cols = std::min(nc, n - n0);
  if (b.cs == 1) {
    // Rows of B are contiguous (im2col output, activations): interleave rows p and p + 1 into
    // the pairs of every panel, reading both front to back.
    const int64_t full = cols / kIgemmNR * kIgemmNR;
    for (int64_t p = 0; p < kcp; p += 2) {
      const int8_t* s0 = b.data + (k0 + p) * b.rs + n0;
      const int8_t* s1 = p + 1 < kc ? s0 + b.rs : nullptr;  // an odd K ends with a zero row
      int16_t* d = dst + (p >> 1) * kIgemmNR * 2;
      for (int64_t j0 = 0; j0 < full; j0 += kIgemmNR) {
        int16_t* dp = d + j0 * kcp;
        if (s1 != nullptr) {
          for (int c = 0; c < kIgemmNR; ++c) {
            dp[2 * c] = s0[j0 + c];
            dp[2 * c + 1] = s1[j0 + c];
          }
        } else {
          for (int c = 0; c < kIgemmNR; ++c) {
            dp[2 * c] = s0[j0 + c];
            dp[2 * c + 1] = 0;
          }
        }
      }
      if (full < nc) {
        int16_t* dp = d + full * kcp;
        for (int64_t c = 0; c < kIgemmNR; ++c) {
          const bool in = full + c < cols;
          dp[2 * c] = in ? s0[full + c] : 0;
          dp[2 * c + 1] = in && s1 != nullptr ? s1[full + c] : 0;
        }
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < nc; j0 += kIgemmNR) {
    int16_t* panel = dst + j0 * kcp;
    for (int64_t c = 0; c < kIgemmNR; ++c) {
      const int8_t* src = j0 + c < cols ? b.data + k0 * b.rs + (n0 + j0 + c) * b.cs : nullptr;
      for (int64_t p = 0; p < kcp; ++p) {
        panel[((p >> 1) * kIgemmNR + c) * 2 + (p & 1)] = src != nullptr && p < kc ? src[p * b.rs] : 0;
      }
    }
  }
}

// ---- storing tiles ----------------------------------------------------------------------------

// Edge tiles (and C with a column stride) go through a local tile: the first K block writes C,
// later ones add to it.
void merge_tile_f32(const float* tile, int mr, int nr, float* c, int64_t rs, int64_t cs, bool first) {
  for (int r = 0; r < mr; ++r) {
    for (int j = 0; j < nr; ++j) {
      float& dst = c[r * rs + j * cs];
      dst = first ? tile[r * kSgemmNR + j] : dst + tile[r * kSgemmNR + j];
    }
  }
}

// After the last K block: v += bias, then the fused ReLU, on the finished mr x nr part of C.
template <bool kUnit>
void epilogue_tile_f32(int mr, int nr, float* c, int64_t rs, int64_t cs, const GemmEpilogue& e, int64_t row0,
                       int64_t col0) {
  const float zero_bias[kSgemmNR] = {};
  const float* col_bias = e.bias != nullptr && !e.bias_per_row ? e.bias + col0 : zero_bias;
  for (int r = 0; r < mr; ++r) {
    float* crow = c + r * rs;
    const float row_bias = e.bias != nullptr && e.bias_per_row ? e.bias[row0 + r] : 0.0f;
    if (e.relu) {
      for (int j = 0; j < nr; ++j) {
        const float v = crow[kUnit ? j : j * cs] + row_bias + col_bias[j];
        crow[kUnit ? j : j * cs] = v > 0.0f ? v : v * e.slope;
      }
    } else {
      for (int j = 0; j < nr; ++j) crow[kUnit ? j : j * cs] += row_bias + col_bias[j];
    }
  }
}

void store_tile_i32(const int32_t* tile, int mr, int nr, int32_t* c, int64_t rs, int64_t cs, bool first) {
  for (int r = 0; r < mr; ++r) {
    int32_t* crow = c + r * rs;
    const int32_t* t = tile + r * kIgemmNR;
    for (int j = 0; j < nr; ++j) {
      int32_t& dst = crow[j * cs];
      dst = first ? t[j] : static_cast<int32_t>(static_cast<uint32_t>(dst) + static_cast<uint32_t>(t[j]));
    }
  }
}

// ---- drivers ----------------------------------------------------------------------------------

// Scratch of one serial run: the A block (unless A is pre-packed), then the B block.
struct SlotLayout {
  size_t a_bytes = 0;
  size_t b_bytes = 0;
  size_t total() const { return a_bytes + b_bytes; }
};

SlotLayout sgemm_slot(const SgemmArgs& g) {
  SlotLayout s;
  const int64_t kc = sgemm_kblock(g.k);
  if (g.packed_a == nullptr) s.a_bytes = align64(sizeof(float) * std::min(kMC, round_up(g.m, kSgemmMR)) * kc);
  if (g.packed_b == nullptr) s.b_bytes = align64(sizeof(float) * std::min(kNC, round_up(g.n, kSgemmNR)) * kc);
  return s;
}

SlotLayout igemm_slot(const IgemmArgs& g) {
  SlotLayout s;
  const int64_t kcp = igemm_kblock(g.k);
  if (g.packed_a == nullptr) s.a_bytes = align64(sizeof(int16_t) * std::min(kMCI, round_up(g.m, kIgemmMR)) * kcp);
  if (g.packed_b == nullptr) s.b_bytes = align64(sizeof(int16_t) * std::min(kNCI, round_up(g.n, kIgemmNR)) * kcp);
  return s;
}

void sgemm_range(const SgemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, unsigned char* scratch) {
  const Kernels& ks = kernels();
  const SlotLayout lay = sgemm_slot(g);
  float* abuf = reinterpret_cast<float*>(scratch);
  float* bbuf = reinterpret_cast<float*>(scratch + lay.a_bytes);
  alignas(64) float tile[kSgemmMR * kSgemmNR];
  const bool unit = g.c_cs == 1;
  const bool has_epilogue = g.epilogue.bias != nullptr || g.epilogue.relu;
  const int64_t kb = sgemm_kblock(g.k);
  for (int64_t jc = n0; jc < n1; jc += kNC) {
    const int64_t nc = std::min(kNC, n1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += kb) {
      const int64_t kc = std::min(kb, g.k - pc);
      const bool first = pc == 0, last = pc + kc == g.k;
      const float* bp = bbuf;
      if (g.packed_b != nullptr) {
        bp = g.packed_b->block(pc, jc);
      } else if (g.round_tf32) {
        pack_b_f32<true>(g.b, g.n, pc, kc, jc, nc, bbuf);
      } else {
        pack_b_f32<false>(g.b, g.n, pc, kc, jc, nc, bbuf);
      }
      for (int64_t ic = m0; ic < m1; ic += kMC) {
        const int64_t mc = std::min(kMC, m1 - ic);
        const float* ap = abuf;
        if (g.packed_a != nullptr) {
          ap = g.packed_a->block(pc, ic);
        } else if (g.round_tf32) {
          pack_a_f32<true>(g.a, g.m, ic, mc, pc, kc, abuf);
        } else {
          pack_a_f32<false>(g.a, g.m, ic, mc, pc, kc, abuf);
        }
        for (int64_t jr = 0; jr < nc; jr += kSgemmNR) {
          const int nr = static_cast<int>(std::min<int64_t>(kSgemmNR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += kSgemmMR) {
            const int mr = static_cast<int>(std::min<int64_t>(kSgemmMR, mc - ir));
            float* c = g.c + (ic + ir) * g.c_rs + (jc + jr) * g.c_cs;
            if (unit && nr == kSgemmNR) {
              ks.s[mr - 1](kc, ap + ir * kc, bp + jr * kc, c, g.c_rs, !first);
            } else {
              ks.s[mr - 1](kc, ap + ir * kc, bp + jr * kc, tile, kSgemmNR, false);
              merge_tile_f32(tile, mr, nr, c, g.c_rs, g.c_cs, first);
            }
            if (last && has_epilogue) {
              if (unit) {
                epilogue_tile_f32<true>(mr, nr, c, g.c_rs, 1, g.epilogue, ic + ir, jc + jr);
              } else {
                epilogue_tile_f32<false>(mr, nr, c, g.c_rs, g.c_cs, g.epilogue, ic + ir, jc + jr);
              }
            }
          }
        }
      }
    }
  }
}

void igemm_range(const IgemmArgs& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, unsigned char* scratch) {
  const Kernels& ks = kernels();
  const SlotLayout lay = igemm_slot(g);
  int16_t* abuf = reinterpret_cast<int16_t*>(scratch);
  int16_t* bbuf = reinterpret_cast<int16_t*>(scratch + lay.a_bytes);
  alignas(64) int32_t tile[kIgemmMR * kIgemmNR];
  const int64_t kb = igemm_kblock(g.k);
  for (int64_t jc = n0; jc < n1; jc += kNCI) {
    const int64_t nc = std::min(kNCI, n1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += kb) {
      const int64_t kc = std::min(kb, g.k - pc);
      const int64_t kcp = round_up(kc, 2);
      const int16_t* bp = bbuf;
      if (g.packed_b != nullptr) {
        bp = g.packed_b->block(pc, jc);
      } else {
        pack_b_i8(g.b, g.n, pc, kc, jc, nc, bbuf);
      }
      for (int64_t ic = m0; ic < m1; ic += kMCI) {
        const int64_t mc = std::min(kMCI, m1 - ic);
        const int16_t* ap = abuf;
        if (g.packed_a != nullptr) {
          ap = g.packed_a->block(pc, ic);
        } else {
          pack_a_i8(g.a, g.m, ic, mc, pc, kc, abuf);
        }
        for (int64_t jr = 0; jr < nc; jr += kIgemmNR) {
          const int nr = static_cast<int>(std::min<int64_t>(kIgemmNR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += kIgemmMR) {
            const int mr = static_cast<int>(std::min<int64_t>(kIgemmMR, mc - ir));
            ks.i[mr - 1](kcp / 2, ap + ir * kcp, bp + jr * kcp, tile);
            store_tile_i32(tile, mr, nr, g.c + (ic + ir) * g.c_rs + (jc + jr) * g.c_cs, g.c_rs, g.c_cs, pc == 0);
          }
        }
      }
    }
  }
}

// How C is cut for `threads`: gm row parts x gn column parts (whole panels), at most one part per
// thread, minimising the largest part. Ties keep fewer row parts: a column split repacks only A,
// which is usually the pre-packed weights.
struct Grid {
  int64_t gm = 1, gn = 1;
};

Grid plan_grid(int64_t m_panels, int64_t n_panels, int threads) {
  Grid best;
  int64_t best_cost = m_panels * n_panels;
  for (int64_t gm = 1; gm <= std::min<int64_t>(threads, m_panels); ++gm) {
    const int64_t gn = std::max<int64_t>(1, std::min<int64_t>(n_panels, threads / gm));
    const int64_t cost = ((m_panels + gm - 1) / gm) * ((n_panels + gn - 1) / gn);
    if (cost < best_cost) {
      best_cost = cost;
      best = {gm, gn};
    }
  }
  return best;
}

// Runs range(m0, m1, n0, n1, slot scratch) over the grid's parts on the pool.
template <typename Range>
void run_grid(int64_t m, int64_t n, int64_t k, int mr, int nr, size_t slot_bytes, unsigned char* scratch,
              ThreadPool* pool, const Range& range) {
  Grid grid;
  if (pool != nullptr && pool->size() > 1 && m * n * k >= kMinParallelMacs) {
    grid = plan_grid((m + mr - 1) / mr, (n + nr - 1) / nr, pool->size());
  }
  const int64_t parts = grid.gm * grid.gn;
  if (parts == 1) {
    range(0, m, 0, n, scratch);
    return;
  }
  const int64_t mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr;
  run_slots(*pool, parts, [&](int64_t s) {
    const int64_t im = s / grid.gn, in = s % grid.gn;
    const int64_t m0 = (im * mp / grid.gm) * mr, m1 = std::min(m, ((im + 1) * mp / grid.gm) * mr);
    const int64_t n0 = (in * np / grid.gn) * nr, n1 = std::min(n, ((in + 1) * np / grid.gn) * nr);
    if (m0 < m1 && n0 < n1) range(m0, m1, n0, n1, scratch + s * slot_bytes);
  });
}

}  // namespace

// ---- packed operands --------------------------------------------------------------------------

Status PackedF32::pack_a(MatF32 a, int64_t m, int64_t k) {
  is_a_ = true;
  rows_ = m;
  cols_ = k;
  padded_ = round_up(m, kSgemmMR);
  TRTN_TRY(buf_.allocate(sizeof(float) * padded_ * k, "packed GEMM weights"));
  const int64_t kb = sgemm_kblock(k);
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    pack_a_f32<false>(a, m, 0, padded_, k0, std::min(kb, k - k0), reinterpret_cast<float*>(buf_.data()) + k0 * padded_);
  }
  return Status::ok();
}

Status PackedF32::pack_b(MatF32 b, int64_t k, int64_t n) {
  is_a_ = false;
  rows_ = k;
  cols_ = n;
  padded_ = round_up(n, kSgemmNR);
  TRTN_TRY(buf_.allocate(sizeof(float) * padded_ * k, "packed GEMM weights"));
  const int64_t kb = sgemm_kblock(k);
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    pack_b_f32<false>(b, n, k0, std::min(kb, k - k0), 0, padded_, reinterpret_cast<float*>(buf_.data()) + k0 * padded_);
  }
  return Status::ok();
}

const float* PackedF32::block(int64_t k0, int64_t start) const {
  const int64_t k = is_a_ ? cols_ : rows_;
  return reinterpret_cast<const float*>(buf_.data()) + k0 * padded_ + start * std::min(sgemm_kblock(k), k - k0);
}

Status PackedI8::pack_a(MatI8 a, int64_t m, int64_t k) {
  is_a_ = true;
  rows_ = m;
  cols_ = k;
  padded_ = round_up(m, kIgemmMR);
  TRTN_TRY(buf_.allocate(sizeof(int16_t) * padded_ * round_up(k, 2), "packed int8 GEMM weights"));
  const int64_t kb = igemm_kblock(k);
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    pack_a_i8(a, m, 0, padded_, k0, std::min(kb, k - k0), reinterpret_cast<int16_t*>(buf_.data()) + k0 * padded_);
  }
  return Status::ok();
}

Status PackedI8::pack_b(MatI8 b, int64_t k, int64_t n) {
  is_a_ = false;
  rows_ = k;
  cols_ = n;
  padded_ = round_up(n, kIgemmNR);
  TRTN_TRY(buf_.allocate(sizeof(int16_t) * padded_ * round_up(k, 2), "packed int8 GEMM weights"));
  const int64_t kb = igemm_kblock(k);
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    pack_b_i8(b, n, k0, std::min(kb, k - k0), 0, padded_, reinterpret_cast<int16_t*>(buf_.data()) + k0 * padded_);
  }
  return Status::ok();
}

const int16_t* PackedI8::block(int64_t k0, int64_t start) const {
  const int64_t k = is_a_ ? cols_ : rows_;
  return reinterpret_cast<const int16_t*>(buf_.data()) + k0 * padded_ +
         start * round_up(std::min(igemm_kblock(k), k - k0), 2);
}

// ---- entry points -----------------------------------------------------------------------------

size_t sgemm_scratch_bytes(const SgemmArgs& args, int threads) {
  return sgemm_slot(args).total() * static_cast<size_t>(std::max(1, threads));
}

void sgemm(const SgemmArgs& args, void* scratch, ThreadPool* pool) {
  if (args.m <= 0 || args.n <= 0) return;
  auto* base = static_cast<unsigned char*>(scratch);
  if (args.k <= 0) {
    // An empty sum is 0; the epilogue still applies.
    for (int64_t i = 0; i < args.m; i += kSgemmMR) {
      for (int64_t j = 0; j < args.n; j += kSgemmNR) {
        const int mr = static_cast<int>(std::min<int64_t>(kSgemmMR, args.m - i));
        const int nr = static_cast<int>(std::min<int64_t>(kSgemmNR, args.n - j));
        float* c = args.c + i * args.c_rs + j * args.c_cs;
        for (int r = 0; r < mr; ++r) {
          for (int q = 0; q < nr; ++q) c[r * args.c_rs + q * args.c_cs] = 0.0f;
        }
        epilogue_tile_f32<false>(mr, nr, c, args.c_rs, args.c_cs, args.epilogue, i, j);
      }
    }
    return;
  }
  run_grid(args.m, args.n, args.k, kSgemmMR, kSgemmNR, sgemm_slot(args).total(), base, pool,
           [&args](int64_t m0, int64_t m1, int64_t n0, int64_t n1, unsigned char* s) {
             sgemm_range(args, m0, m1, n0, n1, s);
           });
}

size_t igemm_scratch_bytes(const IgemmArgs& args, int threads) {
  return igemm_slot(args).total() * static_cast<size_t>(std::max(1, threads));
}

void igemm(const IgemmArgs& args, void* scratch, ThreadPool* pool) {
  if (args.m <= 0 || args.n <= 0) return;
  if (args.k <= 0) {
    for (int64_t i = 0; i < args.m; ++i) {
      for (int64_t j = 0; j < args.n; ++j) args.c[i * args.c_rs + j * args.c_cs] = 0;
    }
    return;
  }
  run_grid(args.m, args.n, args.k, kIgemmMR, kIgemmNR, igemm_slot(args).total(), static_cast<unsigned char*>(scratch),
           pool, [&args](int64_t m0, int64_t m1, int64_t n0, int64_t n1, unsigned char* s) {
             igemm_range(args, m0, m1, n0, n1, s);
           });
}

const char* gemm_kernel_isa() { return kernels().isa; }

// ---- convolution lowering ---------------------------------------------------------------------

namespace {

// For the run of grid positions o .. o + run - 1 along an axis, the j in [0, run) whose image
// index (o + j) * s + off lies in [0, size): [*lo, *hi).
void valid_span(int64_t o, int64_t run, int64_t s, int64_t off, int64_t size, int64_t* lo, int64_t* hi) {
  const int64_t q_lo = off >= 0 ? 0 : (-off + s - 1) / s;
  const int64_t q_hi = size - 1 - off >= 0 ? (size - 1 - off) / s : -1;  // inclusive
  *lo = std::min(run, std::max<int64_t>(0, q_lo - o));
  *hi = std::max(*lo, std::min(run, q_hi - o + 1));
}

// Walks rows (channels [c0, c1) x kernel offsets) and, in each, the columns [p0, p1) in runs
// along the last spatial axis: visit(row, c, pos, run, lo, hi, first, step) says that column
// pos + j (j in [0, run)) of the row reads image element c * image_volume + first + j * step
// when j is in [lo, hi), and the padding otherwise. Fixed-size arrays: this runs inside pool
// tasks, which must not allocate.
template <typename Visit>
void walk_columns(const ColumnLayout& l, int64_t p0, int64_t p1, int64_t c0, int64_t c1, const Visit& visit) {
  const size_t d = l.grid.size();
  const size_t last = d - 1;
  int64_t kernel_volume = 1;
  for (int64_t k : l.kernel) kernel_volume *= k;
  int64_t off[kMaxSpatialAxes], o[kMaxSpatialAxes];
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t kidx = 0; kidx < kernel_volume; ++kidx) {
      int64_t rest = kidx;
      for (size_t a = d; a-- > 0;) {
        off[a] = (rest % l.kernel[a]) * l.dilation[a] - l.pad[a];
        rest /= l.kernel[a];
      }
      rest = p0;
      for (size_t a = d; a-- > 0;) {
        o[a] = rest % l.grid[a];
        rest /= l.grid[a];
      }
      const int64_t row = c * kernel_volume + kidx;
      for (int64_t p = p0, pos = 0; p < p1;) {
        const int64_t run = std::min(l.grid[last] - o[last], p1 - p);
        int64_t base = 0, lo = 0, hi = 0;
        bool inside = true;
        for (size_t a = 0; a < last && inside; ++a) {
          const int64_t i = o[a] * l.stride[a] + off[a];
          inside = i >= 0 && i < l.image[a];
          base = base * l.image[a] + i;
        }
        if (inside) valid_span(o[last], run, l.stride[last], off[last], l.image[last], &lo, &hi);
        visit(row, c, pos, run, lo, hi, base * l.image[last] + o[last] * l.stride[last] + off[last], l.stride[last]);
        pos += run;
        p += run;
        o[last] += run;
        for (size_t a = last; a > 0 && o[a] == l.grid[a]; --a) {
          o[a] = 0;
          ++o[a - 1];
        }
      }
    }
  }
}

int64_t image_volume(const ColumnLayout& l) {
  int64_t v = 1;
  for (int64_t x : l.image) v *= x;
  return v;
}

}  // namespace

template <typename T>
void im2col(const ColumnLayout& layout, const T* image, int64_t p0, int64_t p1, T* col) {
  const int64_t width = p1 - p0;
  const int64_t ivol = image_volume(layout);
  walk_columns(
      layout, p0, p1, 0, layout.channels,
      [&](int64_t row, int64_t c, int64_t pos, int64_t run, int64_t lo, int64_t hi, int64_t first, int64_t step) {
        T* dst = col + row * width + pos;
        const T* src = image + c * ivol;
        std::fill(dst, dst + lo, T(0));
        if (step == 1) {
          if (hi > lo) std::memcpy(dst + lo, src + first + lo, sizeof(T) * static_cast<size_t>(hi - lo));
        } else {
          for (int64_t j = lo; j < hi; ++j) dst[j] = src[first + j * step];
        }
        std::fill(dst + hi, dst + run, T(0));
      });
}

template void im2col<float>(const ColumnLayout&, const float*, int64_t, int64_t, float*);
template void im2col<int8_t>(const ColumnLayout&, const int8_t*, int64_t, int64_t, int8_t*);

void col2im_add(const ColumnLayout& layout, const float* col, int64_t p0, int64_t p1, int64_t c0, int64_t c1,
                float* image) {
  const int64_t width = p1 - p0;
  const int64_t ivol = image_volume(layout);
  walk_columns(layout, p0, p1, c0, c1,
               [&](int64_t row, int64_t c, int64_t pos, int64_t, int64_t lo, int64_t hi, int64_t first, int64_t step) {
                 const float* src = col + row * width + pos;
                 float* dst = image + c * ivol;
                 for (int64_t j = lo; j < hi; ++j) dst[first + j * step] += src[j];
               });
}

// ---- INT8 epilogue ----------------------------------------------------------------------------

void Int8Epilogue::init(float input_scale, const std::vector<float>& wscale, const std::vector<float>& bias,
                        const TensorDesc& output, const Activation& activation) {
  int8_output_ = output.dtype == DType::kInt8;
  relu_ = activation.relu;
  slope_ = activation.negative_slope;
  int8_multipliers(input_scale, wscale, bias, output, &mul_, &add_);
}

namespace {

// The INT8 epilogue loops, compiled for each ISA like the GEMM kernels: with FMA and SSE4.1
// enabled, std::fmaf and the rounding in saturate_int8 become single instructions instead of
// library calls. Both are correctly rounded either way, so every variant gives the same bits.
struct EpilogueParams {
  const float* mul;
  const float* add;
  bool relu;
  float slope;
};

template <bool kInt8Out, bool kPerElementChannel>
inline __attribute__((always_inline)) void int8_epilogue_body(const int32_t* acc, int64_t n, int64_t c,
                                                              const EpilogueParams& e, void* out) {
  for (int64_t j = 0; j < n; ++j) {
    const int64_t ch = kPerElementChannel ? c + j : c;
    float v = std::fmaf(static_cast<float>(acc[j]), e.mul[ch], e.add[ch]);
    if (e.relu) v = v > 0.0f ? v : v * e.slope;
    if (kInt8Out) {
      static_cast<int8_t*>(out)[j] = numeric::saturate_int8(v);
    } else {
      static_cast<float*>(out)[j] = v;
    }
  }
}

using EpilogueFn = void (*)(const int32_t*, int64_t, int64_t, const EpilogueParams&, void*);

template <bool kInt8Out, bool kPerElementChannel>
void int8_epilogue_portable(const int32_t* acc, int64_t n, int64_t c, const EpilogueParams& e, void* out) {
  int8_epilogue_body<kInt8Out, kPerElementChannel>(acc, n, c, e, out);
}

#ifdef TRTN_X86_KERNELS
template <bool kInt8Out, bool kPerElementChannel>
__attribute__((target("avx2,fma"))) void int8_epilogue_avx2(const int32_t* acc, int64_t n, int64_t c,
                                                            const EpilogueParams& e, void* out) {
  int8_epilogue_body<kInt8Out, kPerElementChannel>(acc, n, c, e, out);
}
#endif

// [int8 output][per-element channel]
struct EpilogueTable {
  EpilogueFn fn[2][2];
};

EpilogueTable pick_epilogues() {
#ifdef TRTN_X86_KERNELS
  if (std::strcmp(kernels().isa, "avx2+fma") == 0) {
    return {{{int8_epilogue_avx2<false, false>, int8_epilogue_avx2<false, true>},
             {int8_epilogue_avx2<true, false>, int8_epilogue_avx2<true, true>}}};
  }
#endif
  return {{{int8_epilogue_portable<false, false>, int8_epilogue_portable<false, true>},
           {int8_epilogue_portable<true, false>, int8_epilogue_portable<true, true>}}};
}

const EpilogueTable& epilogues() {
  static const EpilogueTable t = pick_epilogues();
  return t;
}

}  // namespace

void Int8Epilogue::apply_channel(const int32_t* acc, int64_t n, int64_t c, void* out, int64_t offset) const {
  const EpilogueParams e{mul_.data(), add_.data(), relu_, slope_};
  void* y = int8_output_ ? static_cast<void*>(static_cast<int8_t*>(out) + offset)
                         : static_cast<void*>(static_cast<float*>(out) + offset);
  epilogues().fn[int8_output_][0](acc, n, c, e, y);
}

void Int8Epilogue::apply_row(const int32_t* acc, int64_t n, int64_t c0, void* out, int64_t offset) const {
  const EpilogueParams e{mul_.data(), add_.data(), relu_, slope_};
  void* y = int8_output_ ? static_cast<void*>(static_cast<int8_t*>(out) + offset)
                         : static_cast<void*>(static_cast<float*>(out) + offset);
  epilogues().fn[int8_output_][1](acc, n, c0, e, y);
}

}  // namespace trtn::cpu
