// The launch parameters of the convolution kernels (kernels/conv_*.cu): what the convolution op
// (kernels/conv.cu) fills and the kernels read. The families themselves (tactics, launches) are
// conv_family.h's descriptors. Plain host declarations: no device code here, so conv.cu stays a
// host-only translation unit.
//
// Every kernel computes, for one (input, output) pair of a Convolution or InnerProduct node, the
// GEMM of a convolution with G groups:
//   out[m][g*Ng + n] = epilogue(sum_k A[m][k] * B[g*Ng + n][k])
// with m = (image, p, q) an output pixel, n an output channel of group g and k = (r, s, c) a kernel
// position and input channel of the group (c fastest). The weights are stored once per op, at
// init, as [Cout][R][S][Cg_pad] (Cg_pad: the group's input channels rounded up to 16 bytes of the
// weight type, zeros in the padding), which every kernel reads: Ktot = R * S * Cg_pad.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backends/cuda/format.h"
#include "core/status.h"

namespace trtn::cuda::conv {

/// The arithmetic of a node (docs/engine.md, docs/int8.md): what the kernels load and multiply.
enum class Math : int32_t {
  kF32 = 0,   // float32 values and weights, FFMA
  kTF32 = 1,  // float32 storage, activations rounded to TF32 (cvt.rna) before multiplying
  kF16 = 2,   // __half values and weights, float32 accumulation
  kI8 = 3,    // int8 values and weights, int32 accumulation, the INT8 epilogue
};

/// Bytes of one stored activation or weight of `math`.
inline int math_bytes(Math m) { return m == Math::kF16 ? 2 : m == Math::kI8 ? 1 : 4; }

/// The epilogue of every kernel, per output channel c: float arithmetic v = acc + add[c]; INT8
/// v = fma(float(acc), mul[c], add[c]); then the fused ReLU v = v > 0 ? v : v * slope; then the
/// store in the output's element type (float16: round to nearest even; int8: saturate_int8).
/// An FP16 node writing a float32 tensor still rounds to float16 (every FP16 node's outputs are
/// float16 values, docs/engine.md): round_half.
struct Epilogue {
  const float* mul = nullptr;  // INT8 only: M[c] (int8 output) or M'[c] (float output)
  const float* add = nullptr;  // bias[c]; INT8: B[c] (int8 output) or bias[c] (float output)
  int relu = 0;
  float slope = 0.0f;
  int round_half = 0;
};

/// One launch of an implicit-GEMM kernel (2-D convolutions; 1-D ones have W = S = Q = 1). Strides
/// are in elements of the tensor's type; the input pointer already points at channel 0 of the
/// node's input (slices applied), the output at channel 0 of its output.
struct GemmParams {
  // Input [batch][C][H][W] at in + n*in_sn + c*in_sc + h*in_sh + w*in_sw.
  const void* in = nullptr;
  int64_t in_sn = 0, in_sc = 0, in_sh = 0, in_sw = 0;
  int H = 1, W = 1;
  // Output pixels: M = batch * P * Q rows of the GEMM.
  int P = 1, Q = 1, M = 0;
  // Filter.
  int R = 1, S = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int G = 1, Cg = 0, Ng = 0, Cg_pad = 0, Ktot = 0;
  const void* weights = nullptr;  // [G * Ng][Ktot] of the math's weight type
  // SIMT / DP4A kernels: per group of 4 consecutive k, (r * dil_h, s * dil_w, c, 0); K4 = Ktot / 4.
  const int4* ktab = nullptr;
  int K4 = 0;
  int vec_in = 0;     // input channels contiguous (in_sc == 1) and 4-element vectors aligned
  int m_fastest = 0;  // SIMT loads: consecutive threads along M (strided channels, e.g. NCHW)
  int round_tf32 = 0;
  Epilogue epi;
  // Output [batch][c_write][P][Q] at out + n*out_sn + c*out_sc + p*out_sh + q*out_sw; channels
  // [out_c, out_cwrite) are padding and get zeros.
  void* out = nullptr;
  int out_eb = 4;
  Elem out_elem = Elem::kF32;
  int64_t out_sn = 0, out_sc = 0, out_sh = 0, out_sw = 0;
  int out_c = 0, out_cwrite = 0;
  int out_vec = 0;  // out_sc == 1, 16-byte aligned data and pixel strides: 16-byte stores allowed
  int n_tiles = 0;  // set by the launcher: ceil(Ng / BN)
  // Split K (SIMT / DP4A, small problems): CTA z of k_splits sums its share of the K tiles into
  // partial[z][m][G * Ng] (float, or int32 for DP4A), and a second kernel adds the shares in z
  // order and runs the epilogue. k_splits 1: the CTA's epilogue stores the tile itself.
  int k_splits = 1;
  void* partial = nullptr;
};

/// A CTA tile: BM output pixels x BN output channels, K consumed `bk` elements at a time through
/// `stages` shared-memory buffers, by `threads` threads.
struct TileConfig {
  int bm, bn, bk, stages, threads;
};

// ---- tensor-core implicit GEMM (conv_mma.cu; sm_80 and newer) ----------------------------------
//
// The input must be channels-contiguous (in_sc == 1) with 16-byte aligned pixels (data and
// in_sn, in_sh, in_sw multiples of 16 bytes), and each group's channels must start on 16 bytes
// (Cg a multiple of 16 bytes of the type, or G == 1). Math kF32 has no tensor-core form.

/// Launches tile configuration i (conv_family.h's kMmaFamily lists them); the im2col family runs
/// its GEMM through it too.
Status mma_launch(Math math, int i, GemmParams p, cudaStream_t stream);

// ---- direct convolution (conv_direct.cu; any GPU, any view, any number of spatial axes) --------

constexpr int kMaxAxes = 6;

/// One launch of the direct kernel: one thread per output element (padding channels included).
struct DirectParams {
  int axes = 2;  // spatial axes; 2 for View4 tensors (1-D convolutions have a unit second axis)
  int in_dims[kMaxAxes] = {}, out_dims[kMaxAxes] = {};
  int kernel[kMaxAxes] = {}, stride[kMaxAxes] = {}, pad[kMaxAxes] = {}, dil[kMaxAxes] = {};
  const void* in = nullptr;
  int64_t in_sn = 0, in_sc = 0, in_stride[kMaxAxes] = {};
  void* out = nullptr;
  Elem out_elem = Elem::kF32;
  Layout out_layout = Layout::kLinear;  // decides the order threads walk the output in
  int64_t out_sn = 0, out_sc = 0, out_stride[kMaxAxes] = {};
  int batch = 0, G = 1, Cg = 0, Ng = 0, Cout = 0, c_write = 0, Cg_pad = 0, kvol = 1, out_vol = 1;
  const void* weights = nullptr;  // [Cout][kvol][Cg_pad]
  int round_tf32 = 0;
  Epilogue epi;
};

}  // namespace trtn::cuda::conv
