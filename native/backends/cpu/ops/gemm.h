// GEMM kernels of the cpu backend, shared by Convolution, Deconvolution and InnerProduct:
// float32 C = epilogue(A * B) and int8 x int8 -> int32 C = A * B (exact integer accumulation),
// plus what those three ops share around them: the lowering of a convolution to columns
// (im2col / col2im) and the INT8 epilogue of docs/int8.md.
//
// Both follow the BLIS layout: the K dimension is cut into blocks, A is packed into panels of MR
// rows and B into panels of NR columns, and a register-blocked micro-kernel computes one MR x NR
// tile per call. The constant operand of a layer (its weights) is packed once at op creation
// (PackedF32 / PackedI8); the other is packed per call into caller-provided scratch, so the
// kernels never allocate and can run inside ThreadPool tasks. The micro-kernels are compiled
// twice on x86-64 (AVX2+FMA and the baseline ISA) and picked once at run time, so the binary runs
// on any x86-64 and the portable code builds on other architectures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cpu/ops/op.h"
#include "core/gemm_node.h"
#include "core/status.h"
#include "core/thread_pool.h"

namespace trtn::cpu {

/// Uninitialised memory aligned to 64 bytes (a cache line, and any vector register).
class AlignedBuffer {
 public:
  /// Replaces the contents with `bytes` bytes; kOutOfMemory naming `what` when they cannot be had.
  Status allocate(size_t bytes, const char* what);
  unsigned char* data() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<unsigned char[]> raw_;
  unsigned char* ptr_ = nullptr;
  size_t size_ = 0;
};

/// `bytes` rounded up to a whole number of cache lines (to cut one AlignedBuffer into aligned parts).
inline size_t align64(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

/// Calls fn(slot) for slot in [0, slots) on the pool (each slot once, in parallel). Callers give
/// each slot its own scratch; slots claim work items from a shared counter.
template <typename Fn>
void run_slots(ThreadPool& pool, int64_t slots, const Fn& fn) {
  pool.parallel_for(slots, 1, [&fn](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) fn(s);
  });
}

// ---- float32 ----------------------------------------------------------------------------------

/// Register block of the float32 micro-kernel (rows of A, columns of B).
constexpr int kSgemmMR = 6;
constexpr int kSgemmNR = 16;

/// A float32 matrix read in place: element (i, j) at data[i * rs + j * cs].
struct MatF32 {
  const float* data = nullptr;
  int64_t rs = 0;
  int64_t cs = 0;
};

/// A constant float32 operand packed once: the A side (m x k, MR-row panels) or the B side
/// (k x n, NR-column panels), in the K blocks sgemm reads, zero-padded to whole panels.
class PackedF32 {
 public:
  /// Packs a as the A operand (m x k).
  Status pack_a(MatF32 a, int64_t m, int64_t k);
  /// Packs b as the B operand (k x n).
  Status pack_b(MatF32 b, int64_t k, int64_t n);

  bool is_a() const { return is_a_; }
  int64_t rows() const { return rows_; }  // m for A, k for B
  int64_t cols() const { return cols_; }  // k for A, n for B
  /// The panels that start at row (A) or column (B) `start` (a multiple of the panel width) in
  /// the K block that starts at k0.
  const float* block(int64_t k0, int64_t start) const;

 private:
  AlignedBuffer buf_;
  bool is_a_ = true;
  int64_t rows_ = 0, cols_ = 0;
  int64_t padded_ = 0;  // M or N rounded up to whole panels
};

/// What sgemm applies to each finished element of C: v += bias (per row or per column), then the
/// fused ReLU v = v > 0 ? v : v * slope.
struct GemmEpilogue {
  const float* bias = nullptr;
  bool bias_per_row = true;
  bool relu = false;
  float slope = 0.0f;
};

/// One float32 product C (m x n) = epilogue(A (m x k) * B (k x n)). Each operand is either a
/// PackedF32 or a MatF32 read in place (then packed per call, rounded to TF32 when round_tf32 is
/// set: the weights side is prepared already rounded). C is written at c[i * c_rs + j * c_cs].
struct SgemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const PackedF32* packed_a = nullptr;
  MatF32 a;
  const PackedF32* packed_b = nullptr;
  MatF32 b;
  bool round_tf32 = false;
  float* c = nullptr;
  int64_t c_rs = 0, c_cs = 1;
  GemmEpilogue epilogue;
};

/// Scratch bytes sgemm needs for `args` on `threads` threads (1: the serial form).
size_t sgemm_scratch_bytes(const SgemmArgs& args, int threads);

