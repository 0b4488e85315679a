// The GEMV family: InnerProduct at a few rows (batch x rows <= kMaxRows: batch 1 serving), where a
// GEMM tile of 32+ rows computes mostly padding and a grid of N / BN CTAs leaves most of the GPU
// idle while the weights stream from memory. Here every warp owns two output columns and streams
// their weight rows with 16-byte loads, all warps of the GPU at once; the block's rows of the input
// are staged in shared memory a chunk of K at a time (every warp of the block reads them), and a
// warp reduction finishes each column. Arithmetic: FP32 / TF32 FFMA (TF32: the input rounded
// first), FP16 products in float, INT8 DP4A into a wrapping int32 (bit exact with the cpu
// emulation), then the epilogue of every family (conv_device.cuh).
//
// The input must be one contiguous K-vector per row in the weights' k order: a kLinear input
// (InnerProduct's flattened form), or a channels-last image that is its own root (pixels of Cg_pad
// channels, padding zeros), read over the whole kernel = image.
#include <cuda_fp16.h>

#include <algorithm>
#include <string>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/kernels/conv_device.cuh"
#include "backends/cuda/kernels/conv_family.h"

namespace trtn::cuda::conv {
namespace {

constexpr int kMaxRows = 8;        // rows (batch x rows per image) one launch serves
constexpr int kGemvThreads = 256;  // 8 warps
constexpr int kColsPerWarp = 2;
constexpr int kColsPerBlock = kGemvThreads / 32 * kColsPerWarp;
constexpr int kStageBytes = 32768;  // the input rows of one K chunk in shared memory

/// Products of one 16-byte vector of weights and of input, added to acc (per arithmetic).
struct F32Math {
  using T = float;
  using Acc = float;
  static __device__ __forceinline__ T zero() { return 0.0f; }
  static __device__ __forceinline__ void mac(Acc& acc, const uint4& w, const uint4& x, int round) {
    const float* wf = reinterpret_cast<const float*>(&w);
    const float* xf = reinterpret_cast<const float*>(&x);
#pragma unroll
    for (int e = 0; e < 4; ++e) acc = __fmaf_rn(round ? round_tf32(xf[e]) : xf[e], wf[e], acc);
  }
};
struct F16Math {
  using T = __half;
  using Acc = float;
  static __device__ __forceinline__ T zero() { return __float2half(0.0f); }
  static __device__ __forceinline__ void mac(Acc& acc, const uint4& w, const uint4& x, int /*round*/) {
    const __half* wh = reinterpret_cast<const __half*>(&w);
    const __half* xh = reinterpret_cast<const __half*>(&x);
#pragma unroll
    for (int e = 0; e < 8; ++e) acc = __fmaf_rn(__half2float(xh[e]), __half2float(wh[e]), acc);
  }
};
struct I8Math {
  using T = int8_t;
  using Acc = int;
  static __device__ __forceinline__ T zero() { return 0; }
  static __device__ __forceinline__ void mac(Acc& acc, const uint4& w, const uint4& x, int /*round*/) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 610
    acc = __dp4a(static_cast<int>(x.x), static_cast<int>(w.x), acc);
    acc = __dp4a(static_cast<int>(x.y), static_cast<int>(w.y), acc);
    acc = __dp4a(static_cast<int>(x.z), static_cast<int>(w.z), acc);
    acc = __dp4a(static_cast<int>(x.w), static_cast<int>(w.w), acc);
#else
    const int8_t* wb = reinterpret_cast<const int8_t*>(&w);
    const int8_t* xb = reinterpret_cast<const int8_t*>(&x);
    unsigned s = static_cast<unsigned>(acc);
    for (int e = 0; e < 16; ++e) s += static_cast<unsigned>(static_cast<int>(xb[e]) * static_cast<int>(wb[e]));
    acc = static_cast<int>(s);
#endif
  }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ int warp_sum(int v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) {
    v = static_cast<int>(static_cast<unsigned>(v) + static_cast<unsigned>(__shfl_xor_sync(0xffffffffu, v, o)));
  }
  return v;
}

/// rows: M (<= kMaxRows); k_read: the input values of a row (k_read <= Ktot; the weights past it
/// are zero); columns: max(Ng, out_cwrite).
/// kUnroll: 16-byte weight vectors per column a lane loads before it uses them (1: one at a time).
template <class Math, int kUnroll>
__global__ void __launch_bounds__(kGemvThreads) gemv_kernel(const GemmParams p, int rows, int k_read, int columns) {
  using T = typename Math::T;
  using Acc = typename Math::Acc;
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));  // elements per 16-byte vector
  constexpr int kChunk = kStageBytes / (kMaxRows * static_cast<int>(sizeof(T)));
  __shared__ __align__(16) T xs[kMaxRows][kChunk];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int n_first = blockIdx.x * kColsPerBlock + warp * kColsPerWarp;
  const T* in = static_cast<const T*>(p.in);
  const T* wts = static_cast<const T*>(p.weights);
  Acc acc[kColsPerWarp][kMaxRows];
