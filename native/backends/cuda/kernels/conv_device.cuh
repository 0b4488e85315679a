// Device code the convolution kernels share: the epilogue arithmetic of docs/engine.md and
// docs/int8.md, the store of a finished CTA tile from shared memory to any output view, and the
// PTX wrappers (cp.async, ldmatrix, mma.sync) of the tensor-core kernels.
#pragma once

#include <cuda_fp16.h>

#include <climits>
#include <cstdint>
#include <string>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/conv_kernels.h"

namespace trtn::cuda::conv {

// ---- epilogue -----------------------------------------------------------------------------------

/// Float arithmetic: v = acc + bias[c], then the fused ReLU (the cpu backend's order), then for an
/// FP16 node the float16 rounding (a float16 store rounds again, to the same value).
__device__ __forceinline__ float finish(float acc, float mul, float add, const Epilogue& e) {
  float v = acc + add;
  if (e.relu) v = v > 0.0f ? v : v * e.slope;
  if (e.round_half) v = __half2float(__float2half_rn(v));
  return v;
}

/// INT8: v = fma(float(acc), M[c], B[c]) with one rounding, then the fused ReLU (docs/int8.md).
__device__ __forceinline__ float finish(int acc, float mul, float add, const Epilogue& e) {
  float v = __fmaf_rn(__int2float_rn(acc), mul, add);
  if (e.relu) v = v > 0.0f ? v : v * e.slope;
  return v;
}

/// Per-channel epilogue constants (mul unused by float arithmetic: 0).
__device__ __forceinline__ void load_channel(const Epilogue& e, int c, bool valid, float* mul, float* add) {
  *mul = valid && e.mul != nullptr ? __ldg(e.mul + c) : 0.0f;
  *add = valid ? __ldg(e.add + c) : 0.0f;
}

/// Writes `count` (1, 2 or 4) finished values, converted to the output type, to consecutive
/// elements at `dst` (aligned to count elements of the type).
__device__ __forceinline__ void put_values(char* dst, Elem elem, const float* v, int count) {
  if (elem == Elem::kF32) {
    if (count == 4) {
      *reinterpret_cast<float4*>(dst) = make_float4(v[0], v[1], v[2], v[3]);
    } else if (count == 2) {
      *reinterpret_cast<float2*>(dst) = make_float2(v[0], v[1]);
    } else {
      *reinterpret_cast<float*>(dst) = v[0];
    }
  } else if (elem == Elem::kF16) {
    __half h[4];
    for (int i = 0; i < count; ++i) h[i] = __float2half_rn(v[i]);
    if (count == 4) {
      uint2 u;
      u.x = static_cast<uint32_t>(__half_as_ushort(h[0])) | (static_cast<uint32_t>(__half_as_ushort(h[1])) << 16);
      u.y = static_cast<uint32_t>(__half_as_ushort(h[2])) | (static_cast<uint32_t>(__half_as_ushort(h[3])) << 16);
      *reinterpret_cast<uint2*>(dst) = u;
    } else if (count == 2) {
      *reinterpret_cast<uint32_t*>(dst) =
          static_cast<uint32_t>(__half_as_ushort(h[0])) | (static_cast<uint32_t>(__half_as_ushort(h[1])) << 16);
    } else {
      *reinterpret_cast<__half*>(dst) = h[0];
    }
  } else {
    uint32_t q = 0;
    for (int i = 0; i < count; ++i) q |= static_cast<uint32_t>(static_cast<uint8_t>(saturate_int8(v[i]))) << (8 * i);
    if (count == 4) {
      *reinterpret_cast<uint32_t*>(dst) = q;
    } else if (count == 2) {
      *reinterpret_cast<uint16_t*>(dst) = static_cast<uint16_t>(q);
    } else {
      *reinterpret_cast<uint8_t*>(dst) = static_cast<uint8_t>(q);
    }
  }
}

/// Copies one element of `eb` bytes (both addresses aligned to eb).
__device__ __forceinline__ void copy_elem(char* dst, const char* src, int eb) {
  if (eb == 4) {
    *reinterpret_cast<uint32_t*>(dst) = *reinterpret_cast<const uint32_t*>(src);
  } else if (eb == 2) {
    *reinterpret_cast<uint16_t*>(dst) = *reinterpret_cast<const uint16_t*>(src);
  } else {
    *dst = *src;
  }
}

__device__ __forceinline__ void zero_elem(char* dst, int eb) {
  if (eb == 4) {
    *reinterpret_cast<uint32_t*>(dst) = 0u;
  } else if (eb == 2) {
    *reinterpret_cast<uint16_t*>(dst) = 0;
  } else {
    *dst = 0;
  }
}

/// Row pitch in bytes of the staged output tile: BN elements plus 16 bytes against bank conflicts.
__host__ __device__ constexpr int stage_pitch(int bn, int out_eb) { return bn * out_eb + 16; }

/// Shared memory the staged output tile needs: the values and each row's output offset.
__host__ __device__ constexpr size_t stage_bytes(int bm, int bn, int out_eb) {
  return static_cast<size_t>(bm) * stage_pitch(bn, out_eb) + static_cast<size_t>(bm) * sizeof(int64_t);
}

/// Stores a finished BM x BN tile, staged in shared memory as output-typed values (row r at
/// cs + r * stage_pitch), for pixels [m0, m0 + BM) and channels [n0, n0 + BN) of group g:
/// 16-byte vectors along the channels where the output is channels-contiguous and aligned,
/// else one element per thread with consecutive threads on consecutive pixels (coalesced for
/// NCHW). The tile holding the group's last channel of the last group also writes the zeros
/// of the padding channels [out_c, out_cwrite). Ends with the block synchronised.
template <int BM, int BN, int THREADS>
__device__ __forceinline__ void store_tile(const char* cs, const GemmParams& p, int m0, int n0, int g) {
  const int tid = threadIdx.x;
  const int eb = p.out_eb;
  const int pitch = stage_pitch(BN, eb);
  int64_t* rowoff = reinterpret_cast<int64_t*>(const_cast<char*>(cs) + static_cast<size_t>(BM) * pitch);
  const int pq = p.P * p.Q;
  for (int r = tid; r < BM; r += THREADS) {
    const int m = m0 + r;
    int64_t off = -1;
    if (m < p.M) {
      const int img = m / pq;
      const int rest = m - img * pq;
      const int op = rest / p.Q;
      const int oq = rest - op * p.Q;
      off = img * p.out_sn + op * p.out_sh + oq * p.out_sw;
    }
    rowoff[r] = off;
  }
  __syncthreads();

  char* out = static_cast<char*>(p.out);
  const int ncols = min(BN, p.Ng - n0);
  const int cfirst = g * p.Ng + n0;
  if (p.out_sc == 1) {
    const int ve = 16 / eb;  // elements per 16-byte vector
    const int vpr = (ncols + ve - 1) / ve;
    const bool aligned = p.out_vec && cfirst % ve == 0;
    for (int idx = tid; idx < BM * vpr; idx += THREADS) {
      const int r = idx / vpr;
      const int n = (idx - r * vpr) * ve;
      const int64_t off = rowoff[r];
      if (off < 0) continue;
      const int cnt = min(ve, ncols - n);
      char* dst = out + (off + cfirst + n) * eb;
      const char* src = cs + r * pitch + n * eb;
      if (aligned && cnt == ve) {
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(src);
      } else {
        for (int e = 0; e < cnt; ++e) copy_elem(dst + e * eb, src + e * eb, eb);
      }
    }
  } else {
    for (int idx = tid; idx < BM * ncols; idx += THREADS) {
      const int n = idx / BM;
      const int r = idx - n * BM;
      const int64_t off = rowoff[r];
      if (off < 0) continue;
      copy_elem(out + (off + static_cast<int64_t>(cfirst + n) * p.out_sc) * eb, cs + r * pitch + n * eb, eb);
    }
  }
  if (g == p.G - 1 && n0 + BN >= p.Ng && p.out_cwrite > p.out_c) {
    const int npad = p.out_cwrite - p.out_c;
    for (int idx = tid; idx < BM * npad; idx += THREADS) {
      const int r = idx / npad;
      const int j = idx - r * npad;
      const int64_t off = rowoff[r];
      if (off < 0) continue;
      zero_elem(out + (off + static_cast<int64_t>(p.out_c + j) * p.out_sc) * eb, eb);
    }
  }
}

/// The grid of an implicit-GEMM kernel with BM x BN tiles: blockIdx.x walks (pixel tile, channel
/// tile) with the channel tiles fastest (the CTAs that share an A tile run together, so the
/// activations come from DRAM once), blockIdx.y the groups. Sets p->n_tiles.
inline Status tile_grid(GemmParams* p, int bm, int bn, dim3* grid) {
  p->n_tiles = (p->Ng + bn - 1) / bn;
  const int64_t blocks = (static_cast<int64_t>(p->M) + bm - 1) / bm * p->n_tiles;
  if (blocks > INT_MAX || p->G > 65535) {
    return Status(Code::kInvalidArgument, "convolution too large for one launch (" + std::to_string(blocks) +
                                              " tiles, " + std::to_string(p->G) + " groups)");
  }
  *grid = dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(p->G));
  return Status::ok();
}