/// Computes args. With a pool, C is split over the pool's threads and `scratch` must hold
/// sgemm_scratch_bytes(args, pool->size()); without one it runs on the calling thread (for
/// callers that parallelise over independent products) and needs sgemm_scratch_bytes(args, 1).
/// `scratch` is 64-byte aligned.
void sgemm(const SgemmArgs& args, void* scratch, ThreadPool* pool);

// ---- int8 -------------------------------------------------------------------------------------

/// Register block of the int8 micro-kernel.
constexpr int kIgemmMR = 6;
constexpr int kIgemmNR = 16;

/// An int8 matrix read in place: element (i, j) at data[i * rs + j * cs].
struct MatI8 {
  const int8_t* data = nullptr;
  int64_t rs = 0;
  int64_t cs = 0;
};

/// A constant int8 operand packed once (as int16 pairs along K, the form the kernel multiplies).
class PackedI8 {
 public:
  Status pack_a(MatI8 a, int64_t m, int64_t k);
  Status pack_b(MatI8 b, int64_t k, int64_t n);

  bool is_a() const { return is_a_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const int16_t* block(int64_t k0, int64_t start) const;

 private:
  AlignedBuffer buf_;
  bool is_a_ = true;
  int64_t rows_ = 0, cols_ = 0;
  int64_t padded_ = 0;
};

/// One exact product C (m x n, int32) = A (m x k, int8) * B (k x n, int8). The int32 sums wrap
/// on overflow (two's complement) as the GPU's do; that needs k > 133143.
struct IgemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const PackedI8* packed_a = nullptr;
  MatI8 a;
  const PackedI8* packed_b = nullptr;
  MatI8 b;
  int32_t* c = nullptr;
  int64_t c_rs = 0, c_cs = 1;
};

/// Scratch bytes igemm needs for `args` on `threads` threads.
size_t igemm_scratch_bytes(const IgemmArgs& args, int threads);

/// Computes args, as sgemm does (pool or calling thread).
void igemm(const IgemmArgs& args, void* scratch, ThreadPool* pool);

/// Which micro-kernels this process uses ("avx2+fma" or "portable").
const char* gemm_kernel_isa();

// ---- convolution lowering ---------------------------------------------------------------------

/// The column matrix of one group of one image: rows (channel, kernel offset), kernel offsets in
/// row-major order; columns the positions of `grid` (a convolution's output, a deconvolution's
/// input). `image` is the spatial shape the kernel windows read (col2im: write).
struct ColumnLayout {
  int64_t channels = 0;
  std::vector<int64_t> image, grid, kernel, stride, pad, dilation;
};

/// Columns [p0, p1) of the column matrix of `image` ([channels][image...]) into col
/// ([rows][p1 - p0]); positions in the padding are 0.
template <typename T>
void im2col(const ColumnLayout& layout, const T* image, int64_t p0, int64_t p1, T* col);

/// The reverse: adds columns [p0, p1) of rows of channels [c0, c1) of col ([rows][p1 - p0]) into
/// `image`, dropping what falls in the padding.
void col2im_add(const ColumnLayout& layout, const float* col, int64_t p0, int64_t p1, int64_t c0, int64_t c1,
                float* image);

// ---- INT8 epilogue ----------------------------------------------------------------------------

/// The INT8 epilogue of docs/int8.md for one (input, output) pair of a Convolution or
/// InnerProduct: the int32 sum of output channel c becomes
///   int8 output:    q = saturate(relu(fma(float(acc), M[c], B[c]))), M[c] = float32(s_x s_w[c] / s_y),
///                   B[c] = float32(bias[c] / s_y);
///   float32 output: y = relu(fma(float(acc), M'[c], bias[c])), M'[c] = float32(s_x s_w[c]),
/// with the multipliers computed in double from the float32 scales and rounded once, here.
class Int8Epilogue {
 public:
  void init(float input_scale, const std::vector<float>& wscale, const std::vector<float>& bias,
            const TensorDesc& output, const Activation& activation);
  bool int8_output() const { return int8_output_; }
  /// Writes the n sums acc[j] of channel c to out[offset + j] (int8_t* or float* by the output).
  void apply_channel(const int32_t* acc, int64_t n, int64_t c, void* out, int64_t offset) const;
  /// Writes the n sums acc[j] of channels c0 + j to out[offset + j].
  void apply_row(const int32_t* acc, int64_t n, int64_t c0, void* out, int64_t offset) const;

 private:
  bool int8_output_ = false;
  bool relu_ = false;
  float slope_ = 0.0f;
  std::vector<float> mul_, add_;
};

}  // namespace trtn::cpu