#pragma unroll
  for (int j = 0; j < kColsPerWarp; ++j) {
#pragma unroll
    for (int m = 0; m < kMaxRows; ++m) acc[j][m] = 0;
  }
  for (int k0 = 0; k0 < p.Ktot; k0 += kChunk) {
    const int len = min(kChunk, p.Ktot - k0);
    __syncthreads();  // every warp is done with the previous chunk
    for (int i = threadIdx.x; i < rows * len; i += kGemvThreads) {
      const int m = i / len, k = i - m * len;
      xs[m][k] = m < rows && k0 + k < k_read ? in[m * p.in_sn + k0 + k] : Math::zero();
    }
    __syncthreads();
    if constexpr (kUnroll == 1) {
      // The loop the GPU tests have run: one vector at a time.
#pragma unroll
      for (int j = 0; j < kColsPerWarp; ++j) {
        const int n = n_first + j;
        if (n >= p.Ng) continue;
        const uint4* w = reinterpret_cast<const uint4*>(wts + static_cast<int64_t>(n) * p.Ktot + k0);
        for (int v = lane; v < len / kVec; v += 32) {
          const uint4 wv = __ldg(w + v);
#pragma unroll
          for (int m = 0; m < kMaxRows; ++m) {
            if (m < rows) Math::mac(acc[j][m], wv, *reinterpret_cast<const uint4*>(&xs[m][v * kVec]), p.round_tf32);
          }
        }
      }
    } else {
      // kUnroll vectors of each column per lane are loaded before any is used, so that a warp keeps
      // kColsPerWarp x kUnroll 16-byte loads in flight (one at a time reached ~40% of HBM's bandwidth
      // on AlexNet's fc6 / fc7 at batch 1). Each lane adds its vectors in increasing order whatever
      // kUnroll is: the sums are the same.
      const int vectors = len / kVec;
      const uint4* w[kColsPerWarp];
#pragma unroll
      for (int j = 0; j < kColsPerWarp; ++j) {
        const int n = min(n_first + j, p.Ng - 1);  // a column past Ng reads a real row, never used
        w[j] = reinterpret_cast<const uint4*>(wts + static_cast<int64_t>(n) * p.Ktot + k0);
      }
      for (int v0 = lane; v0 < vectors; v0 += 32 * kUnroll) {
        uint4 wv[kColsPerWarp][kUnroll];
#pragma unroll
        for (int j = 0; j < kColsPerWarp; ++j) {
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) {
            const int v = v0 + u * 32;
            wv[j][u] = v < vectors ? __ldg(w[j] + v) : make_uint4(0, 0, 0, 0);
          }
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int v = v0 + u * 32;
          if (v >= vectors) break;
#pragma unroll
          for (int j = 0; j < kColsPerWarp; ++j) {
#pragma unroll
            for (int m = 0; m < kMaxRows; ++m) {
              if (m < rows)
                Math::mac(acc[j][m], wv[j][u], *reinterpret_cast<const uint4*>(&xs[m][v * kVec]), p.round_tf32);
            }
          }
        }
      }
    }
  }
  char* out = static_cast<char*>(p.out);
#pragma unroll
  for (int j = 0; j < kColsPerWarp; ++j) {
    const int n = n_first + j;
    float mul = 0.0f, add = 0.0f;
    load_channel(p.epi, n, n < p.Ng, &mul, &add);
#pragma unroll
    for (int m = 0; m < kMaxRows; ++m) {
      const Acc s = warp_sum(acc[j][m]);
      if (lane != 0 || m >= rows || n >= columns) continue;
      char* dst = out + (static_cast<int64_t>(m) * p.out_sn + static_cast<int64_t>(n) * p.out_sc) * p.out_eb;
      if (n < p.Ng) {
        const float v = finish(s, mul, add, p.epi);
        put_values(dst, p.out_elem, &v, 1);
      } else {
        zero_elem(dst, p.out_eb);  // a padding channel [out_c, out_cwrite)
      }
    }
  }
}