// ---- PTX wrappers (sm_80+ for cp.async; ldmatrix sm_75+; the mma shapes used need sm_80) --------

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// 16-byte global -> shared copy that reads `src_bytes` (0..16) bytes and zero-fills the rest.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
#endif
}

/// 4- or 8-byte global -> shared copy (N) that reads `src_bytes` (0 or N) bytes, zero-filling the rest.
template <int N>
__device__ __forceinline__ void cp_async_small(uint32_t dst, const void* src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(dst), "l"(src), "n"(N), "r"(src_bytes)
               : "memory");
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

/// Waits until at most N committed groups of this thread are pending.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

/// 16-byte store to shared memory at a shared-window address.
__device__ __forceinline__ void st_shared16(uint32_t dst, const uint4& v) {
  asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
               : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#endif
}

// ---- MMA policies: one mma.sync per arithmetic (conv_mma.cu, conv_stem.cu) ----------------------
// (Named, not file-local: on sm_75 the kernel bodies are empty and unused internal functions would
// draw warnings.)
/// Split K's second pass: output (m, c) = epilogue(sum over z of partial[z][m][c]) in z order
/// (int32 for DP4A: the sum is the unsplit one exactly), zeros in the padding channels
/// [out_c, out_cwrite); one thread per output element, channels fastest.
template <typename Acc>
__global__ void __launch_bounds__(256) splitk_reduce_kernel(const GemmParams p) {
  const int64_t ctot = static_cast<int64_t>(p.G) * p.Ng;
  const int64_t total = static_cast<int64_t>(p.M) * p.out_cwrite;
  const int pq = p.P * p.Q;
  const Acc* part = static_cast<const Acc*>(p.partial);
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int m = static_cast<int>(t / p.out_cwrite);
    const int c = static_cast<int>(t - static_cast<int64_t>(m) * p.out_cwrite);
    float v = 0.0f;
    if (c < p.out_c) {
      Acc sum = part[m * ctot + c];
      for (int z = 1; z < p.k_splits; ++z) sum += part[(static_cast<int64_t>(z) * p.M + m) * ctot + c];
      float mul, add;
      load_channel(p.epi, c, true, &mul, &add);
      v = finish(sum, mul, add, p.epi);
    }
    const int img = m / pq;
    const int rest = m - img * pq;
    const int op = rest / p.Q;
    const int oq = rest - op * p.Q;
    char* dst = static_cast<char*>(p.out) +
                (img * p.out_sn + c * p.out_sc + op * p.out_sh + static_cast<int64_t>(oq) * p.out_sw) * p.out_eb;
    put_values(dst, p.out_elem, &v, 1);
  }
}

