// The batch sizes a cuda engine indexes correctly. Every non-GEMM kernel of the backend cuts the
// batch into launches of fewer than 2^31 items (map.cuh's for_batch_chunks) and forms addresses in
// 64 bits, so the batch does not bound it. The implicit-GEMM convolutions (conv_mma.cu,
// conv_simt.cu, the im2col GEMM, and conv.cu's checks for every tactic of a 1-D or 2-D
// Convolution or InnerProduct) count the GEMM's rows M = batch x rows per image in `int`, and a
// Softmax over a dense tensor sees batch x outer rows as one View4 batch: those bound the batch.
// This header is plain C++ (no CUDA), so the limit is computed and tested without a GPU.
#pragma once

#include <cstdint>
#include <string>

#include "core/graph.h"
#include "core/status.h"

namespace trtn::cuda {

/// The largest batch an engine runs, and the layer and bound that set it.
struct IndexRange {
  /// Largest runnable batch; 2147483647 (the batch's own int range) when no layer bounds it.
  int64_t max_batch = INT32_MAX;
  /// The limiting layer (node name); empty when no layer bounds the batch.
  std::string node;
  /// What that layer counts per image ("GEMM rows", "softmax rows").
  std::string items;
  /// Items per image, and the most items one launch may count (the 32-bit bound).
  int64_t per_image = 0;
  int64_t bound = 0;
  /// The bound as the message writes it ("2^31 - 257").
  std::string bound_text;
};

/// Largest GEMM row count M (= batch x output pixels, the rows of an implicit-GEMM convolution or
/// InnerProduct) one launch indexes: conv.cu refuses M > INT_MAX - 256 (row tiles may run 256
/// rows past M in int), and tile_grid refuses more than INT_MAX tiles, at most
/// ceil(M / 32) x ceil(Ng / 32) for every tile shape offered (the smallest tile is 32 rows or 32
/// channels). `ng`: output channels per group.
int64_t gemm_row_bound(int64_t ng);

/// The limit of every node of `graph` (the smallest wins; ties keep the first node).
IndexRange index_range(const Graph& graph);

/// Ok when `batch` <= range.max_batch; otherwise kInvalidArgument:
/// "batch 200000 is beyond what layer 'conv1/7x7_s2' can index with 32-bit offsets (200000 x 12544
/// = 2.51e9 GEMM rows > 2^31 - 257); the largest batch this engine runs is 171196". `what` names
/// the number ("batch", "maxBatchSize").
Status check_index_range(const IndexRange& range, int64_t batch, const char* what = "batch");

}  // namespace trtn::cuda