/// Whether the input of pair i is one contiguous K-vector per row in the weights' order.
bool contiguous_rows(const ConvProblem& p, size_t i) {
  if (p.flatten) return true;  // problem_views gives [rows, K, 1, 1] over a dense kLinear input
  const Place& ip = p.in_places[i];
  // A channels-last image that is its own root: pixels of Cg_pad channels, padding zeros.
  return ip.layout == Layout::kNHWC && ip.c_offset == 0 && ip.root_c == p.cg_pad && ip.c_write == ip.root_c;
}

/// Tactic 0 loads one vector at a time; tactic 1 (`_u4`) four, written but not yet run on a GPU:
/// offered only with TRTN_CUDA_GEMV_U4=1 (the tactic tests set it).
int gemv_configs() { return 2; }

bool gemv_offered(const ConvProblem& /*p*/, int i) { return i == 0 || cuda_env().gemv_u4; }

/// InnerProduct (or a convolution whose kernel is its whole unpadded input) at most kMaxRows rows
/// at the largest run batch (max_batch counts region rows: Faster R-CNN's fc6 over 300 regions is
/// out), one group, contiguous rows.
bool gemv_eligible(const ConvProblem& p) {
  bool ok = !p.pool_input && p.axes == 2 && p.groups == 1 && p.out_sp[0] == 1 && p.out_sp[1] == 1 &&
            p.kernel == p.in_sp && p.pad[0] == 0 && p.pad[1] == 0 && p.dil[0] == 1 && p.dil[1] == 1 &&
            static_cast<int64_t>(p.max_batch) * p.rows <= kMaxRows && (p.math != Math::kI8 || p.device.sm >= 61);
  for (size_t i = 0; i < p.pairs && ok; ++i) ok = contiguous_rows(p, i);
  return ok;
}

bool gemv_tile(Math /*math*/, int /*i*/, TileConfig* /*t*/) { return false; }

std::string gemv_tactic_name(Math math, int i) {
  return std::string("gemv_") + math_label(math) + (i == 1 ? "_u4" : "");
}

bool gemv_accepts(const ConvProblem& p, const ConvCall& call) {
  const View4& in = call.in;
  const int eb = math_bytes(p.math);
  return in.n <= kMaxRows && in.sc == 1 && reinterpret_cast<uintptr_t>(in.data) % eb == 0 &&
         (p.flatten || (in.sw == p.cg_pad && in.sh == static_cast<int64_t>(in.w) * p.cg_pad));
}

template <int kUnroll>
void launch_unrolled(Math math, const GemmParams& p, const ConvCall& call, int k_read, int columns) {
  const dim3 grid(static_cast<unsigned>((columns + kColsPerBlock - 1) / kColsPerBlock));
  switch (math) {
    case Math::kI8:
      gemv_kernel<I8Math, kUnroll><<<grid, kGemvThreads, 0, call.stream>>>(p, call.in.n, k_read, columns);
      break;
    case Math::kF16:
      gemv_kernel<F16Math, kUnroll><<<grid, kGemvThreads, 0, call.stream>>>(p, call.in.n, k_read, columns);
      break;
    default:
      gemv_kernel<F32Math, kUnroll><<<grid, kGemvThreads, 0, call.stream>>>(p, call.in.n, k_read, columns);
      break;
  }
}

Status gemv_launch(const ConvProblem& pr, const ConvCall& call, int i) {
  const GemmParams p = gemm_params(pr, call.in, call.out, call.pair);
  const int k_read = pr.flatten ? static_cast<int>(pr.cin) : p.Ktot;
  const int columns = std::max(p.Ng, p.out_cwrite);
  if (i == 1) {
    launch_unrolled<4>(pr.math, p, call, k_read, columns);
  } else {
    launch_unrolled<1>(pr.math, p, call, k_read, columns);
  }
  return TRTN_CUDA_STATUS(cudaGetLastError());
}

}  // namespace

const ConvFamily kGemvFamily = {
    gemv_configs,
    gemv_eligible,
    gemv_offered,
    gemv_tile,
    gemv_tactic_name,
    /*smem_bytes=*/nullptr,
    /*prepare=*/nullptr,
    /*prepare_weights=*/nullptr,
    /*workspace_bytes=*/nullptr,
    gemv_accepts,
    gemv_launch,
};

}  // namespace trtn::cuda::conv