/// Enqueues split K's second pass over p.partial (p.k_splits shares) into p.out.
template <typename Acc>
Status launch_splitk_reduce(const GemmParams& p, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.M) * p.out_cwrite;
  const unsigned blocks = static_cast<unsigned>((total + 255) / 256 < 4096 ? (total + 255) / 256 : 4096);
  splitk_reduce_kernel<Acc><<<blocks, 256, 0, stream>>>(p);
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

namespace mma_policy {

/// TF32: float32 storage; the A fragments are rounded with cvt.rna.tf32.f32 before the mma (the
/// weights are TF32 values already); float32 accumulation.
struct PolicyTf32 {
  using Acc = float;
  static constexpr int kBytes = 4;
  static constexpr bool kRoundA = true;
  // A MAX pooling folded into the loader (conv_mma.cu's POOL kernels): the running maximum starts
  // at Caffe's -FLT_MAX, and fmaxf keeps it over NaN, as the pooling op's strict "x > best" does.
  static constexpr uint32_t kLowestWord = 0xff7fffffu;
  static __device__ __forceinline__ uint32_t max_word(uint32_t a, uint32_t b) {
    return __float_as_uint(fmaxf(__uint_as_float(a), __uint_as_float(b)));
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
  }
};

/// FP16: __half operands, float32 accumulation.
struct PolicyF16 {
  using Acc = float;
  static constexpr int kBytes = 2;
  static constexpr bool kRoundA = false;
  // -inf: the float16 the pooling op stores for its start value -FLT_MAX; __hmax2 keeps a number
  // over NaN.
  static constexpr uint32_t kLowestWord = 0xfc00fc00u;
  static __device__ __forceinline__ uint32_t max_word(uint32_t a, uint32_t b) {
    __half2 x = *reinterpret_cast<const __half2*>(&a), y = *reinterpret_cast<const __half2*>(&b);
    const __half2 m = __hmax2(x, y);
    return *reinterpret_cast<const uint32_t*>(&m);
  }
  static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
  }
};

/// INT8: int8 operands, int32 accumulation (wrapping, no .satfinite: the cpu emulation wraps too).
struct PolicyI8 {
  using Acc = int;
  static constexpr int kBytes = 1;
  static constexpr bool kRoundA = false;
  // Per-byte signed maxima (vmax.s8 x 4) from -128, below every int8.
  static constexpr uint32_t kLowestWord = 0x80808080u;
  static __device__ __forceinline__ uint32_t max_word(uint32_t a, uint32_t b) { return __vmaxs4(a, b); }
  static __device__ __forceinline__ void mma(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
  }
};

}  // namespace mma_policy

}  // namespace trtn::cuda::conv
