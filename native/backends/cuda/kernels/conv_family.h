// The convolution kernel families as the convolution op (conv.cu) sees them: each family file
// (conv_gemv.cu, conv_stem.cu, conv_mma.cu, conv_im2col.cu, conv_simt.cu, conv_direct.cu) exports
// one ConvFamily descriptor (eligibility, tile configurations as tactics, shared memory, its own
// weight layout, workspace, launch), and conv.cu walks the table kFamilies of those descriptors;
// it switches on no family.
//
// Adding a family: one new file conv_<family>.cu defining `const ConvFamily k<Family>Family`, its
// line in native/sources.json ("cuda_device"), its declaration below and its line in conv.cu's
// kFamilies (table order is preference order: the default tactic comes from the first family that
// serves a node). A Hopper wgmma family also needs `90a-real` in CMakeLists.txt's TRTN_CUDA_ARCHS
// (wgmma exists only in the arch-specific sm_90a target); plain sm_90 machine code cannot hold it.
//
// Tactic names are what plans and timing caches store: a family must keep its names as they are
// (plans written before must still load and pick the same tactics).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernels/conv_kernels.h"
#include "backends/cuda/op.h"

namespace trtn::cuda::conv {

/// One Convolution or InnerProduct node as its kernels see it, fixed at init (conv.cu fills it).
struct ConvProblem {
  std::string name;
  Math math = Math::kF32;
  Activation activation;
  bool flatten = false;  // InnerProduct over a kLinear input
  int64_t rows = 1;      // InnerProduct: rows per image (dimensions before `axis`)
  // The convolution the kernels compute: `axes` spatial axes (2 for View4 tensors: a 1-D
  // convolution has a unit second axis).
  int axes = 2;
  std::vector<int64_t> in_sp, out_sp, kernel, stride, pad, dil;
  int64_t cin = 0, cout = 0, groups = 1, cg = 0, ng = 0, cg_pad = 0, kvol = 1, ktot = 0;
  size_t pairs = 0;
  std::vector<Place> in_places, out_places;
  DeviceProps device;
  int max_batch = 1;  // the largest batch a run gets: maxBatchSize x rows (region tensors)
  // The input is MAX-pooled (3x3, stride 1, pad 1) in the loader before this 1x1 convolution (the
  // planner's pooling + convolution fusion): only the tensor-core family's POOL tactics serve it.
  bool pool_input = false;
  DeviceBuffer weights;  // [Cout][kvol][Cg_pad], read by every family
  DeviceBuffer epi;      // float: bias [Cout]; INT8: per pair mul [Cout] then add [Cout]
};

/// The shared weights on the host while a family derives its own layout from them:
/// [Cout][kvol][Cg_pad] values of the math's type (math_bytes each), zeros in the padding.
struct HostWeights {
  const void* data = nullptr;
  size_t bytes = 0;
};

/// One launch: one (input, output) pair of the node.
struct ConvCall {
  View4 in, out;  // the pair's views as the kernels read them (problem_views)
  size_t pair = 0;
  void* workspace = nullptr;  // workspace_bytes(batch) bytes of the selected family
  const void* own = nullptr;  // the family's own weights (prepare_weights), or null
  cudaStream_t stream = nullptr;
};

/// A family of convolution kernels. Optional hooks are null where a family has nothing to do.
struct ConvFamily {
  /// Tile configurations, one tactic each (1 for an untiled family).
  int (*configs)();
  /// Whether the family serves this node at all (arithmetic, places, GPU).
  bool (*eligible)(const ConvProblem& p);
  /// Whether configuration i serves this node (null: all do): an arithmetic it has, or (split K)
  /// a problem too small to fill the GPU.
  bool (*offered)(const ConvProblem& p, int i);
  /// The tile of configuration i (false: an untiled family, left out of the default choice).
  bool (*tile)(Math math, int i, TileConfig* t);
  /// The tactic's name: what plans and timing caches store.
  std::string (*tactic_name)(Math math, int i);
  /// Dynamic shared memory of configuration i for this node writing `out_eb`-byte outputs
  /// (null: none).
  size_t (*smem_bytes)(const ConvProblem& p, int i, int out_eb);
  /// Raises the kernel's dynamic shared-memory limit to `smem` bytes (null: nothing to raise).
  Status (*prepare)(Math math, int i, size_t smem);
  /// Uploads the family's own weight layout to `own` (null: reads the shared weights only).
  Status (*prepare_weights)(const ConvProblem& p, const HostWeights& w, DeviceBuffer* own);
  /// Scratch device memory configuration i needs for a run at `batch` (null: none).
  size_t (*workspace_bytes)(const ConvProblem& p, int i, int batch);
  /// Whether a run's real views suit the family (false: conv.cu runs the last family instead).
  bool (*accepts)(const ConvProblem& p, const ConvCall& call);
  /// Enqueues configuration i for one pair.
  Status (*launch)(const ConvProblem& p, const ConvCall& call, int i);
};

// The families (each in its own file); conv.cu lists them in kFamilies.
extern const ConvFamily kGemvFamily;    // conv_gemv.cu: InnerProduct at <= 8 rows
extern const ConvFamily kStemFamily;    // conv_stem.cu: few input channels, tensor cores, persistent
extern const ConvFamily kMmaFamily;     // conv_mma.cu: tensor-core implicit GEMM
extern const ConvFamily kIm2colFamily;  // conv_im2col.cu: explicit im2col, then a tensor-core GEMM
extern const ConvFamily kSimtFamily;    // conv_simt.cu: FFMA / DP4A implicit GEMM
extern const ConvFamily kDirectFamily;  // conv_direct.cu: one thread per output, any problem

// ---- shared by the families ----------------------------------------------------------------------

/// "f32", "tf32", "f16" or "i8": the arithmetic in tactic names and signatures.
inline const char* math_label(Math m) {
  switch (m) {
    case Math::kTF32: return "tf32";
    case Math::kF16: return "f16";
    case Math::kI8: return "i8";
    default: return "f32";
  }
}

/// "<prefix>_<BM>x<BN>x<BK>" and, for pipelined tiles, "_s<stages>".
inline std::string tile_tactic_name(const std::string& prefix, const TileConfig& t, bool stages) {
  return prefix + "_" + std::to_string(t.bm) + "x" + std::to_string(t.bn) + "x" + std::to_string(t.bk) +
         (stages ? "_s" + std::to_string(t.stages) : std::string());
}

/// True when `v` can be read `elems` channels at a time with aligned vector loads: channels
/// contiguous, data and pixel strides aligned, and every group starting on a vector (or a single
/// group, whose last vector the kernels mask).
inline bool channel_vectors_ok(const View4& v, int elems, int64_t cg, int64_t groups) {
  const int64_t bytes = static_cast<int64_t>(elems) * elem_bytes(v.elem);
  return v.sc == 1 && reinterpret_cast<uintptr_t>(v.data) % bytes == 0 && v.sn % elems == 0 && v.sh % elems == 0 &&
         v.sw % elems == 0 && (groups == 1 || cg % elems == 0);
}

/// Split K's partial sums are at most this large (they live in the op's workspace).
constexpr int64_t kMaxSplitBytes = int64_t{64} << 20;

/// Split K's partial sums at `batch`: `ways` x M x Cout values of 4 bytes (0 for 1 way).
inline size_t split_k_bytes(const ConvProblem& p, int ways, int64_t batch) {
  if (ways <= 1) return 0;
  const int64_t m = batch * p.rows * p.out_sp[0] * p.out_sp[1];
  return static_cast<size_t>(ways * m * p.cout * 4);
}

/// Whether K split `ways` ways is worth offering with tile t: the tile grid at the largest batch
/// leaves most of the GPU idle (at most half of the multiprocessors get a CTA: batch-1 layers such
/// as AlexNet's conv3-5, 12 CTAs of 64x64), each share keeps at least two K tiles, and the partial
/// sums stay under kMaxSplitBytes.
inline bool split_k_worthwhile(const ConvProblem& p, const TileConfig& t, int ways) {
  const int64_t m = static_cast<int64_t>(p.max_batch) * p.rows * p.out_sp[0] * p.out_sp[1];
  const int64_t ctas = (m + t.bm - 1) / t.bm * ((p.ng + t.bn - 1) / t.bn) * p.groups;
  const int64_t k_tiles = (p.ktot + t.bk - 1) / t.bk;
  return 2 * ctas <= p.device.multiprocessors && k_tiles >= 2 * ways &&
         split_k_bytes(p, ways, p.max_batch) <= static_cast<size_t>(kMaxSplitBytes);
}

/// The views the kernels read for one pair (InnerProduct over a kLinear input: [rows, K, 1, 1]).
/// conv.cu.
Status problem_views(const ConvProblem& p, const View4& in, const View4& out, View4* pin, View4* pout);
/// The implicit-GEMM launch of one pair (ktab left null: the SIMT family adds its own). conv.cu.
GemmParams gemm_params(const ConvProblem& p, const View4& in, const View4& out, size_t pair);
/// The direct kernel's launch of one pair. conv.cu.
DirectParams direct_params(const ConvProblem& p, const View4& in, const View4& out, size_t pair);

/// Whether the tensor-core kernels serve `p`: sm_80+, a tensor-core arithmetic, every input
/// channels-contiguous with 16-byte chunks (judged on views at an aligned base address; a run
/// checks the real ones). conv_mma.cu; the im2col and SIMT families consult it too.
bool mma_serves(const ConvProblem& p);

}  // namespace trtn::cuda::conv
